import CPathProbe
import PathProbeCore

/// One kind of datagram probe (ICMP echo, UDP, TCP SYN...): everything the engine does not share
/// between kinds. A type per kind, one instance per address family (it owns that family's socket
/// state); `ProbeSocket` does the batching, kernel timestamps and the error queue for all of them,
/// and `ProbeEngine` the slots, timeouts and pacing, without knowing which kinds exist.
///
/// To add a kind: a type in this folder, and one line in `ProbeKinds.all` (docs/engine.md).
protocol DatagramProbeKind: AnyObject {
    /// The kind's name: `ProbeRequest.registeredKind` asks for it by this name.
    static var name: String { get }

    /// Whether this kind carries a request that names no kind (`registeredKind` nil). Built-in
    /// kinds answer from `request.kind`; a kind added later says false and is asked for by name.
    static func carries(_ request: ProbeRequest) -> Bool

    /// Opens and configures the kind's non-blocking socket for `family`. A missing privilege is a
    /// `PathProbeError.environment` that says exactly what is missing.
    static func open(_ family: AddressFamily, options: EngineOptions) throws(PathProbeError) -> Self

    var fd: Int32 { get }
    var family: AddressFamily { get }
    /// What the socket is, for results: "ping", "raw", "udp", "raw-tcp".
    var socketName: String { get }

    /// Writes the packet for `request` at `buffer` (zero beyond the bytes earlier packets dirtied;
    /// at most `capacity` bytes). The probe must carry `token` where its answers and quoted errors
    /// bring it back (the probe header, the ICMP sequence is `slot`, a TCP sequence number...).
    func stage(_ request: ProbeRequest, slot: Int32, token: UInt32, into buffer: UnsafeMutableRawPointer,
               capacity: Int) -> StagedPacket

    /// An answer read from the socket's normal queue, or nil when it is not one of ours.
    func parseAnswer(_ data: UnsafeRawBufferPointer, info: cpp_msg_info, source: IPAddress, sourcePort: UInt16,
                     time: Nanoseconds) -> ProbeArrival?

    /// Our probe as an ICMP error quotes it (the error queue's payload): its token or ICMP sequence
    /// and the port it went to; nil when the quote is not one of ours. `port` is msg_name's.
    func parseQuote(_ data: UnsafeRawBufferPointer, port: UInt16) -> QuotedProbe?

    /// Whether an arrival (already matched by token or sequence to a probe to the same address)
    /// answers `request`; by default the ports must agree.
    func matches(_ request: ProbeRequest, _ arrival: ProbeArrival) -> Bool

    /// For arrivals without token or sequence (a service's own reply): the slot of the probe they
    /// answer, if this kind keeps track of such probes.
    func slot(forUntokened arrival: ProbeArrival) -> Int32?
    /// A probe left in `slot` / its slot was freed: for kinds that match untokened answers.
    func didSend(_ request: ProbeRequest, slot: Int32)
    func didComplete(_ request: ProbeRequest, slot: Int32)
}

extension DatagramProbeKind {
    func matches(_ request: ProbeRequest, _ arrival: ProbeArrival) -> Bool {
        request.kind.port.map { $0 == arrival.probedPort } ?? true
    }
    func slot(forUntokened arrival: ProbeArrival) -> Int32? { nil }
    func didSend(_ request: ProbeRequest, slot: Int32) {}
    func didComplete(_ request: ProbeRequest, slot: Int32) {}
}

/// Every datagram probe kind the engine runs, in one table. The engine opens a kind's socket the
/// first time a probe of it is sent (or `ProbeEngine.prepare` asks), one per address family.
enum ProbeKinds {
    nonisolated(unsafe) static let all: [any DatagramProbeKind.Type] = [
        ICMPEchoProbe.self,
        UDPProbe.self,
        FragmentableUDPProbe.self,
        TCPSynProbe.self,
    ]

    /// The index in `all` of the kind that carries `request`, nil when none does.
    @inline(__always)
    static func index(for request: ProbeRequest) -> Int? {
        if let name = request.registeredKind { return all.firstIndex { $0.name == name } }
        var i = 0
        while i < all.count {
            if all[i].carries(request) { return i }
            i += 1
        }
        return nil
    }
}

/// What a kind wrote for one probe.
struct StagedPacket {
    /// Bytes to send (the kernel adds the IP header, and the UDP header on UDP sockets).
    var length: Int
    /// Destination port for sockaddr (0 for ICMP and raw sockets).
    var port: UInt16
    /// Bytes of the buffer to zero before it is reused (payloads written beyond the fixed headers).
    var dirty: Int
}

/// Something that came back: an answer, or an ICMP / local error from the error queue.
struct ProbeArrival {
    var outcome: ProbeOutcome
    /// The engine's token as the answer or the quoted probe carries it, when present.
    var token: UInt32?
    /// ICMP sequence number (the engine's slot), when the quote was too short for a token.
    var sequence: UInt16?
    /// The probed address and port: the answer's source, or the original destination of an error.
    var probed: IPAddress
    var probedPort: UInt16
    var ttl: Int
    var time: Nanoseconds
}

/// Our probe as an ICMP error quoted it.
struct QuotedProbe {
    var token: UInt32?
    var sequence: UInt16?
    var port: UInt16
}
