import CPathProbe
import PathProbeCore

#if canImport(Glibc)
import Glibc
#endif

/// TCP SYN probing on a raw IPPROTO_TCP socket (root or CAP_NET_RAW), as `ProbeSocket` mode `.tcpSyn`.
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
final class TCPSynState {
    let reservation: Int32
    let sourcePort: UInt16
    let key: UInt32
    private var routes: [IPAddress: (source: IPAddress, mss: UInt16)] = [:]
    private let egress = EgressCache()

    init(family: AddressFamily) throws {
        let domain = family == .ipv4 ? AF_INET : AF_INET6
        let fd = socket(domain, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket(TCP port reservation)", errno) }
        var any = SocketAddress.make(family == .ipv4 ? IPAddress(ipv4: 0) : IPAddress(ipv6High: 0, low: 0), port: 0)
        let rc = withUnsafePointer(to: &any) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, SocketAddress.length(family)) }
        }
        var local = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let g = withUnsafeMutablePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        guard rc == 0, g == 0, let (_, port) = SocketAddress.parse(local) else {
            let e = errno
            close(fd)
            throw SystemError("bind(TCP port reservation)", e)
        }
        reservation = fd
        sourcePort = port
        key = UInt32.random(in: 0...UInt32.max)
    }

    deinit { close(reservation) }

    /// Our source address towards `destination` and the MSS our SYN advertises (local MTU - 40 / - 60).
    func route(to destination: IPAddress) -> (source: IPAddress, mss: UInt16) {
        if let r = routes[destination] { return r }
        // Bounded: bulk reach sends SYNs to 100,000 destinations, each once or twice.
        if routes.count >= 4096 { routes.removeAll(keepingCapacity: true) }
        let family = destination.family
        let local = try? egress.lookup(to: destination)
        let zero = family == .ipv4 ? IPAddress(ipv4: 0) : IPAddress(ipv6High: 0, low: 0)
        let mtu = min(local?.mtu ?? 1500, 65535)
        let r = (local?.source ?? zero, UInt16(clamping: family.mss(forMTU: mtu)))
        routes[destination] = r
        return r
    }
}

extension ProbeSocket {
    static func openTCPSyn(_ family: AddressFamily) throws -> ProbeSocket {
        let domain = family == .ipv4 ? AF_INET : AF_INET6
        let fd = socket(domain, Int32(SOCK_RAW.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), Int32(IPPROTO_TCP))
        guard fd >= 0 else {
            let e = errno
            if e == EPERM || e == EACCES { throw PrivilegeError.tcpSynUnavailable }
            throw SystemError("socket(raw TCP)", e)
        }
        let s = ProbeSocket(fd: fd, family: family, mode: .tcpSyn)
        if family == .ipv6 {
            // The kernel computes the checksum (offset 16 in the TCP header) with the source it picks.
            try System.setOption(fd, Int32(IPPROTO_IPV6), Int32(IPV6_CHECKSUM), 16)
        }
        s.tcp = try TCPSynState(family: family)
        return try configure(s)
    }

    /// Writes the SYN for `request` at `buffer`; returns its length.
    func stageTCPSyn(_ request: ProbeRequest, token: UInt32, to buffer: UnsafeMutableRawPointer) -> Int {
        guard let tcp, case let .tcpSyn(port) = request.kind else { return 0 }
        let route = tcp.route(to: request.destination)
        let length = TCPSegment.writeSYN(to: buffer, source: route.source, destination: request.destination,
                                         sourcePort: tcp.sourcePort, destinationPort: port, sequence: token ^ tcp.key,
                                         mss: route.mss, timestamp: UInt32(truncatingIfNeeded: System.now() / 1_000_000))
        if family == .ipv6 { buffer.storeBytes(of: 0, toByteOffset: 16, as: UInt16.self) }
        return length
    }

    /// A SYN-ACK or RST that acknowledges one of our SYNs; anything else the raw socket sees is dropped.
    func parseTCPAnswer(_ data: UnsafeRawBufferPointer, info: cpp_msg_info, source: IPAddress, time: Nanoseconds) -> Arrival? {
        guard let tcp else { return nil }
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
        guard segment.destinationPort == tcp.sourcePort, segment.flags.contains(.ack),
              segment.isSynAck || segment.isReset else { return nil }
        let token = (segment.acknowledgment &- 1) ^ tcp.key
        return Arrival(outcome: .tcpReply(from: from, synAck: segment.isSynAck, mss: segment.isSynAck ? segment.mss : nil),
                       token: token, sequence: nil, probed: from, probedPort: segment.sourcePort, ttl: ttl, time: time)
    }

    /// Our SYN as quoted by an ICMP error: its token and destination port.
    func quotedTCPSyn(_ data: UnsafeRawBufferPointer) -> (token: UInt32, port: UInt16)? {
        guard let tcp, data.count >= 8 else { return nil }
        let sourcePort = UInt16(data[0]) << 8 | UInt16(data[1])
        guard sourcePort == tcp.sourcePort else { return nil }
        let port = UInt16(data[2]) << 8 | UInt16(data[3])
        let sequence = UInt32(data[4]) << 24 | UInt32(data[5]) << 16 | UInt32(data[6]) << 8 | UInt32(data[7])
        return (sequence ^ tcp.key, port)
    }
}
