/// The local half of a path: interfaces, tunnels, offloads and the PMTU sysctls of one network
/// namespace (`pathprobe nic`). Filled by PathProbeNetlink (`LocalInventory.read`), rendered here.
public struct LocalInventory: ContractDocument, Sendable, Equatable {
    public static let documentType = DocumentType.nic

    public var interfaces: [LocalInterface]
    public var sysctls: PMTUSysctls
    /// Every finding, once: the interfaces' (each names its `interface`), then the namespace-wide ones.
    public var findings: [Finding]

    /// Applies `InventoryRules` to every interface and to the sysctls.
    public init(interfaces: [LocalInterface], sysctls: PMTUSysctls) {
        self.interfaces = interfaces
        self.sysctls = sysctls
        findings = interfaces.flatMap(InventoryRules.findings(for:)) + InventoryRules.findings(for: sysctls)
    }

    /// The findings about one interface.
    public func findings(of name: String) -> [Finding] { findings.filter { $0.interface == name } }

    public func text(style: Style) -> String {
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

        let groups = OffloadGroup.tableColumns.compactMap(OffloadGroup.named)
        var offloads = TextTable([.init("OFFLOADS")] + groups.map { .init($0.title) })
        for i in interfaces {
            offloads.add([i.name] + groups.map { LocalInventory.offloadCell($0, i.offloads) })
        }
        sections.append(offloads.render() + "\n" + style.dim("(* fixed: the device cannot change it)"))

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

    /// "on" / "off", with "*" when every feature of the group is fixed; "-" when the device has none.
    static func offloadCell(_ group: OffloadGroup, _ features: [OffloadFeature]) -> String {
        let members = features.filter { OffloadGroup.group(of: $0.name) == group }
        guard let on = group.state(in: features) else { return "-" }
        return (on ? "on" : "off") + (members.allSatisfy(\.fixed) ? "*" : "")
    }

    private func dash(_ v: Int?) -> String { v.map(String.init) ?? "-" }
}
