/// `pathprobe reach` for people: one table row per port, the responder's line.
extension ReachResult {
    public func text(style: Style = Style(enabled: false)) -> String {
        var out = "pathprobe reach \(target)"
        if target != address.description { out += " (\(address))" }
        out += "\n"
        if !tcp.isEmpty || !udp.isEmpty {
            var table = TextTable([.init("port", .right), .init("proto"), .init("state"), .init("rtt ms", .right), .init("detail")])
            for p in tcp {
                var detail: [String] = []
                if let mss = p.mss {
                    detail.append("mss \(mss)" + (p.mssClamped == true ? " (clamped below \(mssReferenceMTU.map { family.mss(forMTU: $0) } ?? 0))" : ""))
                }
                if let icmp = p.icmp { detail.append("\(icmp.name(family)) from \(icmp.from)") }
                if p.uncertain { detail.append("uncertain: answers were being lost (lower --rate)") }
                if let e = p.error { detail.append(e) }
                table.add([String(p.port), "tcp", p.state.rawValue, p.rttMs.map { $0.formattedMilliseconds() } ?? "", detail.joined(separator: ", ")])
            }
            for p in udp {
                var detail: [String] = [p.service.rawValue + (p.recognized == true ? " answered" : (p.recognized == false ? " (unrecognised answer)" : ""))]
                if let icmp = p.icmp { detail.append("\(icmp.name(family)) from \(icmp.from)") }
                if p.uncertain { detail.append("uncertain: ICMP rate limit") }
                if let e = p.error { detail.append(e) }
                table.add([String(p.port), "udp", p.state.rawValue, p.rttMs.map { $0.formattedMilliseconds() } ?? "", detail.joined(separator: ", ")])
            }
            out += table.render(indent: "  ") { _, col, text in
                guard col == 2 else { return text }
                let t = text.trimmingSpaces
                if t == "open" { return style.green(text) }
                if t == "closed" { return style.red(text) }
                return style.yellow(text)
            } + "\n"
        }
        if let r = responder {
            out += "responder on udp \(r.port): "
            if !r.reachable {
                out += style.yellow("no answer") + "\n"
            } else {
                out += "path MTU up \(r.pathMTUUp.map(String.init) ?? "?"), down \(r.pathMTUDown.map(String.init) ?? "?")"
                if r.downLimitedByUp { out += " (at least; fragments needed to test above the up MTU)" }
                out += ", fragments " + (r.fragmentsPass.map { $0 ? style.green("pass") : style.red("dropped") } ?? "not tested")
                if let a = r.seenAddress, let p = r.seenPort {
                    out += ", seen as \(a.family == .ipv6 ? "[\(a)]" : a.description):\(p)"
                    if r.nat == true { out += style.yellow(" (NAT)") }
                }
                out += "\n"
            }
        }
        if !targetAnswered && !(tcp.isEmpty && udp.isEmpty && responder == nil) {
            out += style.red("no answer from \(address): unreachable, or every probed port is filtered") + "\n"
        }
        if tcpProbe == .connect { out += style.dim("TCP probed with connect() (no raw sockets): MSS from TCP_MAXSEG, no ICMP details") + "\n" }
        if icmpRateLimited { out += style.dim("the target rate-limits ICMP errors; UDP probes were paced") + "\n" }
        out += style.dim("\(probesSent) probes in \(durationMs.formattedMilliseconds()) ms") + "\n"
        return out
    }
}

private extension String {
    var trimmingSpaces: String { String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed()) }
}
