#if canImport(Glibc)
import Glibc
#endif
import PathProbeCore
@testable import PathProbeNetlink

/// `PATHPROBE_FUZZ_MAKE_SEEDS=DIR PathProbeFuzz` (Fuzz/make-seeds.sh runs it): writes seed inputs to
/// DIR/<target>/ and exits. Two kinds:
/// - built with pathprobe's own encoders (responder requests and replies, X.224, TCP SYNs, error
///   queue entries) or by hand after real captures (UDP service answers);
/// - read live from the kernel of the namespace it runs in (root): netlink dumps of links, addresses
///   and routes (PATHPROBE_FUZZ_ROUTES: comma-separated addresses to look up), and on loopback ICMP
///   echo replies, ICMP port unreachables and TCP handshakes as raw sockets see them.
/// Live parts that fail (no privilege, no IPv6) are skipped with a line on stderr.
enum SeedMaker {
    nonisolated(unsafe) static var directory = ""
    nonisolated(unsafe) static var written = 0

    static func run(into dir: String) -> Int32 {
        directory = dir
        mkdir(dir, 0o755)
        for target in FuzzTargets.all { mkdir(dir + "/" + target.name, 0o755) }
        if environmentValue("PATHPROBE_FUZZ_ONLY_LIVE") == nil {
            responder()
            udpAnswers()
            x224()
            tcpBuilt()
            icmpErrors()
            netlinkBuilt()
        }
        netlink()
        loopbackCaptures()
        printError("wrote \(written) seeds to \(dir)")
        return 0
    }

    static func save(_ target: String, _ name: String, _ bytes: [UInt8]) {
        let path = directory + "/" + target + "/" + name
        guard let f = fopen(path, "wb") else { printError("cannot write \(path)"); return }
        _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
        fclose(f)
        written += 1
    }

    // MARK: built with pathprobe's encoders

    static func responder() {
        let echo = ResponderWire.Request(token: 0x0001_0007, op: .echo)
        save("responder-request", "echo-64", echo.encode(length: 64))
        save("responder-request", "echo-1472", echo.encode(length: 1472))
        save("responder-request", "reply-df-1400-in-1472",
             ResponderWire.Request(token: 0x0002_0001, op: .replyDF, replySize: 1400).encode(length: 1472))
        save("responder-request", "reply-frag-1500-in-1500",
             ResponderWire.Request(token: 0x0003_0002, op: .replyFragmentable, replySize: 1500).encode(length: 1472))
        save("responder-request", "reply-df-refused",
             ResponderWire.Request(token: 0x0004_0003, op: .replyDF, replySize: 9000).encode(length: 100))
        let v4 = IPAddress(ipv4: 0xc633_6407)  // 198.51.100.7
        let v6 = IPAddress(ipv6High: 0x2001_0db8_0000_0001, low: 0x0000_0000_0000_0007)
        let replies: [(String, ResponderWire.Reply, Int)] = [
            ("echo-v4", .init(token: 0x0001_0007, op: .echo, status: .ok, fragmented: nil, receivedPayload: 64,
                              receivedIPSize: 92, responderMTU: 1500, seenAddress: v4, seenPort: 40123), 48),
            ("df-v6-fragmented", .init(token: 0x0002_0001, op: .replyDF, status: .ok, fragmented: true, receivedPayload: 1452,
                                       receivedIPSize: 1500, responderMTU: 1400, seenAddress: v6, seenPort: 51000), 1352),
            ("too-big-here", .init(token: 0x0003_0002, op: .replyDF, status: .tooBigHere, fragmented: false, receivedPayload: 1472,
                                   receivedIPSize: 1500, responderMTU: 1400, seenAddress: v4, seenPort: 40123, limit: 1400), 48),
            ("packet-too-big", .init(token: 0x0004_0003, op: .replyFragmentable, status: .packetTooBig, fragmented: nil,
                                     receivedPayload: 1452, receivedIPSize: 1500, responderMTU: 1500, seenAddress: v6,
                                     seenPort: 33000, limit: 1280), 48),
            ("refused", .init(token: 0x0005_0004, op: .replyDF, status: .refused, fragmented: nil, receivedPayload: 100,
                              receivedIPSize: 128, responderMTU: 0, seenAddress: v4, seenPort: 1024), 48),
        ]
        for (name, reply, length) in replies {
            save("responder-reply", name, reply.encode(length: length, ipSize: length + 28))
            save("udp-answer", "responder-" + name, reply.encode(length: length, ipSize: length + 28))
        }
    }

