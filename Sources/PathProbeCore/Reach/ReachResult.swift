/// The finished `pathprobe reach` measurement and its two renderings. The JSON schema is documented
/// in README.md ("pathprobe reach --json"); keep both in step.
public enum TCPPortState: String, Sendable {
    /// The handshake completed (SYN-ACK).
    case open
    /// RST.
    case closed
    /// Silence, or an ICMP unreachable (`icmp` says which and who sent it).
    case filtered
}

public enum UDPPortState: String, Sendable {
    /// A UDP answer came back.
    case open
    /// ICMP port unreachable.
    case closed
    /// Silence (nmap's convention: open, or dropped by a firewall; UDP cannot tell).
    case openFiltered = "open|filtered"
    /// Another ICMP unreachable (administratively prohibited, host unreachable...).
    case filtered
}

/// An ICMP error that answered a probe.
public struct ICMPReport: Sendable, Equatable {
    public var type: UInt8
    public var code: UInt8
    public var from: IPAddress

    public init(type: UInt8, code: UInt8, from: IPAddress) {
        self.type = type
        self.code = code
        self.from = from
    }

    public var json: JSON {
        .object([("type", .int(Int(type))), ("code", .int(Int(code))), ("from", .string(from.description))])
    }

    public func name(_ family: AddressFamily) -> String { ICMPNames.unreachable(family: family, type: type, code: code) }
}

public struct TCPPortResult: Sendable {
    public var port: UInt16
    public var state: TCPPortState
    public var rttMs: Double?
    /// The MSS option of the SYN-ACK as it reached us (nil: not open, or no option).
    public var mss: Int?
    /// How `mss` was read: "syn-ack" (raw SYN probe: the value on the wire) or "tcp_maxseg" (the
    /// unprivileged connect() fallback: the connected socket's segment size, timestamps added back).
    public var mssSource: String?
    /// `mss` is below what the far end advertises for the path (MTU - 40 / - 60): rewritten on the way.
    public var mssClamped: Bool?
    public var icmp: ICMPReport?
    /// Why the probe could not be sent (local firewall, no route), when that decided the state.
    public var error: String?
    public var attempts: Int

    public init(port: UInt16, state: TCPPortState, attempts: Int) {
        self.port = port
        self.state = state
        self.attempts = attempts
    }
}

public struct UDPPortResult: Sendable {
    public var port: UInt16
    public var state: UDPPortState
    public var rttMs: Double?
    /// The payload the probe carried (dns, ntp, ike, ike-nat-t, stun, openvpn, dtls, pathprobe).
    public var service: UDPService
    /// Whether the answer was that service's reply (nil: no answer).
    public var recognized: Bool?
    public var icmp: ICMPReport?
    /// Silence that may be a port unreachable the target did not send because of its ICMP rate limit.
    public var uncertain = false
    public var error: String?
    public var attempts: Int

    public init(port: UInt16, state: UDPPortState, service: UDPService, attempts: Int) {
        self.port = port
        self.state = state
        self.service = service
        self.attempts = attempts
    }
}

/// What `pathprobe serve` on the far end reported.
public struct ResponderReport: Sendable {
    public var port: UInt16
    /// Did it answer at all?
    public var reachable = false
    public var rttMs: Double?
    /// Largest UDP datagram (whole IP packet) that reaches the responder with DF set.
    public var pathMTUUp: Int?
    /// Largest DF datagram the responder can send back to us.
    public var pathMTUDown: Int?
    /// The down search could not go above the up path MTU (requests as large as the replies they ask
    /// for must reach the responder, and fragments did not pass): `pathMTUDown` is a lower bound.
    public var downLimitedByUp = false
    /// Fragmented datagrams pass in both directions (nil: not measured).
    public var fragmentsPass: Bool?
    public var fragmentsUp: Bool?
    public var fragmentsDown: Bool?
    /// Where our datagrams came from, as the responder saw them (differs from ours behind NAT).
    public var seenAddress: IPAddress?
    public var seenPort: UInt16?
    /// Our own source address (filled in by the runner), for the NAT verdict.
    public var localAddress: IPAddress?
    public var probesSent = 0

    public init(port: UInt16) { self.port = port }

    public var nat: Bool? {
        guard let seen = seenAddress, let local = localAddress else { return nil }
        return seen != local
    }

    public var json: JSON {
        .object([
            ("port", .int(Int(port))),
            ("reachable", .bool(reachable)),
            ("rtt_ms", .milliseconds(rttMs)),
            ("udp_path_mtu_up", .from(pathMTUUp)),
            ("udp_path_mtu_down", .from(pathMTUDown)),
            ("down_limited_by_up", .bool(downLimitedByUp)),
            ("fragments_pass", .from(fragmentsPass)),
            ("fragments_up", .from(fragmentsUp)),
            ("fragments_down", .from(fragmentsDown)),
            ("seen_address", .from(seenAddress?.description)),
            ("seen_port", .from(seenPort.map { Int($0) })),
            ("nat", .from(nat)),
            ("probes_sent", .int(probesSent)),
        ])
    }
}

public struct ReachResult: Sendable {
    /// What the user typed (host name or address).
    public var target: String = ""
    public var address: IPAddress
    public var family: AddressFamily
    public var tcp: [TCPPortResult] = []
    public var udp: [UDPPortResult] = []
    /// How TCP ports were probed: "syn" (raw SYN, root or CAP_NET_RAW), "connect" (unprivileged
    /// fallback), nil without TCP ports.
    public var tcpProbe: String? = nil
    public var responder: ResponderReport? = nil
    /// The path MTU `mss_clamped` was judged against, and where it came from.
    public var mssReferenceMTU: Int? = nil
    public var mssReferenceSource: String? = nil
    /// The target answered some UDP probes with ICMP only after a silent first try: it rate-limits.
    public var icmpRateLimited = false
    public var probesSent = 0
    public var durationMs: Double = 0

