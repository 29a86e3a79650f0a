import Testing
@testable import PathProbeCore

@Suite struct ProfileDiffTests {
    func report(pathMTU: Int = 1400, blackHole: Bool = false, tcp443: String = "open", udp3391: String = "open",
                mtu: Int = 1500, findings: [JSON] = [], target: String = "10.0.3.2", schema: Int = 1) -> JSON {
        .object([
            ("report", .string("pathprobe-profile")), ("schema_version", .int(schema)), ("target", .string(target)),
            ("address", .string(target)), ("started_at", .string("2026-11-26T08:00:00Z")),
            ("local", .object([("interface", .object([("name", .string("eth0")), ("mtu", .int(mtu)),
                                                     ("offloads", .object([("rx-gro", .object([("active", .bool(true))]))]))]))])),
            ("mtu", .object([("status", .string("measured")), ("path_mtu", .int(pathMTU)), ("black_hole", .bool(blackHole))])),
            ("reach", .object([
                ("tcp", .array([.object([("port", .int(443)), ("state", .string(tcp443)), ("mss", .int(1360))])])),
                ("udp", .array([.object([("port", .int(3391)), ("state", .string(udp3391))])])),
                ("responder", .null),
            ])),
            ("findings", .array(findings)),
            ("recommendations", .array([])),
        ])
    }

    let blackHoleFinding: JSON = .object([("id", .string("pmtu-black-hole")), ("severity", .string("critical")), ("summary", .string("x"))])

    @Test func fixedBlackHoleIsAnImprovement() throws {
        let d = try ProfileDiff(before: report(blackHole: true, findings: [blackHoleFinding]), after: report(mtu: 1400))
        #expect(!d.hasRegression)
        #expect(d.rows.contains { $0.field == "black hole" && $0.change == .better })
        #expect(d.rows.contains { $0.field == "eth0 mtu" && $0.before == "1500" && $0.after == "1400" })
        #expect(d.rows.contains { $0.field == "finding pmtu-black-hole" && $0.change == .removed })
    }

    @Test func udpThatStoppedAnsweringIsARegression() throws {
        let d = try ProfileDiff(before: report(), after: report(udp3391: "open|filtered"))
        #expect(d.hasRegression)
        #expect(d.regressions.map(\.field) == ["udp 3391"])
        #expect(d.text().contains("regression: udp 3391 open -> open|filtered"))
    }

    @Test func smallerPathMTUAndNewBlackHoleAreRegressions() throws {
        let d = try ProfileDiff(before: report(pathMTU: 1500), after: report(pathMTU: 1400, blackHole: true, findings: [blackHoleFinding]))
        #expect(Set(d.regressions.map(\.field)) == ["path MTU", "black hole", "finding pmtu-black-hole"])
    }

    @Test func identicalReportsHaveNoChanges() throws {
        let d = try ProfileDiff(before: report(), after: report())
        #expect(d.rows.isEmpty)
        #expect(d.text().contains("no changes"))
    }

    @Test func inputErrors() {
        #expect(throws: ProfileDiff.InputError.self) { try ProfileDiff(before: .object([("x", .int(1))]), after: report()) }
        #expect(throws: ProfileDiff.InputError.self) { try ProfileDiff(before: report(schema: 99), after: report()) }
        #expect(throws: ProfileDiff.InputError.self) { try ProfileDiff(before: report(), after: report(target: "10.9.9.9")) }
        #expect((try? ProfileDiff(before: report(), after: report(target: "10.9.9.9"), force: true)) != nil)
    }
}
