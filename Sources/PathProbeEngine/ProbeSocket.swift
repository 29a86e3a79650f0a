import CPathProbe
import PathProbeCore

#if canImport(Glibc)
import Glibc
#endif

/// Which ICMP socket to use: ping sockets work unprivileged where net.ipv4.ping_group_range allows;
/// raw sockets need root or CAP_NET_RAW.
public enum ICMPSocketPreference: String, Sendable, CaseIterable {
    case auto, ping, raw
}

/// One probe socket (ICMP echo over a ping or raw socket, or UDP), with preallocated batches for
/// sendmmsg/recvmmsg. Probes are staged into the send batch, then flushed with one syscall; answers
/// and ICMP errors (from the error queue) are parsed into `Arrival`s for the engine to match.
final class ProbeSocket {
    enum Mode: Equatable { case icmpPing, icmpRaw, udp, tcpSyn }

    /// Something that came back: an answer (`isError` false) or an ICMP / local error from the error queue.
    struct Arrival {
        var outcome: ProbeOutcome
        /// Token from the probe header in the (quoted) payload, when present.
        var token: UInt32?
        /// ICMP sequence number (ICMP modes), the engine's slot when the quote was too short for a token.
        var sequence: UInt16?
        /// The probed address and port: the answer's source, or the original destination of an error.
        var probed: IPAddress
        var probedPort: UInt16
        var ttl: Int
        var time: Nanoseconds
    }

    let fd: Int32
    let family: AddressFamily
    let mode: Mode
    /// Echo identifier for raw sockets (ping sockets get theirs from the kernel and filter for us).
    let icmpIdentifier: UInt16

    static let batchSize = 64
    static let maxPacket = 65536
    static let receiveBuffer = 2048
    static let controlSize = 256

    // Send batch
    private let sendHeaders: UnsafeMutablePointer<cpp_mmsghdr>
    private let sendIOVs: UnsafeMutablePointer<iovec>
    private let sendNames: UnsafeMutablePointer<sockaddr_storage>
    private let sendControls: UnsafeMutableRawPointer
    private let sendBuffers: UnsafeMutableRawPointer
    private(set) var stagedSlots: [Int32]
    var stagedCount: Int { stagedSlots.count }
    /// Bytes of each send buffer written by a payload or TCP segment, zeroed before the buffer is reused.
    private var dirty: [Int]
    /// Raw TCP sockets only: the reserved source port, sequence key and per-destination source (TCPSynSocket.swift).
    var tcp: TCPSynState? = nil

    // Receive batch
    private let recvHeaders: UnsafeMutablePointer<cpp_mmsghdr>
    private let recvIOVs: UnsafeMutablePointer<iovec>
    private let recvNames: UnsafeMutablePointer<sockaddr_storage>
    private let recvControls: UnsafeMutableRawPointer
    private let recvBuffers: UnsafeMutableRawPointer

    init(fd: Int32, family: AddressFamily, mode: Mode) {
        self.fd = fd
        self.family = family
        self.mode = mode
        icmpIdentifier = UInt16(truncatingIfNeeded: getpid()) ^ UInt16.random(in: 0...0xffff)
        let n = Self.batchSize
        sendHeaders = .allocate(capacity: n)
        sendIOVs = .allocate(capacity: n)
        sendNames = .allocate(capacity: n)
        sendControls = calloc(n, Self.controlSize)!
        // calloc: zero pages are mapped lazily, and the padding after each probe header must stay zero.
        sendBuffers = calloc(n, Self.maxPacket)!
        stagedSlots = []
        stagedSlots.reserveCapacity(n)
        dirty = [Int](repeating: 0, count: n)
        recvHeaders = .allocate(capacity: n)
        recvIOVs = .allocate(capacity: n)
        recvNames = .allocate(capacity: n)
        recvControls = calloc(n, Self.controlSize)!
        recvBuffers = calloc(n, Self.receiveBuffer)!
    }

    deinit {
        close(fd)
        sendHeaders.deallocate()
        sendIOVs.deallocate()
        sendNames.deallocate()
        free(sendControls)
        free(sendBuffers)
        recvHeaders.deallocate()
        recvIOVs.deallocate()
        recvNames.deallocate()
        free(recvControls)
        free(recvBuffers)
    }

