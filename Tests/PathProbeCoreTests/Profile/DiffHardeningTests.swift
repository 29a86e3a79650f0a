import Testing
@testable import PathProbeCore

/// `pathprobe diff` reads files someone else may have written: what it prints is safe for a
/// terminal, and its cost grows linearly with the ports (the size cap is the CLI's:
/// HardeningLabTests).
@Suite struct DiffHardeningTests {
    func report(interface: String = "eth0", startedAt: String = "2026-11-26T08:00:00Z", ports: Int = 1, roundTrip: Bool = true,
                state: (Int) -> TCPPortState = { _ in .open }) throws -> ProfileReport {
        let address = IPAddress("10.0.3.2")!
        var m = PathMTUResult(address: address, family: .ipv4)
        m.reachable = true
        m.pathMTU = 1500
        var r = ReachResult(address: address, family: .ipv4)
        r.tcp = (1...ports).map { TCPPortResult(port: UInt16($0), state: state($0), attempts: 1) }
        let nic = LocalInterface(name: interface, index: 2, kind: "veth", operstate: "UP", mtu: 1500)
        let local = ProfileReport.LocalSide(inventory: LocalInventory(interfaces: [nic], sysctls: PMTUSysctls()),
                                            route: RouteInfo(target: "10.0.3.2", address: address, interface: interface), interface: nil)
        let written = ProfileReport(target: "10.0.3.2", address: address, startedAt: startedAt, version: "0.1.0", local: local,
                                    mtu: m, reach: r, service: nil)
        guard roundTrip else { return written }
        return try Contract.decode(ProfileReport.self, from: try JSON.parse(Contract.text(written, pretty: false)))
    }

    @Test func escapeSequencesNeverReachTheTerminal() throws {
        let evil = "eth0\u{1B}[2J\u{1B}]0;owned\u{07}\u{9B}31m\u{202E}x\r"
        let d = try ProfileDiff(before: report(startedAt: "2026\u{1B}[31m"), after: report(interface: evil))
        let text = d.text(style: Style(enabled: false))
        #expect(!d.changes.isEmpty)
        #expect(!text.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" })
        #expect(!text.unicodeScalars.contains { (0x7f..<0xa0).contains($0.value) || $0.value == 0x202e })
        #expect(text.contains("eth0[2J]0;owned31mx"), "the printable rest stays readable")
        // JSON output keeps the strings as they were (escaped by the encoder).
        #expect(Contract.text(d, pretty: false).contains(#"\u001b[2J"#))
    }

    @Test func sixtyThousandPortsCompareInLinearTime() throws {
        let before = try report(ports: 60_000, roundTrip: false)
        let after = try report(ports: 60_000, roundTrip: false) { $0 % 2 == 0 ? .filtered : .open }
        let clock = ContinuousClock()
        let elapsed = try clock.measure {
            let d = try ProfileDiff(before: before, after: after)
            #expect(d.changes.count == 30_000)
            #expect(d.hasRegression)
        }
        #expect(elapsed < .seconds(3), "\(elapsed) for 60,000 ports")
    }
}
