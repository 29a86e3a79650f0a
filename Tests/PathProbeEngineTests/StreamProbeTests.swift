import Foundation
import Testing
import PathProbeCore
@testable import PathProbeEngine

#if canImport(Glibc)
import Glibc
#endif

/// A measurement that opens one connection and records what happens: writes `send` once
/// connected, asks for TCP_INFO, and closes after `expect` bytes arrived, the peer closed, or the
/// connection failed or timed out.
final class ConnectionScript: PathProbeCore.Measurement {
    let request: ConnectionRequest
    let send: [UInt8]
    let expect: Int
    private(set) var events: [ConnectionEvent] = []
    private(set) var received: [UInt8] = []
    private(set) var lastInfo: TCPInfo? = nil
    private(set) var isFinished = false
    private var id: ConnectionID? = nil

    init(_ request: ConnectionRequest, send: [UInt8] = [], expect: Int = 0) {
        self.request = request
        self.send = send
        self.expect = expect
    }

    func advance<S: ProbeScheduler>(_ s: inout S) {
        if id == nil { id = s.connect(request) }
    }

    func handle<S: ProbeScheduler>(_ r: ProbeResult, _ s: inout S) {}

    func handle<S: ProbeScheduler>(_ e: ConnectionResult, _ s: inout S) {
        events.append(e.event)
        switch e.event {
        case let .connected(info):
            lastInfo = info
            if !send.isEmpty { s.write(send, to: e.id) }
            s.requestInfo(e.id)
            if expect == 0 && send.isEmpty { done(e.id, &s) }
        case let .received(bytes, info):
            received += bytes
            lastInfo = info
            if received.count >= expect { s.requestInfo(e.id) }
        case let .info(info):
            lastInfo = info
            if expect > 0 && received.count >= expect { done(e.id, &s) }
        case let .peerClosed(info):
            lastInfo = info
            done(e.id, &s)
        case .failed, .timedOut:
            isFinished = true
        }
    }

    private func done<S: ProbeScheduler>(_ id: ConnectionID, _ s: inout S) {
        s.close(id)
        isFinished = true
    }

    var failure: Int32? {
        for e in events { if case let .failed(code) = e { return code } }
        return nil
    }
}

/// A TCP listener on loopback, on its own thread: accepts one connection, writes `reply`, reads
/// until the client closes, then reports what it read and its own view of the connection.
final class LoopbackServer: @unchecked Sendable {
    let port: UInt16
    private let fd: Int32
    private let done = DispatchSemaphore(value: 0)
    private(set) var read: [UInt8] = []
    /// TCP_MAXSEG of the accepted socket: the most the server may put in one segment.
    private(set) var serverMSS: Int32 = 0

    init(address: IPAddress = IPAddress("127.0.0.1")!, reply: [UInt8] = []) throws {
        let family = address.family
        let listener = socket(family == .ipv4 ? AF_INET : AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        var sa = SocketAddress.make(address, port: 0)
        let rc = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, SocketAddress.length(family)) } }
        guard listener >= 0, rc == 0, listen(listener, 8) == 0 else { throw SystemError("listen", Glibc.errno) }
        fd = listener
        port = try Sockets.localAddress(listener).1
        Thread { [self] in
            let c = accept(listener, nil, nil)
            if c >= 0 {
                var mss: Int32 = 0
                var length = socklen_t(4)
                getsockopt(c, Int32(IPPROTO_TCP), TCP_MAXSEG, &mss, &length)
                serverMSS = mss
                var off = 0
                while off < reply.count {
                    let n = reply.withUnsafeBytes { Glibc.send(c, $0.baseAddress! + off, reply.count - off, Int32(MSG_NOSIGNAL)) }
                    if n <= 0 { break }
                    off += n
                }
                var buffer = [UInt8](repeating: 0, count: 65536)
                while true {
                    let n = buffer.withUnsafeMutableBytes { recv(c, $0.baseAddress, $0.count, 0) }
                    if n <= 0 { break }
                    read += buffer[0..<n]
                }
                close(c)
            }
            done.signal()
        }.start()
    }

    /// Waits for the connection to end (at most 5 s).
    func finish() {
        _ = done.wait(timeout: .now() + 5)
        close(fd)
    }
}

/// A port on loopback where nothing listens (bound, then released).
func freeTCPPort() -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var sa = SocketAddress.make(IPAddress("127.0.0.1")!, port: 0)
    _ = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, SocketAddress.length(.ipv4)) } }
    return (try? Sockets.localAddress(fd).1) ?? 1
}

/// Stream probes against real sockets on loopback: no privilege needed.
@Suite struct StreamProbeTests {
    @Test(arguments: ["127.0.0.1", "::1"])
    func connectWriteReceiveAndClose(_ address: String) throws {
        let target = IPAddress(address)!
        let reply = [UInt8](repeating: 0x5a, count: 20_000)
        let server = try LoopbackServer(address: target, reply: reply)
        let engine = try ProbeEngine()
        let script = ConnectionScript(ConnectionRequest(destination: target, port: server.port, timeout: .fromMs(2000), tag: 7),
                                      send: Array("hello".utf8), expect: reply.count)
        engine.run(script)
        server.finish()
        #expect(script.received == reply)
        #expect(server.read == Array("hello".utf8))
        guard case .connected = script.events.first else { Issue.record("first event \(script.events)"); return }
        #expect(engine.connectionsOpened == 1)
        let info = try #require(script.lastInfo)
        #expect(info.bytesReceived >= UInt64(reply.count))
        #expect(info.segmentsIn > 0)
        #expect(info.sendMSS > 0 && info.advertisedMSS > 0 && info.receiveMSS > 0)
        #expect(info.pathMTU >= 65535, "loopback MTU")
        #expect(info.rttMicroseconds > 0)
        #expect(info.bytesAcked >= 5, "our 5 bytes were acknowledged")
    }

