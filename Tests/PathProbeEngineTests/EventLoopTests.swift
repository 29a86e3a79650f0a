import Foundation
import Testing
import PathProbeCore
@testable import PathProbeEngine

#if canImport(Glibc)
import Glibc
#endif

@Suite struct EventLoopTests {
    /// The exporter's mode: the loop runs until stopped; another thread submits measurements and
    /// is called back when each finishes.
    @Test func submitFromAnotherThreadWhileRunningUntilStopped() throws {
        let engine = try ProbeEngine(options: EngineOptions(icmpSocket: .auto))
        guard (try? engine.prepare(family: .ipv4, kind: .udp(port: 0))) != nil else { return }
        let finished = Locked<[Int]>([])
        let submitter = Thread {
            for i in 0..<5 {
                var options = PathMTUOptions(destination: IPAddress("127.0.0.1")!, kind: .udp(port: 33434), maxSize: 1500)
                options.traceHops = false
                let m = PathMTUMeasurement(options: options)
                engine.submit(m) { done in
                    let pmtu = (done as! PathMTUMeasurement).result.pathMTU ?? -1
                    let count = finished.withLock { f -> Int in
                        f.append(pmtu)
                        return f.count
                    }
                    if count == 5 { engine.stop() }
                }
                _ = i
                usleep(2000)
            }
        }
        submitter.start()
        let start = MonotonicClock.now()
        engine.runUntilStopped()
        #expect((MonotonicClock.now() - start).inMs < 5000)
        #expect(finished.withLock { $0 } == [1500, 1500, 1500, 1500, 1500])
    }

    @Test func stopBeforeRunEndsTheNextRun() throws {
        let loop = try EventLoop()
        loop.stop()
        loop.run()  // returns at once
        let ran = Locked(false)
        loop.execute { ran.withLock { $0 = true } }
        loop.run(until: { ran.withLock { $0 } })
        #expect(ran.withLock { $0 })
    }

    /// Loop timers fire in deadline order, stale generations are the handler's to skip.
    @Test func timersFireInOrder() throws {
        final class Recorder: EventLoopHandler {
            var fired: [UInt32] = []
            func ready(token: UInt32, events: EventLoop.Events) {}
            func timerFired(token: UInt32, generation: UInt32, now: Nanoseconds) { fired.append(token) }
        }
        let loop = try EventLoop()
        let r = Recorder()
        let id = loop.add(r)
        defer { loop.remove(id) }
        let now = loop.now
        for (token, ms) in [(3, 30.0), (1, 10), (2, 20)] {
            loop.setTimer(at: now + .fromMs(ms), handler: id, token: UInt32(token), generation: 0)
        }
        loop.run(until: { r.fired.count == 3 })
        #expect(r.fired == [1, 2, 3])
        #expect((loop.now - now).inMs >= 30)
    }
}

@Suite struct SyscallTests {
    @Test func wouldBlockIsAValue() throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue | SOCK_NONBLOCK.rawValue), 0)
        defer { close(fd) }
        var byte: UInt8 = 0
        let n = try Syscall.nonBlocking("recv") { recv(fd, &byte, 1, 0) }
        #expect(n == nil)
    }

    @Test func failuresCarryTheCallAndTheTypedErrno() throws {
        let a = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        let b = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(a); close(b) }
        try Sockets.bind(a, IPAddress("127.0.0.1")!, port: 0)
        _ = try Syscall.run("listen") { listen(a, 1) }
        let port = try Sockets.localAddress(a).1
        do throws(SystemError) {
            try Sockets.bind(b, IPAddress("127.0.0.1")!, port: port)
            Issue.record("bound a port that is taken")
        } catch {
            #expect(error.errno.rawValue == EADDRINUSE)
            #expect(error.call == "bind 127.0.0.1:\(port)")
            #expect(error.pathProbeError == .environment("bind 127.0.0.1:\(port): Address already in use"))
        }
    }

    @Test func errnoNamesComeFromTheSystem() {
        #expect(ErrnoNames.describe(ECONNREFUSED) == "ECONNREFUSED (connection refused)")
        #expect(ICMPNames.errnoName(EMSGSIZE) == "EMSGSIZE (message too long)")
    }
}

