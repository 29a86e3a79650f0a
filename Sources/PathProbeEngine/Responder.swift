import CPathProbe
import PathProbeCore

#if canImport(Glibc)
import Glibc
#endif

/// `pathprobe serve`: the responder. Unprivileged UDP and TCP sockets on one port; every rule about
/// what to answer lives in PathProbeCore (`ResponderWire.decide`, `SourceRateLimiter`), this type
/// only does the I/O:
///
/// - UDP: well-formed requests are answered with what was seen (size, fragments, source address and
///   port) and, when asked, with a reply of a requested size with DF set (IP_PMTUDISC_PROBE, so a
///   cached PMTU never caps it) or without DF (the stack fragments it). A reply is never larger than
///   its request; EMSGSIZE becomes a small `tooBigHere` notice instead.
/// - TCP: connections are accepted and closed at once, so `reach` sees the port open.
/// - One log line per client address; per-source byte counters for the summary (at most 65536
///   addresses are remembered).
public struct ResponderConfig: Sendable {
    /// Listen on this address only; nil: every IPv4 and IPv6 address.
    public var listen: IPAddress? = nil
    public var port: UInt16 = ResponderWire.defaultPort
    /// Replies per second per source address, after `burst`.
    public var rate: Double = 200
    public var burst: Double = 100
    public var tcp = true

    public init(listen: IPAddress? = nil, port: UInt16 = ResponderWire.defaultPort) {
        self.listen = listen
        self.port = port
    }
}

public final class Responder {
    public struct Counters: Sendable, Equatable {
        public var requests = 0
        public var bytesReceived = 0
        public var replies = 0
        public var bytesSent = 0
    }

    public let config: ResponderConfig
    public private(set) var perSource: [IPAddress: Counters] = [:]
    public private(set) var ignored = 0
    public private(set) var rateLimited = 0
    /// Where the log lines go (stderr in the CLI).
    private let log: (String) -> Void

    private var udp: [(fd: Int32, family: AddressFamily)] = []
    private var listeners: [Int32] = []
    private let epollFD: Int32
    private var limiter: SourceRateLimiter
    private var mtuCache: [IPAddress: Int] = [:]
    private var buffer = [UInt8](repeating: 0, count: 65536)
    private var control = [UInt8](repeating: 0, count: 512)

    public init(config: ResponderConfig, log: @escaping (String) -> Void) throws {
        self.config = config
        self.log = log
        limiter = SourceRateLimiter(rate: config.rate, burst: config.burst)
        epollFD = cpp_epoll_create()
        guard epollFD >= 0 else { throw SystemError("epoll_create1", errno) }
        let families: [AddressFamily] = config.listen.map { [$0.family] } ?? [.ipv4, .ipv6]
        var firstError: Error? = nil
        for family in families {
            let address = config.listen ?? (family == .ipv4 ? IPAddress(ipv4: 0) : IPAddress(ipv6High: 0, low: 0))
            do {
                let fd = try Self.openUDP(address, port: config.port)
                udp.append((fd, family))
                try add(fd, tag: UInt64(udp.count - 1))
                if config.tcp {
                    let l = try Self.openTCP(address, port: config.port)
                    listeners.append(l)
                    try add(l, tag: 1000 + UInt64(listeners.count - 1))
                }
            } catch {
                // Without a listen address, a host without IPv6 (or IPv4) still serves the other family.
                if config.listen != nil || firstError != nil { throw firstError ?? error }
                firstError = error
            }
        }
        if udp.isEmpty { throw firstError ?? SystemError("socket", EAFNOSUPPORT) }
    }

    deinit {
        for (fd, _) in udp { close(fd) }
        for fd in listeners { close(fd) }
        close(epollFD)
    }

    private func add(_ fd: Int32, tag: UInt64) throws {
        guard cpp_epoll_add(epollFD, fd, cpp_EPOLLIN | cpp_EPOLLERR, tag) == 0 else { throw SystemError("epoll_ctl", errno) }
    }

