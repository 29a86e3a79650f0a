/// The TCP path MTU measurement's parameters for one target, both directions: the state machine's
/// input, made from the command line's `MTUArguments` (`tcpParameters`), never parsed on its own.
public struct TCPPathMTUOptions: Sendable {
    public enum Directions: String, Sendable, CaseIterable {
        case both, up, down
        var up: Bool { self != .down }
        var down: Bool { self != .up }
    }

    public var destination: IPAddress
    public var port: UInt16
    /// What to speak; nil: by the port (`TCPService.forPort`).
    public var service: TCPService?
    /// SNI and Host header: the name the user typed; nil: the address (no SNI then).
    public var serverName: String?
    /// Largest whole IP packet tried, both directions (the CLI: the egress interface MTU).
    public var maxSize: Int
    /// Smallest: also the reference connection's size (576 IPv4, 1280 IPv6 by default).
    public var minSize: Int
    /// Connections in flight at once: each carries one size (split between the directions while both search).
    public var parallel: Int = 8
    /// Handshakes in progress at once; nil: 2 for RDP (xrdp listens with a backlog of 2: a burst of
    /// SYNs loses some and costs a 1 s retransmission), unlimited otherwise.
    public var handshakes: Int? = nil
    /// Longest wait: a handshake, a flight, an acknowledgement (--timeout).
    public var timeoutMs: Double = 1000
    /// Shortest wait for a size once RTTs are known.
    public var minimumTimeoutMs: Double = 50
    /// Silences before a size counts as dropped; also handshake attempts of the reference connection.
    public var retries: Int = 2
    public var directions: Directions = .both
    /// Seeds the ClientHello randoms and key shares (the CLI: a random seed per run).
    public var seed: UInt64 = 1

    public init(destination: IPAddress, port: UInt16 = 443, service: TCPService? = nil, serverName: String? = nil,
                maxSize: Int, minSize: Int? = nil) {
        self.destination = destination
        self.port = port
        self.service = service
        self.serverName = serverName
        self.maxSize = maxSize
        self.minSize = minSize ?? TCPPathMTUOptions.defaultMinimum(destination.family)
    }

    public static func defaultMinimum(_ family: AddressFamily) -> Int { family == .ipv4 ? 576 : 1280 }
    /// The smallest size a TCP probe can have: Linux refuses a TCP_MAXSEG below 88 (TCP_MIN_MSS);
    /// IPv6 links carry at least 1280.
    public static func smallestSize(_ family: AddressFamily) -> Int { family == .ipv4 ? 88 + 40 : 1280 }

    public var resolvedService: TCPService { service ?? TCPService.forPort(port) }
    /// The name in SNI and Host.
    public var host: String { serverName ?? destination.description }
}

/// Packet arithmetic of a TCP segment: the IP packet is MSS + 40 (IPv4) or + 60 (IPv6), where the MSS
/// counts TCP options; with timestamps 12 of those bytes are options, so a segment of MSS m carries
/// m - 12 bytes of data. Linux reports MSS values already net of timestamps (tcpi_snd_mss,
/// tcpi_advmss, tcpi_rcv_mss after the handshake): packet = that + 12 + 40 / 60.
public struct SegmentMath: Sendable, Equatable {
    public var family: AddressFamily
    public var timestamps: Bool

    public init(family: AddressFamily, timestamps: Bool) {
        self.family = family
        self.timestamps = timestamps
    }

    /// IP and TCP headers without options: 40 / 60.
    public var headers: Int { family.ipHeaderSize + 20 }
    public var optionBytes: Int { timestamps ? 12 : 0 }
    /// The MSS to advertise (TCP_MAXSEG) for packets of `size`.
    public func mss(forPacket size: Int) -> Int { size - headers }
    /// Data bytes in a full segment of packet `size`.
    public func payload(forPacket size: Int) -> Int { size - headers - optionBytes }
    /// Packet size of a segment carrying `payload` data bytes.
    public func packet(forPayload payload: Int) -> Int { payload + headers + optionBytes }
}
