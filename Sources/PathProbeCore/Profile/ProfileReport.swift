/// `pathprobe profile`: the local side, the path MTU and the transports for one target, and the
/// advisor's findings and recommendations: the `profile` document (docs/schemas/profile.schema.json),
/// which `diff` reads back. Its text and Markdown renderings are ProfileText.swift.
public struct ProfileReport: LineNumbered, Sendable {
    public static let documentType = DocumentType.profile

    /// The local side of one path: the egress interface (and its underlay, for a tunnel), the route
    /// with its cached PMTU, the PMTU sysctls, and the local findings about them.
    public struct LocalSide: Sendable {
        /// The egress interface for the target.
        public var interface: LocalInterface?
        /// Its underlay when it is a tunnel.
        public var underlay: LocalInterface?
        public var route: RouteInfo?
        public var sysctls: PMTUSysctls?
        /// Local findings for the egress path (its interfaces and the namespace's sysctls); they go
        /// into the report's findings, once.
        public var findings: [Finding] = []
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
            findings = (inventory?.findings ?? []).filter { f in
                f.id != "ping-sockets-disabled" && (f.interface.map(relevant.contains) ?? true)
            }
        }
    }

    /// `local` in the document: names that refer to the interfaces of `inventory` (in bulk records,
    /// of the run's `nic` record), and the route.
    struct LocalReference: Codable {
        var interface: String?
        var underlay: String?
        var route: RouteInfo?
        var error: String?
        typealias CodingKeys = LocalKeys
    }

    /// The keys of `local`.
    public enum LocalKeys: String, CodingKey {
        case interface, underlay, route, error
    }

    /// `inventory` in the document: the path's interfaces and the namespace's PMTU sysctls.
    struct Inventory: Codable {
        var interfaces: [LocalInterface]
        var sysctls: PMTUSysctls?
    }

    public var target: String
    public var line: Int? = nil
    public var address: IPAddress
    public var startedAt: String
    public var version: String
    public var durationMs: Double = 0
    public var local: LocalSide
    /// Bulk records leave the interfaces out (null): the run's `nic` record holds them once.
    public var includesInventory = true
    public var mtu: PathMTUResult
    public var reach: ReachResult?
    public var service: ReachPreset?
    /// `--rdp`: the Remote Desktop check (the `rdp` document's body, with its own findings).
    public var rdp: RDPReport? = nil
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
            f.pathMTUUp = mtu.pathMTUUp
            f.pathMTUDown = mtu.pathMTUDown
            f.blackHoleDirection = mtu.blackHoleDirection
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
        f.tcpMTUProbing = local.sysctls?[PMTUSysctls.tcpMTUProbing]
        f.localFindings = local.findings
        if let reach {
            f.tcp = reach.tcp.map { .init(port: Int($0.port), state: $0.state, mss: $0.mss) }
            f.udp = reach.udp.map { .init(port: Int($0.port), state: $0.state) }
            f.fragmentsPass = reach.responder?.fragmentsPass
        }
        f.service = service
        return f
    }

    public enum CodingKeys: String, CodingKey {
        case version, address, family
        case startedAt = "started_at"
        case durationMs = "duration_ms"
        case service, local, inventory, mtu, reach, rdp, findings, recommendations
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(version, forKey: .version)
        try c.encode(address, forKey: .address)
        try c.encode(family, forKey: .family)
        try c.encode(startedAt, forKey: .startedAt)
        try c.encode(durationMs, forKey: .durationMs)
        try c.encodeIfPresent(service, forKey: .service)
        try c.encode(LocalReference(interface: local.interface?.name, underlay: local.underlay?.name, route: local.route,
                                    error: local.error), forKey: .local)
        let inventory = Inventory(interfaces: [local.interface, local.underlay].compactMap { $0 }, sysctls: local.sysctls)
        try c.encodeIfPresent(includesInventory ? inventory : nil, forKey: .inventory)
        try c.encode(mtu, forKey: .mtu)
        try c.encodeIfPresent(reach, forKey: .reach)
        try c.encodeIfPresent(rdp, forKey: .rdp)
        try c.encode(advice.findings, forKey: .findings)
        try c.encode(advice.recommendations, forKey: .recommendations)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        target = ""
        version = try c.decode(String.self, forKey: .version)
        address = try c.decode(IPAddress.self, forKey: .address)
        startedAt = try c.decode(String.self, forKey: .startedAt)
        durationMs = try c.decode(Double.self, forKey: .durationMs)
        service = try c.decodeIfPresent(ReachPreset.self, forKey: .service)
        let reference = try c.decode(LocalReference.self, forKey: .local)
        let inventory = try c.decodeIfPresent(Inventory.self, forKey: .inventory)
        includesInventory = inventory != nil
        local = LocalSide()
        local.route = reference.route
        local.error = reference.error
        local.sysctls = inventory?.sysctls
        local.interface = inventory?.interfaces.first { $0.name == reference.interface }
        local.underlay = inventory?.interfaces.first { $0.name == reference.underlay }
        mtu = try c.decode(PathMTUResult.self, forKey: .mtu)
        reach = try c.decodeIfPresent(ReachResult.self, forKey: .reach)
        rdp = try c.decodeIfPresent(RDPReport.self, forKey: .rdp)
        advice.findings = try c.decode([Finding].self, forKey: .findings)
        advice.recommendations = try c.decode([Recommendation].self, forKey: .recommendations)
    }
}
