/// The end-of-run summary of `pathprobe bulk`: counts by status, the path MTU histogram, black holes,
/// per-port states; as text for people and JSON (`--summary-json`, schema in README.md) for programs.
public struct BulkSummary: Sendable {
    public var mode: String
    /// Targets in the input (ranges counted by size), when the input could be counted up front.
    public var targetsInInput: Int? = nil
    /// Records written by this run (error records included).
    public var records = 0
    /// Error records: bad lines, unresolvable names, no route, options that do not fit.
    public var errors = 0
    /// Measured targets by the record's `status` ("measured", "unreachable", "incomplete", ...).
    public var statuses: [String: Int] = [:]
    /// Targets left out because the output file already had them (`--resume`).
    public var alreadyDone = 0
    /// Targets left out because an earlier line of this run listed them.
    public var duplicates = 0
    /// path MTU -> targets.
    public var pathMTUs: [Int: Int] = [:]
    /// path MTU -> how many of those targets are black holes.
    public var blackHolesByMTU: [Int: Int] = [:]
    /// "tcp/443" -> state -> targets (filled by port-probing modes).
    public var portStates: [String: [String: Int]] = [:]
    public var probesSent = 0
    public var durationSeconds = 0.0
    /// "SIGINT" / "SIGTERM" when a signal stopped the run; in-flight targets were not written.
    public var stoppedBy: String? = nil

    public init(mode: String) { self.mode = mode }

    public var blackHoles: Int { blackHolesByMTU.values.reduce(0, +) }
    public var measuredRecords: Int { statuses.values.reduce(0, +) }

    // MARK: tallies

    /// Counts a record as an error record or by its `status`.
    public mutating func addStatus(of record: JSON) {
        records += 1
        if BulkRecord.isError(record) {
            errors += 1
        } else {
            statuses[record["status"]?.stringValue ?? "unknown", default: 0] += 1
        }
    }

    public mutating func addPathMTU(_ mtu: Int, blackHole: Bool) {
        pathMTUs[mtu, default: 0] += 1
        if blackHole { blackHolesByMTU[mtu, default: 0] += 1 }
    }

    public mutating func addPortState(_ port: String, _ state: String) {
        portStates[port, default: [:]][state, default: 0] += 1
    }

    // MARK: rendering

    public var probesPerSecond: Double { durationSeconds > 0 ? Double(probesSent) / durationSeconds : 0 }

    public var json: JSON {
        .object([
            ("mode", .string(mode)),
            ("complete", .bool(stoppedBy == nil)),
            ("stopped_by", .from(stoppedBy)),
            ("targets_in_input", .from(targetsInInput)),
            ("records", .int(records)),
            ("errors", .int(errors)),
            ("status", .object(statuses.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) })),
            ("already_done", .int(alreadyDone)),
            ("duplicates", .int(duplicates)),
            ("path_mtu", .array(pathMTUs.sorted { $0.key > $1.key }.map { mtu, n in
                .object([("mtu", .int(mtu)), ("targets", .int(n)), ("black_holes", .int(blackHolesByMTU[mtu] ?? 0))])
            })),
            ("black_holes", .int(blackHoles)),
            ("ports", .object(portStates.sorted { $0.key < $1.key }.map { port, states in
                (port, .object(states.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) }))
            })),
            ("probes_sent", .int(probesSent)),
            ("duration_s", .milliseconds(durationSeconds)),
            ("probes_per_s", .int(Int(probesPerSecond.rounded()))),
        ])
    }

    public func text(style: Style = Style(enabled: false)) -> String {
        var out = "pathprobe bulk --mode \(mode): \(records) records in \(Self.seconds(durationSeconds))"
        out += ", \(probesSent) probes (\(Int(probesPerSecond.rounded()))/s)\n"
        if let s = stoppedBy { out += style.yellow("stopped by \(s): targets in flight were not written; rerun with --resume") + "\n" }
        var counts: [String] = statuses.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }
        if errors > 0 { counts.append(style.red("errors \(errors)")) }
        if alreadyDone > 0 { counts.append("already done \(alreadyDone)") }
        if duplicates > 0 { counts.append("duplicates \(duplicates)") }
        if !counts.isEmpty { out += "  " + counts.joined(separator: ", ") + "\n" }
        if !pathMTUs.isEmpty {
            var table = TextTable([.init("path MTU", .right), .init("targets", .right), .init("black holes", .right), .init("")])
            let largest = pathMTUs.values.max() ?? 1
            for (mtu, n) in pathMTUs.sorted(by: { $0.key > $1.key }) {
                let bar = String(repeating: "#", count: max(1, n * 30 / max(1, largest)))
                table.add([String(mtu), String(n), String(blackHolesByMTU[mtu] ?? 0), bar])
            }
            out += table.render(indent: "  ") { _, col, text in col == 2 && text.trimmingCharacters(" ") != "0" ? style.red(text) : text } + "\n"
            out += "  black holes: \(blackHoles == 0 ? "none" : style.red(String(blackHoles)))\n"
        }
        for (port, states) in portStates.sorted(by: { $0.key < $1.key }) {
            out += "  \(port): " + states.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + "\n"
        }
        return out
    }

    static func seconds(_ s: Double) -> String {
        s < 10 ? "\((s * 100).rounded() / 100) s" : "\(Int(s.rounded())) s"
    }
}

extension String {
    func trimmingCharacters(_ c: Character) -> Substring {
        var s = Substring(self)
        while s.first == c { s = s.dropFirst() }
        while s.last == c { s = s.dropLast() }
        return s
    }
}

/// The one-line progress display (stderr, terminals only).
public enum BulkProgress {
    public static func line(done: Int, total: Int?, probesPerSecond: Double, failures: Int, elapsed: Double) -> String {
        var parts: [String] = []
        if let total, total > 0 {
            let pct = min(100, done * 100 / total)
            parts.append("\(done)/\(total) (\(pct)%)")
        } else {
            parts.append("\(done) done")
        }
        parts.append("\(Int(probesPerSecond.rounded())) probes/s")
        if let total, done > 0, elapsed > 0, total > done {
            let eta = Double(total - done) * elapsed / Double(done)
            parts.append("ETA \(clock(eta))")
        }
        parts.append("failures \(failures)")
        parts.append(clock(elapsed))
        return "bulk: " + parts.joined(separator: "  ")
    }

    /// m:ss
    static func clock(_ seconds: Double) -> String {
        let s = max(0, Int(seconds.rounded()))
        let sec = s % 60
        return "\(s / 60):" + (sec < 10 ? "0" : "") + String(sec)
    }
}
