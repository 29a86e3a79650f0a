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
/// - TCP: `StreamResponderWire` requests are answered (StreamResponder.swift: `mtu -P tcp --service
///   pathprobe` measures both directions against it); other connections are closed at once, so
///   `reach` sees the port open.
/// - One log line per client address; per-source byte counters for the summary (at most 65536
///   addresses are remembered).
public struct ResponderConfig: Sendable {
    /// Listen on this address only; nil: every IPv4 and IPv6 address.
    public var listen: IPAddress? = nil
    public var port: UInt16 = ResponderWire.defaultPort
    /// Replies per second per source address, after `burst`.
    public var rate: Double = 200
    public var burst: Double = 100
    /// Sources with a bucket of their own; the least recently seen is forgotten to make room.
    public var trackedSources = 65536
    /// Global ceilings over all sources (0: none): replies per second and reply bytes per second.
    public var maxRepliesPerSecond: Double = 20_000
    public var maxBytesPerSecond: Double = 25_000_000
    /// Route lookups (the MTU towards a client) per second; beyond, replies say "MTU unknown".
    public var routeLookupsPerSecond: Double = 200
    public var tcp = true

    public init(listen: IPAddress? = nil, port: UInt16 = ResponderWire.defaultPort) {
        self.listen = listen
        self.port = port
    }
}

public final class Responder: EventLoopHandler {
    public struct Counters: Sendable, Equatable {
        public var requests = 0
        public var bytesReceived = 0
        public var replies = 0
        public var bytesSent = 0
    }

    public let config: ResponderConfig
    /// The loop the responder's sockets are on.
    public let loop: EventLoop
    public var perSource: [IPAddress: Counters] {
        Dictionary(clients.keysByRecency.compactMap { a in clients.peek(a).map { (a, $0) } }, uniquingKeysWith: { x, _ in x })
    }
    /// Datagrams that were not well-formed requests.
    public private(set) var ignored = 0
    /// Requests held back by the per-source limit, and by the global ceiling.
    public private(set) var rateLimited = 0
    public var ceilingLimited: Int { ceiling.refused }
    /// Where the log lines go (stderr in the CLI).
    private let log: (String) -> Void

    private var udp: [(fd: Int32, family: AddressFamily)] = []
    private var listeners: [Int32] = []
    /// The TCP side (nil with `tcp` off).
    private var stream: StreamResponder? = nil
    private var handlerID: EventLoop.HandlerID = -1
    private var limiter: SourceRateLimiter
    private var ceiling: ResponderCeiling
    private var logBudget: LogBudget
    private var clients = LRUTable<IPAddress, Counters>(capacity: 65536)
    private var mtuCache = LRUTable<IPAddress, Int>(capacity: 4096)
    private var routeLookups: RateBucket
    private var buffer = [UInt8](repeating: 0, count: 65536)
    private var control = [UInt8](repeating: 0, count: 512)
    private static let listenerToken: UInt32 = 1000

    /// Opens the sockets on `loop` (or a loop of its own). Throws `PathProbeError.environment` when
    /// a socket cannot be opened or bound (the port is taken...).
    public init(config: ResponderConfig, loop: EventLoop? = nil, log: @escaping (String) -> Void) throws(PathProbeError) {
        self.config = config
        self.log = log
        limiter = SourceRateLimiter(rate: config.rate, burst: config.burst, capacity: config.trackedSources)
        let now = MonotonicClock.now()
        ceiling = ResponderCeiling(packetsPerSecond: config.maxRepliesPerSecond, bytesPerSecond: config.maxBytesPerSecond, now: now)
        logBudget = LogBudget(now: now)
        routeLookups = RateBucket(rate: config.routeLookupsPerSecond, burst: max(1, config.routeLookupsPerSecond / 10), now: now)
        if let loop {
            self.loop = loop
        } else {
            do { self.loop = try EventLoop() } catch { throw error.pathProbeError }
        }
        handlerID = self.loop.add(self)
        if config.tcp { stream = StreamResponder(loop: self.loop, log: log) }
        let families: [AddressFamily] = config.listen.map { [$0.family] } ?? [.ipv4, .ipv6]
        var firstError: SystemError? = nil
        for family in families {
            let address = config.listen ?? (family == .ipv4 ? IPAddress(ipv4: 0) : IPAddress(ipv6High: 0, low: 0))
            do {
                let fd = try Self.openUDP(address, port: config.port)
                udp.append((fd, family))
                try self.loop.watch(fd, [.readable, .error], handler: handlerID, token: UInt32(udp.count - 1))
                if config.tcp {
                    let l = try Self.openTCP(address, port: config.port)
                    listeners.append(l)
                    try self.loop.watch(l, [.readable, .error], handler: handlerID, token: Self.listenerToken + UInt32(listeners.count - 1))
                }
            } catch {
                // Without a listen address, a host without IPv6 (or IPv4) still serves the other family.
                if config.listen != nil || firstError != nil { throw (firstError ?? error).pathProbeError }
                firstError = error
            }
        }
        if udp.isEmpty { throw (firstError ?? SystemError("socket", .addressFamilyNotSupported)).pathProbeError }
    }

