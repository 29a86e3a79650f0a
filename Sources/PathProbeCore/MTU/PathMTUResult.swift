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
        /// Plain TCP connections to a service port, both directions (`TCPPathMTUMeasurement`).
        case tcp
    }

    /// Which way packets travel: `up` from us to the target, `down` back.
    public enum Direction: String, Codable, Sendable, Equatable {
        case up, down, both
    }

    /// One entry of `ptb`: a packet-too-big from `from` (ICMP and UDP modes), or one the kernel
    /// learned for a TCP connection (`from` null: a TCP socket does not say who sent it).
    public struct PacketTooBig: Codable, Sendable, Equatable {
        public var from: IPAddress?
        public var mtu: Int
        public var probeSize: Int

        public init(from: IPAddress?, mtu: Int, probeSize: Int) {
            self.from = from
            self.mtu = mtu
            self.probeSize = probeSize
        }

        /// The ICMP mode's names, written once (PathMTUMeasurement.PacketTooBig).
        typealias CodingKeys = PathMTUMeasurement.PacketTooBig.CodingKeys

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encodeIfPresent(from, forKey: .from)
            try c.encode(mtu, forKey: .mtu)
            try c.encode(probeSize, forKey: .probeSize)
        }
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
    /// TCP: what the connections spoke ("tls", "rdp", "http", "pathprobe"); null otherwise and when
    /// no connection was accepted.
    public var service: TCPService? = nil
    /// Which socket carried the probes: "ping" (unprivileged ICMP), "raw" or "udp".
    public var socket: String? = nil
    public private(set) var status = Status.unreachable
    public var pathMTU: Int? = nil { didSet { settle() } }
    /// The MSS that fits the measured path (IPv4: MTU - 40, IPv6: MTU - 60).
    public private(set) var mss: Int? = nil
    /// Per direction, exact to the byte (TCP both ways; UDP: up, the direction its probes test);
    /// null when not measured or not measurable (see `notes`).
    public var pathMTUUp: Int? = nil
    public var pathMTUDown: Int? = nil
    /// A lower bound where the exact value could not be had (larger packets could not be tried:
    /// a small server answer, an MSS cap); equal to the value when it is exact.
    public var pathMTUUpAtLeast: Int? = nil
    public var pathMTUDownAtLeast: Int? = nil
    public var blackHole = false
    /// Which direction drops packets with no packet-too-big reaching the sender (null: none, or the
    /// protocol cannot tell: ICMP echo).
    public var blackHoleDirection: Direction? = nil
    public var blackHoleHop: HopRef? = nil
    public var localMTU: Int? = nil
    public var interface: String? = nil
    public var maxProbed: Int = 0
    public var rttMs: Double? = nil
    public var hops: [Hop] = []
    /// ICMP / UDP: packet-too-big messages the probe socket received (written under `ptb`).
    public var packetTooBigs: [PathMTUMeasurement.PacketTooBig] = []
    /// TCP: path MTUs the kernel learned for a connection from a packet-too-big (written under `ptb`).
    public var tcpPacketTooBigs: [PacketTooBig] = []
    public var probesSent = 0
    /// TCP: connections opened (each carried one size); null for ICMP and UDP.
    public var connections: Int? = nil
    public var durationMs: Double = 0
    /// Facts that qualify the result, one sentence each (a small server answer, an MSS cap...).
    public var notes: [String] = []
    /// Why the target is unreachable; null otherwise.
    public var error: String? = nil

    public enum CodingKeys: String, CodingKey {
        case address, family
        case probeProtocol = "protocol"
        case port, service, socket, status
        case pathMTU = "path_mtu"
        case pathMTUUp = "path_mtu_up"
        case pathMTUDown = "path_mtu_down"
        case pathMTUUpAtLeast = "path_mtu_up_at_least"
        case pathMTUDownAtLeast = "path_mtu_down_at_least"
        case mss
        case blackHole = "black_hole"
        case blackHoleDirection = "black_hole_direction"
        case blackHoleHop = "black_hole_hop"
        case localMTU = "local_mtu"
        case interface
        case maxProbed = "max_probed"
        case rttMs = "rtt_ms"
        case hops
        case packetTooBigs = "ptb"
        case probesSent = "probes_sent"
        case connections
        case durationMs = "duration_ms"
        case notes, error
    }

    /// `ptb`: the ICMP ones (with their sender), then the TCP ones (without).
    public var allPacketTooBigs: [PacketTooBig] {
        packetTooBigs.map { PacketTooBig(from: $0.from, mtu: $0.mtu, probeSize: $0.probeSize) } + tcpPacketTooBigs
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(address, forKey: .address)
        try c.encode(family, forKey: .family)
        try c.encode(probeProtocol, forKey: .probeProtocol)
        try c.encodeIfPresent(port, forKey: .port)
        try c.encodeIfPresent(service, forKey: .service)
        try c.encodeIfPresent(socket, forKey: .socket)
        try c.encode(status, forKey: .status)
        try c.encodeIfPresent(pathMTU, forKey: .pathMTU)
        try c.encodeIfPresent(pathMTUUp, forKey: .pathMTUUp)
        try c.encodeIfPresent(pathMTUDown, forKey: .pathMTUDown)
        try c.encodeIfPresent(pathMTUUpAtLeast, forKey: .pathMTUUpAtLeast)
        try c.encodeIfPresent(pathMTUDownAtLeast, forKey: .pathMTUDownAtLeast)
        try c.encodeIfPresent(mss, forKey: .mss)
        try c.encode(blackHole, forKey: .blackHole)
        try c.encodeIfPresent(blackHoleDirection, forKey: .blackHoleDirection)
        try c.encodeIfPresent(blackHoleHop, forKey: .blackHoleHop)
        try c.encodeIfPresent(localMTU, forKey: .localMTU)
        try c.encodeIfPresent(interface, forKey: .interface)
        try c.encode(maxProbed, forKey: .maxProbed)
        try c.encodeIfPresent(rttMs, forKey: .rttMs)
        try c.encode(hops, forKey: .hops)
        try c.encode(allPacketTooBigs, forKey: .packetTooBigs)
        try c.encode(probesSent, forKey: .probesSent)
        try c.encodeIfPresent(connections, forKey: .connections)
        try c.encode(durationMs, forKey: .durationMs)
        try c.encode(notes, forKey: .notes)
        try c.encodeIfPresent(error, forKey: .error)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        address = try c.decode(IPAddress.self, forKey: .address)
        family = try c.decode(AddressFamily.self, forKey: .family)
        probeProtocol = try c.decode(ProbeProtocol.self, forKey: .probeProtocol)
        port = try c.decodeIfPresent(Int.self, forKey: .port)
        service = try c.decodeIfPresent(TCPService.self, forKey: .service)
        socket = try c.decodeIfPresent(String.self, forKey: .socket)
        status = try c.decode(Status.self, forKey: .status)
        pathMTU = try c.decodeIfPresent(Int.self, forKey: .pathMTU)
        pathMTUUp = try c.decodeIfPresent(Int.self, forKey: .pathMTUUp)
        pathMTUDown = try c.decodeIfPresent(Int.self, forKey: .pathMTUDown)
        pathMTUUpAtLeast = try c.decodeIfPresent(Int.self, forKey: .pathMTUUpAtLeast)
        pathMTUDownAtLeast = try c.decodeIfPresent(Int.self, forKey: .pathMTUDownAtLeast)
        mss = try c.decodeIfPresent(Int.self, forKey: .mss)
        blackHole = try c.decode(Bool.self, forKey: .blackHole)
        blackHoleDirection = try c.decodeIfPresent(Direction.self, forKey: .blackHoleDirection)
        blackHoleHop = try c.decodeIfPresent(HopRef.self, forKey: .blackHoleHop)
        localMTU = try c.decodeIfPresent(Int.self, forKey: .localMTU)
        interface = try c.decodeIfPresent(String.self, forKey: .interface)
        maxProbed = try c.decode(Int.self, forKey: .maxProbed)
        rttMs = try c.decodeIfPresent(Double.self, forKey: .rttMs)
        hops = try c.decode([Hop].self, forKey: .hops)
        for p in try c.decode([PacketTooBig].self, forKey: .packetTooBigs) {
            if let from = p.from {
                packetTooBigs.append(PathMTUMeasurement.PacketTooBig(from: from, mtu: p.mtu, probeSize: p.probeSize))
            } else {
                tcpPacketTooBigs.append(p)
            }
        }
        probesSent = try c.decode(Int.self, forKey: .probesSent)
        connections = try c.decodeIfPresent(Int.self, forKey: .connections)
        durationMs = try c.decode(Double.self, forKey: .durationMs)
        notes = try c.decodeIfPresent([String].self, forKey: .notes) ?? []
        error = try c.decodeIfPresent(String.self, forKey: .error)
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
