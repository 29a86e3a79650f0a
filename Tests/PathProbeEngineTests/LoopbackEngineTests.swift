import Testing
import PathProbeCore
@testable import PathProbeEngine

#if canImport(Glibc)
import Glibc
#endif

/// The engine against the host's own loopback: real sockets, no namespaces. Needs ICMP sockets:
/// root (raw) or net.ipv4.ping_group_range covering our group (ping sockets).
private let icmpAvailable: Bool = {
    guard let engine = try? ProbeEngine() else { return false }
    return (try? engine.prepare(family: .ipv4, kind: .icmpEcho)) != nil
}()

@Suite(.enabled(if: icmpAvailable, "needs root or net.ipv4.ping_group_range covering this user"))
struct LoopbackEngineTests {
    @Test func echoSweepsManyTargetsAtOnce() throws {
        let engine = try ProbeEngine()
        let targets = (1...200).map { IPAddress(ipv4: 0x7f00_0000 | UInt32($0)) }  // 127.0.0.1 ... 127.0.0.200
        var queue = targets.map { EchoSweep(destination: $0, count: 5) }[...]
        var done: [EchoSweep] = []
        engine.run(concurrency: 64, next: { queue.popFirst() }, finished: { done.append($0 as! EchoSweep) })
        #expect(done.count == 200)
        #expect(done.allSatisfy { $0.received == 5 })
        #expect(engine.probesSent == 1000)
    }

    @Test(arguments: [AddressFamily.ipv4, .ipv6])
    func pathMTUOnLoopback(_ family: AddressFamily) throws {
        let engine = try ProbeEngine()
        let target = family == .ipv4 ? IPAddress("127.0.0.1")! : IPAddress("::1")!
        let m = PathMTUMeasurement(options: PathMTUOptions(destination: target, maxSize: 9000))
        engine.run(m)
        #expect(m.result.pathMTU == 9000)
        #expect(!m.result.blackHole)
    }

    @Test func rawAndPingSocketsAgree() throws {
        for preference in [ICMPSocketPreference.ping, .raw] {
            guard let engine = try? ProbeEngine(options: EngineOptions(icmpSocket: preference)),
                  (try? engine.prepare(family: .ipv4, kind: .icmpEcho)) != nil else { continue }
            let sweep = EchoSweep(destination: IPAddress("127.0.0.1")!, count: 50, window: 10)
            engine.run(sweep)
            #expect(sweep.received == 50, "\(preference)")
        }
    }

    @Test func udpToAClosedLoopbackPortIsAnswered() throws {
        let engine = try ProbeEngine()
        let m = PathMTUMeasurement(options: PathMTUOptions(destination: IPAddress("127.0.0.1")!, kind: .udp(port: 33434), maxSize: 1500))
        engine.run(m)
        #expect(m.result.reachable)
        #expect(m.result.pathMTU == 1500)
    }

    @Test func rateLimitIsRespected() throws {
        let engine = try ProbeEngine(options: EngineOptions(rate: 500))
        let sweep = EchoSweep(destination: IPAddress("127.0.0.1")!, count: 100, window: 100)
        let start = MonotonicClock.now()
        engine.run(sweep)
        let seconds = Double(MonotonicClock.now() - start) / 1e9
        #expect(sweep.received == 100)
        // 100 probes at 500/s with a burst of 10: about 0.18 s, and certainly not instantly.
        #expect(seconds > 0.15)
        #expect(seconds < 1.0)
    }

    @Test func throughputFigure() throws {
        // Not a speed assertion (that is the benchmark's job): prints the figure for the log.
        let engine = try ProbeEngine()
        let targets = (1...1000).map { IPAddress(ipv4: 0x7f00_0000 | UInt32($0)) }
        var queue = targets.map { EchoSweep(destination: $0, count: 20) }[...]
        var received = 0
        let start = MonotonicClock.now()
        engine.run(concurrency: 1000, next: { queue.popFirst() }, finished: { received += ($0 as! EchoSweep).received })
        let seconds = Double(MonotonicClock.now() - start) / 1e9
        print("engine loopback echo: \(received) round trips in \(seconds) s = \(Int(Double(received) / seconds))/s")
        #expect(received == 20_000)
    }
}

/// Name resolution for the command line: literal addresses never touch DNS.
@Suite struct ResolverTests {
    @Test func resolveLiterals() throws {
        #expect(try Resolver.resolve("192.0.2.7") == IPAddress("192.0.2.7"))
        #expect(try Resolver.resolve("[2001:db8::7]", family: .ipv6) == IPAddress("2001:db8::7"))
        #expect(throws: Resolver.ResolveError.self) { try Resolver.resolve("192.0.2.7", family: .ipv6) }
        #expect(throws: Resolver.ResolveError.self) { try Resolver.resolve("") }
    }
}
