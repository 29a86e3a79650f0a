/// The vocabulary between measurements (pure state machines in this module) and the engine that
/// runs them against the network (PathProbeEngine) or against a simulated path (the tests).
///
/// A measurement asks for probes through a `ProbeScheduler`; the engine sends them, paced by the
/// global rate, and reports exactly one `ProbeResult` per probe: an answer, an ICMP error, a local
/// error or a timeout. Measurements never see sockets or clocks, only these values.

/// Monotonic time in nanoseconds. The engine uses CLOCK_MONOTONIC; simulations use virtual time.
public typealias Nanoseconds = UInt64

/// Time arithmetic saturates: a duration computed from a user's number or a peer's traffic (a rate of
/// 1e-300 per second, a duration of 1e300 seconds, NaN) becomes 0 or "never", not a trap.
public extension Nanoseconds {
    /// `ms` milliseconds: 0 for NaN and anything not above zero, `.max` (never) for anything too large.
    static func fromMs(_ ms: Double) -> Nanoseconds { saturating(ms * 1_000_000) }

    /// `seconds` seconds, saturating like `fromMs`.
    static func fromSeconds(_ seconds: Double) -> Nanoseconds { saturating(seconds * 1_000_000_000) }

    private static func saturating(_ ns: Double) -> Nanoseconds {
        guard ns > 0 else { return 0 }
        // 2^64 is exactly representable; every double below it converts.
        guard ns < 18_446_744_073_709_551_616.0 else { return .max }
        return Nanoseconds(ns)
    }

    /// `self + d`, at most `.max`: a deadline past the end of time is "never".
    func adding(_ d: Nanoseconds) -> Nanoseconds {
        let (sum, overflow) = addingReportingOverflow(d)
        return overflow ? .max : sum
    }

    /// Time from `earlier` to `self`, 0 when `earlier` is later: an arrival's kernel timestamp can be
    /// a hair earlier than a clock read taken before it, and a plain subtraction would trap.
    func since(_ earlier: Nanoseconds) -> Nanoseconds { self > earlier ? self - earlier : 0 }

    var inMs: Double { Double(self) / 1_000_000 }
}

/// What kind of packet a probe is. Each kind is one type in PathProbeEngine/Probes/, registered
/// once in `ProbeKinds.all` there (docs/engine.md); a kind added later is asked for by its name
/// (`ProbeRequest.registeredKind`), so this enum does not change when one is added.
public enum ProbeKind: Hashable, Sendable {
    /// ICMP / ICMPv6 echo request; answered by an echo reply.
    case icmpEcho
    /// UDP datagram to `port`; answered by a UDP reply or an ICMP port unreachable.
    case udp(port: UInt16)
    /// TCP SYN to `port` (raw socket, root); answered by SYN-ACK or RST.
    case tcpSyn(port: UInt16)

    /// The destination port the probe goes to; nil for kinds without ports (ICMP).
    public var port: UInt16? {
        switch self {
        case .icmpEcho: return nil
        case let .udp(port), let .tcpSyn(port): return port
        }
    }
}

public struct ProbeRequest: Sendable {
    public var destination: IPAddress
    public var kind: ProbeKind
    /// Whole IP packet size in bytes (IP header included). Sent with DF unless `fragmentable`; ignored for TCP SYNs.
    public var size: Int
    /// IP TTL / hop limit; 0 means the system default.
    public var ttl: Int
    /// How long to wait for an answer after the probe left.
    public var timeout: Nanoseconds
    /// The measurement's own label; comes back unchanged in the result.
    public var tag: UInt32
    /// UDP only: the exact payload to send instead of pathprobe's probe header and zero padding
    /// (`size` is then ignored). A service's request (DNS, IKE...) carries no token, so its answers
    /// and ICMP errors are matched by destination address and port; a payload that starts with
    /// pathprobe's probe header ("PPRB") gets the engine's token written into it.
    public var payload: [UInt8]? = nil
    /// UDP only: send without DF, letting the local stack (and IPv4 routers) fragment it.
    public var fragmentable = false
    /// The name of a probe kind registered with the engine (PathProbeEngine/Probes/) that carries
    /// this probe; nil: the built-in kind `kind` and `fragmentable` name. `kind` still says where
    /// the probe goes (its port) and which answers to expect.
    public var registeredKind: String? = nil

    public init(destination: IPAddress, kind: ProbeKind, size: Int, ttl: Int = 0, timeout: Nanoseconds, tag: UInt32,
                payload: [UInt8]? = nil, fragmentable: Bool = false) {
        self.destination = destination
        self.kind = kind
        self.size = size
        self.ttl = ttl
        self.timeout = timeout
        self.tag = tag
        self.payload = payload
        self.fragmentable = fragmentable
    }
}

