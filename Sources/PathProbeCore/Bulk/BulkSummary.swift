/// The end-of-run summary of `pathprobe bulk`: counts by status, the path MTU histogram, black holes,
/// per-port states; text for people, the `bulk-summary` document (`--summary-json`) for programs.
/// Counted from the typed records as they are written.
public struct BulkSummary: ContractDocument, Sendable {
    public static let documentType = DocumentType.bulkSummary

    public var mode: String
    /// Targets in the input (ranges counted by size), when the input could be counted up front.
    public var targetsInInput: Int? = nil
    /// Records written by this run (error records included).
    public var records = 0
    /// Error records: bad lines, unresolvable names, no route, options that do not fit.
    public var errors = 0
    /// Measured targets by status (a reach record counts as measured).
    public var statuses: [PathMTUResult.Status: Int] = [:]
    /// Targets left out because the output file already had them (`--resume`).
    public var alreadyDone = 0
    /// Targets left out because an earlier line of this run listed them.
    public var duplicates = 0
    /// path MTU -> targets.
    public var pathMTUs: [Int: Int] = [:]
    /// path MTU -> how many of those targets are black holes.
    public var blackHolesByMTU: [Int: Int] = [:]
    /// Port -> state -> targets (filled by port-probing modes).
    public var portStates: [PortKey: [String: Int]] = [:]
    public var probesSent = 0
    public var durationSeconds = 0.0
    /// "SIGINT" / "SIGTERM" when a signal stopped the run; in-flight targets were not written.
    public var stoppedBy: String? = nil

    public struct PortKey: Hashable, Sendable, Comparable {
        public var proto: ReachResult.CodingKeys
        public var port: UInt16
        public static func < (a: PortKey, b: PortKey) -> Bool { (a.proto.stringValue, a.port) < (b.proto.stringValue, b.port) }
    }

    public init(mode: String) { self.mode = mode }

    public var blackHoles: Int { blackHolesByMTU.values.reduce(0, +) }
    public var measuredRecords: Int { statuses.values.reduce(0, +) }
    /// Error records and targets that were measured but not reached.
    public var failures: Int { errors + statuses.filter { $0.key != .measured }.values.reduce(0, +) }

    // MARK: tallies

    /// Counts one written record.
    public mutating func add(_ record: BulkRecord) {
        records += 1
        switch record {
        case .error:
            errors += 1
        case let .mtu(r):
            addMTU(r)
        case let .reach(r):
            statuses[.measured, default: 0] += 1
            addPorts(r)
        case let .profile(p):
            addMTU(p.mtu)
            if let r = p.reach { addPorts(r) }
        case let .rdp(r):
            statuses[r.reachable ? .measured : .unreachable, default: 0] += 1
            for p in r.portStates { portStates[PortKey(proto: p.proto, port: p.port), default: [:]][p.state, default: 0] += 1 }
        }
    }

    private mutating func addMTU(_ r: PathMTUResult) {
        statuses[r.status, default: 0] += 1
        if let mtu = r.pathMTU {
            pathMTUs[mtu, default: 0] += 1
            if r.blackHole { blackHolesByMTU[mtu, default: 0] += 1 }
        }
    }

    private mutating func addPorts(_ r: ReachResult) {
        for p in r.tcp { portStates[PortKey(proto: .tcp, port: p.port), default: [:]][p.state.rawValue, default: 0] += 1 }
        for p in r.udp { portStates[PortKey(proto: .udp, port: p.port), default: [:]][p.state.rawValue, default: 0] += 1 }
    }

    // MARK: the document

    public var probesPerSecond: Double { durationSeconds > 0 ? Double(probesSent) / durationSeconds : 0 }

    struct Histogram: Codable {
        var mtu: Int
        var targets: Int
        var blackHoles: Int
        enum CodingKeys: String, CodingKey {
            case mtu, targets
            case blackHoles = "black_holes"
        }
    }

    /// Every state of either protocol, each present (0 when none).
    static let allPortStates = [TCPPortState.open.rawValue, TCPPortState.closed.rawValue, TCPPortState.filtered.rawValue,
                                UDPPortState.openFiltered.rawValue]

    struct PortCount: Encodable {
        var proto: String
        var port: Int
        var states: [String: Int]
        enum CodingKeys: String, CodingKey {
            case proto = "protocol"
            case port, states
        }
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(proto, forKey: .proto)
            try c.encode(port, forKey: .port)
            var s = c.nestedContainer(keyedBy: DynamicKey.self, forKey: .states)
            for state in BulkSummary.allPortStates { try s.encode(states[state] ?? 0, forKey: DynamicKey(state)) }
        }
    }

    public enum CodingKeys: String, CodingKey {
        case mode, complete
        case stoppedBy = "stopped_by"
        case targetsInInput = "targets_in_input"
        case records, errors, status
        case alreadyDone = "already_done"
        case duplicates
        // then `path_mtu` (the histogram of the records' field of that name)
        case blackHoles = "black_holes"
        case ports
        case probesSent = "probes_sent"
        case durationSeconds = "duration_s"
        case probesPerSecond = "probes_per_s"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(mode, forKey: .mode)
        try c.encode(stoppedBy == nil, forKey: .complete)
        try c.encodeIfPresent(stoppedBy, forKey: .stoppedBy)
        try c.encodeIfPresent(targetsInInput, forKey: .targetsInInput)
        try c.encode(records, forKey: .records)
        try c.encode(errors, forKey: .errors)
        var status = c.nestedContainer(keyedBy: DynamicKey.self, forKey: .status)
        for s in [PathMTUResult.Status.measured, .unreachable, .incomplete] {
            try status.encode(statuses[s] ?? 0, forKey: DynamicKey(s.rawValue))
        }
        try c.encode(alreadyDone, forKey: .alreadyDone)
        try c.encode(duplicates, forKey: .duplicates)
        var histogram = encoder.container(keyedBy: PathMTUResult.CodingKeys.self)
        try histogram.encode(pathMTUs.sorted { $0.key > $1.key }.map { Histogram(mtu: $0.key, targets: $0.value, blackHoles: blackHolesByMTU[$0.key] ?? 0) },
                             forKey: .pathMTU)
        try c.encode(blackHoles, forKey: .blackHoles)
        try c.encode(portStates.sorted { $0.key < $1.key }.map { PortCount(proto: $0.key.proto.stringValue, port: Int($0.key.port), states: $0.value) },
                     forKey: .ports)
        try c.encode(probesSent, forKey: .probesSent)
        try c.encode(durationSeconds, forKey: .durationSeconds)
        try c.encode(Int(probesPerSecond.rounded()), forKey: .probesPerSecond)
    }

    /// Only written; nothing reads a summary back.
    public init(from decoder: Decoder) throws {
        throw JSONDecodingError(decoder.codingPath, "bulk summaries are not read back")
    }
}