    // MARK: opening

    static func openICMP(_ family: AddressFamily, preference: ICMPSocketPreference) throws -> ProbeSocket {
        let domain = family == .ipv4 ? AF_INET : AF_INET6
        let proto = Int32(family == .ipv4 ? IPPROTO_ICMP : IPPROTO_ICMPV6)
        let flags = Int32(SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue)
        var pingErrno: Int32 = 0
        var rawErrno: Int32 = 0
        if preference != .raw {
            let fd = socket(domain, Int32(SOCK_DGRAM.rawValue) | flags, proto)
            if fd >= 0 { return try configure(ProbeSocket(fd: fd, family: family, mode: .icmpPing)) }
            pingErrno = errno
        }
        if preference != .ping {
            let fd = socket(domain, Int32(SOCK_RAW.rawValue) | flags, proto)
            if fd >= 0 { return try configure(ProbeSocket(fd: fd, family: family, mode: .icmpRaw)) }
            rawErrno = errno
        }
        throw PrivilegeError.icmpUnavailable(family: family, preference: preference, pingErrno: pingErrno, rawErrno: rawErrno)
    }

    /// `fragmentable`: no DF, the local stack fragments (IPv6: into 1280-byte fragments, which fit any IPv6 path).
    static func openUDP(_ family: AddressFamily, fragmentable: Bool = false) throws -> ProbeSocket {
        let domain = family == .ipv4 ? AF_INET : AF_INET6
        let fd = socket(domain, Int32(SOCK_DGRAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket(UDP)", errno) }
        let s = ProbeSocket(fd: fd, family: family, mode: .udp)
        if family == .ipv6 { try System.setOption(fd, Int32(IPPROTO_IPV6), cpp_IPV6_V6ONLY, 1) }
        _ = try configure(s)
        if fragmentable { try System.setFragmentation(fd, family, allowed: true) }
        return s
    }

    static func configure(_ s: ProbeSocket) throws -> ProbeSocket {
        let fd = s.fd
        try System.enableErrorQueue(fd, s.family)
        // Every probe leaves with DF set and ignores the PMTU the kernel has cached for the destination.
        try System.setFragmentation(fd, s.family, allowed: false)
        if s.family == .ipv4 {
            try System.setOption(fd, Int32(IPPROTO_IP), cpp_IP_RECVTTL, 1)
        } else {
            try System.setOption(fd, Int32(IPPROTO_IPV6), cpp_IPV6_RECVHOPLIMIT, 1)
        }
        if s.mode == .icmpRaw {
            // Errors arrive on the error queue; the normal queue only needs echo replies.
            if s.family == .ipv4 {
                _ = cpp_set_icmp_filter(fd, 1 << UInt32(ICMPPacket.echoReplyV4))
            } else {
                var types: [UInt8] = [ICMPPacket.echoReplyV6]
                _ = cpp_set_icmp6_filter(fd, &types, 1)
            }
        }
        System.enlargeBuffers(fd, bytes: 8 << 20)
        // Kernel receive timestamps: answers read in one batch keep their own arrival times.
        try? System.setOption(fd, SOL_SOCKET, cpp_SO_TIMESTAMPNS, 1)
        return s
    }

    func bind(toDevice name: String) throws {
        let rc = name.withCString { setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, $0, socklen_t(strlen($0) + 1)) }
        if rc != 0 { throw SystemError("SO_BINDTODEVICE \(name)", errno) }
    }

    // MARK: sending

    /// Bytes this socket writes for a probe of `size` (the kernel adds the IP header, and the UDP header for UDP).
    func payloadLength(forPacketSize size: Int) -> Int {
        let l = size - family.ipHeaderSize - (mode == .udp ? 8 : 0)
        return min(Self.maxPacket, max(l, (mode == .udp ? 0 : 8) + ProbeHeader.size))
    }

    /// Adds a probe to the send batch; false when the batch is full (flush first).
    func stage(slot: Int32, token: UInt32, request: ProbeRequest) -> Bool {
        let i = stagedSlots.count
        guard i < Self.batchSize else { return false }
        let buffer = sendBuffers + i * Self.maxPacket
        if dirty[i] > 0 {
            memset(buffer, 0, dirty[i])
            dirty[i] = 0
        }
        var length = payloadLength(forPacketSize: request.size)
        var port: UInt16 = 0
        switch mode {
        case .icmpPing, .icmpRaw:
            let v4 = family == .ipv4
            buffer.storeBytes(of: v4 ? ICMPPacket.echoRequestV4 : ICMPPacket.echoRequestV6, toByteOffset: 0, as: UInt8.self)
            buffer.storeBytes(of: 0, toByteOffset: 1, as: UInt8.self)
            buffer.storeBytes(of: 0, toByteOffset: 2, as: UInt16.self)
            buffer.storeBytes(of: icmpIdentifier.bigEndian, toByteOffset: 4, as: UInt16.self)
            buffer.storeBytes(of: UInt16(truncatingIfNeeded: slot).bigEndian, toByteOffset: 6, as: UInt16.self)
            ProbeHeader.write(token: token, size: request.size, ttl: request.ttl, to: buffer + 8)
            if mode == .icmpRaw && v4 {
                // The rest of the buffer is zero, so the checksum only needs the headers.
                let sum = InternetChecksum.compute(UnsafeRawBufferPointer(start: buffer, count: 8 + ProbeHeader.size))
                buffer.storeBytes(of: sum.bigEndian, toByteOffset: 2, as: UInt16.self)
            }
        case .udp:
            if case let .udp(p) = request.kind { port = p }
            if let payload = request.payload {
                length = min(payload.count, Self.maxPacket)
                if length > 0 { payload.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: length) } }
                if ProbeHeader.token(in: UnsafeRawBufferPointer(start: buffer, count: length)) != nil {
                    buffer.storeBytes(of: token.bigEndian, toByteOffset: 4, as: UInt32.self)
                }
                dirty[i] = length
            } else {
                ProbeHeader.write(token: token, size: request.size, ttl: request.ttl, to: buffer)
            }
        case .tcpSyn:
            length = stageTCPSyn(request, token: token, to: buffer)
            dirty[i] = length
        }
        sendNames[i] = SocketAddress.make(request.destination, port: port)
        sendIOVs[i] = iovec(iov_base: buffer, iov_len: length)
        var msg = msghdr()
        msg.msg_name = UnsafeMutableRawPointer(sendNames + i)
        msg.msg_namelen = SocketAddress.length(family)
        msg.msg_iov = sendIOVs + i
        msg.msg_iovlen = 1
        if request.ttl > 0 {
            let control = sendControls + i * Self.controlSize
            let level = family == .ipv4 ? Int32(IPPROTO_IP) : Int32(IPPROTO_IPV6)
            let type = family == .ipv4 ? cpp_IP_TTL : cpp_IPV6_HOPLIMIT
            let used = cpp_cmsg_put_int(control, Self.controlSize, level, type, Int32(request.ttl))
            msg.msg_control = control
            msg.msg_controllen = used
        }
        sendHeaders[i] = cpp_mmsghdr(msg_hdr: msg, msg_len: 0)
        stagedSlots.append(slot)
        return true
    }

    enum FlushResult {
        /// Everything staged was sent.
        case sent
        /// The first `sent` went out; the next one failed with `errno`, the rest were not tried.
        case failed(sent: Int, errno: Int32)
    }

    /// Sends what is staged from index `from` on, with one sendmmsg call.
    func flush(from start: Int = 0) -> FlushResult {
        let total = stagedSlots.count
        var done = start
        while done < total {
            let n = cpp_sendmmsg(fd, sendHeaders + done, UInt32(total - done), 0)
            if n < 0 {
                let e = errno
                if e == EINTR { continue }
                return .failed(sent: done, errno: e)
            }
            done += Int(n)
        }
        return .sent
    }

    func clearStaged() { stagedSlots.removeAll(keepingCapacity: true) }

    // MARK: receiving

    /// Reads everything waiting (answers, then the error queue) and hands each arrival to `deliver`.
    func drain(now: () -> Nanoseconds, _ deliver: (Arrival) -> Void) {
        while receiveBatch(errorQueue: false, now: now, deliver) == Self.batchSize {}
        while receiveBatch(errorQueue: true, now: now, deliver) == Self.batchSize {}
    }

    /// Reads only the error queue (used after a send failed because of a pending error).
    func drainErrors(now: () -> Nanoseconds, _ deliver: (Arrival) -> Void) {
        while receiveBatch(errorQueue: true, now: now, deliver) == Self.batchSize {}
    }

    private func receiveBatch(errorQueue: Bool, now: () -> Nanoseconds, _ deliver: (Arrival) -> Void) -> Int {
        let n = Self.batchSize
        for i in 0..<n {
            recvIOVs[i] = iovec(iov_base: recvBuffers + i * Self.receiveBuffer, iov_len: Self.receiveBuffer)
            var msg = msghdr()
            msg.msg_name = UnsafeMutableRawPointer(recvNames + i)
            msg.msg_namelen = socklen_t(MemoryLayout<sockaddr_storage>.size)
            msg.msg_iov = recvIOVs + i
            msg.msg_iovlen = 1
            msg.msg_control = recvControls + i * Self.controlSize
            msg.msg_controllen = Self.controlSize
            recvHeaders[i] = cpp_mmsghdr(msg_hdr: msg, msg_len: 0)
        }
        let flags = Int32(MSG_DONTWAIT) | (errorQueue ? cpp_MSG_ERRQUEUE : 0)
        var got: Int32
        repeat { got = cpp_recvmmsg(fd, recvHeaders, UInt32(n), flags) } while got < 0 && errno == EINTR
        guard got > 0 else { return 0 }
        let readAt = now()
        // The kernel stamps arrivals with CLOCK_REALTIME; the engine runs on CLOCK_MONOTONIC.
        let realtimeOffset = cpp_realtime_ns() - Int64(bitPattern: readAt)
        var info = cpp_msg_info()
        for i in 0..<Int(got) {
            let h = recvHeaders + i
            let length = Int(h.pointee.msg_len)
            let data = UnsafeRawBufferPointer(start: recvBuffers + i * Self.receiveBuffer, count: min(length, Self.receiveBuffer))
            withUnsafePointer(to: &h.pointee.msg_hdr) { cpp_msg_info_parse($0, &info) }
            var time = readAt
            if info.rx_realtime_ns > 0 {
                let stamped = info.rx_realtime_ns - realtimeOffset
                if stamped > 0 && UInt64(stamped) <= readAt { time = UInt64(stamped) }
            }
            guard let (peer, peerPort) = SocketAddress.parse(recvNames + i, length: Int(h.pointee.msg_hdr.msg_namelen)) else { continue }
            let arrival = errorQueue
                ? parseError(data, info: info, destination: peer, destinationPort: peerPort, time: time)
                : parseAnswer(data, info: info, source: peer, sourcePort: peerPort, time: time)
            if let arrival { deliver(arrival) }
        }
        return Int(got)
    }

    private func parseAnswer(_ data: UnsafeRawBufferPointer, info: cpp_msg_info, source: IPAddress, sourcePort: UInt16,
                             time: Nanoseconds) -> Arrival? {
        switch mode {
        case .icmpPing, .icmpRaw:
            let rawV4 = mode == .icmpRaw && family == .ipv4
            guard let echo = ICMPPacket.parseEcho(data, withIPv4Header: rawV4) else { return nil }
            let replyType = family == .ipv4 ? ICMPPacket.echoReplyV4 : ICMPPacket.echoReplyV6
            guard echo.type == replyType else { return nil }
            if mode == .icmpRaw && echo.identifier != icmpIdentifier { return nil }  // someone else's ping
            let ttl = echo.ipTTL ?? Int(info.ttl)
            return Arrival(outcome: .echoReply(from: source, ttl: ttl), token: echo.token, sequence: echo.sequence,
                           probed: source, probedPort: 0, ttl: ttl, time: time)
        case .udp:
            let payload = Array(data.prefix(512))
            return Arrival(outcome: .udpReply(from: source, payload: payload), token: ProbeHeader.token(in: data),
                           sequence: nil, probed: source, probedPort: sourcePort, ttl: Int(info.ttl), time: time)
        case .tcpSyn:
            return parseTCPAnswer(data, info: info, source: source, time: time)
        }
    }

    /// An entry of the error queue. Its payload is the start of our own probe as quoted by the ICMP
    /// error (ICMP header for ICMP sockets, UDP payload for UDP sockets); msg_name is where it was sent.
    private func parseError(_ data: UnsafeRawBufferPointer, info: cpp_msg_info, destination: IPAddress, destinationPort: UInt16,
                            time: Nanoseconds) -> Arrival? {
        guard info.has_error != 0 else { return nil }
        var probedPort = destinationPort
        var token: UInt32? = nil
        var sequence: UInt16? = nil
        switch mode {
        case .icmpPing, .icmpRaw:
            guard data.count >= 8 else { return nil }
            let requestType = family == .ipv4 ? ICMPPacket.echoRequestV4 : ICMPPacket.echoRequestV6
            guard data[0] == requestType else { return nil }
            let id = UInt16(data[4]) << 8 | UInt16(data[5])
            if mode == .icmpRaw && id != icmpIdentifier { return nil }
            sequence = UInt16(data[6]) << 8 | UInt16(data[7])
            token = ProbeHeader.token(in: UnsafeRawBufferPointer(rebasing: data[8...]))
        case .udp:
            token = ProbeHeader.token(in: data)
        case .tcpSyn:
            // The quote starts at our SYN's TCP header; msg_name carries no port.
            guard let quoted = quotedTCPSyn(data) else { return nil }
            token = quoted.token
            probedPort = quoted.port
        }
        let outcome: ProbeOutcome
        switch Int32(info.ee_origin) {
        case Int32(CPP_EE_ORIGIN_ICMP), Int32(CPP_EE_ORIGIN_ICMP6):
            let from = withUnsafeBytes(of: info.offender) { SocketAddress.parse($0.baseAddress!, length: $0.count)?.0 }
            guard let from else { return nil }
            outcome = ICMPPacket.outcome(family: family, type: info.ee_type, code: info.ee_code, info: info.ee_info, from: from)
        case Int32(CPP_EE_ORIGIN_LOCAL):
            let e = Int32(info.ee_errno)
            outcome = .localError(errno: e, mtu: e == EMSGSIZE ? Int(info.ee_info) : 0)
        default:
            return nil
        }
        return Arrival(outcome: outcome, token: token, sequence: sequence, probed: destination, probedPort: probedPort,
                       ttl: Int(info.ttl), time: time)
    }
}

