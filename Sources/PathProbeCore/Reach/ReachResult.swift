/// The finished `pathprobe reach` measurement: the `reach` document (docs/schemas/reach.schema.json).
/// Its JSON names are its CodingKeys; its text rendering is ReachText.swift.
public enum TCPPortState: String, Codable, Sendable {
    /// The handshake completed (SYN-ACK).
    case open
    /// RST.
    case closed
    /// Silence, or an ICMP unreachable (`icmp` says which and who sent it).
    case filtered
}

public enum UDPPortState: String, Codable, Sendable {
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
public struct ICMPReport: Codable, Sendable, Equatable {
    public var type: UInt8
    public var code: UInt8
    public var from: IPAddress

    public init(type: UInt8, code: UInt8, from: IPAddress) {
        self.type = type
        self.code = code
        self.from = from
    }

    public enum CodingKeys: String, CodingKey {
        case type = "icmp_type"
        case code = "icmp_code"
        case from
    }

    public func name(_ family: AddressFamily) -> String { ICMPNames.unreachable(family: family, type: type, code: code) }
}

/// How a TCP port's MSS was read.
public enum MSSSource: String, Codable, Sendable {
    /// The MSS option of the SYN-ACK as it arrived (raw SYN probes).
    case synAck = "syn-ack"
    /// The connected socket's segment size, timestamps added back (the connect() fallback).
    case tcpMaxseg = "tcp_maxseg"
}


/// How TCP ports were probed.
public enum TCPProbeMethod: String, Codable, Sendable {
    /// Raw SYNs (root or CAP_NET_RAW).
    case syn
    /// The unprivileged connect() fallback.
    case connect
}

/// Where the path MTU that `mss_clamped` was judged against came from; in JSON the name of the
/// field it came from (`path_mtu`, `responder`, `local_mtu`).
public enum MSSReference: Codable, Sendable, CaseIterable {
    /// A measured path MTU (`--path-mtu`, or profile's own measurement).
    case pathMTU
    /// The responder's down path MTU.
    case responder
    /// The egress interface MTU (an upper bound).
    case localMTU

    public var field: any CodingKey {
        switch self {
        case .pathMTU: return PathMTUResult.CodingKeys.pathMTU
        case .responder: return ReachResult.CodingKeys.responder
        case .localMTU: return PathMTUResult.CodingKeys.localMTU
        }
    }

    public init(from decoder: Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        guard let r = Self.allCases.first(where: { $0.field.stringValue == name }) else {
            throw JSONDecodingError(decoder.codingPath, "unknown mss_reference '\(name)'")
        }
        self = r
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(field.stringValue)
    }
}

public struct TCPPortResult: Codable, Sendable {
    public var port: UInt16
    public var state: TCPPortState
    public var rttMs: Double?
    /// The MSS option of the SYN-ACK as it reached us (nil: not open, or no option).
    public var mss: Int?
    /// How `mss` was read.
    public var mssSource: MSSSource?
    /// `mss` is below what the far end advertises for the path (MTU - 40 / - 60): rewritten on the way.
    public var mssClamped: Bool?
    public var icmp: ICMPReport?
    /// A `filtered` port whose silence cannot be trusted: answers were still being lost (on our
    /// side, at a high rate) when its attempts ran out.
    public var uncertain = false
    /// Why the probe could not be sent (local firewall, no route), when that decided the state.
    public var error: String?
    public var attempts: Int

    public init(port: UInt16, state: TCPPortState, attempts: Int) {
        self.port = port
        self.state = state
        self.attempts = attempts
    }

    public enum CodingKeys: String, CodingKey {
        case port, state
        case rttMs = "rtt_ms"
        case mss
        case mssSource = "mss_source"
        case mssClamped = "mss_clamped"
        case icmp, uncertain, error, attempts
    }

    /// Reports written before `uncertain` existed (same schema_version: adding a key does not
    /// change it) read as certain.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        port = try c.decode(UInt16.self, forKey: .port)
        state = try c.decode(TCPPortState.self, forKey: .state)
        rttMs = try c.decodeIfPresent(Double.self, forKey: .rttMs)
        mss = try c.decodeIfPresent(Int.self, forKey: .mss)
        mssSource = try c.decodeIfPresent(MSSSource.self, forKey: .mssSource)
        mssClamped = try c.decodeIfPresent(Bool.self, forKey: .mssClamped)
        icmp = try c.decodeIfPresent(ICMPReport.self, forKey: .icmp)
        uncertain = try c.decodeIfPresent(Bool.self, forKey: .uncertain) ?? false
        error = try c.decodeIfPresent(String.self, forKey: .error)
        attempts = try c.decode(Int.self, forKey: .attempts)
    }
}

