import Foundation
import Testing

/// `pathprobe mtu` in the namespace lab: exact path MTU with and without packet-too-big, IPv4 and
/// IPv6, black holes and the hop that makes them, loss, UDP mode, and the three privilege cases.
/// Link MTUs are drawn at test time so nothing about the lab can be baked into the tool.
@Suite(.enabled(if: Lab.isAvailable, "\(Lab.skipReason ?? "")"), .serialized)
struct MTULabTests {
    static func randomMTU(_ family: String) -> Int {
        Int.random(in: (family == "ipv6" ? 1280 : 1000)...1480)
    }

    func target(_ family: String) -> String { family == "ipv6" ? LabTopology.server6 : LabTopology.server4 }

    @Test(arguments: ["ipv4", "ipv6"])
    func cleanPath(_ family: String) throws {
        let lab = try LabTopology("clean")
        defer { lab.down() }
        let r = try lab.pathprobeJSON(["mtu", "-n", target(family)])
        #expect(r["status"] as? String == "measured")
        #expect(r["family"] as? String == family)
        #expect(r["path_mtu"] as? Int == 1500)
        #expect(r["black_hole"] as? Bool == false)
        #expect(r["local_mtu"] as? Int == 1500)
        #expect(r["interface"] as? String == "eth0")
        #expect((r["hops"] as? [[String: Any]])?.count == 3)
    }

    @Test(arguments: ["ipv4", "ipv6"])
    func pppoeHopWithPacketTooBig(_ family: String) throws {
        let lab = try LabTopology("ptb", ["--mtu2", "1492"])
        defer { lab.down() }
        let r = try lab.pathprobeJSON(["mtu", "-n", target(family)])
        #expect(r["path_mtu"] as? Int == 1492)
        #expect(r["black_hole"] as? Bool == false)
        #expect(r["black_hole_hop"] is NSNull)
        let ptb = r["ptb"] as? [[String: Any]] ?? []
        #expect(ptb.first?["mtu"] as? Int == 1492, "the router's packet-too-big was used")
        #expect(ptb.first?["from"] as? String == (family == "ipv6" ? "fd00:1::2" : "10.0.1.2"))
        let hops = r["hops"] as? [[String: Any]] ?? []
        #expect(hops.map { $0["mtu"] as? Int } == [1500, 1492, 1492])
        #expect((r["duration_ms"] as? Double ?? 1e9) < 1000)
    }

    /// A VPN-like black hole: r2's link to the server is small and r2 drops its own ICMP about it.
    @Test(arguments: ["ipv4", "ipv6"])
    func blackHoleExactAndLocalised(_ family: String) throws {
        let mtu = Self.randomMTU(family)
        let lab = try LabTopology("bh", ["--mtu3", "\(mtu)", "--blackhole", "r2"])
        defer { lab.down() }
        let started = Date()
        let r = try lab.pathprobeJSON(["mtu", "-n", target(family)])
        let wall = Date().timeIntervalSince(started)
        #expect(r["path_mtu"] as? Int == mtu, "link MTU \(mtu)")
        #expect(r["black_hole"] as? Bool == true)
        let hop = r["black_hole_hop"] as? [String: Any]
        #expect(hop?["ttl"] as? Int == 2)
        #expect(hop?["address"] as? String == (family == "ipv6" ? "fd00:2::2" : "10.0.2.2"))
        #expect((r["duration_ms"] as? Double ?? 1e9) < 1000, "measured in \(r["duration_ms"] ?? "?") ms")
        #expect(wall < 1.5, "whole command took \(wall) s")
    }

    /// 1400 on the VPN-like link, and a PPPoE-like 1492 hop before it that does send PTB.
    @Test(arguments: ["ipv4", "ipv6"])
    func pppoeThenVPNBlackHole(_ family: String) throws {
        let lab = try LabTopology("mix", ["--mtu2", "1492", "--mtu3", "1400", "--blackhole", "r2"])
        defer { lab.down() }
        let r = try lab.pathprobeJSON(["mtu", "-n", target(family)])
        #expect(r["path_mtu"] as? Int == 1400)
        #expect(r["black_hole"] as? Bool == true)
        #expect((r["black_hole_hop"] as? [String: Any])?["ttl"] as? Int == 2)
        let hops = r["hops"] as? [[String: Any]] ?? []
        #expect(hops.map { $0["mtu"] as? Int } == [1500, 1492, 1400])
    }

    /// 1337 is on no plateau table: only a byte-exact search finds it.
    @Test(arguments: ["ipv4", "ipv6"])
    func blackHoleOffThePlateauTable(_ family: String) throws {
        let lab = try LabTopology("odd", ["--mtu2", "1337", "--blackhole", "r1"])
        defer { lab.down() }
        let r = try lab.pathprobeJSON(["mtu", "-n", target(family)])
        #expect(r["path_mtu"] as? Int == 1337)
        #expect(r["black_hole"] as? Bool == true)
        #expect((r["black_hole_hop"] as? [String: Any])?["ttl"] as? Int == 1)
    }

