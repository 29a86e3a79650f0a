import CPathProbe
import PathProbeCore

#if canImport(Glibc)
import Glibc
#endif

/// The TCP side of `pathprobe serve`: `StreamResponderWire`'s answers, for `pathprobe mtu -P tcp
/// --service pathprobe` (both directions against a host you control). The rules are Core's
/// (`StreamResponderWire.answer`); this type does the I/O on the responder's loop.
///
/// One request per connection: read its header and the whole request (`length` bytes), answer with
/// what was received, the largest segment the kernel saw (tcpi_rcv_mss) and, for `flight`, the data
/// asked for, written at once so it leaves in full segments of the client's MSS; then FIN, and the
/// connection is closed when the client closes (or after `idleTimeout`). Anything that is not a
/// request, or a client that connects and closes (`reach`), is closed at once.
///
/// Anti-abuse: the client has completed a handshake (no reflection to a third party); an answer is
/// at most `StreamResponderWire.maximumFlight` bytes; at most `maximumClients` connections at once
/// (beyond, new ones are closed on accept); every connection ends after `idleTimeout`.
final class StreamResponder: EventLoopHandler {
    struct Counters: Sendable, Equatable {
        var connections = 0
        var requests = 0
        var bytesReceived = 0
        var bytesSent = 0
    }

    private struct Client {
        var fd: Int32
        var address: IPAddress
        var generation: UInt32
        var header: [UInt8] = []
        var request: StreamResponderWire.Request? = nil
        var received = 0
        var outgoing: [UInt8] = []
        var sent = 0
        var answered = false
    }

    static let maximumClients = 256
    static let idleTimeout: Nanoseconds = 10_000_000_000

    private let loop: EventLoop
    private let log: (String) -> Void
    private var handlerID: EventLoop.HandlerID = -1
    private var clients: [UInt32: Client] = [:]
    private var nextToken: UInt32 = 1
    private var generation: UInt32 = 0
    private var buffer = [UInt8](repeating: 0, count: 65536)
    /// Addresses already logged (bounded: starts over past 65536).
    private var seen = Set<IPAddress>()
    private(set) var counters = Counters()

    init(loop: EventLoop, log: @escaping (String) -> Void) {
        self.loop = loop
        self.log = log
        handlerID = loop.add(self)
    }

    deinit {
        for token in Array(clients.keys) { drop(token) }
        loop.remove(handlerID)
    }

    /// The listener is readable: take every pending connection.
    func accept(_ listener: Int32) {
        while true {
            var from = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let accepted = try? withUnsafeMutablePointer(to: &from) { p in
                try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa throws(SystemError) in
                    try Syscall.nonBlocking("accept") { Glibc.accept(listener, sa, &length) }
                }
            }
            guard let fd = accepted ?? nil else { return }
            // accept4 is not in Swift's Glibc: the flags afterwards.
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            guard clients.count < Self.maximumClients, let (address, port) = SocketAddress.parse(from) else {
                close(fd)
                continue
            }
            let token = nextToken
            nextToken = nextToken == UInt32.max ? 1 : nextToken + 1
            generation &+= 1
            clients[token] = Client(fd: fd, address: address, generation: generation)
            counters.connections += 1
            do { try loop.watch(fd, [.readable, .readHangup, .error], handler: handlerID, token: token) } catch {
                drop(token)
                continue
            }
            loop.setTimer(at: MonotonicClock.now() + Self.idleTimeout, handler: handlerID, token: token, generation: generation)
            if seen.count >= 65536 { seen.removeAll(keepingCapacity: true) }
            if seen.insert(address).inserted {
                log("tcp client \(address.family == .ipv6 ? "[\(address)]" : address.description):\(port): first connection")
            }
        }
    }

    func ready(token: UInt32, events: EventLoop.Events) {
        guard clients[token] != nil else { return }
        if events.contains(.writable) { flush(token) }
        if clients[token] != nil, !events.intersection([.readable, .readHangup, .error, .hangup]).isEmpty { read(token) }
    }

    func timerFired(token: UInt32, generation: UInt32, now: Nanoseconds) {
        guard let c = clients[token], c.generation == generation else { return }
        drop(token)
    }

    private func read(_ token: UInt32) {
        for _ in 0..<16 {
            guard let c = clients[token] else { return }
            let n: Int?
            do {
                n = try buffer.withUnsafeMutableBytes { b throws(SystemError) in
                    try Syscall.nonBlocking("recv") { recv(c.fd, b.baseAddress, b.count, Int32(MSG_DONTWAIT)) }
                }
            } catch {
                drop(token)
                return
            }
            guard let n else { return }
            if n == 0 {
                // The client is done (after our answer), or gave up (reach, a bad client).
                drop(token)
                return
            }
            counters.bytesReceived += n
            received(token, n)
        }
    }

    /// `n` new bytes in `buffer`.
    private func received(_ token: UInt32, _ n: Int) {
        guard var c = clients[token] else { return }
        c.received += n
        if c.request == nil {
            let missing = StreamResponderWire.requestHeader - c.header.count
            c.header += buffer[0..<min(n, missing)]
            if c.header.count == StreamResponderWire.requestHeader {
                guard let request = StreamResponderWire.Request(header: c.header) else {
                    drop(token)
                    return
                }
                c.request = request
            }
        }
        clients[token] = c
        guard let request = c.request, !c.answered, c.received >= request.length else { return }
        // The whole request is in: answer it.
        var raw = cpp_tcp_info()
        let largest = cpp_tcp_info(c.fd, &raw) == 0 ? Int(raw.rcv_mss) : 0
        c.outgoing = StreamResponderWire.answer(to: request, largestSegment: largest).encode()
        c.answered = true
        counters.requests += 1
        clients[token] = c
        flush(token)
    }

    private func flush(_ token: UInt32) {
        guard var c = clients[token] else { return }
        while c.sent < c.outgoing.count {
            let offset = c.sent
            let fd = c.fd
            let n: Int?
            do {
                n = try c.outgoing.withUnsafeBytes { b throws(SystemError) in
                    try Syscall.nonBlocking("send") { send(fd, b.baseAddress! + offset, b.count - offset, Int32(MSG_NOSIGNAL)) }
                }
            } catch {
                clients[token] = c
                drop(token)
                return
            }
            guard let n else { break }
            c.sent += n
            counters.bytesSent += n
        }
        let done = c.sent == c.outgoing.count
        if done && c.answered {
            c.outgoing = []
            c.sent = 0
            // FIN after the answer; the connection is closed when the client closes its side.
            shutdown(c.fd, Int32(SHUT_WR))
        }
        clients[token] = c
        try? loop.change(c.fd, done ? [.readable, .readHangup, .error] : [.readable, .readHangup, .writable, .error],
                         handler: handlerID, token: token)
    }

    private func drop(_ token: UInt32) {
        guard let c = clients.removeValue(forKey: token) else { return }
        loop.unwatch(c.fd)
        close(c.fd)
    }

    /// One line for the exit summary (nil: no TCP client).
    func summary() -> String? {
        guard counters.connections > 0 else { return nil }
        return "tcp: \(counters.connections) connections, \(counters.requests) requests, received \(counters.bytesReceived) bytes, sent \(counters.bytesSent)"
    }
}
