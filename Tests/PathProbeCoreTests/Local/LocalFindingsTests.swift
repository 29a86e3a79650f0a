import Testing
import PathProbeCore

/// The findings of `pathprobe nic`, from hand-made interfaces and sysctls.
@Suite struct LocalFindingsTests {
    func vxlan(mtu: Int, underlayMTU: Int, overhead: Int = 50) -> LocalInterface {
        LocalInterface(name: "vx0", index: 5, kind: "vxlan", operstate: "UP", mtu: mtu,
                       tunnel: TunnelInfo(overhead: overhead, underlay: "eth0", underlayMTU: underlayMTU, underlayFamily: .ipv4))
    }

    @Test func tunnelAboveItsUnderlayIsFlagged() throws {
        let findings = InventoryRules.findings(for: vxlan(mtu: 1450, underlayMTU: 1400))
        #expect(findings.map(\.id) == ["tunnel-mtu-exceeds-underlay"])
        let f = try #require(findings.first)
        #expect(f.severity == .warning)
        #expect(f.interface == "vx0")
        #expect(f.message.contains("1400 - 50 = 1350"))
        #expect(f.message.contains("mtu 1350"))
    }

    @Test func tunnelThatFitsExactlyIsNotFlagged() {
        #expect(InventoryRules.findings(for: vxlan(mtu: 1450, underlayMTU: 1500)).isEmpty)
        #expect(InventoryRules.findings(for: vxlan(mtu: 1300, underlayMTU: 1400)).isEmpty)
        #expect(InventoryRules.findings(for: vxlan(mtu: 1351, underlayMTU: 1400)).count == 1)
    }

    @Test func vlanIsFlaggedOnlyWhenItsParentIsSmaller() {
        func vlan(_ mtu: Int, parent: Int) -> LocalInterface {
            LocalInterface(name: "eth0.5", index: 7, kind: "vlan", operstate: "UP", mtu: mtu, parent: "eth0",
                           tunnel: TunnelInfo(overhead: 0, underlay: "eth0", underlayMTU: parent))
        }
        #expect(InventoryRules.findings(for: vlan(1500, parent: 1500)).isEmpty)
        #expect(InventoryRules.findings(for: vlan(1500, parent: 1400)).map(\.id) == ["tunnel-mtu-exceeds-underlay"])
    }

    @Test func vpnLeftAt1500WithUnknownUnderlayIsFlagged() {
        let wg = LocalInterface(name: "wg0", index: 9, kind: "wireguard", operstate: "UNKNOWN", mtu: 1500,
                                tunnel: TunnelInfo(overhead: 60))
        #expect(InventoryRules.findings(for: wg).map(\.id) == ["tunnel-mtu-ignores-overhead"])
        var ok = wg
        ok.mtu = 1420
        #expect(InventoryRules.findings(for: ok).isEmpty)
        let ppp = LocalInterface(name: "ppp0", index: 3, kind: "ppp", operstate: "UP", mtu: 1500, tunnel: TunnelInfo(overhead: 8))
        #expect(InventoryRules.findings(for: ppp).first?.message.contains("at most 1492") == true)
    }

    @Test func ipv6MTUBelowLinkMTUIsInfo() {
        let i = LocalInterface(name: "eth0", index: 2, kind: "veth", operstate: "UP", mtu: 1500, ipv6MTU: 1280)
        let f = InventoryRules.findings(for: i)
        #expect(f.map(\.id) == ["ipv6-mtu-below-link-mtu"])
        #expect(f.first?.severity == .info)
    }

    @Test func namespaceSysctls() {
        let defaults = PMTUSysctls(values: ["ip_no_pmtu_disc": 0], pingGroupRange: (0, 2147483647))
        #expect(InventoryRules.findings(for: defaults).isEmpty)
        let bad = PMTUSysctls(values: ["ip_no_pmtu_disc": 1], pingGroupRange: (1, 0))
        #expect(InventoryRules.findings(for: bad).map(\.id) == ["pmtu-discovery-disabled", "ping-sockets-disabled"])
        #expect(InventoryRules.findings(for: bad).allSatisfy { $0.interface == nil })
    }

    @Test func inventoryCollectsInterfaceAndNamespaceFindings() {
        let inventory = LocalInventory(
            interfaces: [vxlan(mtu: 1450, underlayMTU: 1400),
                         LocalInterface(name: "eth0", index: 2, kind: "ether", operstate: "UP", mtu: 1400)],
            sysctls: PMTUSysctls(values: ["ip_no_pmtu_disc": 1]))
        #expect(inventory.findings(of: "vx0").map(\.id) == ["tunnel-mtu-exceeds-underlay"])
        #expect(inventory.findings(of: "eth0").isEmpty)
        let evidence = inventory.findings[0].evidence
        #expect(evidence[LocalInterface.CodingKeys.mtu] == .int(1450))
        #expect(evidence[LocalInterface.CodingKeys.tunnel]?["max_inner_mtu"] == .int(1350))
        #expect(inventory.findings.map(\.id) == ["tunnel-mtu-exceeds-underlay", "pmtu-discovery-disabled"])
    }
}
