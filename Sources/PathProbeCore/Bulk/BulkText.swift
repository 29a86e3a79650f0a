/// `pathprobe bulk` for people: the summary and the progress line.
extension BulkSummary {
    public func text(style: Style = Style(enabled: false)) -> String {
        var out = "pathprobe bulk --mode \(mode): \(records) records in \(Self.seconds(durationSeconds))"
        out += ", \(probesSent) probes (\(Int(probesPerSecond.rounded()))/s)\n"
        if let s = stoppedBy { out += style.yellow("stopped by \(s): targets in flight were not written; rerun with --resume") + "\n" }
        var counts: [String] = statuses.sorted { $0.value > $1.value }.map { "\($0.key.rawValue) \($0.value)" }
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
            out += "  \(port.proto.stringValue)/\(port.port): " + states.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + "\n"
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
