/// `pathprobe profile` for people: the text report (sections Path, Transports, Local side, Findings,
/// What to change) and Markdown for tickets and chat.
extension ProfileReport {

    public func text(style: Style = Style(enabled: false)) -> String {
        var out = style.bold("pathprobe profile: \(target)") + (target == address.description ? "" : " (\(address))")
        out += "  \(startedAt)\n\n"
        out += style.bold("Path") + "\n" + indent(mtu.text(style: style)) + "\n"
        if let reach {
            out += style.bold("Transports") + "\n" + indent(reach.text(style: style)) + "\n"
        }
        if let rdp {
            out += style.bold("Remote Desktop") + "\n" + rdp.phases(style: style) + "\n"
            out += indent(AdviceText.text(findings: rdp.findings, recommendations: rdp.recommendations, style: style)) + "\n"
        }
        out += style.bold("Local side") + "\n"
        if let i = local.interface {
            var line = "egress \(i.name) (\(i.kind)) mtu \(i.mtu)"
            if let t = i.tunnel { line += ", tunnel overhead \(t.overhead)" + (t.underlay.map { " over \($0)" } ?? "") + (t.underlayMTU.map { " mtu \($0)" } ?? "") }
            out += "  " + line + "\n"
            let groups = OffloadGroup.all.compactMap { g in g.state(in: i.offloads).map { "\(g.title) \($0 ? "on" : "off")" } }
            if !groups.isEmpty { out += "  offloads: " + groups.joined(separator: ", ") + "\n" }
        }
        if let r = local.route {
            out += "  route via \(r.gateway?.description ?? "direct") dev \(r.interface ?? "?")"
            if let e = r.pmtuException { out += ", cached PMTU \(e.mtu) (expires in \(e.expiresSeconds) s)" }
            out += "\n"
        }
        if let s = local.sysctls, let p = s[PMTUSysctls.tcpMTUProbing] { out += "  net.ipv4.tcp_mtu_probing = \(p)\n" }
        if let e = local.error { out += "  " + style.yellow("not read: \(e)") + "\n" }
        out += "\n" + AdviceText.text(findings: advice.findings, recommendations: advice.recommendations, style: style)
        return out
    }

    private func indent(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.isEmpty ? "" : "  " + $0 }.joined(separator: "\n")
    }

    // MARK: Markdown, for tickets and chat

    public var markdown: String {
        var out = "## pathprobe profile: `\(target)`\n\n"
        out += "| | |\n|---|---|\n"
        out += "| address | `\(address)` (\(family.rawValue)) |\n"
        out += "| measured | \(startedAt) |\n"
        if let p = mtu.pathMTU {
            let directions = mtu.probeProtocol == .tcp
                ? "; up \(mtu.pathMTUUp.map(String.init) ?? "-"), down \(mtu.pathMTUDown.map(String.init) ?? "-"), tcp port \(mtu.port ?? 0)" : ""
            out += "| path MTU | **\(p)** (MSS \(family.mss(forMTU: p))\(directions)) |\n"
        } else {
            out += "| path MTU | \(mtu.status) |\n"
        }
        out += "| black hole | \(mtu.blackHole ? "**yes**" + (mtu.blackHoleHop.map { ", after hop \($0.ttl) (`\($0.address)`)" } ?? "") : "no") |\n"
        if let i = local.interface { out += "| egress | `\(i.name)` (\(i.kind)), MTU \(i.mtu) |\n" }
        if let reach {
            for t in reach.tcp { out += "| TCP \(t.port) | \(t.state.rawValue)\(t.mss.map { ", MSS \($0)" } ?? "") |\n" }
            for u in reach.udp { out += "| UDP \(u.port) | \(u.state.rawValue) |\n" }
        }
        out += "\n" + AdviceText.markdown(findings: advice.findings, recommendations: advice.recommendations)
        if let rdp { out += "\n" + rdp.markdown }
        return out
    }
}