    /// "udp+tcp 0.0.0.0:33433, [::]:33433"
    public var listeningDescription: String {
        let proto = config.tcp ? "udp+tcp" : "udp"
        let addresses = udp.map { u -> String in
            let a = config.listen ?? (u.family == .ipv4 ? IPAddress(ipv4: 0) : IPAddress(ipv6High: 0, low: 0))
            return a.family == .ipv6 ? "[\(a)]:\(config.port)" : "\(a):\(config.port)"
        }
        return "\(proto) " + addresses.joined(separator: ", ")
    }

    // MARK: sockets

    private static func bindSocket(_ fd: Int32, _ address: IPAddress, port: UInt16) throws {
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if address.family == .ipv6 { try System.setOption(fd, Int32(IPPROTO_IPV6), cpp_IPV6_V6ONLY, 1) }
        var sa = SocketAddress.make(address, port: port)
        let rc = withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, SocketAddress.length(address.family)) }
        }
        if rc != 0 {
            let e = errno
            close(fd)
            let where_ = address.family == .ipv6 ? "[\(address)]:\(port)" : "\(address):\(port)"
            throw SystemError("bind \(where_)", e)
        }
    }

    private static func openUDP(_ address: IPAddress, port: UInt16) throws -> Int32 {
        let domain = address.family == .ipv4 ? AF_INET : AF_INET6
        let fd = socket(domain, Int32(SOCK_DGRAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket(UDP)", errno) }
        try bindSocket(fd, address, port: port)
        try System.enableErrorQueue(fd, address.family)
        try System.setFragmentation(fd, address.family, allowed: false)
        return fd
    }

    private static func openTCP(_ address: IPAddress, port: UInt16) throws -> Int32 {
        let domain = address.family == .ipv4 ? AF_INET : AF_INET6
        let fd = socket(domain, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket(TCP)", errno) }
        try bindSocket(fd, address, port: port)
        guard listen(fd, 64) == 0 else {
            let e = errno
            close(fd)
            throw SystemError("listen", e)
        }
        return fd
    }

    // MARK: running

    /// Serves until `shouldStop` returns true (checked at least every 200 ms).
    public func run(shouldStop: () -> Bool) {
        var events = [cpp_epoll_event](repeating: cpp_epoll_event(), count: 8)
        while !shouldStop() {
            let n = events.withUnsafeMutableBufferPointer { cpp_epoll_wait(epollFD, $0.baseAddress, 8, 200) }
            guard n > 0 else { continue }
            for i in 0..<Int(n) {
                let tag = Int(events[i].data)
                if tag >= 1000 {
                    acceptAndClose(listeners[tag - 1000])
                } else {
                    serveDatagrams(udp[tag].fd, family: udp[tag].family)
                }
            }
        }
    }

    private func acceptAndClose(_ fd: Int32) {
        while true {
            let c = accept(fd, nil, nil)
            if c < 0 { return }
            close(c)
        }
    }

    private func serveDatagrams(_ fd: Int32, family: AddressFamily) {
        drainErrors(fd)
        for _ in 0..<256 {
            var from = sockaddr_storage()
            var fromLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let n = buffer.withUnsafeMutableBytes { b in
                withUnsafeMutablePointer(to: &from) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        recvfrom(fd, b.baseAddress, b.count, Int32(MSG_DONTWAIT), $0, &fromLength)
                    }
                }
            }
            if n < 0 { return }
            guard let (source, port) = SocketAddress.parse(from) else { continue }
            handle(Array(buffer[0..<n]), from: source, port: port, fd: fd, family: family)
        }
    }

    private func handle(_ payload: [UInt8], from source: IPAddress, port: UInt16, fd: Int32, family: AddressFamily) {
        // Bounded memory under a flood of (spoofed) sources: start over past 65536 addresses.
        if perSource[source] == nil && perSource.count >= 65536 { perSource.removeAll(keepingCapacity: true) }
        var counters = perSource[source] ?? Counters()
        let firstTime = perSource[source] == nil
        counters.requests += 1
        counters.bytesReceived += payload.count
        defer { perSource[source] = counters }
        guard let decision = ResponderWire.decide(payload, from: source, port: port, interfaceMTU: mtu(towards: source)) else {
            ignored += 1
            return
        }
        if firstTime {
            let name = source.family == .ipv6 ? "[\(source)]:\(port)" : "\(source):\(port)"
            log("client \(name): first request (\(payload.count) bytes)")
        }
        guard limiter.allow(source, now: System.now()) else {
            rateLimited += 1
            return
        }
        var d = decision
        var sent = send(d, to: source, port: port, fd: fd)
        if sent == -EMSGSIZE {
            // The reply does not fit our own interface: say so in a small notice instead.
            d = ResponderWire.notice(decision, status: .tooBigHere, limit: mtu(towards: source))
            sent = send(d, to: source, port: port, fd: fd)
        }
        if sent > 0 {
            counters.replies += 1
            counters.bytesSent += sent
        }
    }

    /// Sends one reply; returns the bytes sent or -errno. A pending error from an earlier reply's
    /// ICMP (IP_RECVERR) fails the first try: drain it and try once more.
    private func send(_ d: ResponderWire.Decision, to address: IPAddress, port: UInt16, fd: Int32) -> Int {
        let bytes = d.reply.encode(length: d.payloadLength, ipSize: d.ipSize)
        precondition(bytes.count == d.payloadLength, "reply size decided by ResponderWire")
        if !d.dontFragment { try? System.setFragmentation(fd, address.family, allowed: true) }
        defer { if !d.dontFragment { try? System.setFragmentation(fd, address.family, allowed: false) } }
        var to = SocketAddress.make(address, port: port)
        var result = -1
        for attempt in 0..<2 {
            let n = bytes.withUnsafeBytes { b in
                withUnsafePointer(to: &to) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(fd, b.baseAddress, b.count, 0, $0, SocketAddress.length(address.family))
                    }
                }
            }
            if n >= 0 { return n }
            result = -Int(errno)
            if attempt == 0 { drainErrors(fd) }
        }
        return result
    }



    /// ICMP errors our replies drew (packet too big on the way back...): read and dropped, so they
    /// do not fail the next send. The client learns about lost replies from their silence.
    private func drainErrors(_ fd: Int32) {
        for _ in 0..<64 {
            var msg = msghdr()
            let n = buffer.withUnsafeMutableBytes { b in
                control.withUnsafeMutableBytes { c in
                    var iov = iovec(iov_base: b.baseAddress, iov_len: 512)
                    return withUnsafeMutablePointer(to: &iov) { iovp in
                        msg.msg_iov = iovp
                        msg.msg_iovlen = 1
                        msg.msg_control = c.baseAddress
                        msg.msg_controllen = c.count
                        return recvmsg(fd, &msg, Int32(MSG_DONTWAIT) | cpp_MSG_ERRQUEUE)
                    }
                }
            }
            if n < 0 { return }
        }
    }

    /// The MTU of our interface towards a client (0: unknown): a datagram larger than it must have
    /// arrived as fragments. Cached per address, bounded.
    private func mtu(towards address: IPAddress) -> Int {
        if let m = mtuCache[address] { return m }
        if mtuCache.count > 4096 { mtuCache.removeAll() }
        let m = LocalPath.egress(to: address)?.mtu ?? 0
        mtuCache[address] = m
        return m
    }

    /// One line per client for the exit summary.
    public func summary() -> [String] {
        perSource.sorted { $0.key < $1.key }.map { a, c in
            "\(a): received \(c.bytesReceived) bytes in \(c.requests) datagrams, sent \(c.bytesSent) bytes in \(c.replies)"
        }
    }
}