    @Test(arguments: ["ipv4", "ipv6"])
    func tenPercentLoss(_ family: String) throws {
        let mtu = Self.randomMTU(family)
        let lab = try LabTopology("loss", ["--mtu3", "\(mtu)", "--blackhole", "r2", "--loss", "10"])
        defer { lab.down() }
        for attempt in 1...3 {
            let r = try lab.pathprobeJSON(["mtu", "-n", target(family)])
            #expect(r["path_mtu"] as? Int == mtu, "attempt \(attempt), link MTU \(mtu)")
            #expect(r["black_hole"] as? Bool == true, "attempt \(attempt)")
        }
    }

    @Test(arguments: ["ipv4", "ipv6"])
    func udpMode(_ family: String) throws {
        let mtu = Self.randomMTU(family)
        let lab = try LabTopology("udp", ["--mtu3", "\(mtu)", "--blackhole", "r2"])
        defer { lab.down() }
        let r = try lab.pathprobeJSON(["mtu", "-n", "--protocol", "udp", target(family)])
        #expect(r["protocol"] as? String == "udp")
        #expect(r["socket"] as? String == "udp")
        #expect(r["path_mtu"] as? Int == mtu, "link MTU \(mtu)")
        #expect(r["black_hole"] as? Bool == true)
        #expect((r["black_hole_hop"] as? [String: Any])?["ttl"] as? Int == 2)
    }

    @Test func udpModeWithPacketTooBig() throws {
        let lab = try LabTopology("udpptb", ["--mtu2", "1400"])
        defer { lab.down() }
        let r = try lab.pathprobeJSON(["mtu", "-n", "-P", "udp", LabTopology.server4])
        #expect(r["path_mtu"] as? Int == 1400)
        #expect(r["black_hole"] as? Bool == false)
    }

    // MARK: privileges

    /// Root, ping sockets closed (the kernel default "1 0"): raw sockets do the job.
    @Test func rootWithPingSocketsClosedUsesRaw() throws {
        let lab = try LabTopology("raw", ["--mtu3", "1400", "--blackhole", "r2", "--ping-group", "closed"])
        defer { lab.down() }
        for family in ["ipv4", "ipv6"] {
            let r = try lab.pathprobeJSON(["mtu", "-n", target(family)])
            #expect(r["socket"] as? String == "raw")
            #expect(r["path_mtu"] as? Int == 1400)
        }
    }

    /// An unprivileged user with ping_group_range open: ping sockets, same answer.
    @Test func unprivilegedWithPingGroupOpen() throws {
        let lab = try LabTopology("unpriv", ["--mtu3", "1400", "--blackhole", "r2", "--ping-group", "open"])
        defer { lab.down() }
        for family in ["ipv4", "ipv6"] {
            let r = try lab.pathprobeJSON(["mtu", "-n", target(family)], asUser: "nobody")
            #expect(r["socket"] as? String == "ping")
            #expect(r["path_mtu"] as? Int == 1400)
            #expect(r["black_hole"] as? Bool == true)
        }
    }

    /// Unprivileged with ping sockets closed: one line that names the sysctl and the capability.
    @Test func neitherPingNorRawSockets() throws {
        let lab = try LabTopology("none", ["--ping-group", "closed"])
        defer { lab.down() }
        let run = lab.pathprobe(["mtu", "-n", LabTopology.server4], asUser: "nobody")
        #expect(run.status == 3, "a missing privilege is the environment: exit 3")
        #expect(run.stdout.isEmpty)
        let lines = run.stderr.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(run.stderr.contains("ping_group_range"))
        #expect(run.stderr.contains("CAP_NET_RAW"))
        // UDP mode needs no privilege at all.
        let udp = lab.pathprobe(["mtu", "-n", "--protocol", "udp", "--json", LabTopology.server4], asUser: "nobody")
        #expect(udp.status == 0)
    }

    // MARK: results that are not a path MTU

    @Test func silentHostIsUnreachable() throws {
        let lab = try LabTopology("dead")
        defer { lab.down() }
        try lab.exec(lab.server, "iptables -A INPUT -p icmp -j DROP")
        let run = lab.pathprobe(["mtu", "-n", "--json", "--timeout", "0.3", LabTopology.server4])
        #expect(run.status == 1)
        let r = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        #expect(r?["status"] as? String == "unreachable")
        #expect(r?["black_hole"] as? Bool == false)
        #expect(r?["path_mtu"] is NSNull)
    }

    @Test(arguments: [
        (["mtu", "--min", "1400", "--max", "1300", "10.0.3.2"], "larger than --max"),
        (["mtu", "--max", "70000", "10.0.3.2"], "outside"),
        (["mtu", "--min", "1000", "fd00:3::2"], "outside 1280-65535"),
        (["mtu", "no-such-host.invalid"], "unknown host"),
        (["mtu", "-6", "10.0.3.2"], "not an IPv6"),
        (["mtu", "--protocol", "sctp", "10.0.3.2"], "protocol"),
        (["mtu", "192.0.2.1"], "no route"),
    ])
    func badInputIsOneLineAndExitTwo(_ args: [String], _ expected: String) throws {
        let lab = try LabTopology("bad")
        defer { lab.down() }
        // r1 has no default route: 192.0.2.1 has no route there, and nothing leaves the lab.
        let run = Lab.pathprobe(args + ["-n"], in: lab.r1)
        #expect(run.status == 2, "\(args): \(run.stderr)")
        #expect(Lab.isUsageError(run, command: "mtu"), "\(run.stderr)")
        #expect(run.stderr.contains(expected), "\(run.stderr)")
    }
}
