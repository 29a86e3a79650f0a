/// `pathprobe profile`: the local side, the path MTU and the transports for one target, and the
/// advisor's findings and recommendations, in one report (JSON, text, Markdown).
/// The JSON schema is documented in README.md ("pathprobe profile --json"); `diff` reads it.
public struct ProfileReport: Sendable {
    public static let schemaVersion = 1

    public struct LocalSide: Sendable {
        /// The egress interface for the target.
        public var interface: LocalInterface?
        /// Its underlay when it is a tunnel.
        public var underlay: LocalInterface?
        public var route: RouteInfo?
        public var sysctls: PMTUSysctls?
        /// Local findings for the egress path (its interfaces and the namespace's sysctls).
        public var findings: [InventoryFinding] = []
        /// Why the local side could not be read, if it could not.
        public var error: String?

        public init() {}

        /// The local side of one path, picked from the namespace's inventory: the egress interface
        /// (`interface` if given, else the route's), its underlay when it is a tunnel, and the local
        /// findings about those two and the PMTU sysctls; not about other links, nor
        /// ping_group_range (how pathprobe itself may probe is not a property of the path).
        public init(inventory: LocalInventory?, route: RouteInfo?, interface: String?) {
            self.route = route
            sysctls = inventory?.sysctls
            let interfaces = inventory?.interfaces ?? []
            if let name = interface ?? route?.interface, let i = interfaces.first(where: { $0.name == name }) {
                self.interface = i
                if let u = i.tunnel?.underlay { underlay = interfaces.first { $0.name == u } }
            }
            let relevant = Set([self.interface?.name, underlay?.name].compactMap { $0 })
            findings = (inventory?.findings ?? []).filter {
                $0.id != "ping-sockets-disabled" && ($0.interface == nil || relevant.contains($0.interface!))
            }
        }

        public var json: JSON {
            var fields: [(String, JSON)] = [
                ("interface", interface?.json ?? .null),
                ("underlay", underlay?.json ?? .null),
                ("route", route?.json ?? .null),
                ("sysctls", sysctls?.json ?? .null),
                ("findings", .array(findings.map(\.json))),
            ]
            if let error { fields.append(("error", .string(error))) }
            return .object(fields)
        }
    }

    public var target: String
    public var address: IPAddress
    public var startedAt: String
    public var version: String
    public var durationMs: Double = 0
    public var local: LocalSide
    public var mtu: PathMTUResult
    public var reach: ReachResult?
    public var service: ReachPreset?
    public private(set) var advice = Advisor.Advice()

    public init(target: String, address: IPAddress, startedAt: String, version: String, local: LocalSide,
                mtu: PathMTUResult, reach: ReachResult?, service: ReachPreset?) {
        self.target = target
        self.address = address
        self.startedAt = startedAt
        self.version = version
        self.local = local
        self.mtu = mtu
        self.reach = reach
        self.service = service
        advice = Advisor.advise(facts)
    }

    public var family: AddressFamily { address.family }

    /// The measurements, as the advisor sees them.
    public var facts: ProfileFacts {
        var f = ProfileFacts(family: family)
        if mtu.reachable {
            f.pathMTU = mtu.pathMTU
            f.blackHole = mtu.blackHole
            f.blackHoleHop = mtu.blackHoleHop
        }
        if let i = local.interface {
            f.egressInterface = i.name
            f.egressMTU = family == .ipv6 ? (i.ipv6MTU ?? i.mtu) : i.mtu
            f.egressKind = i.kind
            f.tunnelOverhead = i.tunnel?.overhead
            f.tunnelUnderlay = i.tunnel?.underlay
            f.tunnelUnderlayMTU = i.tunnel?.underlayMTU
            f.activeOffloads = i.offloads.filter(\.active).map(\.name)
        } else {
            f.egressInterface = mtu.interface
            f.egressMTU = mtu.localMTU
        }
        f.cachedPMTU = local.route?.pmtuException?.mtu
        f.tcpMTUProbing = local.sysctls?["tcp_mtu_probing"]
        f.localFindings = local.findings.map { lf in
            Finding(id: lf.id, severity: lf.severity == .info ? .info : .warning, summary: lf.summary,
                    evidence: .object([("interface", .from(lf.interface))]))
        }
        if let reach {
            f.tcp = reach.tcp.map { .init(port: Int($0.port), state: $0.state.rawValue, mss: $0.mss) }
            f.udp = reach.udp.map { .init(port: Int($0.port), state: $0.state.rawValue) }
            f.fragmentsPass = reach.responder?.fragmentsPass
        }
        f.service = service
        return f
    }

