import Foundation
import PathProbeCore
import Testing

/// A lab for the reach and serve tests: scripts/lab.sh namespaces plus firewall rules, services and
/// responders inside them, all removed by `tearDown()` (call it with `defer`).
final class ReachLab {
    let prefix: String
    var client: String { prefix + "c" }
    var r1: String { prefix + "r1" }
    var r2: String { prefix + "r2" }
    var server: String { prefix + "s" }
    private var pids: [String] = []

    static func server(_ family: AddressFamily) -> String { family == .ipv4 ? "10.0.3.2" : "fd00:3::2" }
    static func client(_ family: AddressFamily) -> String { family == .ipv4 ? "10.0.1.1" : "fd00:1::1" }

    init(_ base: String, _ options: String = "") throws {
        prefix = Lab.uniquePrefix(base)
        try Lab.sh("\(Lab.labScript) up \(prefix) \(options)")
    }

    func tearDown() {
        for pid in pids { _ = try? Lab.sh("\(Self.script) stop \(pid)") }
        _ = try? Lab.sh("\(Lab.labScript) down \(prefix)")
        _ = try? FileManager.default.removeItem(atPath: "/tmp/\(prefix)-serve.log")
    }

    /// iptables (IPv4) or ip6tables (IPv6) in a namespace.
    func rule(_ namespace: String, _ family: AddressFamily, _ rule: String) throws {
        try Lab.sh("ip netns exec \(namespace) \(family == .ipv4 ? "iptables" : "ip6tables") \(rule)")
    }

    private static let script = Lab.repositoryRoot.appendingPathComponent("scripts/lab-services.sh").path

