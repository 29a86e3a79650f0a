import Foundation
import PathProbeCore
import Testing

/// `pathprobe profile` and `pathprobe diff` in the namespace lab: the advisor's values on real black
/// holes (IPv4 1400, IPv6 1380), nothing to change on a clean path with its ports open, the fix
/// applied and proven with diff, and a UDP outage caught as a regression.
@Suite(.enabled(if: Lab.isAvailable, "\(Lab.skipReason ?? "")"), .serialized)
struct ProfileLabTests {
    static let services = Lab.repositoryRoot.appendingPathComponent("scripts/lab-services.sh").path

    /// RDP's ports answering on the server: TCP 443 and 3389 accept, UDP 3391 and 3389 echo.
    func startRDPServices(_ lab: LabTopology) throws -> String {
        try Lab.sh("\(Self.services) start \(lab.server) 443,3389 3391,3389 120").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func stop(_ pid: String) { _ = try? Lab.sh("\(Self.services) stop \(pid)") }

    func recommendations(_ r: [String: Any]) -> [String: Int] {
        var out: [String: Int] = [:]
        for rec in r["recommendations"] as? [[String: Any]] ?? [] {
            if let id = rec["id"] as? String { out[id] = (rec["value"] as? String).flatMap { Int($0) } ?? -1 }
        }
        return out
    }

    func profile(_ lab: LabTopology, _ args: [String], file: String? = nil) throws -> (json: [String: Any], seconds: Double) {
        let started = Date()
        let run = lab.pathprobe(["profile", "-n", "--json"] + args)
        let seconds = Date().timeIntervalSince(started)
        guard let object = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any] else {
            throw Lab.CommandError(command: "profile \(args)", status: run.status, output: run.stderr)
        }
        // The `profile` document reads back typed, as diff reads it.
        let typed = try Contract.decode(ProfileReport.self, from: try JSON.parse(run.stdout))
        #expect(typed.mtu.pathMTU == (object["mtu"] as? [String: Any])?["path_mtu"] as? Int)
        if let file { try run.stdout.write(toFile: file, atomically: true, encoding: .utf8) }
        return (object, seconds)
    }

    func tempFile(_ name: String) -> String { NSTemporaryDirectory() + "pathprobe-\(getpid())-\(name).json" }

    @Test func ipv4BlackHoleAt1400() throws {
        let lab = try LabTopology("pf4", ["--mtu3", "1400", "--blackhole", "r2"])
        defer { lab.down() }
        let (r, seconds) = try profile(lab, [LabTopology.server4])
        #expect(recommendations(r) == ["interface-mtu": 1400, "tcp-mss-clamp": 1360, "tcp-mtu-probing": 1])
        let findings = (r["findings"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        #expect(findings.contains("pmtu-black-hole"))
        #expect((r["mtu"] as? [String: Any])?["path_mtu"] as? Int == 1400)
        #expect(seconds < 3, "profile took \(seconds) s")
    }

    @Test func ipv6BlackHoleAt1380() throws {
        let lab = try LabTopology("pf6", ["--mtu3", "1380", "--blackhole", "r2"])
        defer { lab.down() }
        let (r, seconds) = try profile(lab, [LabTopology.server6])
        #expect(recommendations(r) == ["interface-mtu": 1380, "tcp-mss-clamp": 1320, "tcp-mtu-probing": 1])
        #expect(r["family"] as? String == "ipv6")
        #expect(seconds < 3, "profile took \(seconds) s")
    }

    @Test func cleanPathWithPortsOpenNeedsNothing() throws {
        let lab = try LabTopology("pfc")
        defer { lab.down() }
        let pid = try startRDPServices(lab)
        defer { stop(pid) }
        for target in [LabTopology.server4, LabTopology.server6] {
            let (r, seconds) = try profile(lab, ["--rdp", target])
            #expect(recommendations(r).isEmpty, "\(target): \(r["recommendations"] ?? "")")
            #expect((r["findings"] as? [Any])?.isEmpty == true, "\(target): \(r["findings"] ?? "")")
            let reach = r["reach"] as? [String: Any]
            #expect((reach?["tcp"] as? [[String: Any]])?.allSatisfy { $0["state"] as? String == "open" } == true)
            #expect((reach?["udp"] as? [[String: Any]])?.allSatisfy { $0["state"] as? String == "open" } == true)
            #expect(seconds < 3, "\(target): profile --rdp took \(seconds) s (the RDP check's goal: 3 s)")
        }
    }

    /// Before: a 1400 black hole. Fix: the client's interface to 1400, as recommended. After: clean,
    /// and diff says nothing got worse (exit 0).
    @Test func applyingTheRecommendedMTUFixesIt() throws {
        let lab = try LabTopology("pfx", ["--mtu3", "1400", "--blackhole", "r2"])
        defer { lab.down() }
        let pid = try startRDPServices(lab)
        defer { stop(pid) }
        let before = tempFile("before"), after = tempFile("after")
        defer { try? FileManager.default.removeItem(atPath: before); try? FileManager.default.removeItem(atPath: after) }
        let (r1, _) = try profile(lab, ["--rdp", LabTopology.server4], file: before)
        let mtu = try #require(recommendations(r1)["interface-mtu"])
        try lab.exec(lab.client, "ip link set dev eth0 mtu \(mtu)")
        let (r2, _) = try profile(lab, ["--rdp", LabTopology.server4], file: after)
        #expect((r2["mtu"] as? [String: Any])?["black_hole"] as? Bool == false)
        #expect(recommendations(r2)["interface-mtu"] == nil)
        #expect(recommendations(r2).isEmpty)
        let diff = Lab.pathprobe(["diff", "--json", before, after], in: nil)
        #expect(diff.status == 0, "\(diff.stdout)\(diff.stderr)")
        let d = try JSONSerialization.jsonObject(with: Data(diff.stdout.utf8)) as? [String: Any]
        let changes = d?["changes"] as? [[String: Any]] ?? []
        #expect(changes.contains { $0["field"] as? String == "black_hole" && $0["change"] as? String == "better" })
        #expect(changes.contains { $0["field"] as? String == "recommendations" && $0["id"] as? String == "interface-mtu"
            && $0["change"] as? String == "removed" && $0["after"] is NSNull })
        #expect(changes.contains { $0["field"] as? String == "mtu" && $0["interface"] as? String == "eth0" && $0["after"] as? String == "\(mtu)" })
        #expect(d?["type"] as? String == "diff" && d?["schema_version"] as? Int == 2)
    }

