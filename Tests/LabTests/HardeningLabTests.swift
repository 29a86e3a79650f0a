import Foundation
import PathProbeCore
import Testing

/// Issue 13 on the real binary: every reproducer exits as documented (2 with one line, or the right
/// result), the black-hole hop under drained ICMP budgets, a return-path drop, the responder under a
/// spoofed-source flood, and `serve` giving up root. Root: namespaces, raw sockets.
@Suite(.enabled(if: Lab.isAvailable, "lab tests need root, iproute2 and a built pathprobe"), .serialized)
struct HardeningLabTests {
    static let support = Lab.repositoryRoot.appendingPathComponent("Tests/LabTests/Support").path

    /// Runs pathprobe in the test's namespace (nothing here sends a packet: bad input stops first).
    func run(_ args: [String]) -> Lab.Run { Lab.pathprobe(args, in: nil) }

    func expectOneLine(_ r: Lab.Run, status: Int32, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status == status, "\(what): exit \(r.status), stderr \(r.stderr)", sourceLocation: sourceLocation)
        // Bad input (2) is the one line plus argument-parser's hint ("See 'pathprobe X --help' ...").
        let lines = r.stderr.split(separator: "\n")
        let hint = status == 2 ? lines.count == 2 && lines[1].hasPrefix("See 'pathprobe") : lines.count == 1
        #expect(hint && lines[0].hasPrefix("pathprobe: "), "\(what): \(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stdout.isEmpty, "\(what): \(r.stdout)", sourceLocation: sourceLocation)
    }

    // MARK: reproducers

    @Test(arguments: [
        ["mtu", "--rate", "nan", "127.0.0.1"], ["mtu", "--rate", "1e-300", "127.0.0.1"], ["mtu", "--rate", "1e-10", "127.0.0.1"],
        ["mtu", "--timeout", "nan", "127.0.0.1"], ["reach", "--rate", "nan", "--tcp", "1", "127.0.0.1"],
        ["reach", "--rate", "1e-300", "--tcp", "1", "127.0.0.1"], ["profile", "--timeout", "inf", "127.0.0.1"],
        ["bulk", "--rate", "-1", "-"],
        ["serve", "--duration", "1e300"], ["serve", "--duration", "inf"], ["serve", "--duration", "2e10"],
        ["serve", "--duration", "nan"], ["serve", "--rate", "1e-300"], ["serve", "--rate", "nan"],
        ["serve", "--max-pps", "nan"], ["serve", "--user", "0"],
        ["mtu", "127.1"], ["mtu", "0x7f.0.0.1"], ["mtu", "+1::"], ["mtu", "1::+2"], ["mtu", "010.0.0.1"],
    ])
    func badInputIsOneLineAndExit2(_ args: [String]) {
        expectOneLine(run(args), status: 2, args.joined(separator: " "))
    }

    @Test func reportsThatCrashedDiff() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(Lab.uniquePrefix("hd")).path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let surrogate = dir + "/surrogate.json"
        try #"{"type":"profile","schema_version":2,"target":"\ud800\ud800"}"#.write(toFile: surrogate, atomically: true, encoding: .utf8)
        try #""\ud800\ud800""#.write(toFile: dir + "/bare.json", atomically: true, encoding: .utf8)
        expectOneLine(run(["diff", surrogate, surrogate]), status: 2, "diff with a surrogate target")
        expectOneLine(run(["diff", dir + "/bare.json", dir + "/bare.json"]), status: 2, "diff of a bare string")
        // The size cap: 65 MiB is refused at once.
        try Lab.sh("truncate -s 65M \(dir)/big.json")
        expectOneLine(run(["diff", dir + "/big.json", surrogate]), status: 2, "diff of a 65 MiB file")
        expectOneLine(run(["diff", dir, surrogate]), status: 2, "diff of a directory")

        // Escape sequences in a report never reach the terminal.
        let real = run(["profile", "--json", "127.0.0.1"])
        #expect(real.status == 0, "\(real.stderr)")
        try real.stdout.write(toFile: dir + "/before.json", atomically: true, encoding: .utf8)
        let evil = real.stdout.replacingOccurrences(of: #""interface": "lo""#, with: #""interface": "lo\u001b[2J\u001b]0;owned\u0007""#)
            .replacingOccurrences(of: #""name": "lo""#, with: #""name": "lo\u001b[2J\u001b]0;owned\u0007""#)
        #expect(evil != real.stdout)
        try evil.write(toFile: dir + "/after.json", atomically: true, encoding: .utf8)
        let d = run(["diff", dir + "/before.json", dir + "/after.json"])
        #expect(d.status == 0 || d.status == 1, "\(d.stderr)")
        #expect(d.stdout.contains("lo[2J]0;owned"), "\(d.stdout)")
        #expect(!d.stdout.contains("\u{1B}") && !d.stdout.contains("\u{07}"))
    }

    @Test func bulkInputs() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(Lab.uniquePrefix("hb")).path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let bin = Lab.binary ?? "pathprobe"
        // A pipe given as a file (process substitution) is read once: it measures.
        let fifo = Lab.run(["/bin/bash", "-c", "\(bin) bulk --quiet -f <(printf '127.0.0.1\\n')"])
        #expect(fifo.status == 0, "\(fifo.stderr)")
        #expect(fifo.stdout.contains(#""type":"mtu""#) && fifo.stdout.contains(#""target":"127.0.0.1""#), "\(fifo.stdout)")
        // A FIFO by name too. Its writer runs beside pathprobe in one shell: a writer left in the
        // background would keep the test process's descriptors and Process would never see the end.
        let named = Lab.run(["/bin/bash", "-c", "mkfifo \(dir)/targets && { printf '127.0.0.1\\n::1\\n' > \(dir)/targets & } && exec \(bin) bulk --quiet -f \(dir)/targets"])
        #expect(named.status == 0 && named.stdout.split(separator: "\n").count == 2, "\(named.stdout) \(named.stderr)")
        expectOneLine(run(["bulk", "--quiet", "-f", dir]), status: 2, "bulk -f DIR")
        // /dev/zero and a 50 MB line without a newline: bounded in time and memory, an error record, exit 2.
        try Lab.sh("head -c 50000000 /dev/zero | tr '\\0' a > \(dir)/long.txt")
        for input in ["/dev/zero", dir + "/long.txt"] {
            let start = Date()
            let r = Lab.run(["/usr/bin/time", "-f", "maxrss_kb %M", bin, "bulk", "--quiet", "-f", input])
            let seconds = Date().timeIntervalSince(start)
            #expect(r.status == 2, "\(input): \(r.status) \(r.stderr)")
            #expect(r.stdout.contains(#""type":"error""#) && r.stdout.contains("longer than 4096 bytes"), "\(input)")
            #expect(r.stderr.contains("without a line end"), "\(input): \(r.stderr)")
            let rss = r.stderr.split(separator: "\n").first { $0.hasPrefix("maxrss_kb ") }.flatMap { Int($0.dropFirst(10)) } ?? .max
            #expect(seconds < 10 && rss < 100_000, "\(input): \(seconds) s, \(rss) KB")
        }
        // --resume over an output line holding the escape that crashed the JSON reader.
        try "{\"target\":\"a\\ud800\\u0041\",\"line\":1}\n".write(toFile: dir + "/out.jsonl", atomically: true, encoding: .utf8)
        try "127.0.0.1\n".write(toFile: dir + "/in.txt", atomically: true, encoding: .utf8)
        let resumed = run(["bulk", "--quiet", "-f", dir + "/in.txt", "-o", dir + "/out.jsonl", "--resume"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
    }

    @Test func writeErrorsAndUnreachableTargets() throws {
        // Output that cannot be written is exit 3 (one line), for every command that prints.
        for args in [["profile", "--json", "127.0.0.1"], ["mtu", "127.0.0.1"], ["nic", "--json"], ["route", "127.0.0.1"]] {
            let r = Lab.run(["/bin/bash", "-c", "\(Lab.binary ?? "pathprobe") \(args.joined(separator: " ")) > /dev/full"])
            #expect(r.status == 3, "\(args) > /dev/full: \(r.status)")
            #expect(r.stderr.contains("cannot write standard output"), "\(args): \(r.stderr)")
        }
        let lab = try ReachLab("hx")
        defer { lab.tearDown() }
        try lab.rule(lab.server, .ipv4, "-A INPUT -p tcp -j DROP")
        // Nothing answers: exit 1, the document still printed.
        let dropped = Lab.pathprobe(["reach", "--json", "--tcp", "80,443", "--timeout", "0.3", ReachLab.server(.ipv4)], in: lab.client)
        #expect(dropped.status == 1 && dropped.stdout.contains(#""type": "reach""#), "\(dropped.status) \(dropped.stderr)")
        let unroutable = Lab.pathprobe(["reach", "--tcp", "80", "--timeout", "0.3", "10.9.9.9"], in: lab.client)
        #expect(unroutable.status == 1 && unroutable.stdout.contains("no answer from 10.9.9.9"), "\(unroutable.stdout)")
        let closed = Lab.pathprobe(["reach", "--tcp", "80", "--timeout", "0.3", ReachLab.server(.ipv6)], in: lab.client)
        #expect(closed.status == 0, "a closed port answered: \(closed.stdout)")
    }

    // MARK: the hop rule and the return path

    /// TTL-limited pings at every hop, as fast as ping goes: the routers' ICMP error budget for the
    /// client is spent right before each run (another tool, run in between).
    static let drain = "for t in 1 2 3; do ping -q -c 20 -i 0.002 -t $t -w 0.1 10.0.3.2 >/dev/null 2>&1; "
        + "ping -6 -q -c 20 -i 0.002 -t $t -w 0.1 fd00:3::2 >/dev/null 2>&1; done; tracepath -n -m 3 10.0.3.2 >/dev/null 2>&1 || true"

    /// Issue 13's Done-when: 20 back-to-back `mtu` runs through a black hole, the budget drained
    /// before each, never name a wrong hop. Hole after hop 1 (r1; hop 2 proves it) and after hop 2
    /// (r2; the target is the next hop: its UDP answers prove it).
    @Test(arguments: [("--mtu2 1400 --blackhole r1", 1, "10.0.1.2"), ("--mtu3 1400 --blackhole r2", 2, "10.0.2.2")])
    func twentyRunsThroughABlackHoleNeverNameAWrongHop(_ options: String, _ hop: Int, _ address: String) throws {
        let lab = try ReachLab("hh", options)
        defer { lab.tearDown() }
        var named = 0
        var ms: [Double] = []
        for _ in 0..<20 {
            try Lab.sh("ip netns exec \(lab.client) sh -c '\(Self.drain)'")
            let r = Lab.pathprobe(["mtu", "-n", "--json", ReachLab.server(.ipv4)], in: lab.client)
            let doc = try JSON.parse(r.stdout)
            #expect(doc["path_mtu"]?.intValue == 1400 && doc["black_hole"]?.boolValue == true, "\(r.stdout)")
            if let h = doc["black_hole_hop"], !h.isNull {
                #expect(h["ttl"]?.intValue == hop && h["address"]?.stringValue == address, "named \(h.serialized())")
                named += 1
            }
            ms.append(doc["duration_ms"]?.doubleValue ?? 0)
        }
        print("hardening lab: black hole after hop \(hop): hop named in \(named)/20 runs, never another; duration \(Int(ms.min() ?? 0))-\(Int(ms.max() ?? 0)) ms")
        #expect(named >= 10, "the budget refills within the rounds: most runs name the hop (\(named)/20)")
    }

    /// Issue 10's one-way bottleneck on the way back (--down-mtu 1400, its PTB dropped): IPv4 echo
    /// replies are sent without DF and fragmented, so ICMP mode sees 1500 and no black hole; IPv6
    /// echo replies above 1400 vanish: 1400, a black hole, and no forward hop blamed (TTL-limited
    /// probes reach every router; the UDP check proves the forward path carries 1500).
    @Test func aReturnPathDropIsNeverBlamedOnAForwardHop() throws {
        let lab = try ReachLab("hr", "--down-mtu 1400")
        defer { lab.tearDown() }
        for attempt in 0..<5 {
            if attempt > 0 { try Lab.sh("ip netns exec \(lab.client) sh -c '\(Self.drain)'") }
            let v4 = try JSON.parse(Lab.pathprobe(["mtu", "-n", "--json", ReachLab.server(.ipv4)], in: lab.client).stdout)
            #expect(v4["path_mtu"]?.intValue == 1500 && v4["black_hole"]?.boolValue == false)
            #expect(v4["black_hole_hop"]?.isNull == true)
            let v6 = try JSON.parse(Lab.pathprobe(["mtu", "-n", "--json", ReachLab.server(.ipv6)], in: lab.client).stdout)
            #expect(v6["path_mtu"]?.intValue == 1400 && v6["black_hole"]?.boolValue == true, "\(v6.serialized())")
            #expect(v6["black_hole_hop"]?.isNull == true, "a forward hop was blamed: \(v6["black_hole_hop"]?.serialized() ?? "")")
        }
    }

    // MARK: the responder

    /// Thousands of spoofed source addresses flood `serve` (a raw-socket sender in the client
    /// namespace, 16,384 sources at 15,000 requests a second: three quarters of the default global
    /// ceiling, --max-pps 20,000, so every source stays tracked and under its own limit) while 36 new
    /// real clients, each from an address of its own, ask once and retry like reach does; and a real
    /// `reach --responder` runs. (A flood above --max-pps crowds real clients out in proportion: the
    /// ceiling is the promise that serve never sends more; nothing in a datagram tells a spoofed
    /// source from a real one. docs/responder.md says so.)
    @Test func theResponderAnswersEveryRealClientUnderASpoofedFlood() throws {
        let lab = try ReachLab("hf")
        defer { lab.tearDown() }
        for i in 100..<136 { try Lab.sh("ip netns exec \(lab.client) ip addr add 10.0.1.\(i)/24 dev eth0") }
        let log = try lab.serve()
        let flood = "/tmp/\(lab.prefix)-flood.out"
        let floodPID = try Lab.sh("ip netns exec \(lab.client) python3 \(Self.support)/spoofed_flood.py 10.0.3.2 \(ResponderWire.defaultPort) 16384 40 15000 > \(flood) 2>&1 < /dev/null & echo $!")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        defer {
            _ = try? Lab.sh("kill \(floodPID) 2>/dev/null || true")
            try? FileManager.default.removeItem(atPath: flood)
        }
        usleep(1_500_000)
        let once = try Lab.sh("ip netns exec \(lab.client) python3 \(Self.support)/responder_clients.py 10.0.3.2 \(ResponderWire.defaultPort) 100 36 1")
        let retried = try Lab.sh("ip netns exec \(lab.client) python3 \(Self.support)/responder_clients.py 10.0.3.2 \(ResponderWire.defaultPort) 100 36 3")
        let reach = Lab.pathprobe(["reach", "--json", "--responder", ReachLab.server(.ipv4)], in: lab.client)
        // The flood prints what it sent when it ends (SIGINT: Python's KeyboardInterrupt is caught below).
        _ = try? Lab.sh("kill -INT \(floodPID) 2>/dev/null; for i in $(seq 50); do kill -0 \(floodPID) 2>/dev/null || break; sleep 0.1; done")
        let summary = lab.stopServe(log)
        let sent = (try? String(contentsOfFile: flood, encoding: .utf8)) ?? ""
        print("hardening lab: flood \(sent.trimmingCharacters(in: .whitespacesAndNewlines)); real clients, one try: \(once.trimmingCharacters(in: .whitespacesAndNewlines)); with retries: \(retried.trimmingCharacters(in: .whitespacesAndNewlines))")
        print("hardening lab: serve: " + summary.split(separator: "\n").filter { $0.contains("not answered") || $0.contains("not logged") || $0.contains("more clients") }.suffix(3).joined(separator: " | "))
        #expect(retried.contains("answered 36/36"), "\(retried)")
        let doc = try JSON.parse(reach.stdout)
        #expect(doc["responder"]?["reachable"]?.boolValue == true, "reach --responder under the flood: \(reach.stdout) \(reach.stderr)")
        #expect(doc["responder"]?["udp_path_mtu_up"]?.intValue == 1500 && doc["responder"]?["udp_path_mtu_down"]?.intValue == 1500)
        #expect(summary.contains("running as nobody"))
        #expect(summary.split(separator: "\n").filter { $0.contains("first request") }.count < 2000, "log lines are rate-limited")
    }

    /// Started as root: after binding it is `nobody` with no capabilities at all and no new
    /// privileges; a missing account or root as the account is refused with one line.
    @Test func serveGivesUpRoot() throws {
        let lab = try ReachLab("hp")
        defer { lab.tearDown() }
        let log = try lab.serve(["--port", "853"])
        let pid = try #require(try Lab.sh("ip netns pids \(lab.server)").split(separator: "\n").first.map(String.init))
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        func field(_ name: String) -> String {
            status.split(separator: "\n").first { $0.hasPrefix(name + ":") }.map { $0.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces) } ?? "?"
        }
        print("hardening lab: serve pid \(pid): Uid \(field("Uid")) Gid \(field("Gid")) Groups '\(field("Groups"))' CapPrm \(field("CapPrm")) CapEff \(field("CapEff")) CapBnd \(field("CapBnd")) CapAmb \(field("CapAmb")) NoNewPrivs \(field("NoNewPrivs"))")
        #expect(field("Uid").split(separator: "\t").allSatisfy { $0 == "65534" })
        #expect(field("Gid").split(separator: "\t").allSatisfy { $0 == "65534" })
        #expect(field("Groups").isEmpty)
        for cap in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] { #expect(field(cap) == "0000000000000000", "\(cap)") }
        #expect(field("NoNewPrivs") == "1")
        // It still answers on the privileged port it bound as root.
        let r = try lab.reach(["--responder=853", ReachLab.server(.ipv4)])
        #expect(r["responder"]?["reachable"]?.boolValue == true)
        _ = lab.stopServe(log)
        let missing = Lab.pathprobe(["serve", "--user", "pathprobe-no-such-user", "--duration", "1"], in: lab.server)
        expectOneLine(missing, status: 3, "serve --user with no such account")
        #expect(missing.stderr.contains("no user 'pathprobe-no-such-user'"))
        // Started unprivileged it runs as it is, without capabilities.
        let plain = Lab.pathprobe(["serve", "--port", "40999", "--duration", "0.5"], in: lab.server, asUser: "nobody")
        #expect(plain.status == 0 && plain.stderr.contains("no capabilities"), "\(plain.stderr)")
    }
}
