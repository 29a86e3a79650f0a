import Benchmark
import Foundation
import PathProbeCore
import PathProbeEngine

/// The probe engine itself:
/// - echo round trips per second on loopback: 1000 targets (127.0.0.1-127.0.3.232) x 20 echoes, one in
///   flight per target, the same job as `fping -q -c 20 -p 1 -i 0 -r 0 -f <1000 loopback addresses>`;
/// - time to an exact black-hole path MTU in a 3-hop namespace lab (r2 - server link 1400 bytes, r2
///   drops its own frag-needed): needs root; without it the benchmark says so and is left out.
enum EngineBenchmarks {
    static let loopbackTargets = (1...1000).map { IPAddress(ipv4: 0x7f00_0000 | UInt32($0)) }
    static let echoesPerTarget = 20
    static let roundTrips = BenchmarkMetric.custom("round trips/s", polarity: .prefersLarger, useScalingFactor: false)

    static func register() {
        Benchmark(
            "Engine echo round trips, loopback, 1000 targets x 20",
            configuration: .init(metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .peakMemoryResident, roundTrips],
                                 maxDuration: .seconds(5), maxIterations: 30)
        ) { b in
            for _ in b.scaledIterations {
                guard let engine = try? ProbeEngine() else {
                    b.error("cannot open ICMP sockets: run as root or open net.ipv4.ping_group_range")
                    return
                }
                var queue = loopbackTargets.map { EchoSweep(destination: $0, count: echoesPerTarget) }[...]
                var received = 0
                let start = MonotonicClock.now()
                engine.run(concurrency: loopbackTargets.count, next: { queue.popFirst() },
                           finished: { received += ($0 as! EchoSweep).received })
                let seconds = Double(MonotonicClock.now() - start) / 1e9
                b.measurement(roundTrips, Int(Double(received) / seconds))
                blackHole(received)
            }
        }

        guard getuid() == 0 else {
            print("EngineBenchmarks: the lab benchmark needs root (network namespaces); left out")
            return
        }
        let lab = "ppbench\(getpid() % 100000)"
        // The size search alone: the per-hop view would spend the routers' time-exceeded budget (1/s
        // after a burst of 6), which back-to-back iterations exhaust; `pathprobe mtu` pays it once.
        Benchmark(
            "Engine exact black-hole path MTU, 3-hop lab, 1400, no hops",
            configuration: .init(metrics: [.wallClock, .cpuTotal, .mallocCountTotal], maxDuration: .seconds(10), maxIterations: 40),
            closure: { b in
                do { try NetworkNamespace.enter(lab + "c") } catch {
                    b.error("\(error)")
                    return
                }
                guard let engine = try? ProbeEngine() else {
                    b.error("cannot open ICMP sockets in the lab")
                    return
                }
                var options = PathMTUOptions(destination: IPAddress("10.0.3.2")!, maxSize: 1500)
                options.traceHops = false
                b.startMeasurement()
                for _ in b.scaledIterations {
                    let m = PathMTUMeasurement(options: options)
                    engine.run(m)
                    if m.result.pathMTU != 1400 || !m.result.blackHole {
                        b.error("wrong answer: path MTU \(m.result.pathMTU ?? -1), black hole \(m.result.blackHole)")
                    }
                }
                b.stopMeasurement()
            },
            setup: { try labScript(["up", lab, "--mtu3", "1400", "--blackhole", "r2"]) },
            teardown: { try labScript(["down", lab]) }
        )
    }

    /// scripts/lab.sh, found from this file's location.
    static func labScript(_ args: [String]) throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/lab.sh").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [script] + args
        try p.run()
        p.waitUntilExit()
        if p.terminationStatus != 0 { throw CocoaError(.executableLoad) }
    }
}