    deinit {
        for (fd, _) in udp {
            loop.unwatch(fd)
            close(fd)
        }
        for fd in listeners {
            loop.unwatch(fd)
            close(fd)
        }
        loop.remove(handlerID)
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

    private static func bindSocket(_ fd: Int32, _ address: IPAddress, port: UInt16) throws(SystemError) {
        do {
            try Sockets.setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1)
            if address.family == .ipv6 { try Sockets.setOption(fd, Int32(IPPROTO_IPV6), cpp_IPV6_V6ONLY, 1) }
            try Sockets.bind(fd, address, port: port)
        } catch {
            close(fd)
            throw error
        }
    }

    private static func openUDP(_ address: IPAddress, port: UInt16) throws(SystemError) -> Int32 {
        let fd = try Sockets.open(address.family, SOCK_DGRAM, 0, "socket(UDP)")
        try bindSocket(fd, address, port: port)
        // Room for a burst while the loop is busy (a root-started responder can still force it here).
        Sockets.enlargeBuffers(fd, bytes: 4 << 20)
        do {
            try Sockets.enableErrorQueue(fd, address.family)
            try Sockets.setFragmentation(fd, address.family, allowed: false)
        } catch {
            close(fd)
            throw error
        }
        return fd
    }

    private static func openTCP(_ address: IPAddress, port: UInt16) throws(SystemError) -> Int32 {
        let fd = try Sockets.open(address.family, SOCK_STREAM, 0, "socket(TCP)")
        try bindSocket(fd, address, port: port)
        do { _ = try Syscall.run("listen") { listen(fd, 64) } } catch {
            close(fd)
            throw error
        }
        return fd
    }

    // MARK: running

    /// Serves until `shouldStop` returns true (checked at least every 100 ms), `loop.stop()` is
    /// called, or a signal the loop watches arrives.
    public func run(shouldStop: () -> Bool) {
        loop.run(until: shouldStop)
    }

    func ready(token: UInt32, events: EventLoop.Events) {
        if token >= Self.listenerToken {
            let i = Int(token - Self.listenerToken)
            if i < listeners.count { stream?.accept(listeners[i]) }
        } else if Int(token) < udp.count {
            serveDatagrams(udp[Int(token)].fd, family: udp[Int(token)].family)
        }
    }

    private func serveDatagrams(_ fd: Int32, family: AddressFamily) {
        drainErrors(fd)
        for _ in 0..<256 {
            var from = sockaddr_storage()
            var fromLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let received = try? buffer.withUnsafeMutableBytes { b throws(SystemError) in
                try withUnsafeMutablePointer(to: &from) { (p: UnsafeMutablePointer<sockaddr_storage>) throws(SystemError) -> Int? in
                    try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { (sa: UnsafeMutablePointer<sockaddr>) throws(SystemError) -> Int? in
                        try Syscall.nonBlocking("recvfrom") { recvfrom(fd, b.baseAddress, b.count, Int32(MSG_DONTWAIT), sa, &fromLength) }
                    }
                }
            }
            guard let n = received ?? nil else { return }
            guard let (source, port) = SocketAddress.parse(from) else { continue }
            handle(Array(buffer[0..<n]), from: source, port: port, fd: fd, family: family)
        }
    }

    /// One datagram. The order is the defence (ResponderLimits.swift): the cheap checks (well
    /// formed, the source's bucket: least recently used sources forgotten, never refused; the
    /// global ceiling of replies and bytes per second) come before anything that costs (the route
    /// lookup, the reply, a log line: a few per second). Per-source counters for the summary: the
    /// 65536 most recently answered addresses.
    private func handle(_ payload: [UInt8], from source: IPAddress, port: UInt16, fd: Int32, family: AddressFamily) {
        guard ResponderWire.Request(decoding: payload) != nil else {
            ignored += 1
            return
        }
        let now = MonotonicClock.now()
        guard limiter.allow(source, now: now) else {
            rateLimited += 1
            return
        }
        guard ceiling.allow(size: payload.count, now: now) else { return }
        guard let decision = ResponderWire.decide(payload, from: source, port: port, interfaceMTU: mtu(towards: source, now: now)) else {
            ignored += 1
            return
        }
        let (slot, firstTime) = clients.slot(for: source) { Counters() }
        clients[slot: slot].requests += 1
        clients[slot: slot].bytesReceived += payload.count
        if firstTime, let held = logBudget.allow(now: now) {
            if held > 0 { log("\(held) more new client\(held == 1 ? "" : "s") not logged (log rate limit)") }
            let name = source.family == .ipv6 ? "[\(source)]:\(port)" : "\(source):\(port)"
            log("client \(name): first request (\(payload.count) bytes)")
        }
        var d = decision
        var sent = send(d, to: source, port: port, fd: fd)
        if sent == -EMSGSIZE {
            // The reply does not fit our own interface: say so in a small notice instead.
            d = ResponderWire.notice(decision, status: .tooBigHere, limit: mtu(towards: source, now: now))
            sent = send(d, to: source, port: port, fd: fd)
        }
        if sent > 0 {
            clients[slot: slot].replies += 1
            clients[slot: slot].bytesSent += sent
        }
    }