    /// UDP dropped on a router: tcp-only appears, and against the clean report diff exits 1.
    @Test func udpDroppedIsARegression() throws {
        let lab = try LabTopology("pfu")
        defer { lab.down() }
        let pid = try startRDPServices(lab)
        defer { stop(pid) }
        let before = tempFile("udp-before"), after = tempFile("udp-after")
        defer { try? FileManager.default.removeItem(atPath: before); try? FileManager.default.removeItem(atPath: after) }
        _ = try profile(lab, ["--rdp", LabTopology.server4], file: before)
        try lab.exec(lab.r1, "iptables -A FORWARD -p udp -j DROP")
        let (r, _) = try profile(lab, ["--rdp", LabTopology.server4], file: after)
        #expect(recommendations(r)["tcp-only"] != nil)
        let rec = (r["recommendations"] as? [[String: Any]])?.first { $0["id"] as? String == "tcp-only" }
        let windows = (rec?["commands"] as? [String: Any])?["windows"] as? [String] ?? []
        #expect(windows.contains { $0.contains("fClientDisableUDP") })
        let diff = Lab.pathprobe(["diff", before, after], in: nil)
        #expect(diff.status == 1, "\(diff.stdout)\(diff.stderr)")
        #expect(diff.stdout.contains("regression: ") && diff.stdout.contains("udp 3391 open -> open|filtered"))
    }

    @Test func diffRefusesBadInput() throws {
        let report = tempFile("report"), other = tempFile("other"), junk = tempFile("junk"), future = tempFile("future")
        defer { for f in [report, other, junk, future] { try? FileManager.default.removeItem(atPath: f) } }
        let lab = try LabTopology("pfd")
        defer { lab.down() }
        _ = try profile(lab, [LabTopology.server4], file: report)
        _ = try profile(lab, [LabTopology.server6], file: other)
        try "{\"hello\": 1}".write(toFile: junk, atomically: true, encoding: .utf8)
        let text = try String(contentsOfFile: report, encoding: .utf8)
        try text.replacingOccurrences(of: "\"schema_version\": 2", with: "\"schema_version\": 99")
            .write(toFile: future, atomically: true, encoding: .utf8)
        for (args, expected) in [([junk, report], "not a pathprobe profile report"),
                                 ([report, other], "different targets"),
                                 ([report, future], "schema_version 99"),
                                 ([report, "/nonexistent.json"], "cannot read")] {
            let run = Lab.pathprobe(["diff"] + args, in: nil)
            #expect(run.status == 2, "\(args)")
            #expect(Lab.isUsageError(run, command: "diff") && run.stderr.contains(expected), "\(run.stderr)")
        }
        #expect(Lab.pathprobe(["diff", "--force", report, other], in: nil).status != 2)
    }
}
