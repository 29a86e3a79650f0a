import Foundation
import PathProbeCore
import Testing

/// `pathprobe mtu -P tcp` in the namespace lab, against real peers (scripts/lab.sh --windows-server:
/// no echo replies, no port unreachable, TLS on 443 with a 2-certificate RSA-4096 chain, xrdp on
/// 3389, HTTP on 80; and `pathprobe serve`): both directions to the byte through black holes and
/// PTB hops, IPv4 and IPv6, as root and as an unprivileged user; closed and silent ports; `profile`
/// recommending the interface MTU from the download value; `bulk --mode mtu --protocol tcp`.
/// A fresh lab per scenario: kernels cache a learned PMTU for ~10 minutes.
@Suite(.enabled(if: Lab.isAvailable, "\(Lab.skipReason ?? "")"), .serialized)
struct TCPMTULabTests {
    static func target(_ family: AddressFamily) -> String { family == .ipv4 ? LabTopology.server4 : LabTopology.server6 }
    static let unprivileged = "nobody"

    /// `mtu -P tcp ARGS --json` in the client namespace: the document, checked for the keys every
    /// TCP document has, and the wall time.
    func measure(_ lab: LabTopology, _ args: [String], asUser user: String? = nil) throws -> (r: [String: Any], seconds: Double) {
        let started = Date()
        let r = try lab.pathprobeJSON(["mtu", "-n", "-P", "tcp"] + args, asUser: user)
        let seconds = Date().timeIntervalSince(started)
        #expect(r["protocol"] as? String == "tcp" && r["socket"] as? String == "tcp", "\(args)")
        for key in ["path_mtu_up", "path_mtu_down", "black_hole_direction", "service", "connections", "notes"] {
            #expect(r.keys.contains(key), "\(args): \(key) is always present")
        }
        return (r, seconds)
    }

    /// Forgets the path MTUs the client and the server learned from PTBs (kept ~10 minutes).
    func flushPMTUCaches(_ lab: LabTopology) throws {
        for ns in [lab.client, lab.server] {
            try lab.exec(ns, "ip route flush cache")
            try lab.exec(ns, "ip -6 route flush cache")
        }
    }

    func expectBoth(_ r: [String: Any], up: Int, down: Int, direction: String?, _ what: String) {
        #expect(r["status"] as? String == "measured", "\(what): \(r)")
        #expect(r["path_mtu_up"] as? Int == up, "\(what): up \(r["path_mtu_up"] ?? "?"), expected \(up); notes \(r["notes"] ?? "")")
        #expect(r["path_mtu_down"] as? Int == down, "\(what): down \(r["path_mtu_down"] ?? "?"), expected \(down); notes \(r["notes"] ?? "")")
        #expect(r["path_mtu"] as? Int == min(up, down), "\(what): path_mtu")
        #expect(r["black_hole"] as? Bool == (direction != nil), "\(what): black_hole")
        #expect((r["black_hole_direction"] as? String) == direction, "\(what): black_hole_direction \(r["black_hole_direction"] ?? "?")")
    }

    // MARK: black holes

    /// A Windows-like server behind a mid-path link whose routers both drop their own "fragmentation
    /// needed": ping and UDP get nothing, TLS (443) and RDP (3389, xrdp) measure it exactly both ways.
    @Test(arguments: [AddressFamily.ipv4, .ipv6])
    func windowsServerBehindAMidPathBlackHole(_ family: AddressFamily) throws {
        let mtu = Int.random(in: (family == .ipv4 ? 1200 : 1300)...1480)
        let lab = try LabTopology("tbh", ["--mtu2", "\(mtu)", "--blackhole", "r1", "--windows-server"])
        defer { lab.down() }
        try lab.exec(lab.r2, "iptables -A OUTPUT -p icmp --icmp-type fragmentation-needed -j DROP")
        try lab.exec(lab.r2, "ip6tables -A OUTPUT -p icmpv6 --icmpv6-type packet-too-big -j DROP")
        // What the issue found: echo gets no answer at all.
        let ping = lab.pathprobe(["mtu", "-n", "--timeout", "0.3", "-c", "1", Self.target(family)])
        #expect(ping.status == 1, "ICMP: \(ping.stdout)")
        for (port, service) in [(443, "tls"), (3389, "rdp")] {
            let (r, seconds) = try measure(lab, ["--port", "\(port)", Self.target(family)])
            expectBoth(r, up: mtu, down: mtu, direction: "both", "\(family) \(service), link MTU \(mtu)")
            #expect(r["service"] as? String == service)
            #expect((r["ptb"] as? [Any])?.isEmpty == true)
            print("tcp-mtu lab: \(family) \(service) black hole \(mtu) both ways: \(r["connections"] ?? "?") connections, \(String(format: "%.2f", seconds)) s")
        }
    }

