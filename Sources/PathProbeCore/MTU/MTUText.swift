/// `pathprobe mtu` for people: the per-hop table (ICMP, UDP) or both directions (TCP), and the verdict.
extension PathMTUResult {
    /// The one-line verdict that ends the text output.
    public func verdict(style: Style = Style(enabled: false)) -> String {
        guard reachable else {
            let port = probeProtocol == .tcp ? self.port.map { " port \($0)" } ?? "" : ""
            let name = target == address.description ? target : "\(target) (\(address))"
            return style.red("\(name)\(port) is unreachable") + (error.map { ": \($0)" } ?? "")
        }
        guard let mtu = pathMTU else {
            return style.yellow("path MTU could not be measured" + (probeProtocol == .tcp ? "" : " above --min"))
        }
        var s = "path MTU \(style.bold(String(mtu))) bytes (MSS \(family.mss(forMTU: mtu)))"
        if blackHole {
            s += ", " + style.red("black hole")
            if let hop = blackHoleHop {
                s += ": packets above \(mtu) are dropped after hop \(hop.ttl) (\(hop.address)) with no ICMP"
            } else if let direction = blackHoleDirection {
                s += " " + direction.phrase + ": larger packets are dropped with no ICMP"
            } else {
                s += ": packets above \(mtu) are dropped with no ICMP"
            }
        } else if mtu < maxProbed {
            let ptb = !packetTooBigs.isEmpty || !tcpPacketTooBigs.isEmpty
            s += ", below the local MTU \(localMTU ?? maxProbed)" + (ptb ? " (ICMP packet-too-big received)" : "")
        } else {
            s += style.green(", clean")
        }
        return s
    }

    public func text(style: Style = Style(enabled: false)) -> String {
        // A TCP port that is closed or silent: one line.
        if probeProtocol == .tcp && !reachable { return verdict(style: style) + "\n" }
        var out = "pathprobe mtu to \(target)"
        if target != address.description { out += " (\(address))" }
        out += ", \(probeProtocol.rawValue)\(port.map { " port \($0)" } ?? "")"
        if let service { out += " (\(service.rawValue))" }
        if let interface { out += ", via \(interface)" }
        if let localMTU { out += " mtu \(localMTU)" }
        out += "\n"
        if probeProtocol == .tcp {
            out += directionTable(style: style)
        } else if !hops.isEmpty {
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
        for note in notes { out += style.dim("  " + note) + "\n" }
        if let connections {
            out += style.dim("\(connections) connections in \(durationMs.formattedMilliseconds()) ms") + "\n"
        } else {
            out += style.dim("\(probesSent) probes in \(durationMs.formattedMilliseconds()) ms") + "\n"
        }
        return out
    }

    /// TCP: one line per direction with its value, or its lower bound, and how larger packets fared.
    private func directionTable(style: Style) -> String {
        var table = TextTable([.init("direction"), .init("path mtu", .right), .init("")])
        for (name, value, atLeast, direction) in [("up (to the host)", pathMTUUp, pathMTUUpAtLeast, Direction.up),
                                                  ("down (from the host)", pathMTUDown, pathMTUDownAtLeast, Direction.down)] {
            var cells = [name, value.map(String.init) ?? atLeast.map { ">= \($0)" } ?? "-", ""]
            if value != nil, let d = blackHoleDirection, d == direction || d == .both {
                cells[2] = "black hole: larger packets vanish, no packet-too-big"
            } else if let v = value, v < maxProbed {
                cells[2] = "limit (packet-too-big, or the server sends no larger)"
            }
            table.add(cells)
        }
        return table.render(indent: "  ") { _, col, text in col == 2 && text.hasPrefix("black") ? style.red(text) : text } + "\n"
    }
}

extension PathMTUResult.Direction {
    /// "on the way up (to the host)"...
    var phrase: String {
        switch self {
        case .up: return "on the way up (to the host)"
        case .down: return "on the way down (from the host)"
        case .both: return "both ways"
        }
    }
}
