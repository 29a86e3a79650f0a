/// `pathprobe diff BEFORE.json AFTER.json`: what changed between two profile reports, and whether
/// anything that worked before got worse (a regression). Compares typed reports (decoded with the
/// contract's `schema_version`); the `diff` document is docs/schemas/diff.schema.json.
public struct ProfileDiff: ContractDocument, Sendable {
    public static let documentType = DocumentType.diff

    public enum Verdict: String, Codable, Sendable {
        case better, worse, changed, added, removed
    }

    /// One difference. `field` is the JSON name of the compared field in the profile document
    /// (`path_mtu`, `state`, `mtu`, `findings`...), qualified by `protocol`/`port` (a port's fields),
    /// `interface` (an interface's fields) or `id` (a finding, a recommendation, an offload feature).
    /// `before` and `after` are the values as text, null where a side has none.
    public struct Change: Codable, Sendable {
        public var field: String
        public var `protocol`: String? = nil
        public var port: Int? = nil
        public var interface: String? = nil
        public var id: String? = nil
        public var before: String?
        public var after: String?
        public var change: Verdict
    }

    /// Which report and when: its fields under the report's names.
    public struct Side: Codable, Sendable {
        public var target: String
        public var address: IPAddress
        public var startedAt: String

        init(target: String, address: IPAddress, startedAt: String) {
            self.target = target
            self.address = address
            self.startedAt = startedAt
        }

        public init(from decoder: Decoder) throws {
            let envelope = try decoder.container(keyedBy: Contract.EnvelopeKey.self)
            let c = try decoder.container(keyedBy: ProfileReport.CodingKeys.self)
            self.init(target: try envelope.decode(String.self, forKey: .target), address: try c.decode(IPAddress.self, forKey: .address),
                      startedAt: try c.decode(String.self, forKey: .startedAt))
        }

        public func encode(to encoder: Encoder) throws {
            var envelope = encoder.container(keyedBy: Contract.EnvelopeKey.self)
            try envelope.encode(target, forKey: .target)
            var c = encoder.container(keyedBy: ProfileReport.CodingKeys.self)
            try c.encode(address, forKey: .address)
            try c.encode(startedAt, forKey: .startedAt)
        }
    }

    /// The largest report `pathprobe diff` reads (a profile of all 65535 TCP and UDP ports is
    /// about 30 MiB).
    public static let fileSizeCap = 64 << 20

    public var before: Side
    public var after: Side
    public private(set) var regression = false
    public private(set) var changes: [Change] = []

    public var regressions: [Change] { changes.filter { $0.change == .worse } }
    public var hasRegression: Bool { regression }

    /// Reports for different targets (unless forced).
    public struct DifferentTargets: Error, CustomStringConvertible {
        public let before: IPAddress, after: IPAddress
        public var description: String {
            "the reports are for different targets (\(before) and \(after)); use --force to compare anyway"
        }
    }

    public init(before b: ProfileReport, after a: ProfileReport, force: Bool = false) throws {
        if b.address != a.address && !force { throw DifferentTargets(before: b.address, after: a.address) }
        before = Side(target: b.target, address: b.address, startedAt: b.startedAt)
        after = Side(target: a.target, address: a.address, startedAt: a.startedAt)
        comparePath(b.mtu, a.mtu)
        comparePorts(ReachResult.CodingKeys.tcp, (b.reach?.tcp ?? []).map { ($0.port, $0.state.rawValue, $0.mss) },
                     (a.reach?.tcp ?? []).map { ($0.port, $0.state.rawValue, $0.mss) })
        comparePorts(ReachResult.CodingKeys.udp, (b.reach?.udp ?? []).map { ($0.port, $0.state.rawValue, nil) },
                     (a.reach?.udp ?? []).map { ($0.port, $0.state.rawValue, nil) })
        compareResponder(b.reach?.responder, a.reach?.responder)
        compareLocal(b.local, a.local)
        compareList(ProfileReport.CodingKeys.findings, b.advice.findings.map { ($0.id, $0.message, $0.severity.rawValue) },
                    a.advice.findings.map { ($0.id, $0.message, $0.severity.rawValue) },
                    worseIfAdded: Set(a.advice.findings.filter { $0.severity == .critical }.map(\.id)))
        compareList(ProfileReport.CodingKeys.recommendations, b.advice.recommendations.map { ($0.id, $0.value, $0.value) },
                    a.advice.recommendations.map { ($0.id, $0.value, $0.value) }, worseIfAdded: [])
        regression = changes.contains { $0.change == .worse }
    }

    // MARK: comparisons

    private mutating func add(_ field: some CodingKey, _ before: String?, _ after: String?, _ change: Verdict,
                              protocol p: String? = nil, port: Int? = nil, interface: String? = nil, id: String? = nil) {
        changes.append(Change(field: field.stringValue, protocol: p, port: port, interface: interface, id: id,
                              before: before, after: after, change: change))
    }