public struct UDPPortResult: Codable, Sendable {
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

    public enum CodingKeys: String, CodingKey {
        case port, state
        case rttMs = "rtt_ms"
        case service, recognized, icmp, uncertain, error, attempts
    }
}

/// What `pathprobe serve` on the far end reported.
public struct ResponderReport: Codable, Sendable {
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
    public var seenAddress: IPAddress? { didSet { settleNAT() } }
    public var seenPort: UInt16?
    /// `seenAddress` differs from our own source address (nil until both are known).
    public private(set) var nat: Bool?
    public var probesSent = 0
    /// Our own source address (filled in by the runner), for the NAT verdict; not in the document.
    public var localAddress: IPAddress? { didSet { settleNAT() } }

    public init(port: UInt16) { self.port = port }

    private mutating func settleNAT() {
        guard let seen = seenAddress, let local = localAddress else { nat = nil; return }
        nat = seen != local
    }

    public enum CodingKeys: String, CodingKey {
        case port, reachable
        case rttMs = "rtt_ms"
        case pathMTUUp = "udp_path_mtu_up"
        case pathMTUDown = "udp_path_mtu_down"
        case downLimitedByUp = "down_limited_by_up"
        case fragmentsPass = "fragments_pass"
        case fragmentsUp = "fragments_up"
        case fragmentsDown = "fragments_down"
        case seenAddress = "seen_address"
        case seenPort = "seen_port"
        case nat
        case probesSent = "probes_sent"
    }
}

public struct ReachResult: LineNumbered, Sendable {
    public static let documentType = DocumentType.reach

    /// What the user typed (host name or address); written by the envelope.
    public var target: String = ""
    public var line: Int? = nil
    public var address: IPAddress
    public var family: AddressFamily
    public var tcp: [TCPPortResult] = []
    public var udp: [UDPPortResult] = []
    /// How TCP ports were probed; nil without TCP ports.
    public var tcpProbe: TCPProbeMethod? = nil
    public var responder: ResponderReport? = nil
    /// The path MTU `mss_clamped` was judged against, and where it came from.
    public var mssReferenceMTU: Int? = nil
    public var mssReferenceSource: MSSReference? = nil
    /// The target answered some UDP probes with ICMP only after a silent first try: it rate-limits.
    public var icmpRateLimited = false
    public var probesSent = 0
    public var durationMs: Double = 0

    public init(address: IPAddress, family: AddressFamily) {
        self.address = address
        self.family = family
    }

    /// Something came back from the target itself: a port open or closed, an ICMP error it sent,
    /// the responder. Otherwise it is unreachable, or it filters every port probed: `reach` exits 1.
    public var targetAnswered: Bool {
        tcp.contains { $0.state == .open || $0.state == .closed || $0.icmp?.from == address }
            || udp.contains { $0.state == .open || $0.state == .closed || $0.icmp?.from == address }
            || responder?.reachable == true
    }

    /// Fills `mssClamped` from a reference path MTU (measured, or the local MTU as an upper bound).
    public mutating func judgeMSS(referenceMTU: Int?, source: MSSReference) {
        mssReferenceMTU = referenceMTU
        mssReferenceSource = referenceMTU == nil ? nil : source
        for i in tcp.indices {
            guard let mss = tcp[i].mss, let mtu = referenceMTU else { tcp[i].mssClamped = nil; continue }
            tcp[i].mssClamped = mss < family.mss(forMTU: mtu)
        }
    }

    public enum CodingKeys: String, CodingKey {
        case address, family, tcp
        case tcpProbe = "tcp_probe"
        case udp, responder
        case mssReferenceMTU = "mss_reference_mtu"
        case mssReferenceSource = "mss_reference"
        case icmpRateLimited = "icmp_rate_limited"
        case probesSent = "probes_sent"
        case durationMs = "duration_ms"
    }
}
