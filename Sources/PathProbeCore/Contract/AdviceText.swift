/// Findings and recommendations for people: the "Findings" and "What to change" sections every
/// report with advice prints (`profile`, `rdp`), as text and as Markdown.
public enum AdviceText {
    public static func text(findings: [Finding], recommendations: [Recommendation], style: Style) -> String {
        var out = style.bold("Findings") + "\n"
        if findings.isEmpty { out += "  none\n" }
        for f in findings {
            let mark: String
            switch f.severity {
            case .critical: mark = style.red("critical")
            case .warning: mark = style.yellow("warning ")
            case .info: mark = style.dim("info    ")
            }
            out += "  \(mark) \(f.message)\n"
        }
        out += "\n" + style.bold("What to change") + "\n"
        if recommendations.isEmpty { out += "  nothing: the path works as configured\n" }
        for r in recommendations {
            out += "  \(style.bold(r.id)) = \(r.value): \(r.reason)\n"
            for c in r.linux { out += "    linux:   \(c)\n" }
            for c in r.windows { out += "    windows: \(c)\n" }
        }
        return out
    }

    public static func markdown(findings: [Finding], recommendations: [Recommendation]) -> String {
        var out = "### Findings\n\n"
        if findings.isEmpty { out += "None.\n" }
        for f in findings { out += "- **\(f.severity.rawValue)**: \(f.message)\n" }
        out += "\n### What to change\n\n"
        if recommendations.isEmpty { out += "Nothing: the path works as configured.\n" }
        for r in recommendations {
            out += "- **\(r.id)** = `\(r.value)`: \(r.reason)\n\n"
            if !r.linux.isEmpty { out += "  Linux:\n  ```sh\n" + r.linux.map { "  \($0)\n" }.joined() + "  ```\n" }
            if !r.windows.isEmpty { out += "  Windows:\n  ```bat\n" + r.windows.map { "  \($0)\n" }.joined() + "  ```\n" }
        }
        return out
    }
}
