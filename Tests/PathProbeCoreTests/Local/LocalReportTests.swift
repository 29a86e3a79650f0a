import Testing
import PathProbeCore

/// JSON field order, null cases and the text layout of `nic` and `route`.
@Suite struct LocalReportTests {
    static let vxlan = LocalInterface(
        name: "vx0", index: 5, kind: "vxlan", operstate: "UNKNOWN", mtu: 1450, minMTU: 68, maxMTU: 65535, ipv6MTU: 1450,
        addresses: ["10.0.0.1/24"],
        tunnel: TunnelInfo(overhead: 50, underlay: "eth0", underlayMTU: 1400, underlayFamily: .ipv4, remote: IPAddress("192.0.2.2")),
        offloads: [OffloadFeature(name: "tx-tcp-segmentation", active: false, fixed: false, requested: false),
                   OffloadFeature(name: "rx-gro", active: true, fixed: false, requested: true)])

    @Test func interfaceJSONFields() throws {
        let inventory = LocalInventory(interfaces: [Self.vxlan], sysctls: PMTUSysctls())
        let json = try JSON.parse(Contract.text(inventory, pretty: false))
        #expect(json.objectValue?.map(\.0) == ["type", "schema_version", "interfaces", "sysctls", "findings"])
        let i = try #require(json["interfaces"]?.arrayValue?.first)
        #expect(i.objectValue?.map(\.0) == [
            "name", "index", "kind", "operstate", "mtu", "min_mtu", "max_mtu", "ipv6_mtu", "parent", "master", "addresses",
            "tunnel", "offloads", "offload_summary",
        ])
        #expect(i["parent"] == .null)
        #expect(i["tunnel"]?["max_inner_mtu"] == .int(1350))
        #expect(i["tunnel"]?["underlay_family"] == .string("ipv4"))
        #expect(i["tunnel"]?["remote"] == .string("192.0.2.2"))
        #expect(i["offloads"]?["rx-gro"]?["active"] == .bool(true))
        #expect(i["offload_summary"]?["tso"] == .bool(false))
        #expect(json["findings"]?.arrayValue?.map { $0["id"] } == [.string("tunnel-mtu-exceeds-underlay")], "each finding once")
        #expect(json["findings"]?.arrayValue?.first?["interface"] == .string("vx0"))
        #expect(json["findings"]?.arrayValue?.first?.objectValue?.map(\.0) == ["id", "severity", "message", "evidence", "interface"])
        #expect(try Contract.decode(LocalInventory.self, from: json) == inventory, "reads back as it was written")
    }

    @Test func sysctlsJSONKeepsEveryKeyAndNulls() throws {
        let s = PMTUSysctls(values: ["min_pmtu": 552, "tcp_mtu_probing": 1], pingGroupRange: (0, 10))
        let json = try JSONValueEncoder.encode(s)
        #expect(json.objectValue?.map(\.0) == [
            "ip_no_pmtu_disc", "min_pmtu", "mtu_expires", "tcp_mtu_probing", "tcp_base_mss", "tcp_probe_threshold",
            "ping_group_range", "icmp_ratelimit", "ipv6_mtu_expires",
        ])
        #expect(json["ip_no_pmtu_disc"] == .null)
        #expect(json["ping_group_range"] == .array([.int(0), .int(10)]))
        #expect(PMTUSysctls.parseIntegers("1\t0\n") == [1, 0])
        #expect(PMTUSysctls.parseIntegers("600\n") == [600])
    }

    @Test func nicTextHasTheTablesUsersKnow() {
        let text = LocalInventory(interfaces: [Self.vxlan], sysctls: PMTUSysctls()).text(style: Style(enabled: false))
        #expect(text.contains("INTERFACE"))
        #expect(text.contains("LINK  KIND    MTU  OVERHEAD  UNDERLAY"))
        #expect(text.contains("OFFLOAD (ethtool -k)      vx0"))
        #expect(text.contains("tcp-segmentation-offload  off"))
        #expect(text.contains("generic-receive-offload   on"))
        #expect(!text.contains("rx-checksumming"), "groups no interface has are left out")
        let kernel = LocalInventory(interfaces: [Self.vxlan], sysctls: PMTUSysctls()).text(style: Style(enabled: false), kernelNames: true)
        #expect(kernel.contains("OFFLOAD (kernel)"))
        #expect(kernel.contains("rx-gro "))
        #expect(!kernel.contains("generic-receive-offload"))
        #expect(text.contains("tunnel-mtu-exceeds-underlay"))
        #expect(!text.contains("\u{1B}["))
    }

    @Test func routeJSONFieldsAndNullCases() throws {
        let r = RouteInfo(target: "gw.example", address: try #require(IPAddress("2001:db8::1")), prefix: "default", table: 254,
                          interface: "eth0", interfaceMTU: 1500, gateway: IPAddress("fe80::1"))
        let json = Contract.json(r)
        #expect(json.objectValue?.map(\.0) == [
            "type", "schema_version", "target", "address", "family", "route_type", "prefix", "table", "interface", "interface_mtu",
            "gateway", "source", "mtu", "mtu_locked", "advmss", "pmtu_exception", "effective_mtu", "flush",
        ])
        #expect(json["pmtu_exception"] == .null)
        #expect(json["flush"] == .null)
        #expect(json["source"] == .null)
        #expect(json["family"] == .string("ipv6"))
        #expect(try Contract.decode(RouteInfo.self, from: json) == r)
        #expect(r.effectiveMTU == 1500)
    }

    @Test func effectiveMTUPrefersExceptionThenRouteMetric() throws {
        var r = RouteInfo(target: "192.0.2.9", address: try #require(IPAddress("192.0.2.9")), interface: "eth0", interfaceMTU: 1500)
        r.mtu = 1450
        #expect(r.effectiveMTU == 1450)
        r.pmtuException = PMTUException(mtu: 1400, expiresSeconds: 590)
        #expect(r.effectiveMTU == 1400)
        #expect(Contract.json(r)["pmtu_exception"] == .object([("mtu", .int(1400)), ("expires_s", .int(590))]))
        r.flush = RouteFlush(scope: .namespace, removed: nil)
        #expect(Contract.json(r)["flush"]?["scope"] == .string("namespace"))
        let text = r.text(style: Style(enabled: false))
        #expect(text.contains("pmtu cache     mtu 1400, expires in 590 s"))
        #expect(text.contains("effective mtu  1400"))
    }

    @Test(arguments: [(1, "ether"), (772, "loopback"), (0xFFFE, "none"), (512, "ppp"), (9999, "[9999]")])
    func linkTypeNames(_ arphrd: Int, _ name: String) {
        #expect(LinkType.name(arphrd: arphrd) == name)
    }

    @Test func routeTypeNames() {
        #expect(RouteInfo.typeName(1) == "unicast")
        #expect(RouteInfo.typeName(2) == "local")
        #expect(RouteInfo.typeName(7) == "unreachable")
    }
}
