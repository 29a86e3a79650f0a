/// `pathprobe mtu` for people: the per-hop table and the verdict.
extension PathMTUResult {
    /// The one-line verdict that ends the text output.
    public func verdict(style: Style = Style(enabled: false)) -> String {
        guard reachable else {
            return style.red("\(target) (\(address)) is unreachable") + (error.map { ": \($0)" } ?? "")
        }
        guard let mtu = pathMTU else { return style.yellow("path MTU could not be measured above --min") }
        var s = "path MTU \(style.bold(String(mtu))) bytes (MSS \(family.mss(forMTU: mtu)))"
        if blackHole {
            s += ", " + style.red("black hole")
            if let hop = blackHoleHop {
                s += ": packets above \(mtu) are dropped after hop \(hop.ttl) (\(hop.address)) with no ICMP"
            } else {
                s += ": packets above \(mtu) are dropped with no ICMP"
            }
        } else if mtu < maxProbed {
            s += ", below the local MTU \(localMTU ?? maxProbed)" + (packetTooBigs.isEmpty ? "" : " (ICMP packet-too-big received)")
        } else {
            s += style.green(", clean")
        }
        return s
    }

    public func text(style: Style = Style(enabled: false)) -> String {
        var out = "pathprobe mtu to \(target)"
        if target != address.description { out += " (\(address))" }
        out += ", \(probeProtocol.rawValue)\(port.map { " port \($0)" } ?? "")"
        if let interface { out += ", via \(interface)" }
        if let localMTU { out += " mtu \(localMTU)" }
        out += "\n"
        if !hops.isEmpty {
            var table = TextTable([.init("hop", .right), .init("address"), .init("rtt ms", .right), .init("mtu", .right), .init("")])
            for h in hops {
                let addr = h.address.map { a in h.name.map { "\($0) (\(a))" } ?? a.description } ?? "*"
                var note = h.note ?? ""
                if let bh = blackHoleHop, bh.ttl == h.ttl { note = (note.isEmpty ? "" : note + " ") + "drops packets above \(pathMTU ?? 0)" }
                table.add([String(h.ttl), addr, h.rttMs.map { $0.formattedMilliseconds() } ?? "*", h.mtu.map(String.init) ?? "", note])
            }
            out += table.render(indent: "  ") { row, col, text in
                col == 4 && text.contains("drops") ? style.red(text) : text
            } + "\n"
        }
        out += verdict(style: style) + "\n"
        out += style.dim("\(probesSent) probes in \(durationMs.formattedMilliseconds()) ms") + "\n"
        return out
    }
}
