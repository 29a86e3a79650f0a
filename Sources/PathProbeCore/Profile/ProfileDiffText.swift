/// `pathprobe diff` for people: one row per change, then the regression line.
extension ProfileDiff {
    /// The row's label: "path MTU", "udp 3391", "tcp 443 mss", "eth0 mtu", "finding pmtu-black-hole".
    public func label(_ c: Change) -> String {
        let field = c.field.replacingUnderscores
        if let p = c.protocol, let port = c.port {
            return c.field == TCPPortResult.CodingKeys.state.stringValue ? "\(p) \(port)" : "\(p) \(port) \(field)"
        }
        if let i = c.interface { return "\(i) " + (c.id ?? field) }
        if let id = c.id {
            let kind = c.field == ProfileReport.CodingKeys.findings.stringValue ? "finding" : "recommendation"
            return "\(kind) \(id)"
        }
        switch c.field {
        case PathMTUResult.CodingKeys.status.stringValue: return "path status"
        case PathMTUResult.CodingKeys.pathMTU.stringValue: return "path MTU"
        case ProfileReport.LocalKeys.interface.stringValue: return "egress interface"
        default: return field
        }
    }

    static func show(_ v: String?) -> String {
        switch v {
        case nil: return "-"
        case "true": return "yes"
        case "false": return "no"
        case let v?: return v
        }
    }

    /// Every string that came from a report file is `terminalSafe` here: a report can hold escape
    /// sequences, and this text goes to a terminal.
    public func text(style: Style = Style(enabled: false)) -> String {
        var out = "pathprobe diff: \(before.address) (\(before.startedAt.terminalSafe) -> \(after.startedAt.terminalSafe))\n"
        if changes.isEmpty { return out + "no changes\n" }
        var table = TextTable([.init("what"), .init("before"), .init("after"), .init("change")])
        for c in changes {
            table.add([label(c).terminalSafe, Self.show(c.before).terminalSafe, Self.show(c.after).terminalSafe, c.change.rawValue])
        }
        out += table.render(indent: "  ") { _, col, text in
            guard col == 3 else { return text }
            if text.hasPrefix("worse") { return style.red(text) }
            if text.hasPrefix("better") { return style.green(text) }
            return text
        } + "\n"
        if hasRegression {
            let list = regressions.map { "\(label($0)) \(Self.show($0.before)) -> \(Self.show($0.after))".terminalSafe }
            out += style.red("regression: " + list.joined(separator: "; ")) + "\n"
        } else {
            out += style.green("nothing that worked before got worse") + "\n"
        }
        return out
    }
}

private extension String {
    var replacingUnderscores: String { String(map { $0 == "_" ? " " : $0 }) }
}
