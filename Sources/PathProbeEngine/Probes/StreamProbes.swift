import CPathProbe
import PathProbeCore
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Stream probes (PathProbeCore's Connection.swift) on the event loop: ordinary, unprivileged TCP
/// connections that measurements open through their `ProbeScheduler`. Each is a non-blocking
/// socket on the loop's epoll; its events go back to the measurement that opened it, each with
/// the socket's TCP_INFO at that moment:
///
/// - `connect`: TCP_MAXSEG before connect() when `maxSegment` is set (the MSS our SYN advertises),
///   IP(V6)_PMTUDISC_DO when `probeMTU` (DF on every segment; TCP ignores PROBE's DF on IPv4), SO_BINDTODEVICE
///   with the engine's interface; a loop timer for the handshake's `timeout` (`.timedOut`).
/// - `.connected`, then `.received` per read (at most 64 KiB), `.peerClosed` at the peer's FIN;
///   `.failed(errno)` for a refused (ECONNREFUSED), reset or unreachable connection.
/// - `write` queues bytes, written as the socket takes them; `requestInfo` answers with `.info` on
///   the next turn (never inside the measurement's own call); `close` ends it gracefully (what is
///   unread is read first, so close() sends a FIN, not a RST), and no event of it comes afterwards.
final class StreamProbes: EventLoopHandler {
    /// (result, measurement index, measurement generation)
    typealias Deliver = (ConnectionResult, Int32, UInt32) -> Void

    private struct Connection {
        var fd: Int32
        var request: ConnectionRequest
        var owner: Int32
        var generation: UInt32
        var connected = false
        var peerClosed = false
        var outgoing: [UInt8] = []
        var sent = 0
    }

    private let loop: EventLoop
    private let options: EngineOptions
    private let deliverEvent: Deliver
    private var handlerID: EventLoop.HandlerID = -1
    private var connections: [UInt32: Connection] = [:]
    private var nextID: UInt32 = 1
    private var deferred: [(id: UInt32, event: ConnectionEvent)] = []
    private var readBuffer = [UInt8](repeating: 0, count: 65536)
    private var limitRaised = false
    /// Connections opened (connect() called on a socket).
    private(set) var opened = 0

    init(loop: EventLoop, options: EngineOptions, deliver: @escaping Deliver) {
        self.loop = loop
        self.options = options
        deliverEvent = deliver
        handlerID = loop.add(self)
    }

    deinit {
        closeAll()
        loop.remove(handlerID)
    }

    var hasDeferred: Bool { !deferred.isEmpty }

    // MARK: what measurements ask for

    func connect(_ request: ConnectionRequest, owner: Int32, generation: UInt32) -> ConnectionID {
        let id = nextID
        nextID &+= 1
        if nextID == 0 { nextID = 1 }
        if !limitRaised {
            // Many connections at once (a port range): as many descriptors as the system allows.
            ResourceLimits.raiseOpenFiles()
            limitRaised = true
        }
        var c = Connection(fd: -1, request: request, owner: owner, generation: generation)
        do throws(SystemError) {
            c.fd = try Sockets.open(request.destination.family, SOCK_STREAM, 0, "socket(TCP)")
            connections[id] = c
            try configure(c.fd, request)
            var sa = SocketAddress.make(request.destination, port: request.port)
            let family = request.destination.family
            opened += 1
            let rc = withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(c.fd, $0, SocketAddress.length(family)) }
            }
            if rc != 0 {
                let e = Syscall.lastErrno
                if e != .nowInProgress && e != .interrupted { throw SystemError("connect", e) }
            }
            // Connected at once (rare) or in progress: writable says which.
            try loop.watch(c.fd, [.writable, .error], handler: handlerID, token: id)
            loop.setTimer(at: MonotonicClock.now() + request.timeout, handler: handlerID, token: id, generation: 0)
        } catch {
            // No socket, or connect() failed at once (ENETUNREACH...): reported on the next turn.
            if c.fd >= 0 { Glibc.close(c.fd) }
            connections[id] = Connection(fd: -1, request: request, owner: owner, generation: generation)
            deferred.append((id, .failed(errno: error.errno.rawValue)))
        }
        return ConnectionID(raw: id)
    }

    private func configure(_ fd: Int32, _ request: ConnectionRequest) throws(SystemError) {
        if let name = options.interface { try Sockets.bind(fd, toDevice: name) }
        if let mss = request.maxSegment { try Sockets.setOption(fd, Int32(IPPROTO_TCP), cpp_TCP_MAXSEG, Int32(clamping: mss)) }
        if request.probeMTU { try Sockets.setDontFragment(fd, request.destination.family) }
    }

    func write(_ bytes: [UInt8], to connection: ConnectionID) {
        guard let c = connections[connection.raw], c.fd >= 0 else { return }
        connections[connection.raw]?.outgoing.append(contentsOf: bytes)
        if c.connected { flushWrites(connection.raw) }
    }

    func requestInfo(_ connection: ConnectionID) {
        guard let c = connections[connection.raw], c.fd >= 0 else { return }
        deferred.append((connection.raw, .info(Self.info(c.fd))))
    }

    /// Ends the connection: unread bytes are read (so close() sends a FIN, not a RST), then closed.
    func close(_ connection: ConnectionID) {
        guard let c = connections.removeValue(forKey: connection.raw) else { return }
        deferred.removeAll { $0.id == connection.raw }
        release(c.fd)
    }

    /// Closes every connection of a measurement that finished (or all of them).
    func closeAll(owner: Int32? = nil) {
        guard !connections.isEmpty else { return }
        for (id, c) in connections where owner == nil || c.owner == owner {
            connections[id] = nil
            release(c.fd)
        }
        deferred.removeAll { connections[$0.id] == nil }
    }

    private func release(_ fd: Int32) {
        guard fd >= 0 else { return }
        loop.unwatch(fd)
        drainUnread(fd)
        Glibc.close(fd)
    }

    private func drainUnread(_ fd: Int32) {
        for _ in 0..<16 {
            let n = readBuffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n <= 0 { return }
        }
    }

    // MARK: the loop's calls

    /// Events that could not be delivered inside a measurement's own call (requestInfo, a failure
    /// at connect): delivered at the engine's turn.
    func deliverDeferred() {
        var rounds = 0
        while !deferred.isEmpty && rounds < 64 {
            rounds += 1
            let batch = deferred
            deferred.removeAll(keepingCapacity: true)
            for (id, event) in batch {
                guard let c = connections[id] else { continue }
                if case .failed = event { finish(id) }
                deliver(id, c, event)
            }
        }
    }

    func timerFired(token: UInt32, generation: UInt32, now: Nanoseconds) {
        guard let c = connections[token], c.fd >= 0, !c.connected else { return }
        finish(token)
        deliver(token, c, .timedOut)
    }

    func ready(token id: UInt32, events: EventLoop.Events) {
        guard let c = connections[id], c.fd >= 0 else { return }
        if !c.connected {
            let code = (try? Sockets.getOption(c.fd, SOL_SOCKET, SO_ERROR)) ?? Errno.ioError.rawValue
            if code != 0 {
                finish(id)
                deliver(id, c, .failed(errno: code))
                return
            }
            connections[id]?.connected = true
            try? loop.change(c.fd, interest(id), handler: handlerID, token: id)
            deliver(id, c, .connected(Self.info(c.fd)))
            flushWrites(id)
            return
        }
        if events.contains(.writable) { flushWrites(id) }
        if events.contains(.readable) || events.contains(.readHangup) { read(id) }
        if let c = connections[id], c.fd >= 0, events.contains(.error) || events.contains(.hangup) {
            let code = (try? Sockets.getOption(c.fd, SOL_SOCKET, SO_ERROR)) ?? 0
            if code != 0 {
                finish(id)
                deliver(id, c, .failed(errno: code))
            } else if events.contains(.hangup) && c.peerClosed {
                // Both directions are shut: epoll would report it on every wait until `close`.
                loop.unwatch(c.fd)
            }
        }
    }

    // MARK: I/O

    private func interest(_ id: UInt32) -> EventLoop.Events {
        guard let c = connections[id] else { return [] }
        var e: EventLoop.Events = [.error]
        if !c.peerClosed { e.formUnion([.readable, .readHangup]) }
        if c.sent < c.outgoing.count { e.insert(.writable) }
        return e
    }

    private func read(_ id: UInt32) {
        // At most 16 reads per wake-up (epoll is level-triggered): a fast peer cannot starve the loop.
        var reads = 0
        while reads < 16, let c = connections[id], c.fd >= 0, !c.peerClosed {
            reads += 1
            var failure: SystemError? = nil
            let n: Int? = readBuffer.withUnsafeMutableBytes { b in
                do throws(SystemError) {
                    return try Syscall.nonBlocking("recv") { recv(c.fd, b.baseAddress, b.count, Int32(MSG_DONTWAIT)) }
                } catch {
                    failure = error
                    return nil
                }
            }
            if let failure {
                finish(id)
                deliver(id, c, .failed(errno: failure.errno.rawValue))
                return
            }
            guard let n else { return }
            if n == 0 {
                connections[id]?.peerClosed = true
                try? loop.change(c.fd, interest(id), handler: handlerID, token: id)
                deliver(id, c, .peerClosed(Self.info(c.fd)))
                return
            }
            deliver(id, c, .received(Array(readBuffer[0..<n]), Self.info(c.fd)))
        }
    }

    private func flushWrites(_ id: UInt32) {
        guard var c = connections[id], c.fd >= 0, c.connected else { return }
        let before = c.sent < c.outgoing.count
        while c.sent < c.outgoing.count {
            var failure: SystemError? = nil
            let offset = c.sent
            let fd = c.fd
            let n: Int? = c.outgoing.withUnsafeBytes { b in
                do throws(SystemError) {
                    return try Syscall.nonBlocking("send") { send(fd, b.baseAddress! + offset, b.count - offset, Int32(MSG_NOSIGNAL)) }
                } catch {
                    failure = error
                    return nil
                }
            }
            if let failure {
                connections[id] = c
                finish(id)
                deliver(id, c, .failed(errno: failure.errno.rawValue))
                return
            }
            guard let n else { break }
            c.sent += n
        }
        if c.sent == c.outgoing.count {
            c.outgoing.removeAll(keepingCapacity: true)
            c.sent = 0
        }
        connections[id] = c
        let after = c.sent < c.outgoing.count
        if before != after || after { try? loop.change(c.fd, interest(id), handler: handlerID, token: id) }
    }

    /// The connection is over (failed or timed out): its socket is closed, its entry kept until
    /// the measurement closes it, so `close` stays harmless.
    private func finish(_ id: UInt32) {
        guard var c = connections[id], c.fd >= 0 else { return }
        loop.unwatch(c.fd)
        Glibc.close(c.fd)
        c.fd = -1
        connections[id] = c
    }

    private func deliver(_ id: UInt32, _ c: Connection, _ event: ConnectionEvent) {
        let result = ConnectionResult(id: ConnectionID(raw: id), tag: c.request.tag, request: c.request, event: event,
                                      time: MonotonicClock.now())
        if ProbeEngine.debug {
            debugLog("connection \(id) tag=0x\(String(c.request.tag, radix: 16)) \(c.request.destination) port \(c.request.port) -> \(event)")
        }
        deliverEvent(result, c.owner, c.generation)
    }

    /// TCP_INFO now (zeros when the socket cannot say).
    static func info(_ fd: Int32) -> TCPInfo {
        var raw = cpp_tcp_info()
        var info = TCPInfo()
        guard fd >= 0, cpp_tcp_info(fd, &raw) == 0 else { return info }
        info.receiveMSS = Int(raw.rcv_mss)
        info.sendMSS = Int(raw.snd_mss)
        info.advertisedMSS = Int(raw.advmss)
        info.pathMTU = Int(raw.pmtu)
        info.bytesReceived = raw.bytes_received
        info.bytesAcked = raw.bytes_acked
        info.unacked = Int(raw.unacked)
        info.totalRetransmits = Int(raw.total_retrans)
        info.segmentsIn = Int(raw.segs_in)
        info.rttMicroseconds = Int(raw.rtt_us)
        info.timestamps = raw.options & cpp_TCPI_OPT_TIMESTAMPS != 0
        return info
    }
}
