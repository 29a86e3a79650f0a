/// `pathprobe nic` and `pathprobe route` for people: the tables `ip`, `ethtool` and sysctl show
/// separately, and the route's lines.
extension LocalInventory {
    /// `kernelNames`: the offload table lists every kernel feature (`tx-tcp-segmentation`, `rx-gro`)
    /// instead of ethtool's names (`tcp-segmentation-offload`, `generic-receive-offload`).
    public func text(style: Style, kernelNames: Bool = false) -> String {
        var sections: [String] = []

        var links = TextTable([
            .init("INTERFACE"), .init("INDEX", .right), .init("KIND"), .init("STATE"), .init("MTU", .right),
            .init("MIN", .right), .init("MAX", .right), .init("IPV6 MTU", .right), .init("PARENT"), .init("ADDRESSES"),
        ])
        for i in interfaces {
            links.add([
                i.name, String(i.index), i.kind, i.operstate, String(i.mtu), dash(i.minMTU), dash(i.maxMTU), dash(i.ipv6MTU),
                i.parent ?? i.master.map { "master " + $0 } ?? "-",
                i.addresses.isEmpty ? "-" : i.addresses.joined(separator: ", "),
            ])
        }
        sections.append(links.render(colour: { row, column, cell in
            column == 3 ? (interfaces[row].operstate == "UP" ? style.green(cell) : interfaces[row].operstate == "DOWN" ? style.dim(cell) : cell) : cell
        }))

        let tunnels = interfaces.filter { $0.tunnel != nil }
        if !tunnels.isEmpty {
            var t = TextTable([
                .init("LINK"), .init("KIND"), .init("MTU", .right), .init("OVERHEAD", .right), .init("UNDERLAY"),
                .init("FAMILY"), .init("UNDERLAY MTU", .right), .init("MAX INNER MTU", .right),
            ])
            for i in tunnels {
                guard let tunnel = i.tunnel else { continue }
                t.add([
                    i.name, i.kind, String(i.mtu), String(tunnel.overhead), tunnel.underlay ?? "-",
                    tunnel.underlayFamily?.rawValue ?? "-", dash(tunnel.underlayMTU), dash(tunnel.maxInnerMTU),
                ])
            }
            sections.append(t.render(colour: { row, column, cell in
                let i = tunnels[row]
                if column == 2, let limit = i.tunnel?.maxInnerMTU, i.mtu > limit { return style.red(cell) }
                return cell
            }))
        }

        sections.append(offloadTable(kernelNames: kernelNames, style: style))

        var sysctlTable = TextTable([.init("SYSCTL"), .init("VALUE")])
        for (k, v) in sysctls.rows { sysctlTable.add([k, v]) }
        sections.append(sysctlTable.render())

        if findings.isEmpty {
            sections.append(style.green("No findings."))
        } else {
            let severityWidth = findings.map(\.severity.rawValue.count).max() ?? 0
            let idWidth = findings.map(\.id.count).max() ?? 0
            sections.append(findings.map { f in
                let severity = f.severity.rawValue + String(repeating: " ", count: severityWidth - f.severity.rawValue.count)
                let tag = f.severity == .info ? style.dim(severity) : f.severity == .warning ? style.yellow(severity) : style.red(severity)
                let id = style.bold(f.id) + String(repeating: " ", count: idWidth - f.id.count)
                return "\(tag)  \(id)  \(f.message)"
            }.joined(separator: "\n"))
        }
        return sections.joined(separator: "\n\n")
    }

    /// One row per offload, one column per interface. By default the rows are named as `ethtool -k`
    /// names them (a group such as `tcp-segmentation-offload` is on when any of its features is);
    /// groups no interface has are left out. `kernelNames`: one row per kernel feature instead.
    func offloadTable(kernelNames: Bool, style: Style) -> String {
        var table = TextTable([.init(kernelNames ? "OFFLOAD (kernel)" : "OFFLOAD (ethtool -k)")] + interfaces.map { .init($0.name) })
        if kernelNames {
            var names: [String] = []
            for i in interfaces { for f in i.offloads where !names.contains(f.name) { names.append(f.name) } }
            for name in names {
                table.add([name] + interfaces.map { i in
                    i.offloads.first { $0.name == name }.map { ($0.active ? "on" : "off") + ($0.fixed ? "*" : "") } ?? "-"
                })
            }
        } else {
            for group in OffloadGroup.all {
                let cells = interfaces.map { LocalInventory.offloadCell(group, $0.offloads) }
                if cells.allSatisfy({ $0 == "-" }) { continue }
                table.add([group.ethtoolName] + cells)
            }
        }
        return table.render() + "\n" + style.dim("(* fixed: the device cannot change it)")
    }

    /// "on" / "off", with "*" when every feature of the group is fixed; "-" when the device has none.
    static func offloadCell(_ group: OffloadGroup, _ features: [OffloadFeature]) -> String {
        let members = features.filter { OffloadGroup.group(of: $0.name) == group }
        guard let on = group.state(in: features) else { return "-" }
        return (on ? "on" : "off") + (members.allSatisfy(\.fixed) ? "*" : "")
    }

    fileprivate func dash(_ v: Int?) -> String { v.map(String.init) ?? "-" }
}

extension RouteInfo {
    public func text(style: Style) -> String {
        var lines: [(String, String)] = []
        let dest = target == address.description ? target : "\(target) (\(address))"
        lines.append(("destination", dest))
        var route = [prefix ?? "-"]
        if let gateway { route.append("via \(gateway)") }
        if let interface { route.append("dev \(interface)") }
        if let source { route.append("src \(source)") }
        if let table { route.append("table \(RouteInfo.tableName(table))") }
        if routeType != "unicast" { route.insert(routeType, at: 0) }
        lines.append(("route", route.joined(separator: " ")))
        lines.append(("interface mtu", interfaceMTU.map(String.init) ?? "-"))
        lines.append(("route mtu", mtu.map { "\($0)" + (mtuLocked ? " (locked)" : "") } ?? "-"))
        lines.append(("advmss", advmss.map(String.init) ?? "-"))
        if let e = pmtuException {
            lines.append(("pmtu cache", style.yellow("mtu \(e.mtu), expires in \(e.expiresSeconds) s")))
        } else {
            lines.append(("pmtu cache", "none"))
        }
        lines.append(("effective mtu", effectiveMTU.map { style.bold(String($0)) } ?? "-"))
        if let flush {
            let what = flush.removed.map { "removed mtu \($0.mtu) (it had \($0.expiresSeconds) s to live)" } ?? "nothing was cached"
            let scope = flush.scope == .namespace ? "every IPv4 exception in this namespace" : "this destination"
            lines.append(("flushed", "\(what); scope: \(scope)"))
        }
        let width = lines.map(\.0.count).max() ?? 0
        return lines.map { $0.0 + String(repeating: " ", count: width + 2 - $0.0.count) + $0.1 }.joined(separator: "\n")
    }

    /// RTN_* route types as `ip route` names them.
    public static func typeName(_ rtnType: Int) -> String {
        let names = ["unspec", "unicast", "local", "broadcast", "anycast", "multicast", "blackhole", "unreachable",
                     "prohibit", "throw", "nat", "xresolve"]
        return rtnType >= 0 && rtnType < names.count ? names[rtnType] : String(rtnType)
    }

    static func tableName(_ id: Int) -> String {
        switch id {
        case 253: return "default"
        case 254: return "main"
        case 255: return "local"
        default: return String(id)
        }
    }
}