    public var json: JSON {
        .object([
            ("report", .string(ProfileDiff.reportKind)),
            ("schema_version", .int(Self.schemaVersion)),
            ("version", .string(version)),
            ("target", .string(target)),
            ("address", .string(address.description)),
            ("family", .string(family.rawValue)),
            ("started_at", .string(startedAt)),
            ("duration_ms", .milliseconds(durationMs)),
            ("service", .from(service?.rawValue)),
            ("local", local.json),
            ("mtu", mtu.json),
            ("reach", reach?.json ?? .null),
            ("findings", .array(advice.findings.map(\.json))),
            ("recommendations", .array(advice.recommendations.map(\.json))),
        ])
    }

    // MARK: text

    public func text(style: Style = Style(enabled: false)) -> String {
        var out = style.bold("pathprobe profile: \(target)") + (target == address.description ? "" : " (\(address))")
        out += "  \(startedAt)\n\n"
        out += style.bold("Path") + "\n" + indent(mtu.text(style: style)) + "\n"
        if let reach {
            out += style.bold("Transports") + "\n" + indent(reach.text(style: style)) + "\n"
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
        if let s = local.sysctls, let p = s["tcp_mtu_probing"] { out += "  net.ipv4.tcp_mtu_probing = \(p)\n" }
        if let e = local.error { out += "  " + style.yellow("not read: \(e)") + "\n" }
        out += "\n" + style.bold("Findings") + "\n"
        if advice.findings.isEmpty { out += "  none\n" }
        for f in advice.findings {
            let mark: String
            switch f.severity {
            case .critical: mark = style.red("critical")
            case .warning: mark = style.yellow("warning ")
            case .info: mark = style.dim("info    ")
            }
            out += "  \(mark) \(f.summary)\n"
        }
        out += "\n" + style.bold("What to change") + "\n"
        if advice.recommendations.isEmpty { out += "  nothing: the path works as configured\n" }
        for r in advice.recommendations {
            out += "  \(style.bold(r.id)) = \(ProfileDiff.show(r.value)): \(r.reason)\n"
            for c in r.linux { out += "    linux:   \(c)\n" }
            for c in r.windows { out += "    windows: \(c)\n" }
        }
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
            out += "| path MTU | **\(p)** (MSS \(family.mss(forMTU: p))) |\n"
        } else {
            out += "| path MTU | \(mtu.status) |\n"
        }
        out += "| black hole | \(mtu.blackHole ? "**yes**" + (mtu.blackHoleHop.map { ", after hop \($0.ttl) (`\($0.address)`)" } ?? "") : "no") |\n"
        if let i = local.interface { out += "| egress | `\(i.name)` (\(i.kind)), MTU \(i.mtu) |\n" }
        if let reach {
            for t in reach.tcp { out += "| TCP \(t.port) | \(t.state.rawValue)\(t.mss.map { ", MSS \($0)" } ?? "") |\n" }
            for u in reach.udp { out += "| UDP \(u.port) | \(u.state.rawValue) |\n" }
        }
        out += "\n### Findings\n\n"
        if advice.findings.isEmpty { out += "None.\n" }
        for f in advice.findings { out += "- **\(f.severity.rawValue)**: \(f.summary)\n" }
        out += "\n### What to change\n\n"
        if advice.recommendations.isEmpty { out += "Nothing: the path works as configured.\n" }
        for r in advice.recommendations {
            out += "- **\(r.id)** = `\(ProfileDiff.show(r.value))`: \(r.reason)\n\n"
            if !r.linux.isEmpty { out += "  Linux:\n  ```sh\n" + r.linux.map { "  \($0)\n" }.joined() + "  ```\n" }
            if !r.windows.isEmpty { out += "  Windows:\n  ```bat\n" + r.windows.map { "  \($0)\n" }.joined() + "  ```\n" }
        }
        return out
    }
}