    /// The MSS we ask for is what our SYN advertises: the server never sends larger segments.
    @Test func maxSegmentIsAdvertised() throws {
        let target = IPAddress("127.0.0.1")!
        let reply = [UInt8](repeating: 1, count: 8000)
        let server = try LoopbackServer(address: target, reply: reply)
        let engine = try ProbeEngine()
        let script = ConnectionScript(ConnectionRequest(destination: target, port: server.port, maxSegment: 536, probeMTU: true,
                                                        timeout: .fromMs(2000), tag: 1), expect: reply.count)
        engine.run(script)
        server.finish()
        #expect(script.received.count == reply.count)
        let info = try #require(script.lastInfo)
        #expect(info.advertisedMSS <= 536)
        #expect(info.receiveMSS > 0 && info.receiveMSS <= 536, "rcv_mss \(info.receiveMSS)")
        #expect(server.serverMSS > 0 && server.serverMSS <= 536, "server's TCP_MAXSEG \(server.serverMSS)")
    }

    @Test func refusedPortFailsWithECONNREFUSED() throws {
        let engine = try ProbeEngine()
        let script = ConnectionScript(ConnectionRequest(destination: IPAddress("127.0.0.1")!, port: freeTCPPort(),
                                                        timeout: .fromMs(2000), tag: 2))
        engine.run(script)
        #expect(script.failure == ECONNREFUSED)
        #expect(script.events.count == 1)
    }

    /// The connect fallback of `reach` on the engine: open and closed ports on loopback, the MSS
    /// from TCP_MAXSEG with timestamps added back (on loopback the kernel also bounds the segment
    /// to half the peer's first window, so it is below the SYN-ACK's 65495).
    @Test func connectMeasurementOnLoopback() throws {
        let target = IPAddress("127.0.0.1")!
        let server = try LoopbackServer(address: target)
        let closed = freeTCPPort()
        let engine = try ProbeEngine()
        let m = TCPConnectMeasurement(destination: target, ports: [server.port, closed], timeoutMs: 1000, attempts: 2)
        engine.run(m)
        server.finish()
        #expect(m.results.map(\.state) == [.open, .closed])
        #expect(m.results[0].mss.map { $0 > 1400 && $0 <= 65495 } == true, "\(m.results[0])")
        #expect(m.results[0].mssSource == .tcpMaxseg)
        #expect(m.results[0].rttMs != nil && m.results[1].rttMs != nil)
        #expect(m.probesSent == 2)
        #expect(engine.connectionsOpened == 2)
    }
}

/// Silence: a namespace of our own whose loopback drops SYNs to one port (iptables), so the
/// handshake times out. The engine runs on a thread that entered the namespace.
@Suite(.enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/iptables"), "needs root and iptables"))
struct StreamProbeTimeoutTests {
    static func inNamespace<T: Sendable>(_ body: @escaping @Sendable () throws -> T) throws -> T {
        let name = "ppst\(getpid())x\(UInt32.random(in: 0...99999))"
        func sh(_ command: String) -> Int32 {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", command]
            try? p.run()
            p.waitUntilExit()
            return p.terminationStatus
        }
        guard sh("ip netns add \(name) && ip netns exec \(name) ip link set lo up"
                 + " && ip netns exec \(name) iptables -A INPUT -p tcp --dport 9 --syn -j DROP") == 0 else {
            _ = sh("ip netns del \(name)")
            throw SystemError("ip netns add \(name)", EPERM)
        }
        defer { _ = sh("ip netns del \(name)") }
        nonisolated(unsafe) var outcome: Result<T, Error>? = nil
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            outcome = Result {
                try NetworkNamespace.enter(name)
                return try body()
            }
            done.signal()
        }
        thread.start()
        done.wait()
        return try outcome!.get()
    }

    @Test func silentPortTimesOut() throws {
        let events = try Self.inNamespace { () -> [ConnectionEvent] in
            let engine = try ProbeEngine()
            let script = ConnectionScript(ConnectionRequest(destination: IPAddress("127.0.0.1")!, port: 9, timeout: .fromMs(300), tag: 3))
            let start = MonotonicClock.now()
            engine.run(script)
            let elapsed = (MonotonicClock.now() - start).inMs
            #expect(elapsed >= 290 && elapsed < 1500, "\(elapsed) ms")
            return script.events
        }
        #expect(events == [.timedOut])
    }

    /// The connect fallback: a dropped port is filtered after `attempts` tries spread over the timeout.
    @Test func connectMeasurementCallsASilentPortFiltered() throws {
        let results = try Self.inNamespace { () -> [TCPPortResult] in
            let engine = try ProbeEngine()
            let closed = freeTCPPort()
            let m = TCPConnectMeasurement(destination: IPAddress("127.0.0.1")!, ports: [9, closed], timeoutMs: 600, attempts: 3)
            let start = MonotonicClock.now()
            engine.run(m)
            let elapsed = (MonotonicClock.now() - start).inMs
            #expect(elapsed >= 590 && elapsed < 2000, "\(elapsed) ms")
            #expect(engine.connectionsOpened == 4)
            return m.results
        }
        #expect(results.map(\.state) == [.filtered, .closed])
        #expect(results[0].attempts == 3 && results[0].error == nil && results[0].rttMs == nil)
        #expect(results[1].attempts == 1)
    }
}