    /// The download black hole that breaks TLS and RDP (`--mtu2 1400 --blackhole r2`: r1 sends its
    /// PTBs towards the client, r2 drops them towards the server): the download is a black hole at
    /// 1400, the upload 1400 from r1's PTB; as root and as nobody.
    @Test(arguments: [AddressFamily.ipv4, .ipv6])
    func windowsServerBehindADownloadBlackHole(_ family: AddressFamily) throws {
        let lab = try LabTopology("tdb", ["--mtu2", "1400", "--blackhole", "r2", "--windows-server"])
        defer { lab.down() }
        for (port, user) in [(443, nil), (3389, Self.unprivileged as String?)] {
            try flushPMTUCaches(lab)  // the first run's PTB from r1 would cap the second's sizes
            let (r, seconds) = try measure(lab, ["--port", "\(port)", Self.target(family)], asUser: user)
            expectBoth(r, up: 1400, down: 1400, direction: "down", "\(family) port \(port) \(user ?? "root")")
            #expect((r["ptb"] as? [[String: Any]])?.contains { $0["mtu"] as? Int == 1400 } == true, "r1's PTB is reported: \(r["ptb"] ?? "?")")
            print("tcp-mtu lab: \(family) port \(port) download black hole 1400: \(r["connections"] ?? "?") connections, \(String(format: "%.2f", seconds)) s")
        }
    }

    /// One-way bottlenecks (a route MTU on one router, its PTB dropped): the right direction, exact,
    /// the other 1500; as root and as nobody.
    @Test(arguments: [("up", AddressFamily.ipv4), ("down", .ipv4), ("up", .ipv6), ("down", .ipv6)])
    func oneWayBottleneck(_ direction: String, _ family: AddressFamily) throws {
        let mtu = Int.random(in: (family == .ipv4 ? 1100 : 1300)...1480)
        let lab = try LabTopology("tow", ["--\(direction)-mtu", "\(mtu)", "--windows-server"])
        defer { lab.down() }
        let (r, seconds) = try measure(lab, [Self.target(family)], asUser: direction == "down" ? Self.unprivileged : nil)
        expectBoth(r, up: direction == "up" ? mtu : 1500, down: direction == "down" ? mtu : 1500, direction: direction,
                   "\(family) \(direction) \(mtu)")
        print("tcp-mtu lab: \(family) one-way \(direction) \(mtu): \(r["connections"] ?? "?") connections, \(String(format: "%.2f", seconds)) s")
    }

    /// Different bottlenecks each way, RDP as an unprivileged user.
    @Test func differentBlackHolesEachWay() throws {
        let lab = try LabTopology("tdw", ["--up-mtu", "1450", "--down-mtu", "1400", "--windows-server"])
        defer { lab.down() }
        for family in [AddressFamily.ipv4, .ipv6] {
            let (r, _) = try measure(lab, ["--port", "3389", Self.target(family)], asUser: Self.unprivileged)
            expectBoth(r, up: 1450, down: 1400, direction: "both", "\(family) rdp")
        }
    }

    // MARK: packet-too-big