    public init(address: IPAddress, family: AddressFamily) {
        self.address = address
        self.family = family
    }

    /// Fills `mssClamped` from a reference path MTU (measured, or the local MTU as an upper bound).
    public mutating func judgeMSS(referenceMTU: Int?, source: String) {
        mssReferenceMTU = referenceMTU
        mssReferenceSource = referenceMTU == nil ? nil : source
        for i in tcp.indices {
            guard let mss = tcp[i].mss, let mtu = referenceMTU else { tcp[i].mssClamped = nil; continue }
            tcp[i].mssClamped = mss < family.mss(forMTU: mtu)
        }
    }

    public var json: JSON {
        .object([
            ("target", .string(target)),
            ("address", .string(address.description)),
            ("family", .string(family.rawValue)),
            ("tcp", .array(tcp.map { p in
                .object([
                    ("port", .int(Int(p.port))),
                    ("state", .string(p.state.rawValue)),
                    ("rtt_ms", .milliseconds(p.rttMs)),
                    ("mss", .from(p.mss)),
                    ("mss_source", .from(p.mssSource)),
                    ("mss_clamped", .from(p.mssClamped)),
                    ("icmp", p.icmp?.json ?? .null),
                    ("error", .from(p.error)),
                    ("attempts", .int(p.attempts)),
                ])
            })),
            ("tcp_probe", .from(tcpProbe)),
            ("udp", .array(udp.map { p in
                .object([
                    ("port", .int(Int(p.port))),
                    ("state", .string(p.state.rawValue)),
                    ("rtt_ms", .milliseconds(p.rttMs)),
                    ("service", .string(p.service.rawValue)),
                    ("recognized", .from(p.recognized)),
                    ("icmp", p.icmp?.json ?? .null),
                    ("uncertain", .bool(p.uncertain)),
                    ("error", .from(p.error)),
                    ("attempts", .int(p.attempts)),
                ])
            })),
            ("responder", responder?.json ?? .null),
            ("mss_reference_mtu", .from(mssReferenceMTU)),
            ("mss_reference", .from(mssReferenceSource)),
            ("icmp_rate_limited", .bool(icmpRateLimited)),
            ("probes_sent", .int(probesSent)),
            ("duration_ms", .milliseconds(durationMs)),
        ])
    }

    public func text(style: Style = Style(enabled: false)) -> String {
        var out = "pathprobe reach \(target)"
        if target != address.description { out += " (\(address))" }
        out += "\n"
        if !tcp.isEmpty || !udp.isEmpty {
            var table = TextTable([.init("port", .right), .init("proto"), .init("state"), .init("rtt ms", .right), .init("detail")])
            for p in tcp {
                var detail: [String] = []
                if let mss = p.mss {
                    detail.append("mss \(mss)" + (p.mssClamped == true ? " (clamped below \(mssReferenceMTU.map { family.mss(forMTU: $0) } ?? 0))" : ""))
                }
                if let icmp = p.icmp { detail.append("\(icmp.name(family)) from \(icmp.from)") }
                if let e = p.error { detail.append(e) }
                table.add([String(p.port), "tcp", p.state.rawValue, p.rttMs.map { $0.formattedMilliseconds() } ?? "", detail.joined(separator: ", ")])
            }
            for p in udp {
                var detail: [String] = [p.service.rawValue + (p.recognized == true ? " answered" : (p.recognized == false ? " (unrecognised answer)" : ""))]
                if let icmp = p.icmp { detail.append("\(icmp.name(family)) from \(icmp.from)") }
                if p.uncertain { detail.append("uncertain: ICMP rate limit") }
                if let e = p.error { detail.append(e) }
                table.add([String(p.port), "udp", p.state.rawValue, p.rttMs.map { $0.formattedMilliseconds() } ?? "", detail.joined(separator: ", ")])
            }
            out += table.render(indent: "  ") { _, col, text in
                guard col == 2 else { return text }
                let t = text.trimmingSpaces
                if t == "open" { return style.green(text) }
                if t == "closed" { return style.red(text) }
                return style.yellow(text)
            } + "\n"
        }
        if let r = responder {
            out += "responder on udp \(r.port): "
            if !r.reachable {
                out += style.yellow("no answer") + "\n"
            } else {
                out += "path MTU up \(r.pathMTUUp.map(String.init) ?? "?"), down \(r.pathMTUDown.map(String.init) ?? "?")"
                if r.downLimitedByUp { out += " (at least; fragments needed to test above the up MTU)" }
                out += ", fragments " + (r.fragmentsPass.map { $0 ? style.green("pass") : style.red("dropped") } ?? "not tested")
                if let a = r.seenAddress, let p = r.seenPort {
                    out += ", seen as \(a.family == .ipv6 ? "[\(a)]" : a.description):\(p)"
                    if r.nat == true { out += style.yellow(" (NAT)") }
                }
                out += "\n"
            }
        }
        if tcpProbe == "connect" { out += style.dim("TCP probed with connect() (no raw sockets): MSS from TCP_MAXSEG, no ICMP details") + "\n" }
        if icmpRateLimited { out += style.dim("the target rate-limits ICMP errors; UDP probes were paced") + "\n" }
        out += style.dim("\(probesSent) probes in \(durationMs.formattedMilliseconds()) ms") + "\n"
        return out
    }
}

private extension String {
    var trimmingSpaces: String { String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed()) }
}