    /// Answers shaped like the real servers' (dnsmasq, chrony, strongSwan, coturn, OpenVPN, OpenSSL),
    /// echoing the identifiers of the probes made with seed 1 (the udp-answer target's requests).
    static func udpAnswers() {
        func request(_ s: UDPService) -> [UInt8] { s.payload(seed: 1) }
        func be16(_ v: Int) -> [UInt8] { [UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
        func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }

        // DNS: root NS answer with two records (compressed names), and a REFUSED.
        let dnsQuery = request(.dns)
        let question: [UInt8] = [0, 0, 2, 0, 1]
        func ns(_ letter: UInt8) -> [UInt8] {
            [0, 0, 2, 0, 1] + be32(518400) + be16(20) + [1, letter] + [12] + Array("root-servers".utf8) + [3] + Array("net".utf8) + [0]
        }
        save("udp-answer", "dns-root-ns", Array(dnsQuery[0..<2]) + [0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0] + question + ns(0x61) + ns(0x62))
        save("udp-answer", "dns-refused", Array(dnsQuery[0..<2]) + [0x81, 0x85, 0, 1, 0, 0, 0, 0, 0, 0] + question)

        // NTP: a stratum 2 server answer, origin = our transmit timestamp.
        let ntp = request(.ntp)
        var ntpAnswer = [UInt8](repeating: 0, count: 48)
        ntpAnswer[0] = 0x24; ntpAnswer[1] = 2; ntpAnswer[2] = 3; ntpAnswer[3] = 0xe9
        ntpAnswer.replaceSubrange(12..<16, with: [192, 0, 2, 123])
        ntpAnswer.replaceSubrange(24..<32, with: ntp[40..<48])
        ntpAnswer.replaceSubrange(32..<40, with: [0xeb, 0x3c, 0x61, 0x20, 0x12, 0x34, 0x56, 0x78])
        ntpAnswer.replaceSubrange(40..<48, with: [0xeb, 0x3c, 0x61, 0x20, 0x12, 0x35, 0x00, 0x00])
        save("udp-answer", "ntp-server", ntpAnswer)

        // IKEv2: IKE_SA_INIT response carrying NO_PROPOSAL_CHOSEN, and one asking for a COOKIE.
        let ike = request(.ike)
        func ikeResponse(notify type: Int, data: [UInt8]) -> [UInt8] {
            let notify: [UInt8] = [0, 0] + be16(8 + data.count) + [0, 0] + be16(type) + data
            let header = Array(ike[0..<8]) + [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88] + [41, 0x20, 34, 0x20]
                + be32(0) + be32(UInt32(28 + notify.count))
            return header + notify
        }
        save("udp-answer", "ike-no-proposal", ikeResponse(notify: 14, data: []))
        save("udp-answer", "ike-cookie", ikeResponse(notify: 16390, data: Array(repeating: 0x5a, count: 20)))
        let ikeNATT = request(.ikeNATT)
        save("udp-answer", "ike-natt-no-proposal", [0, 0, 0, 0] + Array(ikeNATT[4..<12]) + Array(ikeResponse(notify: 14, data: [])[8...]))

        // STUN: binding success with XOR-MAPPED-ADDRESS and SOFTWARE, and a 400 error.
        let stun = request(.stun)
        let xorMapped: [UInt8] = [0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43]
        let software: [UInt8] = [0x80, 0x22, 0x00, 0x04] + Array("test".utf8)
        save("udp-answer", "stun-success", [0x01, 0x01] + be16(xorMapped.count + software.count) + Array(stun[4..<20]) + xorMapped + software)
        let errorCode: [UInt8] = [0x00, 0x09, 0x00, 0x0f, 0, 0, 4, 0] + Array("Bad Req".utf8)
        save("udp-answer", "stun-error", [0x01, 0x11] + be16(errorCode.count + 1) + Array(stun[4..<20]) + errorCode + [0])

        // OpenVPN: P_CONTROL_HARD_RESET_SERVER_V2 acknowledging our packet 0 and naming our session.
        let openvpn = request(.openvpn)
        save("udp-answer", "openvpn-hard-reset-server",
             [8 << 3] + [0x9a, 0x12, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0] + [1] + be32(0) + Array(openvpn[1..<9]) + be32(0))

        // DTLS 1.2: HelloVerifyRequest with a 20-byte cookie, and a fatal alert.
        let cookie = [UInt8](repeating: 0xc7, count: 20)
        let hvr: [UInt8] = [3] + [0, 0, 23] + [0, 0] + [0, 0, 0] + [0, 0, 23] + [0xfe, 0xff, 20] + cookie
        save("udp-answer", "dtls-hello-verify", [22, 0xfe, 0xff] + [0, 0, 0, 0, 0, 0, 0, 0] + be16(hvr.count) + hvr)
        save("udp-answer", "dtls-alert", [21, 0xfe, 0xfd] + [0, 0, 0, 0, 0, 0, 0, 0] + be16(2) + [2, 40])
    }

    static func x224() {
        func confirm(_ variable: [UInt8]) -> [UInt8] {
            let total = 4 + 7 + variable.count
            return [0x03, 0x00, UInt8(total >> 8), UInt8(total & 0xff), UInt8(6 + variable.count), 0xd0, 0, 0, 0x12, 0x34, 0] + variable
        }
        save("x224", "selected-ssl", confirm([0x02, 0x1f, 0x08, 0x00, 0x01, 0, 0, 0]))
        save("x224", "selected-hybrid", confirm([0x02, 0x1f, 0x08, 0x00, 0x02, 0, 0, 0]))
        save("x224", "selected-hybrid-ex", confirm([0x02, 0x0f, 0x08, 0x00, 0x08, 0, 0, 0]))
        save("x224", "selected-rdp", confirm([0x02, 0x00, 0x08, 0x00, 0x00, 0, 0, 0]))
        save("x224", "failure-hybrid-required", confirm([0x03, 0x00, 0x08, 0x00, 0x05, 0, 0, 0]))
        save("x224", "legacy-no-negotiation", confirm([]))
        save("x224", "partial", Array(confirm([0x02, 0x1f, 0x08, 0x00, 0x02, 0, 0, 0]).prefix(9)))
        save("x224", "selected-then-tls", confirm([0x02, 0x1f, 0x08, 0x00, 0x01, 0, 0, 0]) + [0x16, 0x03, 0x03, 0x00, 0x7a, 0x02])
        save("x224", "http-answer", Array("HTTP/1.1 400 Bad Request\r\n\r\n".utf8))
    }

    static func tcpBuilt() {
        let client = IPAddress(ipv4: 0x0a00_0101), server = IPAddress(ipv4: 0x0a00_0302)
        let syn = TCPSegment.syn(source: client, destination: server, sourcePort: 45678, destinationPort: 3389,
                                 sequence: 0x1234_5678, mss: 1460, timestamp: 0x0102_0304)
        save("tcp-segment", "syn-ours", syn)
        // The server's SYN-ACK: MSS 1360 (a clamped path), SACK, timestamps, window scale.
        var synAck = TCPSegment.syn(source: server, destination: client, sourcePort: 3389, destinationPort: 45678,
                                    sequence: 0x9abc_def0, mss: 1360, timestamp: 0x0a0b_0c0d)
        synAck[8...11] = [0x12, 0x34, 0x56, 0x79]
        synAck[13] = 0x12
        save("tcp-segment", "syn-ack-mss-1360", synAck)
        var rst = Array(synAck.prefix(20))
        rst[12] = 5 << 4
        rst[13] = 0x14
        save("tcp-segment", "rst-ack", rst)
        // The same with the IPv4 header a raw IPv4 socket puts in front.
        func ipv4(_ segment: [UInt8], ttl: UInt8) -> [UInt8] {
            let total = 20 + segment.count
            return [0x45, 0, UInt8(total >> 8), UInt8(total & 0xff), 0, 0, 0x40, 0, ttl, 6, 0, 0] + server.bytes + client.bytes + segment
        }
        save("tcp-segment", "ipv4-syn-ack", ipv4(synAck, ttl: 61))
        save("tcp-segment", "ipv4-rst-ack", ipv4(rst, ttl: 250))
    }

    /// Error-queue entries: family, type, code, info, then the quote of our probe.
    static func icmpErrors() {
        func entry(v6: Bool, type: UInt8, code: UInt8, info: UInt32, quote: [UInt8]) -> [UInt8] {
            [v6 ? 1 : 0, type, code, UInt8(info >> 24), UInt8(info >> 16 & 0xff), UInt8(info >> 8 & 0xff), UInt8(info & 0xff)] + quote
        }
        var header = [UInt8](repeating: 0, count: ProbeHeader.size)
        header.withUnsafeMutableBytes { ProbeHeader.write(token: 0x0003_0001, size: 1500, ttl: 3, to: $0.baseAddress!) }
        let udpPayload = header + [UInt8](repeating: 0, count: 20)
        let echoV4 = [8, 0, 0x12, 0x34, 0x4d, 0x2a, 0, 7] + header + [UInt8](repeating: 0, count: 12)
        let echoV6 = [128, 0, 0, 0, 0x4d, 0x2a, 0, 7] + header + [UInt8](repeating: 0, count: 12)
        let syn = TCPSegment.syn(source: IPAddress(ipv4: 0x0a00_0101), destination: IPAddress(ipv4: 0x0a00_0302), sourcePort: 45678,
                                 destinationPort: 443, sequence: 0x0003_0001 ^ 0x5eed_5eed, mss: 1460, timestamp: 1)
        save("icmp-error", "v4-frag-needed-1400-udp", entry(v6: false, type: 3, code: 4, info: 1400, quote: udpPayload))
        save("icmp-error", "v4-time-exceeded-echo", entry(v6: false, type: 11, code: 0, info: 0, quote: echoV4))
        save("icmp-error", "v4-port-unreachable-udp", entry(v6: false, type: 3, code: 3, info: 0, quote: udpPayload))
        save("icmp-error", "v4-admin-prohibited-syn", entry(v6: false, type: 3, code: 13, info: 0, quote: Array(syn.prefix(28))))
        save("icmp-error", "v6-packet-too-big-1280-echo", entry(v6: true, type: 2, code: 0, info: 1280, quote: echoV6))
        save("icmp-error", "v6-time-exceeded-udp", entry(v6: true, type: 3, code: 0, info: 0, quote: udpPayload))
        save("icmp-error", "v6-port-unreachable-udp", entry(v6: true, type: 1, code: 4, info: 0, quote: udpPayload))
        save("icmp-echo", "ping-socket-reply-v4", [0, 0, 0x7b, 0x11, 0x4d, 0x2a, 0, 7] + header + [UInt8](repeating: 0, count: 12))
    }

    /// RTM_NEWLINK messages for the link kinds a kernel without their modules cannot show live
    /// (attributes as the kernel's fill_info functions write them).
    static func netlinkBuilt() {
        typealias Attribute = (type: Int, value: [UInt8])
        func u32(_ v: UInt32) -> [UInt8] { NetlinkBytes.bytes(of: v) }
        func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }
        func string(_ s: String) -> [UInt8] { Array(s.utf8) + [0] }
        func link(index: Int32, arphrd: UInt16, name: String, mtu: UInt32, kind: String, data: [Attribute],
                  extra: [Attribute] = []) -> [UInt8] {
            let ifinfomsg: [UInt8] = [0, 0] + NetlinkBytes.bytes(of: arphrd) + NetlinkBytes.bytes(of: index)
                + u32(0x1_1043) + u32(0)  // IFF_UP | IFF_RUNNING | ..., change 0
            var info: [Attribute] = [(1, string(kind))]  // IFLA_INFO_KIND
            if !data.isEmpty { info.append((2, NetlinkAttributes.encode(data))) }  // IFLA_INFO_DATA
            let attributes: [Attribute] = [(3, string(name)), (4, u32(mtu)), (50, u32(68)), (51, u32(65535)), (16, [6])]
                + extra + [(18, NetlinkAttributes.encode(info))]
            let body = ifinfomsg + NetlinkAttributes.encode(attributes)
            return u32(UInt32(16 + body.count)) + NetlinkBytes.bytes(of: UInt16(16)) + NetlinkBytes.bytes(of: UInt16(2))
                + u32(7) + u32(0) + body
        }
        let local4: [UInt8] = [10, 0, 1, 1], remote4: [UInt8] = [10, 0, 1, 2]
        let local6 = IPAddress(ipv6High: 0xfd00_0001_0000_0000, low: 1).bytes, remote6 = IPAddress(ipv6High: 0xfd00_0001_0000_0000, low: 2).bytes
        let gre: [Attribute] = [(1, u32(2)), (2, be16(0x2000)), (3, be16(0xa000)), (4, [0, 0, 0, 5]), (5, [0, 0, 0, 5]),
                                (6, local4), (7, remote4), (8, [64]), (9, [0]), (10, [1])]
        save("netlink", "built-gre", link(index: 11, arphrd: 778, name: "gre1", mtu: 1468, kind: "gre", data: gre, extra: [(5, u32(2))]))
        save("netlink", "built-gretap", link(index: 12, arphrd: 1, name: "gt1", mtu: 1462, kind: "gretap", data: gre))
        save("netlink", "built-ip6gre", link(index: 13, arphrd: 823, name: "g6", mtu: 1448, kind: "ip6gre",
                                            data: [(1, u32(0)), (6, local6), (7, remote6), (11, [4]), (13, u32(1))]))
        save("netlink", "built-ipip", link(index: 14, arphrd: 768, name: "ipip1", mtu: 1480, kind: "ipip",
                                          data: [(1, u32(2)), (2, local4), (3, remote4), (4, [0]), (9, [4])]))
        save("netlink", "built-sit", link(index: 15, arphrd: 776, name: "sit1", mtu: 1480, kind: "sit",
                                         data: [(1, u32(0)), (2, local4), (3, remote4), (8, u32(0)), (9, [41])]))
        save("netlink", "built-ip6tnl", link(index: 16, arphrd: 769, name: "t6", mtu: 1452, kind: "ip6tnl",
                                            data: [(1, u32(2)), (2, local6), (3, remote6), (6, [4]), (8, u32(0x30000)), (9, [41])]))
        save("netlink", "built-ip6tnl-other-netns", link(index: 17, arphrd: 769, name: "t7", mtu: 1452, kind: "ip6tnl",
                                                        data: [(1, u32(3)), (2, local6), (3, remote6), (8, u32(1))],
                                                        extra: [(5, u32(3)), (37, u32(0))]))
        save("netlink", "built-geneve", link(index: 18, arphrd: 1, name: "gnv0", mtu: 1450, kind: "geneve",
                                            data: [(1, u32(7)), (7, remote6), (5, be16(6081))]))
        save("netlink", "built-wireguard", link(index: 19, arphrd: 65534, name: "wg0", mtu: 1420, kind: "wireguard", data: []))
        save("netlink", "built-vlan", link(index: 20, arphrd: 1, name: "eth0.100", mtu: 1500, kind: "vlan",
                                          data: [(1, [100, 0])], extra: [(5, u32(2)), (10, u32(4))]))
    }

