import Foundation
import PathProbeCore
import Testing

@Suite(.enabled(if: Lab.isAvailable, "lab tests need root, iproute2 and a built pathprobe"))
struct ServeLabTests {
    /// A 1400-byte link whose routers drop their own frag-needed / packet-too-big both ways: the
    /// responder measures 1400 up and down; fragments pass; the TCP side of serve reads open.
    @Test(arguments: [AddressFamily.ipv4, .ipv6])
    func responderAcrossABlackHole(_ family: AddressFamily) throws {
        let lab = try ReachLab("sb", "--mtu2 1400 --blackhole r1")
        defer { lab.tearDown() }
        try lab.rule(lab.r2, .ipv4, "-A OUTPUT -p icmp --icmp-type fragmentation-needed -j DROP")
        try lab.rule(lab.r2, .ipv6, "-A OUTPUT -p icmpv6 --icmpv6-type packet-too-big -j DROP")
        _ = try lab.serve()
        let r = try lab.reach(["--responder", "--tcp", "\(ResponderWire.defaultPort)", ReachLab.server(family)])
        let responder = try #require(r["responder"])
        #expect(responder["reachable"]?.boolValue == true)
        #expect(responder["udp_path_mtu_up"]?.intValue == 1400)
        #expect(responder["udp_path_mtu_down"]?.intValue == 1400)
        #expect(responder["fragments_pass"]?.boolValue == true)
        #expect(responder["seen_address"]?.stringValue == ReachLab.client(family))
        #expect((responder["seen_port"]?.intValue ?? 0) > 0)
        #expect(responder["nat"]?.boolValue == false)
        #expect(r.port("tcp", Int(ResponderWire.defaultPort))?["state"]?.stringValue == "open")
    }

    /// A router that drops fragments: fragments_pass is false, the path MTU is still 1500 both ways.
    @Test(arguments: [AddressFamily.ipv4, .ipv6])
    func fragmentsDropped(_ family: AddressFamily) throws {
        let lab = try ReachLab("sf")
        defer { lab.tearDown() }
        try lab.rule(lab.r1, family, family == .ipv4 ? "-A FORWARD -f -j DROP" : "-A FORWARD -m frag -j DROP")
        _ = try lab.serve()
        let r = try lab.reach(["--responder", ReachLab.server(family)])
        let responder = try #require(r["responder"])
        #expect(responder["fragments_pass"]?.boolValue == false)
        #expect(responder["fragments_up"]?.boolValue == false)
        #expect(responder["udp_path_mtu_up"]?.intValue == 1500)
        #expect(responder["udp_path_mtu_down"]?.intValue == 1500)
    }

    /// serve never sends a source more bytes than it received from it: counted by the server's own
    /// firewall, for a real measurement and for hostile requests (asking for 65535-byte replies,
    /// garbage, a flood beyond the rate limit), IPv4 and IPv6.
    @Test func serveNeverSendsMoreThanItReceives() throws {
        let lab = try ReachLab("sn")
        defer { lab.tearDown() }
        let port = ResponderWire.defaultPort
        for family in [AddressFamily.ipv4, .ipv6] {
            try lab.rule(lab.server, family, "-A INPUT -p udp --dport \(port)")
            try lab.rule(lab.server, family, "-A OUTPUT -p udp --sport \(port)")
        }
        let log = try lab.serve()
        for family in [AddressFamily.ipv4, .ipv6] {
            _ = try lab.reach(["--responder", ReachLab.server(family)])
        }
        // Hostile clients: a well-formed request asking for a 65535-byte reply, garbage, and a flood.
        let hostile = """
            import socket
            def request(op, size, length):
                b = bytearray(length)
                b[0:4] = b"PPRB"; b[11] = 1; b[12] = 1; b[13] = op; b[14:16] = size.to_bytes(2, "big")
                return bytes(b)
            for family, address in ((socket.AF_INET, "10.0.3.2"), (socket.AF_INET6, "fd00:3::2")):
                s = socket.socket(family, socket.SOCK_DGRAM)
                for _ in range(300):
                    s.sendto(request(2, 65535, 64), (address, \(port)))
                    s.sendto(request(3, 9000, 100), (address, \(port)))
                    s.sendto(b"x" * 1000, (address, \(port)))
                    s.sendto(request(1, 0, 64), (address, \(port)))
            """
        try Lab.sh("ip netns exec \(lab.client) python3 -c '\(hostile)'")
        usleep(300_000)
        let summary = lab.stopServe(log)
        for family in [AddressFamily.ipv4, .ipv6] {
            let tool = family == .ipv4 ? "iptables" : "ip6tables"
            let counters = try Lab.sh("ip netns exec \(lab.server) \(tool) -nvxL | awk '/udp/ && /\(port)/ { print $2 }'")
                .split(separator: "\n").compactMap { Int($0) }
            #expect(counters.count == 2, "\(family): \(counters)")
            guard counters.count == 2 else { continue }
            let (bytesIn, bytesOut) = (counters[0], counters[1])
            #expect(bytesIn > 100_000, "\(family): the test must really have sent something")
            #expect(bytesOut > 0, "\(family): the responder answered")
            #expect(bytesOut <= bytesIn, "\(family): sent \(bytesOut) bytes for \(bytesIn) received")
        }
        // One log line per client address (two clients here: one IPv4, one IPv6), plus the summary.
        #expect(summary.components(separatedBy: "first request").count - 1 == 2, "\(summary)")
        #expect(summary.contains("received") && summary.contains("sent"), "\(summary)")
    }
}
