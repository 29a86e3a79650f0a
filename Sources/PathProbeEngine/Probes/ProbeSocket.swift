import CPathProbe
import PathProbeCore

#if canImport(Glibc)
import Glibc
#endif

/// One probe socket with preallocated batches for sendmmsg/recvmmsg, for any probe kind: probes
/// are staged into the send batch (the kind writes the packet), then flushed with one syscall;
/// answers and ICMP errors (from the error queue) are read in batches with kernel receive
/// timestamps and parsed by the kind into `ProbeArrival`s for the engine to match.
final class ProbeSocket {
    let kind: any DatagramProbeKind
    /// The kind's, kept here: read on every batch and every probe.
    let fd: Int32
    let family: AddressFamily

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

    // Receive batch
    private let recvHeaders: UnsafeMutablePointer<cpp_mmsghdr>
    private let recvIOVs: UnsafeMutablePointer<iovec>
    private let recvNames: UnsafeMutablePointer<sockaddr_storage>
    private let recvControls: UnsafeMutableRawPointer
    private let recvBuffers: UnsafeMutableRawPointer

    init(kind: any DatagramProbeKind) {
        self.kind = kind
        fd = kind.fd
        family = kind.family
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

    /// The socket options every datagram probe socket has: the error queue (IP_RECVERR), DF while
    /// ignoring the cached PMTU, the TTL / hop limit of what arrives, large buffers, and kernel
    /// receive timestamps (answers read in one batch keep their own arrival times).
    static func configure(_ fd: Int32, _ family: AddressFamily) throws(SystemError) {
        try Sockets.enableErrorQueue(fd, family)
        try Sockets.setFragmentation(fd, family, allowed: false)
        if family == .ipv4 {
            try Sockets.setOption(fd, Int32(IPPROTO_IP), cpp_IP_RECVTTL, 1)
        } else {
            try Sockets.setOption(fd, Int32(IPPROTO_IPV6), cpp_IPV6_RECVHOPLIMIT, 1)
        }
        Sockets.enlargeBuffers(fd, bytes: 8 << 20)
        try? Sockets.setOption(fd, SOL_SOCKET, cpp_SO_TIMESTAMPNS, 1)
    }

    // MARK: sending

    /// Adds a probe to the send batch; false when the batch is full (flush first).
    func stage(slot: Int32, token: UInt32, request: ProbeRequest) -> Bool {
        let i = stagedSlots.count
        guard i < Self.batchSize else { return false }
        let buffer = sendBuffers + i * Self.maxPacket
        if dirty[i] > 0 {
            memset(buffer, 0, dirty[i])
            dirty[i] = 0
        }
        let packet = kind.stage(request, slot: slot, token: token, into: buffer, capacity: Self.maxPacket)
        dirty[i] = packet.dirty
        sendNames[i] = SocketAddress.make(request.destination, port: packet.port)
        sendIOVs[i] = iovec(iov_base: buffer, iov_len: packet.length)
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
        /// The first `sent` went out; the next one failed with `errno` (EAGAIN included: the
        /// socket buffer is full), the rest were not tried.
        case failed(sent: Int, errno: Int32)
    }

    /// Sends what is staged from index `from` on, with one sendmmsg call.
    func flush(from start: Int = 0) -> FlushResult {
        let total = stagedSlots.count
        var done = start
        while done < total {
            let n: Int32?
            do {
                n = try Syscall.nonBlocking("sendmmsg") { cpp_sendmmsg(fd, sendHeaders + done, UInt32(total - done), 0) }
            } catch {
                return .failed(sent: done, errno: error.errno.rawValue)
            }
            guard let n else { return .failed(sent: done, errno: EAGAIN) }
            done += Int(n)
        }
        return .sent
    }

    func clearStaged() { stagedSlots.removeAll(keepingCapacity: true) }

    // MARK: receiving

    /// Reads everything waiting (answers, then the error queue) and hands each arrival to `deliver`.
    func drain(_ deliver: (ProbeArrival) -> Void) {
        while receiveBatch(errorQueue: false, deliver) == Self.batchSize {}
        while receiveBatch(errorQueue: true, deliver) == Self.batchSize {}
    }

    /// Reads only the error queue (used after a send failed because of a pending error).
    func drainErrors(_ deliver: (ProbeArrival) -> Void) {
        while receiveBatch(errorQueue: true, deliver) == Self.batchSize {}
    }

    private func receiveBatch(errorQueue: Bool, _ deliver: (ProbeArrival) -> Void) -> Int {
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
        // Nothing waiting, or a receive error (reported on the error queue, read next): 0.
        guard let got = try? Syscall.nonBlocking("recvmmsg", { cpp_recvmmsg(fd, recvHeaders, UInt32(n), flags) }) ?? 0,
              got > 0 else { return 0 }
        let (readAt, realtimeOffset) = Self.clockOffset()
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
                : kind.parseAnswer(data, info: info, source: peer, sourcePort: peerPort, time: time)
            if let arrival { deliver(arrival) }
        }
        return Int(got)
    }

    /// Now on CLOCK_MONOTONIC, and CLOCK_REALTIME minus CLOCK_MONOTONIC (the kernel stamps arrivals
    /// with the one, the engine runs on the other). The realtime read is bracketed by two monotonic
    /// reads, and taken again when the thread was preempted in between: on a loaded machine that
    /// gap was milliseconds, and every arrival of the batch would have looked that much earlier.
    static func clockOffset() -> (now: Nanoseconds, offset: Int64) {
        var best: (gap: UInt64, now: Nanoseconds, offset: Int64) = (.max, 0, 0)
        for _ in 0..<3 {
            let before = MonotonicClock.now()
            let real = cpp_realtime_ns()
            let after = MonotonicClock.now()
            let gap = after.since(before)
            if gap < best.gap { best = (gap, after, real - Int64(bitPattern: before + gap / 2)) }
            if gap < 20_000 { break }
        }
        return (best.now, best.offset)
    }

    /// An entry of the error queue. Its payload is the start of our own probe as quoted by the ICMP
    /// error (the kind reads it); msg_name is where it was sent.
    private func parseError(_ data: UnsafeRawBufferPointer, info: cpp_msg_info, destination: IPAddress, destinationPort: UInt16,
                            time: Nanoseconds) -> ProbeArrival? {
        guard info.has_error != 0, let quote = kind.parseQuote(data, port: destinationPort) else { return nil }
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
        return ProbeArrival(outcome: outcome, token: quote.token, sequence: quote.sequence, probed: destination,
                            probedPort: quote.port, ttl: Int(info.ttl), time: time)
    }
}
