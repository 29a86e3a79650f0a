/// The finished TCP path MTU measurement, a plain model (the JSON shape is the `mtu` document's, keys
/// named in docs/tcp-mtu.md: protocol "tcp", port, path_mtu_up, path_mtu_down, path_mtu, black_hole,
/// black_hole_direction, service, connections).
public struct TCPPathMTUResult: Sendable, Equatable {
    public typealias Direction = PathMTUResult.Direction

    /// A packet-too-big seen through the kernel: the connection's path MTU (tcpi_pmtu) fell below the
    /// size it carried. TCP sockets do not say who sent it.
    public struct PacketTooBig: Sendable, Equatable {
        public var mtu: Int
        public var probeSize: Int
        /// Already in the kernel's PMTU cache when the connection opened (an earlier PTB).
        public var cached: Bool
        public init(mtu: Int, probeSize: Int, cached: Bool) {
            self.mtu = mtu
            self.probeSize = probeSize
            self.cached = cached
        }
    }

    /// One direction's answer.
    public struct DirectionResult: Sendable, Equatable {
        /// Exact to the byte, or nil (not measured, or not measurable: see `note`).
        public var pathMTU: Int?
        /// Packets above `pathMTU` vanished: no PTB reached the sender, nothing smaller came instead.
        public var blackHole = false
        /// A lower bound when `pathMTU` is nil because larger sizes could not be tried (the server's
        /// flight too small, an MSS cap); equal to `pathMTU` when that is known.
        public var atLeast: Int?
        /// Largest size seen to pass, and smallest seen to fail (nil: none), whatever the verdict.
        public var largestPassed: Int?
        public var smallestFailed: Int?
        /// Why `pathMTU` is nil, or what limited it (a small flight, the server's MSS, a shrinking server).
        public var note: String?
        public init() {}
    }

    public var address: IPAddress
    public var port: Int
    /// What the connections spoke; nil when no connection was ever accepted.
    public var service: TCPService?
    /// The port accepted a connection.
    public var reachable = false
    /// Why not (connection refused, no answer); nil when reachable.
    public var unreachableReason: String?
    public var up = DirectionResult()
    public var down = DirectionResult()
    /// Connections opened in this run (the reference one included).
    public var connections = 0
    /// The server's flight in bytes, from the reference connection (nil: none seen).
    public var flightBytes: Int?
    /// The server recognisably spoke `service` (nil: it never answered).
    public var serviceAnswered: Bool?
    /// TCP timestamps were on (they take 12 bytes of every segment).
    public var timestamps: Bool?
    public var rttMs: Double?
    public var packetTooBigs: [PacketTooBig] = []
    /// Facts worth a line in the text output (a flight too small, a server that shrinks segments...).
    public var notes: [String] = []
    public var durationMs: Double = 0
    /// Which directions were asked for.
    public var directions: TCPPathMTUOptions.Directions = .both
    /// Largest size tried (the options' maxSize).
    public var maxProbed = 0

    public init(address: IPAddress, port: Int) {
        self.address = address
        self.port = port
    }

    public var family: AddressFamily { address.family }
    /// `path_mtu_up`, `path_mtu_down`.
    public var pathMTUUp: Int? { up.pathMTU }
    public var pathMTUDown: Int? { down.pathMTU }

    /// `path_mtu`: the smaller direction. With one direction known and the other only bounded from
    /// below by at least as much, the known one is the smaller; otherwise nil.
    public var pathMTU: Int? {
        switch directions {
        case .up: return up.pathMTU
        case .down: return down.pathMTU
        case .both:
            switch (up.pathMTU, down.pathMTU) {
            case let (u?, d?): return min(u, d)
            case let (u?, nil): return (down.atLeast ?? 0) >= u ? u : nil
            case let (nil, d?): return (up.atLeast ?? 0) >= d ? d : nil
            case (nil, nil): return nil
            }
        }
    }

    /// `black_hole`: either direction drops packets above its MTU with no PTB reaching the sender.
    public var blackHole: Bool { up.blackHole || down.blackHole }

    /// `black_hole_direction`.
    public var blackHoleDirection: Direction? {
        switch (up.blackHole, down.blackHole) {
        case (true, true): return .both
        case (true, false): return .up
        case (false, true): return .down
        case (false, false): return nil
        }
    }

    /// The MSS that fits the smaller direction.
    public var mss: Int? { pathMTU.map { family.mss(forMTU: $0) } }
}

extension PathMTUResult {
    /// The `mtu` document of a TCP measurement: `protocol` "tcp", both directions, `path_mtu` the
    /// smaller. PTBs have no sender (`from` null); one the kernel already held (cached from an earlier
    /// connection) is a note, not an entry. Every connection counts as a probe sent.
    public init(tcp r: TCPPathMTUResult) {
        self.init(address: r.address, family: r.family)
        probeProtocol = .tcp
        port = r.port
        service = r.service
        socket = "tcp"
        maxProbed = r.maxProbed
        rttMs = r.rttMs
        probesSent = r.connections
        connections = r.connections
        durationMs = r.durationMs
        error = r.reachable ? nil : r.unreachableReason
        defer { reachable = r.reachable }  // settles `status` and `mss` (no didSet inside an init)
        guard r.reachable else { return }
        pathMTUUp = r.up.pathMTU
        pathMTUDown = r.down.pathMTU
        pathMTUUpAtLeast = r.up.atLeast
        pathMTUDownAtLeast = r.down.atLeast
        blackHole = r.blackHole
        blackHoleDirection = r.blackHoleDirection
        var seen = Set<[Int]>()
        for p in r.packetTooBigs where !p.cached && seen.insert([p.mtu, p.probeSize]).inserted {
            tcpPacketTooBigs.append(PacketTooBig(from: nil, mtu: p.mtu, probeSize: p.probeSize))
        }
        var notes: [String] = []
        for mtu in Set(r.packetTooBigs.filter(\.cached).map(\.mtu)).sorted() {
            notes.append("up: the kernel already held a path MTU of \(mtu) for this host (an earlier packet-too-big; ip route flush cache clears it)")
        }
        for (name, d, asked) in [("up", r.up, r.directions != .down), ("down", r.down, r.directions != .up)] where asked {
            if let note = d.note { notes.append("\(name): \(note)") }
        }
        self.notes = notes + r.notes
        pathMTU = r.pathMTU
    }
}