    /// TCP ports that accept, UDP ports that echo, in the server namespace.
    func services(tcp: [Int], udp: [Int]) throws {
        func list(_ ports: [Int]) -> String { ports.isEmpty ? "-" : ports.map(String.init).joined(separator: ",") }
        let out = try Lab.sh("\(Self.script) start \(server) \(list(tcp)) \(list(udp)) 60")
        pids.append(out.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// `pathprobe serve` in the server namespace; its stderr goes to the returned file.
    func serve(_ arguments: [String] = []) throws -> String {
        let log = "/tmp/\(prefix)-serve.log"
        let binary = Lab.binary ?? "pathprobe"
        let pid = try Lab.sh("\(Self.script) serve \(server) \(log) \(binary) serve --duration 60 \(arguments.joined(separator: " "))")
        pids.append(pid.trimmingCharacters(in: .whitespacesAndNewlines))
        // Ready when it says so.
        for _ in 0..<100 {
            if let text = try? String(contentsOfFile: log, encoding: .utf8), text.contains("listening") { return log }
            usleep(20_000)
        }
        throw Lab.CommandError(command: "pathprobe serve", status: -1, output: (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
    }

    /// Stops `serve` (SIGTERM: it prints its byte summary) and returns its log.
    func stopServe(_ log: String) -> String {
        if let pid = pids.last { _ = try? Lab.sh("kill \(pid) 2>/dev/null; for i in $(seq 50); do kill -0 \(pid) 2>/dev/null || break; sleep 0.05; done") }
        return (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
    }

    /// `pathprobe reach ... --json` from the client namespace, parsed.
    func reach(_ arguments: [String], asUser user: String? = nil, status: Int32 = 0) throws -> JSON {
        let run = Lab.pathprobe(["reach", "--json"] + arguments, in: client, asUser: user)
        guard run.status == status else { throw Lab.CommandError(command: "reach \(arguments)", status: run.status, output: run.stderr) }
        let json = try JSON.parse(run.stdout)
        _ = try Contract.decode(ReachResult.self, from: json)  // the contract's `reach` document, typed
        return json
    }
}

extension JSON {
    /// The entry for `port` in the "tcp" or "udp" array.
    func port(_ proto: String, _ port: Int) -> JSON? {
        self[proto]?.arrayValue?.first { $0["port"]?.intValue == port }
    }
}

@Suite(.enabled(if: Lab.isAvailable, "lab tests need root, iproute2 and a built pathprobe"))
struct ReachLabTests {
    /// Every port state, IPv4 and IPv6: a TCP listener, a closed TCP port, TCP dropped and rejected,
    /// a UDP echo service, UDP dropped, rejected with port unreachable and with admin-prohibited.
    @Test(arguments: [AddressFamily.ipv4, .ipv6])
    func portStates(_ family: AddressFamily) throws {
        let lab = try ReachLab("rs")
        defer { lab.tearDown() }
        try lab.services(tcp: [8080], udp: [7])
        let v4 = family == .ipv4
        try lab.rule(lab.server, family, "-A INPUT -p tcp --dport 9004 -j DROP")
        try lab.rule(lab.server, family, "-A INPUT -p tcp --dport 9005 -j REJECT --reject-with \(v4 ? "icmp-admin-prohibited" : "icmp6-adm-prohibited")")
        try lab.rule(lab.server, family, "-A INPUT -p udp --dport 9001 -j DROP")
        try lab.rule(lab.server, family, "-A INPUT -p udp --dport 9002 -j REJECT --reject-with \(v4 ? "icmp-port-unreachable" : "icmp6-port-unreachable")")
        try lab.rule(lab.server, family, "-A INPUT -p udp --dport 9003 -j REJECT --reject-with \(v4 ? "icmp-admin-prohibited" : "icmp6-adm-prohibited")")
        let server = ReachLab.server(family)

        let r = try lab.reach(["--tcp", "8080,8081,9004,9005", "--udp", "7,9001,9002,9003", server])
        #expect(r["address"]?.stringValue == server)
        #expect(r["family"]?.stringValue == family.rawValue)
        let open = try #require(r.port("tcp", 8080))
        #expect(open["state"]?.stringValue == "open")
        #expect(open["mss"]?.intValue == (v4 ? 1460 : 1440))
        #expect(open["mss_clamped"]?.boolValue == false)
        #expect((open["rtt_ms"]?.doubleValue ?? 0) > 0)
        #expect(r.port("tcp", 8081)?["state"]?.stringValue == "closed")
        #expect(r.port("tcp", 9004)?["state"]?.stringValue == "filtered")
        #expect(r.port("tcp", 9004)?["icmp"]?.isNull == true)
        let rejected = try #require(r.port("tcp", 9005))
        #expect(rejected["state"]?.stringValue == "filtered")
        #expect(rejected["icmp"]?["icmp_type"]?.intValue == (v4 ? 3 : 1))
        #expect(rejected["icmp"]?["icmp_code"]?.intValue == (v4 ? 13 : 1))
        #expect(rejected["icmp"]?["from"]?.stringValue == server)

        #expect(r.port("udp", 7)?["state"]?.stringValue == "open")
        #expect(r.port("udp", 9001)?["state"]?.stringValue == "open|filtered")
        let closed = try #require(r.port("udp", 9002))
        #expect(closed["state"]?.stringValue == "closed")
        #expect(closed["icmp"]?["icmp_code"]?.intValue == (v4 ? 3 : 4))
        let prohibited = try #require(r.port("udp", 9003))
        #expect(prohibited["state"]?.stringValue == "filtered")
        #expect(prohibited["icmp"]?["icmp_code"]?.intValue == (v4 ? 13 : 1))
        #expect(r["responder"]?.isNull == true)
        #expect(r["tcp_probe"]?.stringValue == "syn")

        // Unprivileged: TCP falls back to connect(), UDP is the same.
        let u = try lab.reach(["--tcp", "8080,8081,9004,9005", "--udp", "7,9002", server], asUser: "nobody")
        #expect(u["tcp_probe"]?.stringValue == "connect")
        #expect(u["tcp"]?.arrayValue?.compactMap { $0["state"]?.stringValue } == ["open", "closed", "filtered", "filtered"])
        #expect(u.port("tcp", 8080)?["mss"]?.intValue == (v4 ? 1460 : 1440))
        #expect(u.port("tcp", 8080)?["mss_source"]?.stringValue == "tcp_maxseg")
        // IPv4 connect() fails at once on the ICMP error (EHOSTUNREACH); IPv6 here just times out.
        if v4 { #expect(u.port("tcp", 9005)?["error"]?.stringValue?.hasPrefix("connect: ") == true) }
        #expect(u["udp"]?.arrayValue?.compactMap { $0["state"]?.stringValue } == ["open", "closed"])
    }

    /// A router clamps the MSS to 1200: the SYN-ACK's option reads 1200 (not TCP_MAXSEG's 1188).
    @Test(arguments: [AddressFamily.ipv4, .ipv6])
    func mssClampOnARouter(_ family: AddressFamily) throws {
        let lab = try ReachLab("rm")
        defer { lab.tearDown() }
        try lab.services(tcp: [3389], udp: [])
        try lab.rule(lab.r1, family, "-t mangle -A FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1200")
        let r = try lab.reach(["--tcp", "3389", ReachLab.server(family)])
        let p = try #require(r.port("tcp", 3389))
        #expect(p["state"]?.stringValue == "open")
        #expect(p["mss"]?.intValue == 1200)
        #expect(p["mss_source"]?.stringValue == "syn-ack")
        #expect(p["mss_clamped"]?.boolValue == true)
        // Without raw sockets the connected socket tells the same (TCP_MAXSEG 1188 + 12 for timestamps).
        let u = try lab.reach(["--tcp", "3389", ReachLab.server(family)], asUser: "nobody")
        #expect(u.port("tcp", 3389)?["mss"]?.intValue == 1200)
        #expect(u.port("tcp", 3389)?["mss_clamped"]?.boolValue == true)
    }

    /// 500 dropped TCP ports: one verdict each in about one timeout (nmap -sS takes ~100 s here).
    @Test(arguments: [AddressFamily.ipv4, .ipv6])
    func fiveHundredFilteredPortsInAboutOneTimeout(_ family: AddressFamily) throws {
        let lab = try ReachLab("rf")
        defer { lab.tearDown() }
        try lab.rule(lab.server, family, "-A INPUT -p tcp --dport 2000:2499 -j DROP")
        let started = Date()
        // Nothing answered: exit 1 (the target filters every port probed), the document still printed.
        let r = try lab.reach(["--tcp", "2000-2499", "--rate", "0", ReachLab.server(family)], status: 1)
        let seconds = Date().timeIntervalSince(started)
        let ports = r["tcp"]?.arrayValue ?? []
        #expect(ports.count == 500)
        #expect(ports.allSatisfy { $0["state"]?.stringValue == "filtered" })
        #expect(seconds < 2.5, "took \(seconds) s")
    }

    /// Closed UDP ports behind the server's ICMP rate limit (6 at once, then 1/s) still read closed.
    @Test func rateLimitedPortUnreachables() throws {
        let lab = try ReachLab("rr")
        defer { lab.tearDown() }
        let r = try lab.reach(["--udp", "9100-9109", ReachLab.server(.ipv6)])
        let states = (r["udp"]?.arrayValue ?? []).compactMap { $0["state"]?.stringValue }
        #expect(states == [String](repeating: "closed", count: 10))
    }

    /// Bad input exits 2 with one line on stderr and the hint.
    @Test func badInput() throws {
        for args in [["--tcp", "0", "10.0.3.2"], ["--udp", "", "10.0.3.2"], ["--tcp", "65536", "10.0.3.2"],
                     ["10.0.3.2"], ["--tcp", "80", "no-such-host.invalid"]] {
            let run = Lab.pathprobe(["reach"] + args, in: nil)
            #expect(run.status == 2, "\(args)")
            #expect(Lab.isUsageError(run, command: "reach"), "\(args): \(run.stderr)")
        }
    }
}
