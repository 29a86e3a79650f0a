import PathProbeCore
import PathProbeEngine
import PathProbeNetlink

/// What `pathprobe bulk --mode NAME` asks of a mode. The bulk runner does everything else: input,
/// dedupe, resume, the engine, signals, output, progress and summary.
///
/// Adding a mode: implement `BulkMode` (a measurement per target from the measurement's own
/// `prepare`, its record from its `finish`, CSV columns) and return it from `BulkArguments.mode`.
/// `BulkMTUMode` below is the model.
public protocol BulkMode {
    /// "mtu", "reach", "profile": the summary's `mode`.
    var name: String { get }
    /// Probe kinds the engine opens before the first target, so a missing privilege stops the run
    /// at once instead of failing every target.
    var probeKinds: [ProbeKind] { get }
    /// CSV header: paths into the JSON record.
    var csvColumns: [BulkColumn] { get }
    /// JSON Lines records written before the first target's (bulk profile: the `nic` record).
    func headerRecords() -> [JSON]
    /// The CSV fields of one record, in `csvColumns` order.
    func csvFields(for record: BulkRecord) -> [String]
    /// A fresh measurement for one resolved target. A thrown error turns the target into an error record.
    func makeMeasurement(for target: BulkTarget, egress: RouteLookup.Cache) throws(PathProbeError) -> any BulkMeasurement
}

public extension BulkMode {
    func headerRecords() -> [JSON] { [] }

    func csvFields(for record: BulkRecord) -> [String] { BulkCSV.fields(of: record.json, columns: csvColumns) }
}

/// A measurement that ends in one bulk record.
public protocol BulkMeasurement: Measurement {
    func record() -> BulkRecord
}

/// One resolved target as a mode sees it, before its egress is looked up.
public struct BulkTarget: Sendable {
    /// As written in the input (for an expanded range, the address); the record's `target`.
    public var text: String
    /// Input line number (1-based).
    public var line: Int
    public var address: IPAddress
    /// -i: every probe leaves by this interface.
    public var interface: String?
    /// Which socket carries probes of this family: "ping", "raw" or "udp".
    public var socket: String?

    public init(text: String, line: Int, address: IPAddress, interface: String? = nil, socket: String? = nil) {
        self.text = text
        self.line = line
        self.address = address
        self.interface = interface
        self.socket = socket
    }

    /// The target with its egress (the one lookup for it).
    public func probeTarget(_ egress: RouteLookup.Cache) throws(PathProbeError) -> ProbeTarget {
        let e = try sorted { try egress.lookup(to: address, interface: interface) }
        return ProbeTarget(text: text, address: address, egress: e, line: line)
    }
}

/// One target: its measurement, and how the finished measurement becomes the target's record.
public final class BulkJob: BulkMeasurement {
    public let measurement: any Measurement
    private let makeRecord: () -> BulkRecord

    public init(_ measurement: any Measurement, record: @escaping () -> BulkRecord) {
        self.measurement = measurement
        makeRecord = record
    }

    /// Two measurements as one (a target's path MTU and port probes): bulk runs one per target.
    convenience init(_ measurements: [any Measurement], record: @escaping () -> BulkRecord) {
        precondition(!measurements.isEmpty && measurements.count <= 2, "a bulk target runs one or two measurements")
        self.init(measurements.count == 1 ? measurements[0] : MeasurementPair(measurements[0], measurements[1]), record: record)
    }

    public var isFinished: Bool { measurement.isFinished }
    public func advance<S: ProbeScheduler>(_ s: inout S) { measurement.advance(&s) }
    public func handle<S: ProbeScheduler>(_ r: ProbeResult, _ s: inout S) { measurement.handle(r, &s) }
    public func handle<S: ProbeScheduler>(_ e: ConnectionResult, _ s: inout S) { measurement.handle(e, &s) }
    public func record() -> BulkRecord { makeRecord() }
}

private typealias MTUKey = PathMTUResult.CodingKeys
private typealias Envelope = Contract.EnvelopeKey

// MARK: - mtu

/// `pathprobe bulk --mode mtu`: `pathprobe mtu --json` per target, without the per-hop view unless
/// `traceHops` (routers rate-limit time-exceeded per destination, so thousands of traces through one
/// router cannot all be answered).
public struct BulkMTUMode: BulkMode {
    public var arguments: MTUArguments
    public var probe: ProbeArguments
    public var traceHops = false
    /// Sizes per search round (--sizes-per-round).
    public var sizesPerRound: Int? = nil

    public init(arguments: MTUArguments, probe: ProbeArguments, traceHops: Bool, sizesPerRound: Int?) {
        self.arguments = arguments
        self.probe = probe
        self.traceHops = traceHops
        self.sizesPerRound = sizesPerRound
    }

    public var name: String { DocumentType.mtu.rawValue }
    /// None for TCP: its connections need no socket opened beforehand (nor any privilege).
    public var probeKinds: [ProbeKind] { arguments.kind.map { [$0] } ?? [] }

