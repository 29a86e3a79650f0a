import Foundation
import PathProbeCore
import Testing

/// `pathprobe bulk` in the bulk lab (scripts/bulk-lab.sh): hundreds of targets over a clean path,
/// a 1492 path with packet-too-big and a 1400 black hole, each with the right answer; bad lines as
/// error records with their line numbers; a run stopped midway (SIGINT, then SIGKILL) and resumed
/// gives every target exactly once.
@Suite(.enabled(if: Lab.isAvailable, "\(Lab.skipReason ?? "")"), .serialized)
struct BulkLabTests {
    static let script = Lab.repositoryRoot.appendingPathComponent("scripts/bulk-lab.sh").path

    /// The bulk lab's namespaces, torn down by `down()`.
    struct BulkLab {
        let prefix: String
        var client: String { prefix + "c" }

        init() throws {
            prefix = Lab.uniquePrefix("bk")
            do { try Lab.sh("\(BulkLabTests.script) up \(prefix)") } catch {
                down()
                throw error
            }
        }

        func down() { _ = try? Lab.sh("\(BulkLabTests.script) down \(prefix)") }

        /// pathprobe bulk in the client namespace.
        func bulk(_ args: [String]) -> Lab.Run { Lab.pathprobe(["bulk"] + args, in: client) }

        /// Starts pathprobe bulk in the client namespace without waiting (`ip netns exec` execs it,
        /// so the process is pathprobe itself and signals reach it).
        func start(_ args: [String]) throws -> Process {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            p.arguments = ["netns", "exec", client, Lab.binary ?? "pathprobe", "bulk"] + args
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            return p
        }
    }

    /// What the lab's address ranges must measure.
    static func expected(_ address: String) -> (mtu: Int, blackHole: Bool) {
        let text = (try? Lab.sh("\(script) expect \(address)"))?.split(separator: " ") ?? []
        return (Int(text.first ?? "") ?? 0, text.last?.hasPrefix("true") == true)
    }

    /// The same rule without a shell per address (scripts/bulk-lab.sh's table).
    static func expectedFast(_ address: String) -> (mtu: Int, blackHole: Bool) {
        if address.hasPrefix("fd00:72:0:1:") { return (1492, false) }
        if address.hasPrefix("fd00:72:0:2:") { return (1400, true) }
        let octets = address.split(separator: ".").compactMap { Int($0) }
        if octets.count == 4, octets[0] == 10, octets[1] == 72 {
            if octets[2] / 64 == 1 { return (1492, false) }
            if octets[2] / 64 == 2 { return (1400, true) }
        }
        return (1500, false)
    }

    func temporaryFile(_ name: String, _ contents: String? = nil) throws -> String {
        let path = NSTemporaryDirectory() + "pathprobe-bulk-\(getpid())-\(UInt32.random(in: 0...0xffffff))-\(name)"
        if let contents { try contents.write(toFile: path, atomically: true, encoding: .utf8) }
        return path
    }

