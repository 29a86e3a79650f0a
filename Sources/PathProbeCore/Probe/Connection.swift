/// Stream probes: ordinary TCP connections that a measurement opens through the same scheduler as
/// its datagram probes, unprivileged (plain connect()). The engine does the socket work on its one
/// event loop and reports what happened, each event with the socket's TCP_INFO at that moment; the
/// measurement stays a pure state machine (simulated connections in tests, real ones in the engine).
///
/// Used by the TCP connect fallback of `reach` and by the TCP path MTU measurement: advertise a
/// small MSS to make the server send segments of a chosen size (download direction), or write one
/// segment of a chosen size with DF (upload direction).

/// A connection opened by `ProbeScheduler.connect`; unique within one engine run.
public struct ConnectionID: Hashable, Sendable, CustomStringConvertible {
    public let raw: UInt32
    public init(raw: UInt32) { self.raw = raw }
    public var description: String { "conn#\(raw)" }
}

public struct ConnectionRequest: Sendable {
    public var destination: IPAddress
    public var port: UInt16
    /// MSS to advertise in the SYN (TCP_MAXSEG set before connect); it also caps the segments we
    /// send. nil: the kernel's choice (from the interface MTU).
    public var maxSegment: Int?
    /// Send every segment with DF (IP_PMTUDISC_DO / IPV6_PMTUDISC_DO): the upload probes. Routers
    /// must not fragment them. The kernel still lowers its segment size after a packet-too-big or
    /// for a PMTU it cached earlier; `TCPInfo.pathMTU` shows both, and the measurement reads it.
    public var probeMTU: Bool
    /// Longest wait for the handshake.
    public var timeout: Nanoseconds
    /// The measurement's own label; comes back unchanged with every event of this connection.
    public var tag: UInt32

    public init(destination: IPAddress, port: UInt16, maxSegment: Int? = nil, probeMTU: Bool = false,
                timeout: Nanoseconds, tag: UInt32) {
        self.destination = destination
        self.port = port
        self.maxSegment = maxSegment
        self.probeMTU = probeMTU
        self.timeout = timeout
        self.tag = tag
    }
}

/// The parts of Linux's `struct tcp_info` the measurements read.
public struct TCPInfo: Sendable, Equatable {
    /// Largest segment payload received from the peer so far, as the kernel estimates it
    /// (tcpi_rcv_mss; never above the MSS we advertised).
    public var receiveMSS: Int = 0
    /// Segment payload size we send with (tcpi_snd_mss).
    public var sendMSS: Int = 0
    /// The MSS we advertised (tcpi_advmss).
    public var advertisedMSS: Int = 0
    /// The kernel's path MTU for this connection (tcpi_pmtu): drops below a probe after a PTB.
    public var pathMTU: Int = 0
    public var bytesReceived: UInt64 = 0
    public var bytesAcked: UInt64 = 0
    /// Segments sent and not yet acknowledged.
    public var unacked: Int = 0
    /// Retransmissions over the connection's life (tcpi_total_retrans).
    public var totalRetransmits: Int = 0
    /// Segments received (tcpi_segs_in).
    public var segmentsIn: Int = 0
    /// Smoothed RTT, microseconds (tcpi_rtt).
    public var rttMicroseconds: Int = 0
    /// TCP timestamps were negotiated (they take 12 bytes of every segment's MSS).
    public var timestamps: Bool = false

    public init() {}
}

public enum ConnectionEvent: Sendable, Equatable {
    /// The handshake completed.
    case connected(TCPInfo)
    /// Bytes arrived (at most 64 KiB per event).
    case received([UInt8], TCPInfo)
    /// The answer to `ProbeScheduler.requestInfo`.
    case info(TCPInfo)
    /// The peer closed its side (FIN); the connection stays open for `close`.
    case peerClosed(TCPInfo)
    /// The connection failed: `ECONNREFUSED` (a RST to the SYN), `ECONNRESET`, `EHOSTUNREACH`...
    case failed(errno: Int32)
    /// No handshake within the request's timeout.
    case timedOut
}

public struct ConnectionResult: Sendable {
    public var id: ConnectionID
    public var tag: UInt32
    public var request: ConnectionRequest
    public var event: ConnectionEvent
    /// When the event was seen.
    public var time: Nanoseconds

    public init(id: ConnectionID, tag: UInt32, request: ConnectionRequest, event: ConnectionEvent, time: Nanoseconds) {
        self.id = id
        self.tag = tag
        self.request = request
        self.event = event
        self.time = time
    }
}
