import Testing
@testable import PathProbeCore

@Suite struct ProfileDiffTests {
    /// A profile built from typed values, written as the `profile` document and read back, as diff reads files.
    func report(pathMTU: Int = 1400, blackHole: Bool = false, tcp443: TCPPortState = .open, udp3391: UDPPortState = .open,
                mtu: Int = 1500, target: String = "10.0.3.2") throws -> ProfileReport {
        let address = IPAddress(target)!
        var m = PathMTUResult(address: address, family: .ipv4)
        m.reachable = true
        m.pathMTU = pathMTU
        m.blackHole = blackHole
        var r = ReachResult(address: address, family: .ipv4)
        var t = TCPPortResult(port: 443, state: tcp443, attempts: 1)
        t.mss = 1360
        r.tcp = [t]
        r.udp = [UDPPortResult(port: 3391, state: udp3391, service: .dtls, attempts: 1)]
        let eth0 = LocalInterface(name: "eth0", index: 2, kind: "veth", operstate: "UP", mtu: mtu,
                                  offloads: [OffloadFeature(name: "rx-gro", active: true, fixed: false, requested: true)])
        let inventory = LocalInventory(interfaces: [eth0], sysctls: PMTUSysctls())
        let local = ProfileReport.LocalSide(inventory: inventory, route: RouteInfo(target: target, address: address, interface: "eth0"),
                                            interface: nil)
        let written = ProfileReport(target: target, address: address, startedAt: "2026-11-26T08:00:00Z", version: "0.1.0", local: local,
                                    mtu: m, reach: r, service: .rdp)
        return try Contract.decode(ProfileReport.self, from: try JSON.parse(Contract.text(written, pretty: true)))
    }

    func labels(_ d: ProfileDiff, _ changes: [ProfileDiff.Change]) -> [String] { changes.map(d.label) }

    @Test func reportsRoundTripTyped() throws {
        let r = try report(blackHole: true)
        #expect(r.mtu.pathMTU == 1400 && r.mtu.blackHole && r.mtu.status == .measured)
        #expect(r.local.interface?.name == "eth0" && r.local.interface?.offloads.first?.active == true)
        #expect(r.reach?.udp.first?.state == .open)
        #expect(r.advice.findings.contains { $0.id == "pmtu-black-hole" })
        #expect(r.advice.recommendations.first { $0.id == "interface-mtu" }?.value == "1400")
    }

    @Test func fixedBlackHoleIsAnImprovement() throws {
        let d = try ProfileDiff(before: report(blackHole: true), after: report(mtu: 1400))
        #expect(!d.hasRegression)
        #expect(d.changes.contains { $0.field == "black_hole" && $0.before == "true" && $0.after == "false" && $0.change == .better })
        #expect(d.changes.contains { $0.field == "mtu" && $0.interface == "eth0" && $0.before == "1500" && $0.after == "1400" })
        #expect(d.changes.contains { $0.field == "findings" && $0.id == "pmtu-black-hole" && $0.change == .removed && $0.after == nil })
        let json = Contract.json(d)
        #expect(json["type"] == .string("diff"))
        #expect(!json.serialized().contains("\"-\""), "diff never writes \"-\"")
    }

    @Test func udpThatStoppedAnsweringIsARegression() throws {
        let d = try ProfileDiff(before: report(), after: report(udp3391: .openFiltered))
        #expect(d.hasRegression)
        #expect(d.regressions.map { "\($0.protocol ?? "") \($0.port ?? 0) \($0.field)" } == ["udp 3391 state"])
        #expect(d.text().contains("regression: udp 3391 open -> open|filtered"))
    }

    @Test func smallerPathMTUAndNewBlackHoleAreRegressions() throws {
        let d = try ProfileDiff(before: report(pathMTU: 1500), after: report(pathMTU: 1400, blackHole: true))
        #expect(Set(labels(d, d.regressions)) == ["path MTU", "black hole", "finding pmtu-black-hole"])
    }

    @Test func identicalReportsHaveNoChanges() throws {
        let d = try ProfileDiff(before: report(), after: report())
        #expect(d.changes.isEmpty)
        #expect(d.text().contains("no changes"))
    }

    @Test func inputErrors() throws {
        let future = try JSON.parse(Contract.text(try report(), pretty: false).replacingOccurrences("\"schema_version\":2", "\"schema_version\":99"))
        #expect(throws: Contract.WrongDocument.self) { try Contract.decode(ProfileReport.self, from: future) }
        #expect(throws: Contract.WrongDocument.self) { try Contract.decode(ProfileReport.self, from: .object([("x", .int(1))])) }
        #expect(throws: ProfileDiff.DifferentTargets.self) { try ProfileDiff(before: try report(), after: try report(target: "10.9.9.9")) }
        #expect((try? ProfileDiff(before: try report(), after: try report(target: "10.9.9.9"), force: true)) != nil)
    }
}

extension String {
    func replacingOccurrences(_ a: String, _ b: String) -> String {
        split(separator: a, omittingEmptySubsequences: false).joined(separator: b)
    }
}
