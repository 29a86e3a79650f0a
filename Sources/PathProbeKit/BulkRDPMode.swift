import PathProbeCore
import PathProbeEngine
import PathProbeNetlink

/// `pathprobe bulk --mode rdp`: `pathprobe rdp` per target, each target checked as an RDP host and
/// as an RD Gateway at once (a list of Remote Desktop endpoints mixes both), with the TCP path MTU of
/// the port that answered. Unprivileged: TCP connections and UDP datagrams only.
public struct BulkRDPMode: BulkMode {
    /// The check's options (`BulkModeKind.make`: the defaults) and the shared probe options.
    public let arguments: RDPArguments
    public let probe: ProbeArguments

    public var name: String { DocumentType.rdp.rawValue }
    public var probeKinds: [ProbeKind] { arguments.noUDP ? [] : [.udp(port: 0)] }

    public var csvColumns: [BulkColumn] {
        typealias Key = RDPReport.CodingKeys
        typealias TLSKey = RDPReport.TLS.CodingKeys
        return [BulkColumn(Contract.EnvelopeKey.target), BulkColumn(Contract.EnvelopeKey.line), BulkColumn(Key.address), BulkColumn(Key.family)]
            + [RDPNegotiationResult.CodingKeys.state, .selectedProtocol, .failure].map { BulkColumn(Key.rdp, $0) }
            + [TLSKey.state, .version, .notAfter, .daysLeft, .nameMatches, .chainBytes].map { BulkColumn(Key.tls, $0) }
            + [BulkColumn(Key.gateway, RDPReport.Gateway.CodingKeys.connect),
               BulkColumn(Key.gateway, RDPReport.Gateway.CodingKeys.httpTransport, RDPReport.Exchange.CodingKeys.verdict),
               BulkColumn(Key.udp, UDPCheckResult.CodingKeys.state), BulkColumn(Key.udp, UDPCheckResult.CodingKeys.datagram1232Passes),
               BulkColumn(Key.findings), BulkColumn(Key.durationMs), BulkColumn(BulkError.CodingKeys.error)]
    }

    /// Findings as their ids, space-separated.
    public func csvFields(for record: BulkRecord) -> [String] {
        guard case let .rdp(r) = record else { return BulkCSV.fields(of: record.json, columns: csvColumns) }
        let json = record.json
        return csvColumns.map {
            $0.name == RDPReport.CodingKeys.findings.stringValue ? r.findings.map(\.id).joined(separator: " ") : BulkCSV.cell(BulkCSV.value(json, at: $0))
        }
    }

    public func makeMeasurement(for target: BulkTarget, egress: RouteLookup.Cache) throws(PathProbeError) -> any BulkMeasurement {
        let setup = try RDPSetup.prepare(try target.probeTarget(egress), arguments, probe: probe, role: .hostAndGateway)
        return BulkJob(setup.run) { .rdp(setup.finish()) }
    }
}
