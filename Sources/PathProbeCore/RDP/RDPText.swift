/// `pathprobe rdp` for people: one line (or a few) per phase, then the findings and what to change;
/// Markdown for tickets and chat. Also the "Remote Desktop" section of `profile --rdp`.
extension RDPReport {
    public func text(style: Style = Style(enabled: false)) -> String {
        var out = style.bold("pathprobe rdp: \(target)") + (target == address.description ? "" : " (\(address))") + "\n\n"
        out += phases(style: style) + "\n"
        out += AdviceText.text(findings: findings, recommendations: recommendations, style: style)
        return out
    }

    /// The phases, one labelled block each (no findings).
    public func phases(style: Style = Style(enabled: false)) -> String {
        var rows: [(String, [String])] = []
        if let n = rdp { rows.append(("RDP", [negotiationLine(n, style: style)])) }
        if let t = tls { rows.append(("TLS", tlsLines(t, style: style))) }
        if let g = gateway {
            var lines = ["\(g.address) port \(g.port): \(g.connect == .connected ? "connected" : style.red(g.connect.rawValue))"]
            if let t = g.tls { lines += tlsLines(t, style: style).enumerated().map { ($0.offset == 0 ? "TLS " : "    ") + $0.element } }
            for (name, e) in [("HTTP transport", g.httpTransport), ("WebSocket", g.websocket)] {
                if let e { lines.append("\(name): " + exchangeLine(e, style: style)) }
            }
            rows.append(("Gateway", lines))
        }
        if let u = udp { rows.append(("UDP", [udpLine(u, style: style)])) }
        if let line = pathLine(style: style) { rows.append(("Path", [line])) }
        let width = rows.map(\.0.count).max() ?? 0
        var out = ""
        for (label, lines) in rows {
            for (i, line) in lines.enumerated() {
                let head = i == 0 ? label + String(repeating: " ", count: width - label.count) : String(repeating: " ", count: width)
                out += "  \(style.bold(head))  \(line)\n"
            }
        }
        return out
    }

    /// "no_answer" as "no answer".
    private func spaced(_ name: String) -> String { String(name.map { $0 == "_" ? " " : $0 }) }

    private func ms(_ v: Double?) -> String { v.map { $0.formattedMilliseconds() + " ms" } ?? "-" }

    private func negotiationLine(_ n: RDPNegotiationResult, style: Style) -> String {
        var line = "TCP \(n.port): "
        switch n.state {
        case .negotiated:
            let p = n.selectedProtocol?.rawValue ?? "?"
            line += "negotiated, selected " + (n.selectedProtocol == .rdp ? style.yellow("rdp (standard RDP security, no TLS)") : style.green(p))
        case .negotiationFailed: line += style.red("negotiation failed: \(n.failure ?? "?")")
        default: line += style.red(spaced(n.state.rawValue))
        }
        if let d = n.detail { line += " (\(d))" }
        if n.connectMs != nil { line += "; connect \(ms(n.connectMs)), answer \(ms(n.answerMs))" }
        return line
    }

    private func tlsLines(_ t: TLS, style: Style) -> [String] {
        guard t.state == .established else {
            var line = style.red(t.state.rawValue) + (t.failure.map { ": \($0)" } ?? "")
            line += "; \(t.bytesReceived) bytes of the server's flight arrived"
            if let m = t.receiveMSS { line += ", largest segment \(m) bytes" }
            return [line + " (\(ms(t.doneMs)))"]
        }
        var lines = ["\(t.version ?? "?") \(t.cipher ?? "?"), \(t.chainLength ?? 0) certificates, chain \(t.chainBytes ?? 0) bytes, "
                     + "flight \(t.handshakeBytes ?? t.bytesReceived) bytes (\(ms(t.doneMs)))"]
        lines.append("subject \(t.subject ?? "?"), issuer \(t.issuer ?? "?")")
        if let san = t.san, !san.isEmpty { lines.append("names " + san.joined(separator: ", ")) }
        var validity = "valid until \(t.notAfter ?? "?")"
        if let d = t.daysLeft {
            let days = "\(d) days left"
            validity += " (" + (d < 0 ? style.red("expired") : d < RDPAdvisor.renewalDays ? style.yellow(days) : days) + ")"
        }
        validity += ", name " + (t.nameMatches == false ? style.yellow("does not match") : t.nameMatches == true ? "matches" : "unknown")
        if t.selfSigned == true { validity += ", self-signed" }
        lines.append(validity)
        return lines
    }