    // MARK: live: netlink

    // UAPI numbers (linux/netlink.h, linux/rtnetlink.h), spelled out: CNetlink is internal to pathprobe.
    static let NETLINK_ROUTE: Int32 = 0
    static let NLM_F_REQUEST: Int32 = 0x1, NLM_F_DUMP: Int32 = 0x300
    static let NLMSG_ERROR = 2, NLMSG_DONE = 3
    static let RTM_GETLINK: Int32 = 18, RTM_GETADDR: Int32 = 22, RTM_GETROUTE: Int32 = 26
    static let RTM_F_CLONED: UInt32 = 0x200, RTA_DST = 1

    static func netlink() {
        let fd = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue), NETLINK_ROUTE)
        guard fd >= 0 else { printError("netlink socket: \(String(cString: strerror(errno)))"); return }
        defer { close(fd) }
        var seq: UInt32 = 1
        func request(_ type: Int32, flags: Int32, body: [UInt8]) -> [[UInt8]] {
            seq += 1
            let length = UInt32(16 + body.count)
            let message = NetlinkBytes.bytes(of: length) + NetlinkBytes.bytes(of: UInt16(type))
                + NetlinkBytes.bytes(of: UInt16(flags | NLM_F_REQUEST)) + NetlinkBytes.bytes(of: seq) + NetlinkBytes.bytes(of: UInt32(0)) + body
            guard message.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == message.count else { return [] }
            var out: [[UInt8]] = []
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                guard n > 0 else { return out }
                var offset = 0
                var done = flags & NLM_F_DUMP == 0
                while offset + 16 <= n {
                    let length = Int(NetlinkBytes.u32(Array(buffer[offset..<(offset + 4)]), at: 0))
                    guard length >= 16, offset + length <= n else { break }
                    let type = NetlinkBytes.u16(Array(buffer[(offset + 4)..<(offset + 6)]), at: 0)
                    if type == UInt16(NLMSG_DONE) || type == UInt16(NLMSG_ERROR) { done = true }
                    out.append(Array(buffer[offset..<(offset + length)]))
                    offset += NetlinkBytes.align(length)
                }
                if done { return out }
            }
        }
        let prefix = environmentValue("PATHPROBE_FUZZ_SEED_PREFIX") ?? "host"
        for (i, m) in request(RTM_GETLINK, flags: NLM_F_DUMP, body: [UInt8](repeating: 0, count: 16)).enumerated() {
            save("netlink", "\(prefix)-link-\(i)", m)
        }
        for (i, m) in request(RTM_GETADDR, flags: NLM_F_DUMP, body: [UInt8](repeating: 0, count: 8)).enumerated() {
            save("netlink", "\(prefix)-addr-\(i)", m)
        }
        let routes = (environmentValue("PATHPROBE_FUZZ_ROUTES") ?? "127.0.0.1,::1").split(separator: ",")
        for (i, text) in routes.enumerated() {
            guard let address = IPAddress(text) else { continue }
            for cloned in [false, true] {
                var header = [UInt8](repeating: 0, count: 12)
                header[0] = UInt8(address.family == .ipv4 ? AF_INET : AF_INET6)
                header[1] = address.family == .ipv4 ? 32 : 128
                if cloned { header.replaceSubrange(8..<12, with: NetlinkBytes.bytes(of: RTM_F_CLONED)) }
                let body = header + NetlinkAttributes.encode([(type: RTA_DST, value: address.bytes)])
                for (j, m) in request(RTM_GETROUTE, flags: 0, body: body).enumerated() {
                    save("netlink", "\(prefix)-route-\(i)\(cloned ? "-cloned" : "")-\(j)", m)
                }
            }
        }
    }

    // MARK: live: loopback captures on raw sockets

    static func loopbackCaptures() {
        var header = [UInt8](repeating: 0, count: ProbeHeader.size)
        header.withUnsafeMutableBytes { ProbeHeader.write(token: 0x0001_0002, size: 84, ttl: 64, to: $0.baseAddress!) }
        let loopback4 = IPAddress(ipv4: 0x7f00_0001), loopback6 = IPAddress(ipv6High: 0, low: 1)

        // ICMP echo to 127.0.0.1 and a UDP datagram to a closed port, seen by a raw ICMP socket.
        if let icmp = RawSocket(family: .ipv4, protocol: Int32(IPPROTO_ICMP)) {
            var echo = [8, 0, 0, 0, 0x4d, 0x2a, 0, 1] + header + [UInt8](repeating: 0xa5, count: 44)
            let sum = echo.withUnsafeBytes { InternetChecksum.compute($0) }
            echo[2] = UInt8(sum >> 8); echo[3] = UInt8(sum & 0xff)
            icmp.send(echo, to: loopback4)
            sendUDP(header + [UInt8](repeating: 0, count: 20), to: loopback4, port: 33434)
            for (i, packet) in icmp.receiveAll().enumerated() {
                save("icmp-echo", "raw-v4-\(i)", packet)
                save("icmp-echo", "raw-v4-\(i)-icmp-only", Array(packet.dropFirst(Int(packet[0] & 0x0f) * 4)))
            }
        }
        if let icmp6 = RawSocket(family: .ipv6, protocol: Int32(IPPROTO_ICMPV6)) {
            icmp6.send([128, 0, 0, 0, 0x4d, 0x2a, 0, 1] + header + [UInt8](repeating: 0xa5, count: 44), to: loopback6)
            sendUDP(header + [UInt8](repeating: 0, count: 20), to: loopback6, port: 33434)
            for (i, packet) in icmp6.receiveAll().enumerated() { save("icmp-echo", "raw-v6-\(i)", packet) }
        }
        // TCP handshakes (an open and a closed port) as raw TCP sockets see them.
        for (family, address) in [(AddressFamily.ipv4, loopback4), (.ipv6, loopback6)] {
            guard let raw = RawSocket(family: family, protocol: Int32(IPPROTO_TCP)) else { continue }
            let port = listenTCP(family: family)
            if port > 0 { connectTCP(address, port: port) }
            connectTCP(address, port: 33435)
            for (i, packet) in raw.receiveAll().enumerated() {
                save("tcp-segment", "raw-\(family)-\(i)", packet)
            }
        }
    }

    /// A raw socket that collects what arrives for a moment.
    final class RawSocket {
        let fd: Int32
        let family: AddressFamily

        init?(family: AddressFamily, protocol proto: Int32) {
            fd = socket(family == .ipv4 ? AF_INET : AF_INET6, Int32(SOCK_RAW.rawValue), proto)
            self.family = family
            if fd < 0 { printError("raw socket (\(family), \(proto)): \(String(cString: strerror(errno)))"); return nil }
            var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }

        deinit { close(fd) }

        func send(_ bytes: [UInt8], to address: IPAddress) {
            withSocketAddress(address, port: 0) { sa, length in
                _ = bytes.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, sa, length) }
            }
        }

        func receiveAll() -> [[UInt8]] {
            var out: [[UInt8]] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            while out.count < 16 {
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n <= 0 { break }
                out.append(Array(buffer[0..<n]))
            }
            return out
        }
    }

    /// A sockaddr_in or sockaddr_in6, filled by offset: family (host order) at 0, port at 2, the
    /// IPv4 address at 4, the IPv6 address at 8.
    static func withSocketAddress(_ address: IPAddress, port: UInt16, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Void) {
        let v4 = address.family == .ipv4
        var storage = sockaddr_storage()
        withUnsafeMutableBytes(of: &storage) { raw in
            raw.storeBytes(of: sa_family_t(v4 ? AF_INET : AF_INET6), as: sa_family_t.self)
            raw.storeBytes(of: port.bigEndian, toByteOffset: 2, as: UInt16.self)
            UnsafeMutableRawBufferPointer(rebasing: raw[(v4 ? 4 : 8)...]).copyBytes(from: address.bytes)
        }
        let length = socklen_t(v4 ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size)
        withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) } }
    }

    static func sendUDP(_ payload: [UInt8], to address: IPAddress, port: UInt16) {
        let fd = socket(address.family == .ipv4 ? AF_INET : AF_INET6, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        withSocketAddress(address, port: port) { sa, length in
            _ = payload.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, sa, length) }
        }
    }

    /// A listening TCP socket on loopback (kept open until exit); its port, or 0.
    static func listenTCP(family: AddressFamily) -> UInt16 {
        let fd = socket(family == .ipv4 ? AF_INET : AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return 0 }
        var bound = false
        withSocketAddress(family == .ipv4 ? IPAddress(ipv4: 0x7f00_0001) : IPAddress(ipv6High: 0, low: 1), port: 0) { sa, length in
            bound = bind(fd, sa, length) == 0
        }
        guard bound, listen(fd, 4) == 0 else { close(fd); return 0 }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return withUnsafeBytes(of: storage) { UInt16($0[2]) << 8 | UInt16($0[3]) }  // sin_port / sin6_port
    }

    static func connectTCP(_ address: IPAddress, port: UInt16) {
        let fd = socket(address.family == .ipv4 ? AF_INET : AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        withSocketAddress(address, port: port) { sa, length in _ = connect(fd, sa, length) }
    }
}
