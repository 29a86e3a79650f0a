/// What the advisor needs to know, distilled from the measurements (path MTU, reachability, local
/// inventory, route). Kept flat and independent of the measurement types so every rule can be
/// unit-tested with a few synthetic values.
public struct ProfileFacts: Sendable {
    public var family: AddressFamily

    // Path MTU (`pathprobe mtu`)
    public var pathMTU: Int?
    public var blackHole = false
    public var blackHoleHop: PathMTUResult.HopRef? = nil

    // Local side (`pathprobe nic` / `route`)
    public var egressInterface: String?
    public var egressMTU: Int?
    /// The kernel's link kind of the egress interface (wireguard, tun, ppp, vxlan, ether...).
    public var egressKind: String?
    /// Encapsulation overhead when the egress interface is a tunnel.
    public var tunnelOverhead: Int?
    public var tunnelUnderlay: String?
    public var tunnelUnderlayMTU: Int?
    /// Offload features active on the egress interface (kernel names).
    public var activeOffloads: [String] = []
    /// The kernel's cached PMTU exception for the destination.
    public var cachedPMTU: Int?
    /// net.ipv4.tcp_mtu_probing (nil: unknown).
    public var tcpMTUProbing: Int?
    /// Local findings passed through (e.g. tunnel-mtu-exceeds-underlay).
    public var localFindings: [Finding] = []

    // Transports (`pathprobe reach`)
    public var tcp: [TCPFact] = []
    public var udp: [UDPFact] = []
    /// The service the user asked about (--rdp, --ipsec, --wireguard, --openvpn), if any.
    public var service: ReachPreset? = nil
    /// From `pathprobe serve` on the far end: whether fragmented UDP arrives (nil: not measured).
    public var fragmentsPass: Bool? = nil

    public struct TCPFact: Sendable {
        public var port: Int
        public var state: String
        public var mss: Int?
        public init(port: Int, state: String, mss: Int? = nil) {
            self.port = port
            self.state = state
            self.mss = mss
        }
    }

    public struct UDPFact: Sendable {
        public var port: Int
        public var state: String
        public init(port: Int, state: String) {
            self.port = port
            self.state = state
        }
    }

    public init(family: AddressFamily) { self.family = family }

    var isTunnel: Bool {
        guard let k = egressKind else { return false }
        return tunnelOverhead != nil || ["wireguard", "tun", "ppp", "vxlan", "geneve", "gre", "gretap", "ipip", "sit", "ip6tnl",
                                         "ip6gre", "l2tp", "vti", "xfrm"].contains(k)
    }
}

/// Something worth knowing about the path, with the measured values behind it.
public struct Finding: Sendable, Equatable {
    public enum Severity: String, Sendable, Comparable {
        case info, warning, critical
        var rank: Int { self == .info ? 0 : (self == .warning ? 1 : 2) }
        public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
    }

    public var id: String
    public var severity: Severity
    public var summary: String
    /// The measured values that support it.
    public var evidence: JSON

    public init(id: String, severity: Severity, summary: String, evidence: JSON = .object([])) {
        self.id = id
        self.severity = severity
        self.summary = summary
        self.evidence = evidence
    }

    public var json: JSON {
        .object([("id", .string(id)), ("severity", .string(severity.rawValue)), ("summary", .string(summary)), ("evidence", evidence)])
    }
}

/// A change to make, with the exact commands.
public struct Recommendation: Sendable, Equatable {
    public var id: String
    /// The value to set (an MTU, an MSS, 1 for a sysctl, "tcp" for a transport).
    public var value: JSON
    public var reason: String
    public var linux: [String]
    public var windows: [String]

    public init(id: String, value: JSON, reason: String, linux: [String], windows: [String]) {
        self.id = id
        self.value = value
        self.reason = reason
        self.linux = linux
        self.windows = windows
    }

    public var json: JSON {
        .object([
            ("id", .string(id)), ("value", value), ("reason", .string(reason)),
            ("commands", .object([("linux", .array(linux.map { .string($0) })), ("windows", .array(windows.map { .string($0) }))])),
        ])
    }
}

extension ReachPreset {
    /// The service a list of UDP ports most likely belongs to.
    public static func guess(udpPorts: [Int]) -> ReachPreset? {
        allCases.first { p in p.udp.contains { udpPorts.contains(Int($0)) } }
    }
}
