/// What the advisor needs to know, distilled from the measurements (path MTU, reachability, local
/// inventory, route). Kept flat and independent of the measurement types so every rule can be
/// unit-tested with a few synthetic values.
public struct ProfileFacts: Sendable {
    public var family: AddressFamily

    // Path MTU (`pathprobe mtu`)
    public var pathMTU: Int?
    public var blackHole = false
    public var blackHoleHop: PathMTUResult.HopRef? = nil
    /// Per direction (TCP measures both; `pathMTU` is the smaller) and where the black hole is.
    public var pathMTUUp: Int? = nil
    public var pathMTUDown: Int? = nil
    public var blackHoleDirection: PathMTUResult.Direction? = nil

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
        public var state: TCPPortState
        public var mss: Int?
        public init(port: Int, state: TCPPortState, mss: Int? = nil) {
            self.port = port
            self.state = state
            self.mss = mss
        }
    }

    public struct UDPFact: Encodable, Sendable {
        public var port: Int
        public var state: UDPPortState
        public init(port: Int, state: UDPPortState) {
            self.port = port
            self.state = state
        }

        /// As evidence: the port's fields under their `reach` names.
        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: UDPPortResult.CodingKeys.self)
            try c.encode(port, forKey: .port)
            try c.encode(state, forKey: .state)
        }
    }

    public init(family: AddressFamily) { self.family = family }

    /// The direction that sets `pathMTU` when the two differ (nil: equal, or not measured per direction).
    var smallerDirection: PathMTUResult.Direction? {
        guard let up = pathMTUUp, let down = pathMTUDown, up != down else {
            if pathMTUUp == nil, let down = pathMTUDown, down == pathMTU { return .down }
            return nil
        }
        return up < down ? .up : .down
    }

    var isTunnel: Bool {
        guard let k = egressKind else { return false }
        return tunnelOverhead != nil || ["wireguard", "tun", "ppp", "vxlan", "geneve", "gre", "gretap", "ipip", "sit", "ip6tnl",
                                         "ip6gre", "l2tp", "vti", "xfrm"].contains(k)
    }
}

extension ReachPreset {
    /// The service a list of UDP ports most likely belongs to.
    public static func guess(udpPorts: [Int]) -> ReachPreset? {
        allCases.first { p in p.udp.contains { udpPorts.contains(Int($0)) } }
    }
}
