import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
import PathProbeCore
@testable import PathProbeEngine

/// The responder under many sources, on loopback (every 127/8 address is ours, so thousands of
/// real source addresses need no raw socket): issue 13's crash 5 (a tiny rate, then the 4,097th
/// source), least-recently-used eviction instead of refusal, the global ceiling.
@Suite(.serialized) struct ResponderHardeningTests {
    /// A responder on its own thread with `configure`d limits; `stop()` returns what it counted.
    final class Server: @unchecked Sendable {
        private let lock = NSLock()
        private var stopRequested = false
        private var finished = false
        private(set) var port: UInt16 = 0
        private(set) var rateLimited = 0
        private(set) var ceilingLimited = 0
        private(set) var defence: [String] = []

        init(_ configure: @escaping @Sendable (inout ResponderConfig) -> Void) throws {
            let ready = DispatchSemaphore(value: 0)
            nonisolated(unsafe) var failure: Error? = nil
            let thread = Thread { [self] in
                let bound = Responder.onFreePort(listen: IPAddress("127.0.0.1")!) { config in
                    config.tcp = false
                    configure(&config)
                }
                guard let bound else {
                    failure = SystemError("bind", EADDRINUSE)
                    ready.signal()
                    return
                }
                let responder = bound.responder
                port = bound.port
                ready.signal()
                responder.run { self.lock.withLock { self.stopRequested } }
                lock.withLock {
                    rateLimited = responder.rateLimited
                    ceilingLimited = responder.ceilingLimited
                    defence = responder.defenceSummary()
                    finished = true
                }
            }
            thread.start()
            ready.wait()
            if let failure { throw failure }
        }

        func stop() {
            lock.withLock { stopRequested = true }
            while !lock.withLock({ finished }) { usleep(10_000) }
        }
    }

    /// 127.1.x.y for source number `i`.
    static func source(_ i: Int) -> IPAddress { IPAddress(ipv4: 0x7f01_0000 | UInt32(i & 0xffff) + 1) }

    /// One echo request from `source`; whether a reply came within `waitMs`.
    static func ask(from source: IPAddress, port: UInt16, waitMs: Int32 = 300) throws -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket", .tooManyOpenFiles) }
        defer { close(fd) }
        try Sockets.bind(fd, source, port: 0)
        let request = ResponderWire.Request(token: 7, op: .echo).encode(length: 64)
        var to = SocketAddress.make(IPAddress("127.0.0.1")!, port: port)
        let sent = request.withUnsafeBytes { b in
            withUnsafePointer(to: &to) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(fd, b.baseAddress, b.count, 0, $0, SocketAddress.length(.ipv4))
            } }
        }
        guard sent == request.count else { return false }
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, waitMs) == 1 else { return false }
        var buffer = [UInt8](repeating: 0, count: 2048)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        return n > 0 && ResponderWire.Reply(decoding: Array(buffer[0..<n])) != nil
    }

    /// Crash 5: `serve --rate 1e-300`, then valid requests from 4,097 and more sources. Each new
    /// source has a burst of one reply; none is refused; the responder does not trap.
    @Test(arguments: [1e-300, Double.leastNonzeroMagnitude])
    func aTinyRateAndThousandsOfSources(_ rate: Double) throws {
        let server = try Server { $0.rate = rate; $0.burst = rate / 2; $0.trackedSources = 4096 }
        var answered = 0
        for i in 0..<4200 where try Self.ask(from: Self.source(i), port: server.port) { answered += 1 }
        let again = try Self.ask(from: Self.source(4199), port: server.port, waitMs: 100)
        server.stop()
        #expect(answered == 4200)
        #expect(!again, "a tiny rate never refills")
        #expect(server.rateLimited >= 1)
        #expect(server.defence.contains { $0.contains("not answered") })
    }

    /// A full table forgets its least recently used source: the first source, back after 1,500
    /// others went through a table of 1,000, starts over with a full bucket.
    @Test func evictionInsteadOfRefusal() throws {
        let server = try Server { $0.rate = 0.01; $0.burst = 1; $0.trackedSources = 1000 }
        let first = try Self.ask(from: Self.source(0), port: server.port)
        let second = try Self.ask(from: Self.source(0), port: server.port, waitMs: 100)
        var answered = 0
        for i in 1...1500 where try Self.ask(from: Self.source(i), port: server.port) { answered += 1 }
        let back = try Self.ask(from: Self.source(0), port: server.port)
        server.stop()
        #expect(first && !second)
        #expect(answered == 1500, "new sources are never refused")
        #expect(back, "forgotten, so a fresh bucket")
    }

    /// The global ceiling holds over any number of sources.
    @Test func theGlobalCeiling() throws {
        let server = try Server { $0.maxRepliesPerSecond = 50 }
        let start = Date()
        var answered = 0
        for i in 0..<400 where try Self.ask(from: Self.source(i), port: server.port, waitMs: 20) { answered += 1 }
        let seconds = Date().timeIntervalSince(start)
        server.stop()
        #expect(Double(answered) <= 50 * seconds + 5 + 1, "\(answered) replies in \(seconds) s under a ceiling of 50/s")
        #expect(server.ceilingLimited > 0)
    }
}