/// Neither ping nor raw ICMP sockets can be opened: says exactly what is missing.
public enum PrivilegeError: Error, CustomStringConvertible {
    case icmpUnavailable(family: AddressFamily, preference: ICMPSocketPreference, pingErrno: Int32, rawErrno: Int32)
    /// TCP SYN probes need a raw socket.
    case tcpSynUnavailable

    public var description: String {
        switch self {
        case .tcpSynUnavailable:
            return "TCP SYN probes need raw sockets: root or CAP_NET_RAW (setcap cap_net_raw+ep)"
        case let .icmpUnavailable(family, preference, pingErrno, rawErrno):
            let icmp = family == .ipv4 ? "ICMP" : "ICMPv6"
            let group = getegid()
            let range = PrivilegeError.pingGroupRange() ?? "unknown"
            var parts: [String] = []
            if preference != .raw {
                parts.append(pingErrno == EACCES || pingErrno == EPERM
                    ? "ping sockets are closed to group \(group) (net.ipv4.ping_group_range = \"\(range)\"; open them with: sysctl -w net.ipv4.ping_group_range=\"0 2147483647\")"
                    : "ping sockets failed: \(String(cString: strerror(pingErrno)))")
            }
            if preference != .ping {
                parts.append(rawErrno == EPERM || rawErrno == EACCES
                    ? "raw sockets need root or CAP_NET_RAW (setcap cap_net_raw+ep on the binary)"
                    : "raw sockets failed: \(String(cString: strerror(rawErrno)))")
            }
            return "cannot open \(icmp) sockets: " + parts.joined(separator: ", and ") + "; or probe with --protocol udp"
        }
    }

    static func pingGroupRange() -> String? {
        guard let f = fopen("/proc/sys/net/ipv4/ping_group_range", "r") else { return nil }
        defer { fclose(f) }
        var buf = [CChar](repeating: 0, count: 64)
        guard fgets(&buf, 64, f) != nil else { return nil }
        let s = String(decoding: buf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return s.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).joined(separator: " ")
    }
}
