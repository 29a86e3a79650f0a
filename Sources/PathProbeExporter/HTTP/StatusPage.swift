import Foundation

/// `GET /`: plain HTML, no script. The modules in use and the recent probes with their results and
/// links to their logs.
enum StatusPage {
    static func render(coordinator: ProbeCoordinator, startedAt: Date) -> String {
        let config = coordinator.config.current
        let stamp = ISO8601DateFormatter()
        var html = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <title>pathprobe exporter</title>
            <style>
            body { font-family: sans-serif; margin: 1.5em; }
            table { border-collapse: collapse; margin-bottom: 1.5em; }
            th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; font-size: 0.9em; }
            td.failure { color: #a00; font-weight: bold; }
            td.success { color: #070; }
            code { font-size: 0.9em; }
            </style>
            </head>
            <body>
            <h1>pathprobe exporter</h1>
            <p>Running since \(escape(stamp.string(from: startedAt))). Config <code>\(escape(config.path))</code>, \
            \(config.modules.count) modules. Probes in flight: \(coordinator.inFlight) of \(coordinator.settings.maxConcurrent).
            <a href="/metrics">Metrics</a> · <a href="/config">Config</a></p>

            """
        if let error = coordinator.config.lastError {
            html += "<p><strong>The last config reload failed; the previous config stays in use:</strong> \(escape(error.description))</p>\n"
        }
        html += "<h2>Modules</h2>\n<table id=\"modules\">\n<tr><th>Module</th><th>Prober</th><th>Timeout</th><th>Settings</th></tr>\n"
        for name in config.moduleNames {
            guard let m = config.modules[name] else { continue }
            html += "<tr><td>\(escape(name))</td><td>\(m.prober.rawValue)</td><td>\(ConfigDuration.format(m.timeout))</td>"
                + "<td><code>\(escape(m.arguments.joined(separator: " ")))</code></td></tr>\n"
        }
        html += "</table>\n<h2>Recent probes</h2>\n"
        let recent = coordinator.recent
        if recent.isEmpty {
            html += "<p>No probes yet.</p>\n"
        } else {
            html += "<table id=\"recent\">\n<tr><th>Time</th><th>Module</th><th>Target</th><th>Result</th><th>Duration</th><th>Reason</th><th>Debug</th></tr>\n"
            for r in recent {
                let result = (r.outcome.success ? "success" : "failure") + (r.outcome.cutShort ? " (cut short)" : "")
                html += "<tr class=\"probe\"><td>\(escape(stamp.string(from: r.started)))</td><td>\(escape(r.module))</td>"
                    + "<td>\(escape(r.target))</td><td class=\"\(r.outcome.success ? "success" : "failure")\">\(result)</td>"
                    + "<td>\(String(format: "%.3f", r.duration.seconds)) s</td><td>\(escape(r.outcome.failure ?? ""))</td>"
                    + "<td><a href=\"/logs?id=\(r.id)\">Logs</a></td></tr>\n"
            }
            html += "</table>\n"
        }
        return html + "</body>\n</html>\n"
    }

    static let entities: [Character: String] = ["&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;"]

    static func escape(_ s: String) -> String {
        s.reduce(into: "") { out, c in out += entities[c] ?? String(c) }
    }
}