    /// TCP adds both directions, the service and the connections.
    public var csvColumns: [BulkColumn] {
        let tcp: [MTUKey] = arguments.probeProtocol == .tcp ? [.pathMTUUp, .pathMTUDown, .blackHoleDirection, .service, .connections] : []
        return [BulkColumn(Envelope.target), BulkColumn(Envelope.line)]
            + [MTUKey.address, .family, .probeProtocol, .port, .status, .pathMTU, .mss, .blackHole].map { BulkColumn($0) }
            + [BulkColumn(MTUKey.blackHoleHop, PathMTUResult.HopRef.CodingKeys.ttl), BulkColumn(MTUKey.blackHoleHop, PathMTUResult.HopRef.CodingKeys.address)]
            + tcp.map { BulkColumn($0) }
            + [MTUKey.localMTU, .interface, .maxProbed, .rttMs, .probesSent, .durationMs, .error].map { BulkColumn($0) }
    }

    /// From the typed result, in `csvColumns` order (no JSON tree per record: at 10,000+ targets
    /// that tree cost a third of a run); BulkKitTests checks it against the generic path.
    public func csvFields(for record: BulkRecord) -> [String] {
        guard case let .mtu(r) = record else { return BulkCSV.fields(of: record.json, columns: csvColumns) }
        typealias C = BulkCSV
        return [r.target, C.cell(r.line), r.address.description, r.family.rawValue, r.probeProtocol.rawValue, C.cell(r.port),
                r.status.rawValue, C.cell(r.pathMTU), C.cell(r.mss), C.cell(r.blackHole), C.cell(r.blackHoleHop?.ttl),
                C.cell(r.blackHoleHop?.address.description), C.cell(r.localMTU), C.cell(r.interface), C.cell(r.maxProbed),
                C.cell(r.rttMs), C.cell(r.probesSent), C.cell(r.durationMs), C.cell(r.error)]
    }

    public func makeMeasurement(for target: BulkTarget, egress: RouteLookup.Cache) throws(PathProbeError) -> any BulkMeasurement {
        let setup = try MTUSetup.prepare(try target.probeTarget(egress), arguments, probe: probe, traceHops: traceHops,
                                         sizesPerRound: sizesPerRound, socket: target.socket)
        return BulkJob(setup.measurement) { .mtu(setup.finish()) }
    }
}

// MARK: - reach

/// `pathprobe bulk --mode reach`: `pathprobe reach --json` per target (TCP SYN and UDP probes; no
/// responder). TCP needs raw sockets (root or CAP_NET_RAW) in bulk: a connect() per port and target
/// would be a socket per probe.
public struct BulkReachMode: BulkMode {
    public var arguments: ReachArguments
    public var probe: ProbeArguments

    public init(arguments: ReachArguments, probe: ProbeArguments) {
        self.arguments = arguments
        self.probe = probe
    }

    public var name: String { DocumentType.reach.rawValue }

    public var probeKinds: [ProbeKind] {
        let (tcp, udp) = arguments.ports
        return (tcp.isEmpty ? [] : [.tcpSyn(port: 0)]) + (udp.isEmpty ? [] : [.udp(port: 0)])
    }

    /// One column per port ("tcp/443", "udp/3391") holding its state.
    public var csvColumns: [BulkColumn] {
        let (tcp, udp) = arguments.ports
        typealias Key = ReachResult.CodingKeys
        return [BulkColumn(Envelope.target), BulkColumn(Envelope.line), BulkColumn(Key.address), BulkColumn(Key.family)]
            + tcp.map { BulkColumn(path: [Self.portColumn(.tcp, $0)]) } + udp.map { BulkColumn(path: [Self.portColumn(.udp, $0)]) }
            + [BulkColumn(Key.probesSent), BulkColumn(Key.durationMs), BulkColumn(BulkError.CodingKeys.error)]
    }

    public func csvFields(for record: BulkRecord) -> [String] {
        guard case let .reach(r) = record else { return BulkCSV.fields(of: record.json, columns: csvColumns) }
        var states: [String: String] = [:]
        for p in r.tcp { states[Self.portColumn(.tcp, p.port)] = p.state.rawValue }
        for p in r.udp { states[Self.portColumn(.udp, p.port)] = p.state.rawValue }
        let json = record.json
        return csvColumns.map { states[$0.name] ?? BulkCSV.cell(BulkCSV.value(json, at: $0)) }
    }

    static func portColumn(_ proto: ReachResult.CodingKeys, _ port: UInt16) -> String { "\(proto.stringValue)/\(port)" }

    public func makeMeasurement(for target: BulkTarget, egress: RouteLookup.Cache) throws(PathProbeError) -> any BulkMeasurement {
        var arguments = arguments
        arguments.responder = false
        arguments.responderPort = nil
        let setup = try ReachSetup.prepare(try target.probeTarget(egress), arguments, probe: probe)
        return BulkJob(setup.measurements) { .reach(setup.finish()) }
    }
}

// MARK: - profile