    private func exchangeLine(_ e: Exchange, style: Style) -> String {
        var line = e.status.map { "HTTP \($0)" } ?? spaced(e.state.rawValue)
        if !e.authSchemes.isEmpty { line += " " + e.authSchemes.joined(separator: ", ") }
        switch e.verdict {
        case .gateway?: line += ": " + style.green("an RD Gateway")
        case .webSocketAccepted?: line += ": " + style.green("an RD Gateway (WebSocket accepted)")
        case .notGateway?: line += ": " + style.red("not an RD Gateway")
        case nil: break
        }
        if let d = e.detail { line += " (\(d))" }
        return line
    }

    private func udpLine(_ u: UDPCheckResult, style: Style) -> String {
        var line = "\(u.port): \(u.state.rawValue)" + (u.recognized ? " (answered by the service)" : "")
        line += "; 1232-byte datagrams: "
        switch u.datagram1232Passes {
        case true?: line += "pass"
        case false?: line += style.yellow("do not pass") + (u.packetTooBigMTU.map { " (packet too big, MTU \($0))" } ?? "")
        case nil: line += "unknown (no answer)"
        }
        return line
    }

    /// The TCP path MTU of the port (`path`), else what the `mtu` document says.
    private func pathLine(style: Style) -> String? {
        if let p = path {
            var parts = ["down \(p.pathMTUDown.map(String.init) ?? "?")", "up \(p.pathMTUUp.map(String.init) ?? "?")"]
            if let mtu = p.pathMTU { parts.insert("path MTU \(mtu), MSS \(family.mss(forMTU: mtu))", at: 0) }
            if p.blackHole { parts.append(style.red("black hole \(p.blackHoleDirection?.rawValue ?? "")")) }
            return "TCP: " + parts.joined(separator: ", ")
        }
        guard let m = mtu else { return nil }
        guard let p = m.pathMTU else { return "path MTU unknown (\(m.error ?? m.status.rawValue))" }
        return "path MTU \(p), MSS \(family.mss(forMTU: p))" + (m.blackHole ? ", " + style.red("black hole") : "")
    }

    // MARK: Markdown

    public var markdown: String {
        var out = "## pathprobe rdp: `\(target)`\n\n| | |\n|---|---|\n"
        out += "| address | `\(address)` (\(family.rawValue)) |\n"
        if let n = rdp {
            out += "| RDP TCP \(n.port) | \(n.state.rawValue)\(n.selectedProtocol.map { ", selected \($0.rawValue)" } ?? "")"
                + "\(n.failure.map { ", \($0)" } ?? "") |\n"
        }
        func tlsCell(_ t: TLS) -> String {
            t.state != .established ? "**\(t.state.rawValue)** (\(t.bytesReceived) bytes arrived)"
                : "\(t.version ?? "?"), `\(t.subject ?? "?")`, \(t.daysLeft.map { "\($0) days left" } ?? "?"), chain \(t.chainBytes ?? 0) bytes"
        }
        if let t = tls { out += "| TLS | \(tlsCell(t)) |\n" }
        if let g = gateway {
            out += "| gateway | `\(g.address)` port \(g.port): \(g.connect.rawValue) |\n"
            if let t = g.tls { out += "| gateway TLS | \(tlsCell(t)) |\n" }
            for (name, e) in [("HTTP transport", g.httpTransport), ("WebSocket", g.websocket)] {
                if let e { out += "| \(name) | \(e.status.map { "\($0)" } ?? e.state.rawValue) \(e.authSchemes.joined(separator: ", ")) |\n" }
            }
        }
        if let u = udp {
            out += "| UDP \(u.port) | \(u.state.rawValue), 1232 bytes pass: \(u.datagram1232Passes.map { $0 ? "yes" : "**no**" } ?? "unknown") |\n"
        }
        if let m = mtu { out += "| path MTU | \(m.pathMTU.map { "**\($0)**" } ?? m.status.rawValue)\(m.blackHole ? ", black hole" : "") |\n" }
        out += "\n" + AdviceText.markdown(findings: findings, recommendations: recommendations)
        return out
    }
}