    /// A download bottleneck whose router does send its PTB: the server sends no larger, exact, no
    /// black hole (up is then only "at least": the server's MSS follows the PMTU it learned).
    @Test(arguments: [AddressFamily.ipv4, .ipv6])
    func downloadPTBHop(_ family: AddressFamily) throws {
        let lab = try LabTopology("tpd", ["--down-mtu", "1400", "--oneway-ptb", "--windows-server"])
        defer { lab.down() }
        let (r, _) = try measure(lab, [Self.target(family)])
        #expect(r["path_mtu"] as? Int == 1400, "\(r)")
        #expect(r["path_mtu_down"] as? Int == 1400)
        #expect(r["black_hole"] as? Bool == false && r["black_hole_direction"] is NSNull)
        #expect((r["path_mtu_up_at_least"] as? Int ?? 0) >= 1400)
    }

    /// The plain PTB lab (a 1400 link, PTBs both ways): path_mtu exact, no black hole.
    @Test(arguments: [AddressFamily.ipv4, .ipv6])
    func ptbHopBothWays(_ family: AddressFamily) throws {
        let lab = try LabTopology("tpb", ["--mtu2", "1400", "--windows-server"])
        defer { lab.down() }
        let (r, _) = try measure(lab, [Self.target(family)])
        #expect(r["path_mtu"] as? Int == 1400, "\(r)")
        #expect(r["black_hole"] as? Bool == false)
        #expect(r["status"] as? String == "measured")
    }

    // MARK: clean, serve, failures

    @Test func cleanPath() throws {
        let lab = try LabTopology("tcl", ["--windows-server"])
        defer { lab.down() }
        for (family, user) in [(AddressFamily.ipv4, nil), (.ipv6, Self.unprivileged as String?)] {
            for port in [443, 80] {
                let (r, _) = try measure(lab, ["--port", "\(port)", Self.target(family)], asUser: user)
                expectBoth(r, up: 1500, down: 1500, direction: nil, "\(family) port \(port)")
                #expect(r["service"] as? String == (port == 80 ? "http" : "tls"))
                #expect((r["connections"] as? Int ?? 99) <= 20, "one round each way: \(r["connections"] ?? "?")")
            }
        }
        let text = lab.pathprobe(["mtu", "-n", "-P", "tcp", LabTopology.server4])
        #expect(text.status == 0)
        #expect(text.stdout.contains("up (to the host)") && text.stdout.contains("down (from the host)") && text.stdout.contains("clean"))
    }