    private typealias MTUKey = PathMTUResult.CodingKeys

    private mutating func comparePath(_ b: PathMTUResult, _ a: PathMTUResult) {
        if b.status != a.status {
            add(MTUKey.status, b.status.rawValue, a.status.rawValue,
                b.status == .measured ? .worse : (a.status == .measured ? .better : .changed))
        }
        if b.pathMTU != a.pathMTU {
            let change: Verdict
            if let bm = b.pathMTU, let am = a.pathMTU { change = am < bm ? .worse : .better } else { change = a.pathMTU == nil ? .worse : .better }
            add(MTUKey.pathMTU, b.pathMTU.map(String.init), a.pathMTU.map(String.init), change)
        }
        if b.blackHole != a.blackHole { add(MTUKey.blackHole, String(b.blackHole), String(a.blackHole), a.blackHole ? .worse : .better) }
        let bh = b.blackHoleHop?.address, ah = a.blackHoleHop?.address
        if b.blackHole && a.blackHole && bh != ah { add(MTUKey.blackHoleHop, bh?.description, ah?.description, .changed) }
    }

    /// Ports by number in one pass (a dictionary each), listed in port order.
    private mutating func comparePorts(_ proto: ReachResult.CodingKeys, _ b: [(UInt16, String, Int?)], _ a: [(UInt16, String, Int?)]) {
        let before = Dictionary(b.map { ($0.0, $0) }, uniquingKeysWith: { x, _ in x })
        let after = Dictionary(a.map { ($0.0, $0) }, uniquingKeysWith: { x, _ in x })
        typealias PortKey = TCPPortResult.CodingKeys
        for port in Set(before.keys).union(after.keys).sorted() {
            let old = before[port], new = after[port]
            let p = proto.stringValue, n = Int(port)
            guard let old, let new else {
                add(PortKey.state, old?.1, new?.1, old == nil ? .added : .removed, protocol: p, port: n)
                continue
            }
            if old.1 != new.1 {
                let open = TCPPortState.open.rawValue
                add(PortKey.state, old.1, new.1, old.1 == open ? .worse : (new.1 == open ? .better : .changed), protocol: p, port: n)
            }
            if old.2 != new.2 { add(PortKey.mss, old.2.map(String.init), new.2.map(String.init), .changed, protocol: p, port: n) }
        }
    }

    private mutating func compareResponder(_ b: ResponderReport?, _ a: ResponderReport?) {
        guard let b, let a else { return }
        typealias Key = ResponderReport.CodingKeys
        if b.fragmentsPass != a.fragmentsPass {
            add(Key.fragmentsPass, b.fragmentsPass.map { String($0) }, a.fragmentsPass.map { String($0) },
                b.fragmentsPass == true ? .worse : (a.fragmentsPass == true ? .better : .changed))
        }
        for (key, bv, av) in [(Key.pathMTUUp, b.pathMTUUp, a.pathMTUUp), (Key.pathMTUDown, b.pathMTUDown, a.pathMTUDown)] where bv != av {
            let change: Verdict = (bv != nil && (av == nil || av! < bv!)) ? .worse : .better
            add(key, bv.map(String.init), av.map(String.init), change)
        }
    }

    private mutating func compareLocal(_ b: ProfileReport.LocalSide, _ a: ProfileReport.LocalSide) {
        typealias Key = LocalInterface.CodingKeys
        let bi = b.interface, ai = a.interface
        if bi?.name != ai?.name { add(ProfileReport.LocalKeys.interface, bi?.name, ai?.name, .changed) }
        let name = ai?.name ?? bi?.name
        if let bm = bi?.mtu, let am = ai?.mtu, bm != am { add(Key.mtu, String(bm), String(am), .changed, interface: name) }
        let old = Dictionary((bi?.offloads ?? []).map { ($0.name, $0.active) }, uniquingKeysWith: { x, _ in x })
        for f in ai?.offloads ?? [] {
            if let was = old[f.name], was != f.active { add(Key.offloads, String(was), String(f.active), .changed, interface: name, id: f.name) }
        }
    }

    /// Findings and recommendations: (id, identity, shown value); one that is gone is removed, a new one added.
    private mutating func compareList(_ field: ProfileReport.CodingKeys, _ b: [(String, String, String)], _ a: [(String, String, String)],
                                      worseIfAdded: Set<String>) {
        let beforeIDs = Set(b.map { $0.0 + "|" + $0.1 }), afterIDs = Set(a.map { $0.0 + "|" + $0.1 })
        for e in b where !afterIDs.contains(e.0 + "|" + e.1) { add(field, e.2, nil, .removed, id: e.0) }
        for e in a where !beforeIDs.contains(e.0 + "|" + e.1) {
            add(field, nil, e.2, worseIfAdded.contains(e.0) ? .worse : .added, id: e.0)
        }
    }
}
