import Foundation
import PathProbeCore
import Testing

/// `pathprobe route` against a client - router - server lab whose router-to-server link is 1400
/// bytes: a real frag-needed / packet-too-big makes the client's kernel cache a PMTU exception,
/// which must match `ip route get` and go away with `--flush`.
@Suite(.enabled(if: Lab.isAvailable, Comment(rawValue: Lab.skipReason ?? "")))
struct RouteLabTests {
    /// Namespaces client, router, server; returns their names (remove with `LabNetns.remove`).
    /// `octet` keeps the address plans of tests running at the same time apart (only for readability:
    /// each lab lives in its own namespaces).
    static func topology(octet: Int) throws -> [String] {
        let ns = try LabNetns.make("rt", count: 3)
        let (c, r, s) = (ns[0], ns[1], ns[2])
        do {
            try Lab.sh("""
                ip link add c0 netns \(c) type veth peer name r0 netns \(r) \
                && ip link add r1 netns \(r) type veth peer name s0 netns \(s) \
                && ip -n \(r) link set r1 mtu 1400 && ip -n \(s) link set s0 mtu 1400 \
                && ip -n \(c) addr add 10.\(octet).1.2/24 dev c0 && ip -n \(r) addr add 10.\(octet).1.1/24 dev r0 \
                && ip -n \(r) addr add 10.\(octet).2.1/24 dev r1 && ip -n \(s) addr add 10.\(octet).2.2/24 dev s0 \
                && ip -n \(c) addr add fd\(octet)::2/64 dev c0 nodad && ip -n \(r) addr add fd\(octet)::1/64 dev r0 nodad \
                && ip -n \(r) addr add fd\(octet):2::1/64 dev r1 nodad && ip -n \(s) addr add fd\(octet):2::2/64 dev s0 nodad \
                && ip -n \(c) link set c0 up && ip -n \(r) link set r0 up && ip -n \(r) link set r1 up && ip -n \(s) link set s0 up \
                && ip -n \(c) route add default via 10.\(octet).1.1 && ip -n \(s) route add default via 10.\(octet).2.1 \
                && ip -n \(c) -6 route add default via fd\(octet)::1 && ip -n \(s) -6 route add default via fd\(octet):2::1 \
                && ip netns exec \(r) sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
                """)
        } catch {
            LabNetns.remove(ns)
            throw error
        }
        return ns
    }

    /// `ip -j route get` for one destination.
    static func ipRouteGet(_ destination: String, in ns: String) throws -> JSON? {
        try LabNetns.json("ip -n \(ns) -j route get \(destination)").arrayValue?.first
    }

    /// Sends one too-big echo request (DF) from the client until the kernel has cached the PTB's MTU.
    static func triggerPacketTooBig(_ destination: String, family: AddressFamily, in ns: String) throws -> JSON {
        let ping = family == .ipv4 ? "ping -M do -s 1472" : "ping -6 -M do -s 1452"
        for _ in 0..<5 {
            _ = Lab.run(["/bin/bash", "-c", "ip netns exec \(ns) \(ping) -c1 -W1 \(destination)"])
            if let route = try ipRouteGet(destination, in: ns), route["expires"] != nil { return route }
        }
        throw Lab.CommandError(command: ping, status: 1, output: "no PMTU exception appeared for \(destination)")
    }