public enum ProbeOutcome: Equatable, Sendable {
    /// Echo reply from `from`; `ttl` is the reply's remaining TTL / hop limit (-1 unknown).
    case echoReply(from: IPAddress, ttl: Int)
    /// A UDP datagram came back from the probed address and port.
    case udpReply(from: IPAddress, payload: [UInt8])
    /// TCP answer to a SYN: `synAck` true with the MSS option as received (nil if absent), else RST.
    case tcpReply(from: IPAddress, synAck: Bool, mss: Int?)
    /// ICMP time exceeded (TTL reached 0) from a router.
    case timeExceeded(from: IPAddress)
    /// ICMP fragmentation needed / ICMPv6 packet too big; `mtu` is the next-hop MTU it carried (0: none).
    case packetTooBig(mtu: Int, from: IPAddress)
    /// Any other ICMP destination unreachable (port unreachable included); ICMP type and code as sent.
    case unreachable(type: UInt8, code: UInt8, from: IPAddress)
    /// The local stack refused to send it (errno); `mtu` is the local limit for EMSGSIZE, else 0.
    case localError(errno: Int32, mtu: Int)
    /// Nothing came back in time.
    case timeout
}

public struct ProbeResult: Sendable {
    public var tag: UInt32
    public var request: ProbeRequest
    public var outcome: ProbeOutcome
    /// Round-trip time in nanoseconds (0 for timeouts and local errors).
    public var rtt: Nanoseconds
    /// TTL / hop limit of the packet that answered (echo reply or ICMP error), -1 when unknown.
    public var answerTTL: Int

    public init(tag: UInt32, request: ProbeRequest, outcome: ProbeOutcome, rtt: Nanoseconds, answerTTL: Int = -1) {
        self.tag = tag
        self.request = request
        self.outcome = outcome
        self.rtt = rtt
        self.answerTTL = answerTTL
    }
}

/// What a measurement may ask of whoever runs it.
public protocol ProbeScheduler {
    var now: Nanoseconds { get }
    /// Queue a probe. Probes leave in the order they are queued.
    mutating func send(_ probe: ProbeRequest)
    /// Call `advance` again at (or soon after) `time`.
    mutating func wake(at time: Nanoseconds)
    /// Opens a TCP connection (Connection.swift); its events go to `Measurement.handle(_: ConnectionResult, _:)`.
    mutating func connect(_ request: ConnectionRequest) -> ConnectionID
    /// Queues bytes on an open connection.
    mutating func write(_ bytes: [UInt8], to connection: ConnectionID)
    /// Asks for the connection's TCP_INFO now: answered with a `.info` event.
    mutating func requestInfo(_ connection: ConnectionID)
    /// Closes the connection (FIN); no event of it comes afterwards.
    mutating func close(_ connection: ConnectionID)
}

/// Schedulers that run datagram probes only (older simulations) need not implement connections.
public extension ProbeScheduler {
    mutating func connect(_ request: ConnectionRequest) -> ConnectionID {
        preconditionFailure("this scheduler runs no TCP connections")
    }
    mutating func write(_ bytes: [UInt8], to connection: ConnectionID) {
        preconditionFailure("this scheduler runs no TCP connections")
    }
    mutating func requestInfo(_ connection: ConnectionID) {
        preconditionFailure("this scheduler runs no TCP connections")
    }
    mutating func close(_ connection: ConnectionID) {
        preconditionFailure("this scheduler runs no TCP connections")
    }
}

/// A measurement: a state machine driven by probe results and wake-ups.
public protocol Measurement: AnyObject {
    /// Called once at start and again at every wake-up time it asked for.
    func advance<S: ProbeScheduler>(_ scheduler: inout S)
    /// Called once for every probe it sent.
    func handle<S: ProbeScheduler>(_ result: ProbeResult, _ scheduler: inout S)
    /// Called for every event of a connection it opened, until it closes it.
    func handle<S: ProbeScheduler>(_ event: ConnectionResult, _ scheduler: inout S)
    /// True once it needs nothing more; the runner stops calling it.
    var isFinished: Bool { get }
}

public extension Measurement {
    /// Measurements that open no connections ignore connection events.
    func handle<S: ProbeScheduler>(_ event: ConnectionResult, _ scheduler: inout S) {}
}

/// Smoothed RTT and a retransmission-style timeout (RFC 6298 shape), clamped to what the user allows.
public struct RTTEstimator: Sendable {
    public private(set) var smoothed: Double? = nil  // ms
    public private(set) var variation: Double = 0     // ms
    public private(set) var minimum: Double? = nil    // ms
    /// The shortest timeout ever used: time for ICMP generation on a router's slow path.
    public var floor: Double
    /// The longest: the user's --timeout.
    public var ceiling: Double

    public init(floorMs: Double = 25, ceilingMs: Double = 1000) {
        floor = floorMs
        ceiling = max(floorMs, ceilingMs)
    }

    public mutating func add(sampleMs r: Double) {
        guard r >= 0, r.isFinite else { return }
        minimum = min(minimum ?? r, r)
        if let s = smoothed {
            variation = 0.75 * variation + 0.25 * abs(s - r)
            smoothed = 0.875 * s + 0.125 * r
        } else {
            smoothed = r
            variation = r / 2
        }
    }

    /// Timeout for one probe, in ms; before any sample, the ceiling.
    public var timeoutMs: Double {
        guard let s = smoothed else { return ceiling }
        return min(ceiling, max(floor, 2 * s + 4 * variation))
    }
}