@Suite struct ProbeKindRegistryTests {
    /// Every built-in ProbeKind is carried by exactly one registered kind.
    @Test func oneKindPerRequest() {
        let a = IPAddress("192.0.2.1")!
        let requests = [
            ProbeRequest(destination: a, kind: .icmpEcho, size: 84, timeout: 1, tag: 0),
            ProbeRequest(destination: a, kind: .udp(port: 53), size: 84, timeout: 1, tag: 0),
            ProbeRequest(destination: a, kind: .udp(port: 53), size: 84, timeout: 1, tag: 0, fragmentable: true),
            ProbeRequest(destination: a, kind: .tcpSyn(port: 443), size: 0, timeout: 1, tag: 0),
        ]
        for r in requests {
            #expect(ProbeKinds.all.filter { $0.carries(r) }.count == 1, "\(r.kind)")
        }
        #expect(requests.map { ProbeKinds.index(for: $0) } == [0, 1, 2, 3])
        #expect(Set(ProbeKinds.all.map { $0.name }).count == ProbeKinds.all.count, "names are unique")
        var named = requests[1]
        named.registeredKind = TCPSynProbe.name
        #expect(ProbeKinds.index(for: named) == 3)
        named.registeredKind = "no-such-kind"
        #expect(ProbeKinds.index(for: named) == nil)
    }
}

/// The connect fallback against simulated connections: no sockets, virtual time.
@Suite struct TCPConnectSimulationTests {
    enum Port { case open(sendMSS: Int, timestamps: Bool), refused, silent, unreachable }

    struct Simulator: ProbeScheduler {
        var now: Nanoseconds = 0
        var ports: [UInt16: Port]
        var opened: [(ConnectionID, ConnectionRequest)] = []
        var closed: Set<UInt32> = []
        var nextID: UInt32 = 1
        var maxInFlight = 0

        mutating func send(_ probe: ProbeRequest) { preconditionFailure("no datagram probes") }
        mutating func wake(at time: Nanoseconds) {}
        mutating func connect(_ request: ConnectionRequest) -> ConnectionID {
            let id = ConnectionID(raw: nextID)
            nextID += 1
            opened.append((id, request))
            maxInFlight = max(maxInFlight, opened.count - closed.count)
            return id
        }
        mutating func close(_ connection: ConnectionID) { closed.insert(connection.raw) }

        /// Answers every open connection attempt: silence after its timeout, the rest after 5 ms.
        static func run(_ m: TCPConnectMeasurement, ports: [UInt16: Port]) -> Simulator {
            var s = Simulator(ports: ports)
            m.advance(&s)
            var answered = 0
            while !m.isFinished, answered < s.opened.count {
                let (id, request) = s.opened[answered]
                answered += 1
                var info = TCPInfo()
                let event: ConnectionEvent
                switch ports[request.port] ?? .silent {
                case let .open(mss, ts):
                    info.sendMSS = mss
                    info.timestamps = ts
                    event = .connected(info)
                    s.now += 5_000_000
                case .refused:
                    event = .failed(errno: ECONNREFUSED)
                    s.now += 5_000_000
                case .unreachable:
                    event = .failed(errno: EHOSTUNREACH)
                    s.now += 5_000_000
                case .silent:
                    event = .timedOut
                    s.now += request.timeout
                }
                m.handle(ConnectionResult(id: id, tag: request.tag, request: request, event: event, time: s.now), &s)
            }
            return s
        }
    }

    @Test func statesAttemptsAndMSS() {
        let m = TCPConnectMeasurement(destination: IPAddress("192.0.2.1")!, ports: [22, 23, 24, 25, 26], timeoutMs: 900, attempts: 3)
        let s = Simulator.run(m, ports: [22: .open(sendMSS: 1448, timestamps: true), 23: .open(sendMSS: 1460, timestamps: false),
                                         24: .refused, 25: .silent, 26: .unreachable])
        #expect(m.isFinished)
        #expect(m.results.map(\.state) == [.open, .open, .closed, .filtered, .filtered])
        #expect(m.results[0].mss == 1460 && m.results[1].mss == 1460, "TCP_MAXSEG + 12 with timestamps")
        #expect(m.results[0].mssSource == .tcpMaxseg)
        #expect(m.results[3].attempts == 3 && m.results[3].error == nil)
        #expect(m.results[4].error == "connect: EHOSTUNREACH (no route to host)")
        #expect(m.results.map(\.attempts) == [1, 1, 1, 3, 1])
        #expect(s.opened.allSatisfy { $0.1.timeout == .fromMs(300) }, "attempts spread over the timeout")
        #expect(s.closed.count == s.opened.count, "every connection is closed")
        #expect(m.probesSent == 7)
    }

    @Test func concurrencyIsBounded() {
        let ports = (1...100).map { UInt16($0) }
        let m = TCPConnectMeasurement(destination: IPAddress("192.0.2.1")!, ports: ports, timeoutMs: 100, attempts: 1, concurrency: 10)
        let s = Simulator.run(m, ports: [:])
        #expect(m.isFinished)
        #expect(s.maxInFlight == 10)
        #expect(m.results.allSatisfy { $0.state == .filtered && $0.attempts == 1 })
    }
}

/// A value behind a lock, for the tests' threads.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<T>(_ body: (inout Value) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}
