/// The text `debug=true` answers with (and the status page's log links show): what was asked, the
/// measurement's log, its result and the metrics the scrape would have got.
enum DebugReport {
    static func render(job: ProbeJob, budget: (duration: Duration, reason: String), hops: String, outcome: ProbeOutcome,
                       duration: Duration, metrics: String) -> String {
        var verdict = outcome.success ? "success" : "failure: \(outcome.failure ?? "unknown reason")"
        if outcome.cutShort && !verdict.contains("cut short") { verdict += " (cut short at the deadline)" }
        var lines = [
            "Probe \(job.id): module \(job.module.name) (prober \(job.module.prober.rawValue)), target \(job.target)",
            "Settings: \(job.module.arguments.isEmpty ? "(defaults)" : job.module.arguments.joined(separator: " "))",
            "Budget: \(ConfigDuration.format(budget.duration)), \(budget.reason)",
            "Hop probes: \(hops)",
            "Result: \(verdict)",
            "Duration: \(duration.seconds)s",
        ]
        if let address = outcome.address { lines.append("Address: \(address)") }
        lines += ["", "Log:"] + job.log.entries.map { "  " + $0 }
        if let text = outcome.resultText {
            lines += ["", "Measurement result:"] + text.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }
        }
        if !outcome.findings.isEmpty {
            lines += ["", "Findings:"] + outcome.findings.map { "  \($0.id) (\($0.severity.rawValue)): \($0.message)" }
        }
        lines += ["", "Metrics that would have been returned:", metrics]
        return lines.joined(separator: "\n")
    }
}