    /// Sends one reply; returns the bytes sent or -errno. A pending error from an earlier reply's
    /// ICMP (IP_RECVERR) fails the first try: drain it and try once more.
    private func send(_ d: ResponderWire.Decision, to address: IPAddress, port: UInt16, fd: Int32) -> Int {
        let bytes = d.reply.encode(length: d.payloadLength, ipSize: d.ipSize)
        precondition(bytes.count == d.payloadLength, "reply size decided by ResponderWire")
        if !d.dontFragment { try? Sockets.setFragmentation(fd, address.family, allowed: true) }
        defer { if !d.dontFragment { try? Sockets.setFragmentation(fd, address.family, allowed: false) } }
        var to = SocketAddress.make(address, port: port)
        var result = -1
        for attempt in 0..<2 {
            var failure: SystemError? = nil
            let n = bytes.withUnsafeBytes { b in
                withUnsafePointer(to: &to) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa -> Int in
                        do throws(SystemError) {
                            return try Syscall.run("sendto") { sendto(fd, b.baseAddress, b.count, 0, sa, SocketAddress.length(address.family)) }
                        } catch {
                            failure = error
                            return -1
                        }
                    }
                }
            }
            guard let failure else { return n }
            result = -Int(failure.errno.rawValue)
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
                control.withUnsafeMutableBytes { c -> Int in
                    var iov = iovec(iov_base: b.baseAddress, iov_len: 512)
                    return withUnsafeMutablePointer(to: &iov) { iovp in
                        msg.msg_iov = iovp
                        msg.msg_iovlen = 1
                        msg.msg_control = c.baseAddress
                        msg.msg_controllen = c.count
                        return (try? Syscall.nonBlocking("recvmsg(MSG_ERRQUEUE)") { recvmsg(fd, &msg, Int32(MSG_DONTWAIT) | cpp_MSG_ERRQUEUE) } ?? -1) ?? -1
                    }
                }
            }
            if n < 0 { return }
        }
    }

    /// The MTU of our interface towards a client (0: unknown): a datagram larger than it must have
    /// arrived as fragments. Cached per /24 (IPv4) or /64 (IPv6): routes are not more specific in
    /// practice (LRU); at most `routeLookupsPerSecond` netlink
    /// lookups, beyond that 0.
    private func mtu(towards address: IPAddress, now: Nanoseconds) -> Int {
        let prefix = address.family == .ipv4 ? IPAddress(ipv4: address.ipv4Value & 0xffff_ff00) : IPAddress(ipv6High: address.high, low: 0)
        if let m = mtuCache.peek(prefix) { return m }
        guard routeLookups.take(now: now) else { return 0 }
        let m = LocalPath.egress(to: address)?.mtu ?? 0
        _ = mtuCache.slot(for: prefix) { m }
        return m
    }

    /// One line per client for the exit summary.
    public func summary() -> [String] {
        perSource.sorted { $0.key < $1.key }.map { a, c in
            "\(a): received \(c.bytesReceived) bytes in \(c.requests) datagrams, sent \(c.bytesSent) bytes in \(c.replies)"
        } + (stream?.summary().map { [$0] } ?? [])
    }

    /// What the defences held back, for the exit summary (nothing when nothing was).
    public func defenceSummary() -> [String] {
        var lines: [String] = []
        if clients.evictions > 0 { lines.append("\(clients.evictions) more clients not listed (only the 65536 most recent are kept)") }
        if logBudget.suppressed > 0 { lines.append("\(logBudget.suppressed) new clients not logged (log rate limit)") }
        if rateLimited > 0 || ceiling.refused > 0 || ignored > 0 {
            lines.append("not answered: \(rateLimited) over the per-source rate, \(ceiling.refused) over the global ceiling, \(ignored) not pathprobe requests")
        }
        return lines
    }
}
