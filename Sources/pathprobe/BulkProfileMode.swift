import Foundation
import PathProbeCore
import PathProbeEngine
import PathProbeNetlink

/// `pathprobe bulk --mode profile`: `pathprobe profile --json` per target: the path MTU and the port
/// probes of a target run as one measurement (`MeasurementPair`), then the advisor. The local
/// inventory is read once for the run; the route (and its cached PMTU) once per target.
final class BulkProfileMode: BulkMode {
    let mtuMode: BulkMTUMode
    let reachSettings: BulkReachMode.Settings
    let service: ReachPreset?
    private let inventory: LocalInventory?

    init(mtu: BulkMTUMode.Settings, reach: BulkReachMode.Settings, service: ReachPreset?) {
        mtuMode = BulkMTUMode(settings: mtu)
        reachSettings = reach
        self.service = service
        inventory = try? LocalInventory.read()
    }

    var name: String { "profile" }
    var probeKinds: [ProbeKind] { mtuMode.probeKinds + BulkReachMode(settings: reachSettings).probeKinds }

    let csvColumns = [
        "target", "line", "address", "family", "mtu.status", "mtu.path_mtu", "mtu.black_hole", "mtu.black_hole_hop.ttl",
        "mtu.black_hole_hop.address", "local.interface.name", "local.interface.mtu", "findings", "recommendations", "error",
    ]

    func csvFields(for record: JSON) -> [String] {
        csvColumns.map { column in
            switch column {
            case "findings", "recommendations":
                return (record[column]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue }.joined(separator: " ")
            default:
                return BulkCSV.fields(of: record, columns: [column])[0]
            }
        }
    }

    func makeMeasurement(for target: BulkTarget) throws -> any BulkMeasurement {
        let mtuJob = try mtuMode.measurement(for: target)
        let reach: ReachMeasurement? = reachSettings.tcpPorts.isEmpty && reachSettings.udpPorts.isEmpty
            ? nil : BulkReachMode.measurement(for: target.address, reachSettings)
        return BulkProfileJob(mtu: mtuJob, reach: reach, target: target, local: localSide(for: target), service: service)
    }

    private func localSide(for target: BulkTarget) -> ProfileReport.LocalSide {
        let route = try? RouteLookup.lookup(target.address)
        // The route's interface first; the egress lookup's when there is no route to read.
        return ProfileReport.LocalSide(inventory: inventory, route: route, interface: route?.interface == nil ? target.interface : nil)
    }

    func tally(_ record: JSON, into summary: inout BulkSummary) {
        if BulkRecord.isError(record) {
            summary.addStatus(of: record)
            return
        }
        let mtu = record["mtu"] ?? .null
        summary.addStatus(of: mtu)
        if let m = mtu["path_mtu"]?.intValue { summary.addPathMTU(m, blackHole: mtu["black_hole"]?.boolValue == true) }
        for (port, state) in BulkReachMode.portStates(record["reach"] ?? .null) { summary.addPortState(port, state) }
    }
}

/// One target of `--mode profile`.
final class BulkProfileJob: BulkMeasurement {
    let pair: MeasurementPair?
    let mtu: PathMTUMeasurement
    let reach: ReachMeasurement?
    let target: BulkTarget
    let local: ProfileReport.LocalSide
    let service: ReachPreset?
    let started = Date()

    init(mtu: PathMTUMeasurement, reach: ReachMeasurement?, target: BulkTarget, local: ProfileReport.LocalSide, service: ReachPreset?) {
        self.mtu = mtu
        self.reach = reach
        self.target = target
        self.local = local
        self.service = service
        pair = reach.map { MeasurementPair(mtu, $0) }
    }

    var isFinished: Bool { pair?.isFinished ?? mtu.isFinished }
    func advance<S: ProbeScheduler>(_ s: inout S) { if let pair { pair.advance(&s) } else { mtu.advance(&s) } }
    func handle<S: ProbeScheduler>(_ r: ProbeResult, _ s: inout S) { if let pair { pair.handle(r, &s) } else { mtu.handle(r, &s) } }

    func record() -> JSON {
        let m = target.result(of: mtu)
        var r = reach?.result
        r?.target = target.text
        if let rr = reach, !rr.options.tcpPorts.isEmpty { r?.tcpProbe = "syn" }
        r?.judgeMSS(referenceMTU: m.pathMTU ?? target.localMTU, source: m.pathMTU == nil ? "local_mtu" : "path_mtu")
        var report = ProfileReport(target: target.text, address: target.address,
                                   startedAt: ISO8601DateFormatter().string(from: started), version: PathProbeVersion.string,
                                   local: local, mtu: m, reach: r, service: service)
        report.durationMs = Date().timeIntervalSince(started) * 1000
        return report.json
    }
}