    @Test(arguments: [AddressFamily.ipv4, .ipv6])
    func exceptionMatchesIpRouteGetAndFlushes(_ family: AddressFamily) throws {
        let octet = family == .ipv4 ? 61 : 62
        let ns = try Self.topology(octet: octet)
        defer { LabNetns.remove(ns) }
        let client = ns[0]
        let server = family == .ipv4 ? "10.\(octet).2.2" : "fd\(octet):2::2"

        let before = try Self.route([server], in: client)
        #expect(before["pmtu_exception"] == .null)
        #expect(before["effective_mtu"] == .int(1500))

        let ip = try Self.triggerPacketTooBig(server, family: family, in: client)
        #expect(ip["metrics"]?.arrayValue?.first?["mtu"] == .int(1400))
        let route = try Self.route([server], in: client)
        #expect(route["target"] == .string(server))
        #expect(route["family"] == .string(family.rawValue))
        #expect(route["interface"] == ip["dev"])
        #expect(route["interface_mtu"] == .int(1500))
        #expect(route["gateway"] == ip["gateway"])
        #expect(route["source"] == ip["prefsrc"])
        #expect(route["prefix"] == .string("default"))
        #expect(route["mtu"] == .null)
        #expect(route["pmtu_exception"]?["mtu"] == .int(1400))
        let expires = try #require(route["pmtu_exception"]?["expires_s"]?.intValue)
        let ipExpires = try #require(ip["expires"]?.intValue)
        #expect(abs(expires - ipExpires) <= 2, "pathprobe \(expires) s, ip \(ipExpires) s")
        #expect(route["effective_mtu"] == .int(1400))

        // Unprivileged: the lookup works, the flush is refused and changes nothing.
        let lookup = Lab.pathprobe(["route", "--json", server], in: client, asUser: "nobody")
        #expect(lookup.status == 0, "\(lookup.stderr)")
        let refused = Lab.pathprobe(["route", "--flush", server], in: client, asUser: "nobody")
        #expect(refused.status == 3, "a missing privilege is the environment: exit 3")
        #expect(refused.stderr.hasPrefix("pathprobe: flushing cached PMTU exceptions needs root"))
        #expect(try Self.ipRouteGet(server, in: client)?["expires"] != nil)

        let flushed = try Self.route(["--flush", server], in: client)
        #expect(flushed["flush"]?["removed"]?["mtu"] == .int(1400))
        #expect(flushed["flush"]?["scope"] == .string(family == .ipv4 ? "namespace" : "destination"))
        #expect(flushed["pmtu_exception"] == .null)
        #expect(flushed["effective_mtu"] == .int(1500))
        let after = try #require(try Self.ipRouteGet(server, in: client))
        #expect(after["expires"] == nil)
        #expect(after["metrics"] == nil)

        // Flushing again finds nothing to remove.
        let again = try Self.route(["--flush", server], in: client)
        #expect(again["flush"]?["removed"] == .null)
    }

    @Test func ipv6FlushLeavesOtherDestinations() throws {
        let ns = try Self.topology(octet: 63)
        defer { LabNetns.remove(ns) }
        let client = ns[0]
        try Lab.sh("ip -n \(ns[2]) addr add fd63:2::3/64 dev s0 nodad")
        _ = try Self.triggerPacketTooBig("fd63:2::2", family: .ipv6, in: client)
        _ = try Self.triggerPacketTooBig("fd63:2::3", family: .ipv6, in: client)
        _ = try Self.route(["--flush", "fd63:2::2"], in: client)
        #expect(try Self.ipRouteGet("fd63:2::2", in: client)?["expires"] == nil)
        #expect(try Self.ipRouteGet("fd63:2::3", in: client)?["expires"] != nil)
        #expect(try Self.route(["fd63:2::3"], in: client)["pmtu_exception"]?["mtu"] == .int(1400))
    }

    @Test func routeMetricsAndLock() throws {
        let ns = try Self.topology(octet: 64)
        defer { LabNetns.remove(ns) }
        let client = ns[0]
        try Lab.sh("ip -n \(client) route add 10.64.2.0/24 via 10.64.1.1 mtu lock 1300 advmss 1200")
        let route = try Self.route(["10.64.2.2"], in: client)
        #expect(route["prefix"] == .string("10.64.2.0/24"))
        #expect(route["mtu"] == .int(1300))
        #expect(route["mtu_locked"] == .bool(true))
        #expect(route["advmss"] == .int(1200))
        #expect(route["pmtu_exception"] == .null)
        #expect(route["effective_mtu"] == .int(1300))
        let ip = try #require(try Self.ipRouteGet("10.64.2.2", in: client))
        #expect(ip["metrics"]?.arrayValue?.contains { $0["advmss"] == .int(1200) } == true)

        let text = Lab.pathprobe(["route", "10.64.2.2"], in: client)
        #expect(text.status == 0)
        #expect(text.stdout.contains("route mtu      1300 (locked)"))
        #expect(text.stdout.contains("10.64.2.0/24 via 10.64.1.1 dev c0 src 10.64.1.2"))
    }

    @Test func badInputExits2AndNoRouteExits1() throws {
        try LabNetns.with("rt") { n in
            let noRoute = Lab.pathprobe(["route", "192.0.2.1"], in: n)
            #expect(noRoute.status == 1)
            #expect(noRoute.stderr == "pathprobe: no route to 192.0.2.1: Network is unreachable\n")
            for arguments in [["route", "-6", "127.0.0.1"], ["route", "[]"], ["route", "-4", "-6", "::1"]] {
                let r = Lab.pathprobe(arguments, in: n)
                #expect(r.status == 2, "\(arguments)")
                #expect(Lab.isUsageError(r, command: "route"), "\(arguments): \(r.stderr)")
            }
            let lo = try Self.route(["::1"], in: n)
            #expect(lo["route_type"] == .string("local"))
            #expect(lo["interface"] == .string("lo"))
        }
    }

    /// `pathprobe route ARGS --json` in `ns`.
    static func route(_ arguments: [String], in ns: String) throws -> JSON {
        try LabNetns.pathprobeJSON(["route"] + arguments, in: ns)
    }
}
