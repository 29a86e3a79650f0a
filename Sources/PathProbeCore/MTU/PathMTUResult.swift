/// The finished `pathprobe mtu` measurement: the `mtu` document (docs/schemas/mtu.schema.json).
/// Its JSON names are its CodingKeys; its text rendering is MTUText.swift.
public struct PathMTUResult: LineNumbered, Sendable {
    public static let documentType = DocumentType.mtu

    public enum Status: String, Codable, Sendable {
        /// The path MTU was found.
        case measured
        /// Nothing answered the small probes.
        case unreachable
        /// Reachable, but even --min did not pass.
        case incomplete
    }

    public enum ProbeProtocol: String, Codable, Sendable {
        case icmp, udp
    }

    public struct HopRef: Codable, Sendable, Equatable {
        public var ttl: Int
        public var address: IPAddress
        public init(ttl: Int, address: IPAddress) {
            self.ttl = ttl
            self.address = address
        }

        public enum CodingKeys: String, CodingKey {
            case ttl, address
        }
    }

    public struct Hop: Codable, Sendable {
        public var ttl: Int
        public var address: IPAddress?
        public var name: String? = nil
        public var rttMs: Double?
        /// Largest packet known to reach this hop.
        public var mtu: Int?
        /// An ICMP unreachable from this hop (`!N`, `!X`...).
        public var note: String?

        public enum CodingKeys: String, CodingKey {
            case ttl, address, name
            case rttMs = "rtt_ms"
            case mtu, note
        }
    }

    /// What the user typed (host name or address); written by the envelope.
    public var target: String = ""
    public var line: Int? = nil
    public var address: IPAddress
    public var family: AddressFamily
    public var probeProtocol = ProbeProtocol.icmp
    public var port: Int? = nil
    /// Which socket carried the probes: "ping" (unprivileged ICMP), "raw" or "udp".
    public var socket: String? = nil
    public private(set) var status = Status.unreachable
    public var pathMTU: Int? = nil { didSet { settle() } }
    /// The MSS that fits the measured path (IPv4: MTU - 40, IPv6: MTU - 60).
    public private(set) var mss: Int? = nil
    public var blackHole = false
    public var blackHoleHop: HopRef? = nil
    public var localMTU: Int? = nil
    public var interface: String? = nil
    public var maxProbed: Int = 0
    public var rttMs: Double? = nil
    public var hops: [Hop] = []
    public var packetTooBigs: [PathMTUMeasurement.PacketTooBig] = []
    public var probesSent = 0
    public var durationMs: Double = 0
    /// Why the target is unreachable; null otherwise.
    public var error: String? = nil

    public enum CodingKeys: String, CodingKey {
        case address, family
        case probeProtocol = "protocol"
        case port, socket, status
        case pathMTU = "path_mtu"
        case mss
        case blackHole = "black_hole"
        case blackHoleHop = "black_hole_hop"
        case localMTU = "local_mtu"
        case interface
        case maxProbed = "max_probed"
        case rttMs = "rtt_ms"
        case hops
        case packetTooBigs = "ptb"
        case probesSent = "probes_sent"
        case durationMs = "duration_ms"
        case error
    }

    public init(address: IPAddress, family: AddressFamily) {
        self.address = address
        self.family = family
    }

    /// Reachable (measured or incomplete); setting it settles `status`.
    public var reachable: Bool {
        get { status != .unreachable }
        set {
            status = newValue ? .measured : .unreachable
            settle()
        }
    }

    private mutating func settle() {
        if status != .unreachable { status = pathMTU == nil ? .incomplete : .measured }
        mss = pathMTU.map { family.mss(forMTU: $0) }
    }
}
