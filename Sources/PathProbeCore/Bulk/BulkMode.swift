/// What `pathprobe bulk --mode NAME` asks of a mode. The bulk runner (PathProbeEngine/BulkRunner)
/// does everything else: input, dedupe, resume, the engine, signals, output, progress and summary.
///
/// Adding a mode: implement `BulkMode` (a measurement per target, CSV columns, summary counts),
/// make its measurement a `BulkMeasurement` (its `record()` is the single-target command's JSON
/// object), and return it from the `--mode` switch in Sources/pathprobe/BulkCommand.swift.
/// `BulkMTUMode` below is the model.
public protocol BulkMode {
    /// "mtu", "reach", "profile": the summary's `mode`.
    var name: String { get }
    /// Probe kinds the engine opens before the first target, so a missing privilege stops the run
    /// at once instead of failing every target.
    var probeKinds: [ProbeKind] { get }
    /// CSV header; by default each column is a key (dotted for nested objects) of the JSON record.
    var csvColumns: [String] { get }
    /// A fresh measurement for one resolved target. Throw `BulkTargetError` to turn the target into an
    /// error record (e.g. an option that does not fit its address family).
    func makeMeasurement(for target: BulkTarget) throws -> any BulkMeasurement
    /// The CSV fields of one record (JSON or error record, `line` included), in `csvColumns` order.
    func csvFields(for record: JSON) -> [String]
    /// Adds one record to the run's summary.
    func tally(_ record: JSON, into summary: inout BulkSummary)
}

public extension BulkMode {
    func csvFields(for record: JSON) -> [String] { BulkCSV.fields(of: record, columns: csvColumns) }

    func tally(_ record: JSON, into summary: inout BulkSummary) { summary.addStatus(of: record) }
}

/// A measurement that can say what its single-target command would print as JSON.
public protocol BulkMeasurement: Measurement {
    /// The finished target's record without `line` (the runner adds it after `target`).
    func record() -> JSON
}

/// One resolved target as a mode sees it.
public struct BulkTarget: Sendable {
    /// As written in the input (for an expanded range, the address); the record's `target`.
    public var text: String
    /// Input line number (1-based).
    public var line: Int
    public var address: IPAddress
    /// The egress interface and its MTU (the default largest probe), when known.
    public var interface: String?
    public var localMTU: Int?
    /// Which socket carries probes of this family: "ping", "raw" or "udp".
    public var socket: String?

    public init(text: String, line: Int, address: IPAddress, interface: String? = nil, localMTU: Int? = nil, socket: String? = nil) {
        self.text = text
        self.line = line
        self.address = address
        self.interface = interface
        self.localMTU = localMTU
        self.socket = socket
    }
}

/// A target that cannot be measured; `message` becomes the error record's `error`.
public struct BulkTargetError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

// MARK: - mtu

/// `pathprobe bulk --mode mtu`: `pathprobe mtu --json` per target, without the per-hop view unless
/// `traceHops` (routers rate-limit time-exceeded per destination, so thousands of traces through one
/// router cannot all be answered).
public final class BulkMTUMode: BulkMode {
    public struct Settings: Sendable {
        public var kind: ProbeKind = .icmpEcho
        /// --min / --max; nil: the family's minimum MTU / the egress interface MTU.
        public var minSize: Int? = nil
        public var maxSize: Int? = nil
        public var timeoutMs: Double = 1000
        public var retries: Int = 3
        public var traceHops = false
        /// Sizes per search round; nil keeps the measurement's own default.
        public var parallelSizes: Int? = nil
        public init() {}
    }

    public let settings: Settings
    public init(settings: Settings) { self.settings = settings }

    public var name: String { "mtu" }
    public var probeKinds: [ProbeKind] { [settings.kind] }

    public let csvColumns = [
        "target", "line", "address", "family", "protocol", "port", "status", "path_mtu", "mss", "black_hole",
        "black_hole_hop.ttl", "black_hole_hop.address", "local_mtu", "interface", "max_probed", "rtt_ms",
        "probes_sent", "duration_ms", "error",
    ]

    public func makeMeasurement(for target: BulkTarget) throws -> any BulkMeasurement {
        BulkJob(try measurement(for: target)) { target.result(of: $0).json }
    }

    /// The path MTU measurement for one target (also half of `--mode profile`'s).
    public func measurement(for target: BulkTarget) throws -> PathMTUMeasurement {
        let family = target.address.family
        let floor = family.minimumMTU
        let lo = settings.minSize ?? floor
        let hi = settings.maxSize ?? min(target.localMTU ?? 1500, 65535)
        let name = family == .ipv4 ? "IPv4" : "IPv6"
        for (flag, v) in [("--min", lo), ("--max", hi)] where v < floor || v > 65535 {
            throw BulkTargetError("\(flag) \(v) is outside \(floor)-65535, the packet sizes \(name) allows")
        }
        if lo > hi { throw BulkTargetError("--min \(lo) is larger than --max \(hi)") }
        var options = PathMTUOptions(destination: target.address, kind: settings.kind, minSize: lo, maxSize: hi)
        options.timeoutMs = settings.timeoutMs
        options.retries = settings.retries
        options.traceHops = settings.traceHops
        if let p = settings.parallelSizes { options.parallelSizes = p }
        return PathMTUMeasurement(options: options)
    }

    public func tally(_ record: JSON, into summary: inout BulkSummary) {
        summary.addStatus(of: record)
        if let mtu = record["path_mtu"]?.intValue { summary.addPathMTU(mtu, blackHole: record["black_hole"]?.boolValue == true) }
    }
}

/// One target: its measurement, and how the finished measurement becomes the target's record.
public final class BulkJob<M: Measurement>: BulkMeasurement {
    public let measurement: M
    private let makeRecord: (M) -> JSON

    public init(_ measurement: M, record: @escaping (M) -> JSON) {
        self.measurement = measurement
        makeRecord = record
    }

    public var isFinished: Bool { measurement.isFinished }
    public func advance<S: ProbeScheduler>(_ s: inout S) { measurement.advance(&s) }
    public func handle<S: ProbeScheduler>(_ r: ProbeResult, _ s: inout S) { measurement.handle(r, &s) }
    public func record() -> JSON { makeRecord(measurement) }
}

extension BulkTarget {
    /// The path MTU result as `pathprobe mtu` would print it for this target.
    public func result(of m: PathMTUMeasurement) -> PathMTUResult {
        var r = m.result
        r.target = text
        r.localMTU = localMTU
        r.interface = interface
        r.socket = socket
        return r
    }
}
