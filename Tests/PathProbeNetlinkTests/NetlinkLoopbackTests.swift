import Testing
import PathProbeCore
import PathProbeNetlink

#if canImport(Glibc)
import Glibc
#endif

/// The real kernel, read-only and unprivileged: the host's loopback interface and routes to it.
@Suite struct NetlinkLoopbackTests {
    /// The integer in a sysfs file, as a cross-check from outside netlink.
    static func sysfsInteger(_ path: String) -> Int? {
        guard let f = fopen(path, "r") else { return nil }
        defer { fclose(f) }
        var buffer = [CChar](repeating: 0, count: 64)
        guard fgets(&buffer, 64, f) != nil else { return nil }
        let text = String(decoding: buffer.prefix { $0 != 0 && $0 != 10 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return Int(text)
    }

    @Test func loopbackIsReadWithItsMTUAndOffloads() throws {
        let inventory = try LocalInventory.read(interfaces: ["lo"])
        let lo = try #require(inventory.interfaces.first)
        #expect(inventory.interfaces.count == 1)
        #expect(lo.name == "lo")
        #expect(lo.kind == "loopback")
        #expect(lo.index == Self.sysfsInteger("/sys/class/net/lo/ifindex"))
        #expect(lo.mtu == Self.sysfsInteger("/sys/class/net/lo/mtu"))
        #expect(lo.tunnel == nil)
        #expect(lo.parent == nil)
        #expect(!lo.offloads.isEmpty)
        #expect(lo.offloads.contains { $0.name == "rx-gro" })
        #expect(lo.offloads.first { $0.name == "loopback" }?.active == true)
        #expect(inventory.sysctls[PMTUSysctls.integerKeys.first { $0.name == "mtu_expires" }!] != nil)
        #expect(inventory.sysctls.pingGroupRange != nil)
    }

    @Test func everyLinkIsListedOnce() throws {
        let inventory = try LocalInventory.read()
        let names = inventory.interfaces.map(\.name)
        #expect(names.contains("lo"))
        #expect(Set(names).count == names.count)
        #expect(inventory.interfaces.map(\.index) == inventory.interfaces.map(\.index).sorted())
    }

    @Test func unknownInterfaceIsAnError() {
        #expect(throws: NetlinkError.unknownInterface("pp-no-such-if0")) {
            try LocalInventory.read(interfaces: ["lo", "pp-no-such-if0"])
        }
    }

    @Test(arguments: ["127.0.0.1", "::1"])
    func routeToLoopback(_ text: String) throws {
        let address = try #require(IPAddress(text))
        let route = try RouteLookup.lookup(address)
        #expect(route.routeType == "local")
        #expect(route.interface == "lo")
        // The egress the probes take comes from the same kernel answer.
        let egress = try RouteLookup.egress(to: address)
        #expect(egress.interface == "lo" && egress.source == address && egress.mtu == route.interfaceMTU.map { _ in 65536 })
        let viaLo = try RouteLookup.egress(to: address, interface: "lo")
        #expect(viaLo.interface == "lo")
        #expect(throws: NetlinkError.unknownInterface("no-such-if0")) { try RouteLookup.egress(to: address, interface: "no-such-if0") }
        #expect(route.interfaceMTU != nil)
        #expect(route.pmtuException == nil)
        #expect(route.flush == nil)
    }
}