    func records(_ path: String) throws -> [[String: Any]] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return try text.split(separator: "\n").compactMap {
            guard let o = try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] else {
                throw Lab.CommandError(command: "parse", status: 1, output: String($0))
            }
            #expect(o["schema_version"] as? Int == 2 && o["type"] is String, "every record carries the envelope")
            return o["type"] as? String == "nic" ? nil : o  // bulk profile's first record: the local side, once
        }
    }

    func labList(_ n: Int) throws -> [String] {
        try Lab.sh("\(Self.script) list \(n)").split(separator: "\n").map(String.init)
    }

    @Test func threeRangesEveryPathMTURight() throws {
        let lab = try BulkLab()
        defer { lab.down() }
        for a in ["10.72.128.9", "10.72.65.0", "10.72.191.3", "10.72.192.1", "10.73.0.5", "fd00:72:0:2::1"] {
            #expect(Self.expected(a) == Self.expectedFast(a), "bulk-lab.sh expect and the test agree on \(a)")
        }
        let targets = try labList(600) + ["fd00:72::1", "fd00:72:0:1::1", "fd00:72:0:2::1", "fd00:72::10/126"]
        let input = try temporaryFile("in.txt", targets.joined(separator: "\n") + "\n")
        let output = try temporaryFile("out.jsonl")
        let summaryPath = try temporaryFile("summary.json")
        defer { for p in [input, output, summaryPath] { try? FileManager.default.removeItem(atPath: p) } }
        let started = Date()
        let run = lab.bulk(["-f", input, "-o", output, "--summary-json", summaryPath])
        let wall = Date().timeIntervalSince(started)
        #expect(run.status == 0, "\(run.stderr)")
        let rs = try records(output)
        #expect(rs.count == 600 + 3 + 4)
        var wrong: [String] = []
        for r in rs {
            let address = r["address"] as? String ?? "?"
            let want = Self.expectedFast(address)
            if r["path_mtu"] as? Int != want.mtu || r["black_hole"] as? Bool != want.blackHole {
                wrong.append("\(address): \(r["path_mtu"] ?? "nil") \(r["black_hole"] ?? "nil") \(r["error"] ?? "")")
            }
        }
        #expect(wrong.isEmpty, "\(wrong.count) wrong: \(wrong.prefix(5))")
        #expect(Set(rs.compactMap { $0["target"] as? String }).count == rs.count, "each target once")
        let lines = rs.compactMap { $0["line"] as? Int }
        #expect(lines.count == rs.count && lines.allSatisfy { (1...604).contains($0) })
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: summaryPath))) as? [String: Any]
        #expect(summary?["black_holes"] as? Int == 201)
        #expect(summary?["records"] as? Int == 607)
        #expect(run.stdout.contains("black holes: 201"), "text summary on stdout with -o")
        #expect(wall < 10, "607 targets took \(wall) s")
    }

    @Test func badLinesBecomeErrorRecordsWithTheirLineNumbers() throws {
        let lab = try BulkLab()
        defer { lab.down() }
        let input = """
            # lab gateways
            10.72.0.1
            10.72.0.300

            gw-vpn.lab          # resolved from the lab's hosts file
            no-such-gateway.lab
            10.72.64.1 10.72.64.2
            10.0.0.0/8
            10.72.0.1
            bad_name!
            10.72.0.8/30
            """
        let run = lab.bulk(["-", "--csv"], stdin: input)
        #expect(run.status == 0, "\(run.stderr)")
        let rows = BulkCSV.parse(run.stdout).records
        let header = rows.first ?? []
        guard let line = header.firstIndex(of: "line"), let error = header.firstIndex(of: "error"),
              let pathMTU = header.firstIndex(of: "path_mtu") else {
            Issue.record("CSV header: \(header)")
            return
        }
        var byLine: [Int: [[String]]] = [:]
        for r in rows.dropFirst() { byLine[Int(r[line]) ?? -1, default: []].append(r) }
        #expect(byLine[2]?.first?[pathMTU] == "1500")
        #expect(byLine[3]?.first?[error].contains("IPv4") == true, "\(byLine[3] ?? [])")
        #expect(byLine[4] == nil && byLine[1] == nil, "comments and blank lines make no record")
        #expect(byLine[5]?.first?[pathMTU] == "1400", "a host name from the lab's hosts file")
        #expect(byLine[6]?.first?[error].contains("unknown host") == true, "\(byLine[6] ?? [])")
        #expect(byLine[7]?.first?[error].contains("one target per line") == true, "\(byLine[7] ?? [])")
        #expect(byLine[8]?.first?[error].contains("65536") == true, "\(byLine[8] ?? [])")
        #expect(byLine[9] == nil, "10.72.0.1 again: measured once")
        #expect(byLine[10]?.first?[error].isEmpty == false)
        #expect(byLine[11]?.count == 2, "a /30: its two host addresses")
        #expect(run.stderr.contains("errors 5"), "\(run.stderr)")
        #expect(run.stderr.contains("duplicates 1"), "\(run.stderr)")
    }

    @Test func stoppedTwiceThenResumedEveryTargetExactlyOnce() throws {
        let lab = try BulkLab()
        defer { lab.down() }
        let targets = try labList(3000)
        let input = try temporaryFile("in.txt", targets.joined(separator: "\n") + "\n")
        let output = try temporaryFile("out.jsonl")
        defer { for p in [input, output] { try? FileManager.default.removeItem(atPath: p) } }

        func lineCount() -> Int {
            (try? String(contentsOfFile: output, encoding: .utf8))?.split(separator: "\n").count ?? 0
        }
        func runUntil(_ lines: Int, signal: Int32, resume: Bool) throws -> Int32 {
            // A low rate so the run is still going when the test stops it.
            let p = try lab.start(["-f", input, "-o", output, "--rate", "3000", "--quiet"] + (resume ? ["--resume"] : []))
            let deadline = Date().addingTimeInterval(30)
            while lineCount() < lines && p.isRunning && Date() < deadline { usleep(20_000) }
            kill(p.processIdentifier, signal)
            p.waitUntilExit()
            return p.terminationStatus
        }

        // 1. Ctrl-C after ~400 records: exit 130, what finished is kept.
        #expect(try runUntil(400, signal: SIGINT, resume: false) == 130)
        let afterInterrupt = lineCount()
        #expect(afterInterrupt >= 400 && afterInterrupt < 3000)
        // 2. Resume, then SIGKILL (nothing gets to clean up) after ~1200 records.
        _ = try runUntil(1200, signal: SIGKILL, resume: true)
        #expect(lineCount() > afterInterrupt)
        // 3. As if the kill had cut a record in half: a partial last line for a target not yet done.
        let done = Set(try records(output).compactMap { $0["target"] as? String })
        guard let pending = targets.first(where: { !done.contains($0) }), let handle = FileHandle(forWritingAtPath: output) else {
            Issue.record("the killed run had finished every target: nothing left to resume")
            return
        }
        handle.seekToEndOfFile()
        handle.write(Data(#"{"target":"\#(pending)","line":7,"address":"\#(pending)","fam"#.utf8))
        handle.closeFile()
        // 4. Resume to the end.
        let finish = lab.bulk(["-f", input, "-o", output, "--resume"])
        #expect(finish.status == 0, "\(finish.stderr)")
        #expect(finish.stdout.contains("already done"), "\(finish.stdout)")

        let rs = try records(output)
        var count: [String: Int] = [:]
        for r in rs { count[r["target"] as? String ?? "?", default: 0] += 1 }
        #expect(rs.count == 3000)
        #expect(count.count == 3000 && count.values.allSatisfy { $0 == 1 }, "every target exactly once")
        #expect(Set(targets) == Set(count.keys))
        let wrong = rs.filter {
            let want = Self.expectedFast($0["address"] as? String ?? "?")
            return $0["path_mtu"] as? Int != want.mtu || $0["black_hole"] as? Bool != want.blackHole
        }
        #expect(wrong.isEmpty, "\(wrong.count) wrong, e.g. \(wrong.prefix(3).map { $0["target"] ?? "?" })")
    }

    /// --mode reach: TCP 443 on hundreds of targets at once; the server accepts on 443 for all of them.
    @Test func reachModeEveryTargetsPort() throws {
        let lab = try BulkLab()
        defer { lab.down() }
        let pid = try Lab.sh("\(Lab.repositoryRoot.path)/scripts/lab-services.sh start \(lab.prefix)s 443 - 60")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        defer { _ = try? Lab.sh("kill \(pid)") }
        let targets = try labList(300)
        let input = try temporaryFile("reach-in.txt", targets.joined(separator: "\n") + "\n")
        let output = try temporaryFile("reach-out.jsonl")
        defer { try? FileManager.default.removeItem(atPath: input); try? FileManager.default.removeItem(atPath: output) }
        let run = lab.bulk(["--mode", "reach", "--tcp", "443", "-f", input, "-o", output, "--quiet"])
        #expect(run.status == 0, "\(run.stderr)")
        let recs = try records(output)
        #expect(recs.count == targets.count)
        for r in recs {
            let tcp = r["tcp"] as? [[String: Any]] ?? []
            #expect(tcp.first?["port"] as? Int == 443 && tcp.first?["state"] as? String == "open", "\(r)")
        }
    }

    /// --mode profile: the advisor's values per target, on all three kinds of path.
    @Test func profileModeRecommendsPerPath() throws {
        let lab = try BulkLab()
        defer { lab.down() }
        let targets = try labList(30)
        let input = try temporaryFile("profile-in.txt", targets.joined(separator: "\n") + "\n")
        let output = try temporaryFile("profile-out.jsonl")
        defer { try? FileManager.default.removeItem(atPath: input); try? FileManager.default.removeItem(atPath: output) }
        let run = lab.bulk(["--mode", "profile", "--tcp", "443", "-f", input, "-o", output, "--quiet"])
        #expect(run.status == 0, "\(run.stderr)")
        let recs = try records(output)
        #expect(recs.count == targets.count)
        let header = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n").first.map(String.init) ?? ""
        let nic = try Contract.decode(LocalInventory.self, from: try JSON.parse(header))
        #expect(nic.interfaces.contains { $0.name == "eth0" }, "the first record is the namespace's nic document")
        for r in recs {
            let address = r["address"] as? String ?? ""
            let want = Self.expectedFast(address)
            let mtu = r["mtu"] as? [String: Any]
            #expect(mtu?["path_mtu"] as? Int == want.mtu, "\(address)")
            #expect(mtu?["black_hole"] as? Bool == want.blackHole, "\(address)")
            let recs = (r["recommendations"] as? [[String: Any]] ?? []).reduce(into: [String: Int]()) {
                $0[$1["id"] as? String ?? ""] = ($1["value"] as? String).flatMap { Int($0) }
            }
            if want.mtu == 1500 {
                #expect(recs.isEmpty, "\(address): \(recs)")
            } else {
                #expect(recs["interface-mtu"] == want.mtu && recs["tcp-mss-clamp"] == want.mtu - 40, "\(address): \(recs)")
                #expect((recs["tcp-mtu-probing"] != nil) == want.blackHole, "\(address): \(recs)")
            }
            #expect(r["type"] as? String == "profile")
            #expect(r["inventory"] is NSNull, "the local side is written once, in the run's nic record")
            #expect((r["local"] as? [String: Any])?["interface"] as? String == "eth0")
        }
    }
}

extension BulkLabTests.BulkLab {
    /// pathprobe bulk with `stdin` piped to its standard input.
    func bulk(_ args: [String], stdin: String) -> Lab.Run {
        let file = NSTemporaryDirectory() + "pathprobe-bulk-stdin-\(getpid())-\(UInt32.random(in: 0...0xffffff))"
        try? stdin.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let command = ["/usr/sbin/ip", "netns", "exec", client, Lab.binary ?? "pathprobe", "bulk"] + args
        // Through a pipe: the runner reads a pipe whole before it starts (a regular file lazily).
        return Lab.run(["/bin/bash", "-c", "cat '\(file)' | " + command.map { "'\($0)'" }.joined(separator: " ")])
    }
}
