/// `pathprobe bulk --mode reach`: `pathprobe reach --json` per target (TCP SYN and UDP probes; no
/// responder). TCP needs raw sockets (root or CAP_NET_RAW) in bulk: a connect() per port and target
/// would be a socket per probe.
public final class BulkReachMode: BulkMode {
    public struct Settings: Sendable {
        public var tcpPorts: [UInt16] = []
        public var udpPorts: [UInt16] = []
        public var timeoutMs: Double = 1000
        public var attempts = 2
        public init() {}
    }

    public let settings: Settings
    public init(settings: Settings) { self.settings = settings }

    public var name: String { "reach" }

    public var probeKinds: [ProbeKind] {
        (settings.tcpPorts.isEmpty ? [] : [.tcpSyn(port: 0)]) + (settings.udpPorts.isEmpty ? [] : [.udp(port: 0)])
    }

    /// One column per port ("tcp/443", "udp/3391") holding its state.
    public var csvColumns: [String] {
        ["target", "line", "address", "family"] + settings.tcpPorts.map { "tcp/\($0)" } + settings.udpPorts.map { "udp/\($0)" }
            + ["probes_sent", "duration_ms", "error"]
    }

    public func csvFields(for record: JSON) -> [String] {
        let states = Self.portStates(record)
        return csvColumns.map { column in
            if let s = states.first(where: { $0.0 == column }) { return s.1 }
            return BulkCSV.fields(of: record, columns: [column])[0]
        }
    }

    public func makeMeasurement(for target: BulkTarget) throws -> any BulkMeasurement {
        BulkJob(Self.measurement(for: target.address, settings)) { m in
            var r = m.result
            r.target = target.text
            if !m.options.tcpPorts.isEmpty { r.tcpProbe = "syn" }
            r.judgeMSS(referenceMTU: target.localMTU.map { min($0, 65535) }, source: "local_mtu")
            return r.json
        }
    }

    public static func measurement(for address: IPAddress, _ settings: Settings) -> ReachMeasurement {
        var options = ReachOptions(destination: address, tcpPorts: settings.tcpPorts, udpPorts: settings.udpPorts)
        options.timeoutMs = settings.timeoutMs
        options.tcpAttempts = max(1, settings.attempts)
        options.udpAttempts = max(1, settings.attempts)
        options.seed = UInt64.random(in: 0...UInt64.max)
        return ReachMeasurement(options: options)
    }

    public func tally(_ record: JSON, into summary: inout BulkSummary) {
        summary.addStatus(of: BulkRecord.isError(record) ? record : Self.withStatus(record))
        for (port, state) in Self.portStates(record) { summary.addPortState(port, state) }
    }

    /// ("tcp/443", "open") pairs of a reach record (also the `reach` object of a profile record).
    public static func portStates(_ record: JSON) -> [(String, String)] {
        var out: [(String, String)] = []
        for proto in ["tcp", "udp"] {
            for p in record[proto]?.arrayValue ?? [] {
                if let port = p["port"]?.intValue, let state = p["state"]?.stringValue { out.append(("\(proto)/\(port)", state)) }
            }
        }
        return out
    }

    /// Reach records have no `status`: every one that is not an error was measured.
    static func withStatus(_ record: JSON) -> JSON {
        guard case var .object(fields) = record, record["status"] == nil else { return record }
        fields.append(("status", .string("measured")))
        return .object(fields)
    }
}