    /// `pathprobe serve` answers the TCP side: both ways exact against it, as nobody, both families.
    @Test func againstPathprobeServe() throws {
        let lab = try ReachLab("tsv", "--up-mtu 1450 --down-mtu 1400")
        defer { lab.tearDown() }
        let log = try lab.serve()
        let port = "\(ResponderWire.defaultPort)"
        for family in [AddressFamily.ipv4, .ipv6] {
            let run = Lab.pathprobe(["mtu", "-n", "--json", "-P", "tcp", "--service", "pathprobe", "--port", port, ReachLab.server(family)],
                                    in: lab.client, asUser: Self.unprivileged)
            #expect(run.status == 0, "\(run.stderr)")
            let r = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any] ?? [:]
            expectBoth(r, up: 1450, down: 1400, direction: "both", "\(family) serve")
            #expect(r["service"] as? String == "pathprobe")
        }
        let summary = lab.stopServe(log)
        #expect(summary.contains("tcp client") && summary.contains("tcp: "), "\(summary)")
    }

    @Test func closedPortAndSilentHostExitOne() throws {
        let lab = try LabTopology("tcf", ["--windows-server"])
        defer { lab.down() }
        let closed = lab.pathprobe(["mtu", "-n", "-P", "tcp", "--port", "8443", LabTopology.server4])
        #expect(closed.status == 1)
        #expect(closed.stdout.split(separator: "\n").count == 1 && closed.stdout.contains("port 8443") && closed.stdout.contains("closed"),
                "\(closed.stdout)")
        let json = lab.pathprobe(["mtu", "-n", "-P", "tcp", "--port", "8443", "--json", LabTopology.server6], asUser: Self.unprivileged)
        #expect(json.status == 1)
        let r = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect(r?["status"] as? String == "unreachable" && r?["path_mtu_up"] is NSNull && r?["service"] is NSNull)
        // A host that drops everything: no answer to the handshake.
        try lab.exec(lab.server, "iptables -I INPUT -p tcp -j DROP")
        let started = Date()
        let silent = lab.pathprobe(["mtu", "-n", "-P", "tcp", "--timeout", "0.3", LabTopology.server4])
        #expect(silent.status == 1)
        #expect(silent.stdout.split(separator: "\n").count == 1 && silent.stdout.contains("no answer"), "\(silent.stdout)")
        #expect(Date().timeIntervalSince(started) < 3)
    }

    // MARK: profile and bulk

    /// The Windows-like server behind a download black hole: ICMP gets nothing, profile measures over
    /// TCP and sizes the interface MTU and the MSS clamp from the download value.
    @Test func profileRecommendsTheDownloadValue() throws {
        // Ping sockets open to every group (as on most desktop distributions): nobody's profile starts
        // with ICMP; without them it would exit 3 before any TCP step.
        let lab = try LabTopology("tpf", ["--down-mtu", "1400", "--windows-server", "--ping-group", "open"])
        defer { lab.down() }
        for user in [nil, Self.unprivileged] {
            let run = lab.pathprobe(["profile", "-n", "--json", "--rdp", LabTopology.server4], asUser: user)
            #expect(run.status == 0, "\(run.stderr)")
            let r = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any] ?? [:]
            let mtu = r["mtu"] as? [String: Any] ?? [:]
            #expect(mtu["protocol"] as? String == "tcp" && mtu["path_mtu_down"] as? Int == 1400 && mtu["path_mtu_up"] as? Int == 1500)
            #expect(mtu["black_hole_direction"] as? String == "down")
            let recs = (r["recommendations"] as? [[String: Any]] ?? []).reduce(into: [String: String]()) { $0[$1["id"] as? String ?? ""] = $1["value"] as? String }
            #expect(recs["interface-mtu"] == "1400" && recs["tcp-mss-clamp"] == "1360", "\(user ?? "root"): \(recs)")
        }
    }

    /// Echo answered (IPv4: Linux replies without DF, routers fragment them, so ICMP sees 1500):
    /// profile still measures the download over TCP and finds the 1400 black hole.
    @Test func profileMeasuresTheDownloadEvenWhenPingAnswers() throws {
        let lab = try LabTopology("tpp", ["--down-mtu", "1400", "--windows-server"])
        defer { lab.down() }
        try lab.exec(lab.server, "iptables -F")
        let icmp = try lab.pathprobeJSON(["mtu", "-n", LabTopology.server4])
        #expect(icmp["path_mtu"] as? Int == 1500, "ICMP echo cannot see it")
        let r = try lab.pathprobeJSON(["profile", "-n", "--tcp", "443", LabTopology.server4])
        let mtu = r["mtu"] as? [String: Any] ?? [:]
        #expect(mtu["protocol"] as? String == "tcp" && mtu["path_mtu"] as? Int == 1400 && mtu["path_mtu_down"] as? Int == 1400)
        #expect((mtu["hops"] as? [Any])?.count == 3, "the ICMP trace's hops are kept")
        let ids = (r["recommendations"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        #expect(ids.contains("interface-mtu"))
    }

    @Test func bulkMTUOverTCP() throws {
        let lab = try LabTopology("tbk", ["--down-mtu", "1400", "--windows-server"])
        defer { lab.down() }
        let dir = NSTemporaryDirectory() + "pathprobe-tcpmtu-\(lab.prefix)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "\(LabTopology.server4)\n\(LabTopology.server6)\n".write(toFile: "\(dir)/targets", atomically: true, encoding: .utf8)
        let run = Lab.pathprobe(["bulk", "--mode", "mtu", "--protocol", "tcp", "--quiet", "-f", "\(dir)/targets", "-o", "\(dir)/out.jsonl"],
                                in: lab.client, asUser: nil)
        #expect(run.status == 0, "\(run.stderr)")
        let lines = (try? String(contentsOfFile: "\(dir)/out.jsonl", encoding: .utf8))?.split(separator: "\n") ?? []
        #expect(lines.count == 2)
        for line in lines {
            let r = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
            #expect(r["protocol"] as? String == "tcp" && r["path_mtu_down"] as? Int == 1400 && r["path_mtu_up"] as? Int == 1500, "\(r)")
        }
    }
}
