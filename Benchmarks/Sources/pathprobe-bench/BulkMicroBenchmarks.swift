import PathProbeCore
import PathProbeKit

/// The per-target work `pathprobe bulk` does outside the engine: reading and expanding input,
/// dedupe, building and writing records, reading a file back for --resume, the summary. At 10,000+
/// targets a run none of it may cost more than the probing: scripts/bench.sh prints each as a share
/// of the same run's `bulk --mode mtu` wall time for 10,000 targets. Samples: seconds.
enum BulkMicroBenchmarks {
    static let targets = 10_000

    /// Input lines as a bulk lab list has them: addresses, names, a range, comments.
    static let inputLines: [String] = {
        var lines = ["# bulk benchmark input", "10.72.0.0/20"]
        for i in 0..<targets {
            lines.append(i % 10 == 0 ? "gw\(i).branch.example.net" : "10.\(72 + i / 65536).\(i / 256 % 256).\(i % 256)")
        }
        return lines
    }()

    /// Finished-looking mtu results of the lab's three kinds of path, as bulk records.
    static let records: [BulkRecord] = (0..<targets).map { i in
        let address = IPAddress(ipv4: 0x0A48_0000 | UInt32(i))
        var r = PathMTUResult(address: address, family: .ipv4)
        r.target = address.description
        r.line = i + 1
        r.reachable = true
        r.pathMTU = [1500, 1492, 1400][i % 3]
        r.blackHole = i % 3 == 2
        r.localMTU = 1500
        r.interface = "eth0"
        r.maxProbed = 1500
        r.rttMs = 0.042
        r.probesSent = 7 + i % 3 * 10
        r.durationMs = 12.5
        return .mtu(r)
    }

    static func run(_ h: inout Harness) throws {
        try h.measure("bulk read and expand 14k targets", unit: "s", .lower) {
            Harness.seconds {
                var reader = BulkTargetReader(inputLines.makeIterator())
                var n = 0
                while let t = reader.next() { n &+= t.line }
                keep(n)
            }
        }

        var keys: [BulkTargetKey] = []
        var reader = BulkTargetReader(inputLines.makeIterator())
        while let t = reader.next() { keys.append(t.key) }
        try h.measure("bulk dedupe 14k targets", unit: "s", .lower) {
            Harness.seconds {
                var seen = BulkSeenSet()
                var fresh = 0
                for k in keys where seen.insert(k) == nil { fresh += 1 }
                keep(fresh)
            }
        }

        try h.measure("bulk JSON Lines records for 10k mtu results", unit: "s", .lower) {
            Harness.seconds {
                var bytes = 0
                for r in records { bytes += r.jsonLine.utf8.count }
                keep(bytes)
            }
        }

        let mode = try BulkModeKind.mtu.make(ProfileArguments.parse([]), traceHops: false, sizesPerRound: nil)
        try h.measure("bulk CSV rows for 10k mtu results", unit: "s", .lower) {
            Harness.seconds {
                var bytes = 0
                for r in records { bytes += BulkCSV.line(mode.csvFields(for: r)).utf8.count }
                keep(bytes)
            }
        }

        let file: [UInt8] = Array(records.map(\.jsonLine).joined().utf8)
        try h.measure("bulk resume scan of a 10k-record file", unit: "s", .lower) {
            Harness.seconds {
                var scanner = BulkResumeScanner(format: .jsonLines)
                var start = 0
                while start < file.count {  // in 64 KiB chunks, as the runner reads it
                    let end = min(start + 65536, file.count)
                    scanner.feed(file[start..<end])
                    start = end
                }
                keep(scanner.records)
            }
        }

        try h.measure("bulk summary of 10k records", unit: "s", .lower) {
            Harness.seconds {
                var summary = BulkSummary(mode: "mtu")
                for r in records { summary.add(r) }
                keep(summary.text().utf8.count)
            }
        }
    }
}

/// Keeps a computed value alive so the optimizer cannot drop the work that made it.
@inline(never) func keep(_ value: Int) {
    if value == Int.min { print("") }
}
