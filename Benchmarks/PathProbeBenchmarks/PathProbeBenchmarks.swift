import Benchmark
import PathProbeCore
import PathProbeKit

// pathprobe's micro-benchmarks (ordo-one/benchmark). Each area registers its own group, so more can
// be added next to these (e.g. an engine echo benchmark: `EngineBenchmarks.register()`).
//
//   cd Benchmarks && swift package --disable-sandbox benchmark
//
// The network-level figures (10,000 lab targets, fping, scamper) are scripts/bench-bulk.sh's.
let benchmarks: @Sendable () -> Void = {
    BulkBenchmarks.register()
    EngineBenchmarks.register()
}

/// The per-target work `pathprobe bulk` does outside the engine: reading and expanding input,
/// dedupe, building and writing records, reading a file back for --resume. At 10,000+ targets per
/// run none of it may cost more than the probing.
enum BulkBenchmarks {
    static let targets = 10_000

    static func configuration(_ scale: BenchmarkScalingFactor = .one) -> Benchmark.Configuration {
        .init(metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .peakMemoryResident, .throughput],
              scalingFactor: scale, maxDuration: .seconds(3), maxIterations: 50)
    }

    /// Input lines as a bulk lab list has them: addresses, names, a range, comments.
    static let inputLines: [String] = {
        var lines = ["# bulk benchmark input", "10.72.0.0/20"]
        for i in 0..<targets {
            lines.append(i % 10 == 0 ? "gw\(i).branch.example.net" : "10.\(72 + i / 65536).\(i / 256 % 256).\(i % 256)")
        }
        return lines
    }()

    /// Finished-looking mtu results of the lab's three kinds of path.
    static let results: [PathMTUResult] = (0..<targets).map { i in
        let address = IPAddress(ipv4: 0x0A48_0000 | UInt32(i))
        var r = PathMTUResult(address: address, family: .ipv4)
        r.target = address.description
        r.reachable = true
        r.pathMTU = [1500, 1492, 1400][i % 3]
        r.blackHole = i % 3 == 2
        r.localMTU = 1500
        r.interface = "eth0"
        r.maxProbed = 1500
        r.rttMs = 0.042
        r.probesSent = 7 + i % 3 * 10
        r.durationMs = 12.5
        return r
    }

    /// The results as bulk records (`line` set).
    static let records: [BulkRecord] = results.enumerated().map { i, r in
        var r = r
        r.line = i + 1
        return .mtu(r)
    }

    static let jsonLinesFile: [UInt8] = Array(records.map(\.jsonLine).joined().utf8)

    static func register() {
        Benchmark("Bulk read and expand 14k targets", configuration: configuration()) { b in
            for _ in b.scaledIterations {
                var reader = BulkTargetReader(inputLines.makeIterator())
                var n = 0
                while let t = reader.next() { n += t.line }
                blackHole(n)
            }
        }

        Benchmark("Bulk dedupe 14k targets", configuration: configuration()) { b in
            var reader = BulkTargetReader(inputLines.makeIterator())
            var keys: [BulkTargetKey] = []
            while let t = reader.next() { keys.append(t.key) }
            b.startMeasurement()
            for _ in b.scaledIterations {
                var seen = BulkSeenSet()
                for k in keys { blackHole(seen.insert(k)) }
            }
        }

        Benchmark("Bulk JSON Lines records for 10k mtu results", configuration: configuration()) { b in
            for _ in b.scaledIterations {
                var bytes = 0
                for r in records { bytes += r.jsonLine.utf8.count }
                blackHole(bytes)
            }
        }

        Benchmark("Bulk CSV rows for 10k mtu results", configuration: configuration()) { b in
            let mode = try! BulkModeKind.mtu.make(ProfileArguments.parse([]), traceHops: false, sizesPerRound: nil)
            for _ in b.scaledIterations {
                var bytes = 0
                for r in records { bytes += BulkCSV.line(mode.csvFields(for: r)).utf8.count }
                blackHole(bytes)
            }
        }

        Benchmark("Bulk resume scan of a 10k-record file", configuration: configuration()) { b in
            for _ in b.scaledIterations {
                var scanner = BulkResumeScanner(format: .jsonLines)
                var start = 0
                while start < jsonLinesFile.count {  // in 64 KiB chunks, as the runner reads it
                    let end = min(start + 65536, jsonLinesFile.count)
                    scanner.feed(jsonLinesFile[start..<end])
                    start = end
                }
                blackHole(scanner.records)
            }
        }

        Benchmark("Bulk summary of 10k records", configuration: configuration()) { b in
            b.startMeasurement()
            for _ in b.scaledIterations {
                var summary = BulkSummary(mode: "mtu")
                for r in records { summary.add(r) }
                blackHole(summary.text())
            }
        }
    }
}
