import CPathProbe
import PathProbeCore

#if canImport(Glibc)
import Glibc
#endif

/// TCP SYN probes (`ProbeKind.tcpSyn`) on a raw IPPROTO_TCP socket (root or CAP_NET_RAW).
///
/// - We build the SYN ourselves (PathProbeCore's `TCPSegment`), with the checksum over the
///   pseudo-header (IPv4: source from the routing lookup; IPv6: the kernel fills it, IPV6_CHECKSUM).
/// - The sequence number is the engine's token XOR a per-socket key, so the SYN-ACK or RST (which
///   acknowledges sequence + 1) and the ICMP errors that quote our SYN lead back to the probe's slot.
/// - The source port is reserved for the socket's lifetime by an ordinary TCP socket bound to it,
///   so no local connection can take it. That socket never listens, so the kernel answers the
///   SYN-ACK with a RST, as it does for nmap's SYN scan: no connection is ever established.
/// - The raw socket sees every TCP segment the host receives; only those to our port that
///   acknowledge one of our SYNs are kept. ICMP errors about our SYNs reach it through IP_RECVERR.
final class TCPSynProbe: DatagramProbeKind {
    static let name = "tcp-syn"
    let fd: Int32
    let family: AddressFamily
    private let reservation: Int32
    let sourcePort: UInt16
    private let key = UInt32.random(in: 0...UInt32.max)
    private var routes: [IPAddress: (source: IPAddress, mss: UInt16)] = [:]
    /// Not shared with the process's recent-egress table: `routes` below is this probe's own (bulk
    /// reach looks up 100,000 destinations once each; shared, they held ~8 MB).
    private let egress = EgressCache(sharesRecent: false)

    private init(fd: Int32, family: AddressFamily, reservation: Int32, sourcePort: UInt16) {
        self.fd = fd
        self.family = family
        self.reservation = reservation
        self.sourcePort = sourcePort
    }

    deinit { close(reservation) }

    static func carries(_ request: ProbeRequest) -> Bool {
        if case .tcpSyn = request.kind { return true }
        return false
    }

    var socketName: String { "raw-tcp" }

    /// TCP SYN probes need a raw socket: what the user is told when there is none.
    static let unavailableMessage = "TCP SYN probes need raw sockets: root or CAP_NET_RAW (setcap cap_net_raw+ep)"

    static func open(_ family: AddressFamily, options: EngineOptions) throws(PathProbeError) -> TCPSynProbe {
        let fd: Int32
        do { fd = try Sockets.open(family, SOCK_RAW, Int32(IPPROTO_TCP), "socket(raw TCP)") } catch {
            if error.errno == .notPermitted || error.errno == .permissionDenied { throw .environment(unavailableMessage) }
            throw error.pathProbeError
        }
        var reservation: Int32 = -1
        do {
            if family == .ipv6 {
                // The kernel computes the checksum (offset 16 in the TCP header) with the source it picks.
                try Sockets.setOption(fd, Int32(IPPROTO_IPV6), Int32(IPV6_CHECKSUM), 16)
            }
            reservation = try Sockets.open(family, SOCK_STREAM, 0, "socket(TCP port reservation)")
            let any = family == .ipv4 ? IPAddress(ipv4: 0) : IPAddress(ipv6High: 0, low: 0)
            try Sockets.bind(reservation, any, port: 0)
            let (_, port) = try Sockets.localAddress(reservation)
            try ProbeSocket.configure(fd, family)
            return TCPSynProbe(fd: fd, family: family, reservation: reservation, sourcePort: port)
        } catch {
            close(fd)
            if reservation >= 0 { close(reservation) }
            throw error.pathProbeError
        }
    }

    /// Our source address towards `destination` and the MSS our SYN advertises (local MTU - 40 / - 60).
    private func route(to destination: IPAddress) -> (source: IPAddress, mss: UInt16) {
        if let r = routes[destination] { return r }
        // Bounded: bulk reach sends SYNs to 100,000 destinations, each once or twice.
        if routes.count >= 4096 { routes.removeAll(keepingCapacity: true) }
        let local = try? egress.lookup(to: destination)
        let zero = family == .ipv4 ? IPAddress(ipv4: 0) : IPAddress(ipv6High: 0, low: 0)
        let mtu = min(local?.mtu ?? 1500, 65535)
        let r = (local?.source ?? zero, UInt16(clamping: family.mss(forMTU: mtu)))
        routes[destination] = r
        return r
    }

    func stage(_ request: ProbeRequest, slot: Int32, token: UInt32, into buffer: UnsafeMutableRawPointer,
               capacity: Int) -> StagedPacket {
        let route = route(to: request.destination)
        let length = TCPSegment.writeSYN(to: buffer, source: route.source, destination: request.destination,
                                         sourcePort: sourcePort, destinationPort: request.kind.port ?? 0, sequence: token ^ key,
                                         mss: route.mss, timestamp: UInt32(truncatingIfNeeded: MonotonicClock.now() / 1_000_000))
        if family == .ipv6 { buffer.storeBytes(of: 0, toByteOffset: 16, as: UInt16.self) }
        return StagedPacket(length: length, port: 0, dirty: length)
    }

    /// A SYN-ACK or RST that acknowledges one of our SYNs; anything else the raw socket sees is dropped.
    func parseAnswer(_ data: UnsafeRawBufferPointer, info: cpp_msg_info, source: IPAddress, sourcePort: UInt16,
                     time: Nanoseconds) -> ProbeArrival? {
        var from = source
        var ttl = Int(info.ttl)
        let segment: TCPSegment.Answer
        if family == .ipv4 {
            guard let p = TCPSegment.parseIPv4(data) else { return nil }
            (from, ttl, segment) = (p.source, p.ttl, p.segment)
        } else {
            guard let s = TCPSegment.parse(data) else { return nil }
            segment = s
        }
        guard segment.destinationPort == self.sourcePort, segment.flags.contains(.ack),
              segment.isSynAck || segment.isReset else { return nil }
        let token = (segment.acknowledgment &- 1) ^ key
        return ProbeArrival(outcome: .tcpReply(from: from, synAck: segment.isSynAck, mss: segment.isSynAck ? segment.mss : nil),
                            token: token, sequence: nil, probed: from, probedPort: segment.sourcePort, ttl: ttl, time: time)
    }

    /// The quote starts at our SYN's TCP header; msg_name carries no port.
    func parseQuote(_ data: UnsafeRawBufferPointer, port: UInt16) -> QuotedProbe? {
        guard data.count >= 8 else { return nil }
        guard UInt16(data[0]) << 8 | UInt16(data[1]) == sourcePort else { return nil }
        let port = UInt16(data[2]) << 8 | UInt16(data[3])
        let sequence = UInt32(data[4]) << 24 | UInt32(data[5]) << 16 | UInt32(data[6]) << 8 | UInt32(data[7])
        return QuotedProbe(token: sequence ^ key, sequence: nil, port: port)
    }
}