/// `pathprobe bulk --mode profile`: `pathprobe profile --json` per target (the path MTU and the port
/// probes of a target as one measurement, then the advisor). The namespace's inventory is read once
/// and written once, as the run's first record (a `nic` document); each profile record names its
/// interfaces (`local.interface`) and carries `inventory: null`. The route is read once per target
/// and gives the egress too.
public final class BulkProfileMode: BulkMode {
    public let arguments: ProfileArguments
    public let traceHops: Bool
    public let sizesPerRound: Int?
    private let inventory: LocalInventory?
    private let inventoryError: String?

    public init(arguments: ProfileArguments, traceHops: Bool, sizesPerRound: Int?) {
        self.arguments = arguments
        self.traceHops = traceHops
        self.sizesPerRound = sizesPerRound
        do {
            inventory = try LocalInventory.read()
            inventoryError = nil
        } catch {
            inventory = nil
            inventoryError = "\(error)"
        }
    }

    public var name: String { DocumentType.profile.rawValue }
    public var probeKinds: [ProbeKind] { (arguments.mtu.kind.map { [$0] } ?? []) + BulkReachMode(arguments: arguments.reach, probe: arguments.probe).probeKinds }

    public func headerRecords() -> [JSON] { inventory.map { [Contract.json($0)] } ?? [] }

    public var csvColumns: [BulkColumn] {
        typealias Key = ProfileReport.CodingKeys
        return [BulkColumn(Envelope.target), BulkColumn(Envelope.line), BulkColumn(Key.address), BulkColumn(Key.family)]
            + [MTUKey.status, .pathMTU, .blackHole].map { BulkColumn(Key.mtu, $0) }
            + [BulkColumn(Key.mtu, MTUKey.blackHoleHop, PathMTUResult.HopRef.CodingKeys.ttl),
               BulkColumn(Key.mtu, MTUKey.blackHoleHop, PathMTUResult.HopRef.CodingKeys.address),
               BulkColumn(Key.local, ProfileReport.LocalKeys.interface), BulkColumn(Key.local, ProfileReport.LocalKeys.route, RouteInfo.CodingKeys.interfaceMTU),
               BulkColumn(Key.findings), BulkColumn(Key.recommendations), BulkColumn(BulkError.CodingKeys.error)]
    }

    public func csvFields(for record: BulkRecord) -> [String] {
        guard case let .profile(p) = record else { return BulkCSV.fields(of: record.json, columns: csvColumns) }
        let json = record.json
        return csvColumns.map { column in
            switch column.name {
            case ProfileReport.CodingKeys.findings.stringValue: return p.advice.findings.map(\.id).joined(separator: " ")
            case ProfileReport.CodingKeys.recommendations.stringValue: return p.advice.recommendations.map(\.id).joined(separator: " ")
            default: return BulkCSV.cell(BulkCSV.value(json, at: column))
            }
        }
    }

    public func makeMeasurement(for target: BulkTarget, egress: RouteLookup.Cache) throws(PathProbeError) -> any BulkMeasurement {
        let (route, e) = try sorted { try egress.route(to: target.address, target: target.text, interface: target.interface) }
        let local = ProfileSetup.localSide(route: route, inventory: inventory, interface: target.interface, error: inventoryError)
        var arguments = arguments
        arguments.reach.responder = false
        arguments.reach.responderPort = nil
        let setup = try ProfileSetup.prepare(ProbeTarget(text: target.text, address: target.address, egress: e, line: target.line), arguments,
                                             local: local, traceHops: traceHops, sizesPerRound: sizesPerRound, socket: target.socket)
        return BulkJob(setup.measurements) { .profile(setup.finish(includeInventory: false)) }
    }
}

/// The modes of `pathprobe bulk --mode`.
public enum BulkModeKind: String, CaseIterable, Sendable {
    case mtu, reach, profile, rdp

    /// The mode for the options given; bad combinations are bad input.
    public func make(_ arguments: ProfileArguments, traceHops: Bool, sizesPerRound: Int?) throws(PathProbeError) -> any BulkMode {
        let reach = arguments.reach
        if reach.responderPortToUse != nil { throw .usage("--responder is not available in bulk: use `pathprobe reach --responder` per host") }
        switch self {
        case .mtu:
            if !reach.isEmpty { throw .usage("--mode mtu probes no ports: use --mode reach or --mode profile with --tcp/--udp/presets") }
            return BulkMTUMode(arguments: arguments.mtu, probe: arguments.probe, traceHops: traceHops, sizesPerRound: sizesPerRound)
        case .reach:
            if reach.ports.tcp.isEmpty && reach.ports.udp.isEmpty {
                throw .usage("--mode reach needs ports: --tcp, --udp or a preset (--rdp, --ipsec, --wireguard, --openvpn)")
            }
            return BulkReachMode(arguments: reach, probe: arguments.probe)
        case .profile:
            return BulkProfileMode(arguments: arguments, traceHops: traceHops, sizesPerRound: sizesPerRound)
        case .rdp:
            return BulkRDPMode(arguments: .defaults, probe: arguments.probe)
        }
    }
}
