import PathProbeNetlink
import Testing
@testable import PathProbeCore
@testable import PathProbeKit

/// PathProbeKit's composition without a network: options parsed as the CLI and the exporter parse
/// them, measurements prepared for a target, records finished.
@Suite struct KitTests {
    static let loopback = IPAddress("127.0.0.1")!
    static func target(_ address: IPAddress = loopback, mtu: Int = 1500) -> ProbeTarget {
        ProbeTarget(text: address.description, address: address, egress: Egress(destination: address, source: address, interface: "eth0", mtu: mtu))
    }

    /// `-c` given once reaches every probe of a profile: the path MTU search, the port probes and the responder.
    @Test func retriesReachEveryProbeOfAProfile() throws {
        let arguments = try ProfileArguments.parse(["-c", "5", "--tcp", "443", "--udp", "53", "--responder"])
        let setup = try ProfileSetup.prepare(Self.target(), arguments, local: ProfileReport.LocalSide())
        #expect(setup.mtu.datagram?.options.retries == 5)
        let reach = try #require(setup.reach)
        #expect(reach.reach.options.tcpAttempts == 5 && reach.reach.options.udpAttempts == 5)
        #expect(reach.responder?.options.retries == 5)
        #expect(setup.measurements.count == 3)

        let defaults = try ProfileSetup.prepare(Self.target(), try ProfileArguments.parse(["--tcp", "443"]), local: ProfileReport.LocalSide())
        #expect(defaults.mtu.datagram?.options.retries == MTUArguments.defaultRetries)
        #expect(defaults.reach?.reach.options.tcpAttempts == ReachArguments.defaultRetries)
    }

    /// The same in bulk: every mode's measurements get `-c` (and `--timeout`).
    @Test func retriesReachEveryProbeInBulk() throws {
        let arguments = try ProfileArguments.parse(["-c", "4", "--timeout", "0.5", "--tcp", "443"])
        let cache = RouteLookup.Cache()
        let target = BulkTarget(text: "127.0.0.1", line: 1, address: Self.loopback, socket: "raw")

        let profile = try BulkModeKind.profile.make(arguments, traceHops: false, sizesPerRound: nil)
        let job = try #require(try profile.makeMeasurement(for: target, egress: cache) as? BulkJob)
        let pair = try #require(job.measurement as? MeasurementPair)
        // The path MTU search is followed by the TCP step on an open port of the list.
        let follow = try #require(pair.first as? FollowUpMeasurement)
        let mtu = try #require(follow.first as? PathMTUMeasurement)
        let reach = try #require(pair.second as? ReachMeasurement)
        #expect(mtu.options.retries == 4 && mtu.options.timeoutMs == 500)
        #expect(reach.options.tcpAttempts == 4 && reach.options.udpAttempts == 4 && reach.options.timeoutMs == 500)

        let reachMode = try BulkModeKind.reach.make(arguments, traceHops: false, sizesPerRound: nil)
        let reachJob = try #require(try reachMode.makeMeasurement(for: target, egress: cache) as? BulkJob)
        #expect((reachJob.measurement as? ReachMeasurement)?.options.tcpAttempts == 4)

        let mtuMode = try BulkModeKind.mtu.make(try ProfileArguments.parse(["-c", "4"]), traceHops: false, sizesPerRound: 2)
        let mtuJob = try #require(try mtuMode.makeMeasurement(for: target, egress: cache) as? BulkJob)
        let m = try #require(mtuJob.measurement as? PathMTUMeasurement)
        #expect(m.options.retries == 4 && m.options.parallelSizes == 2)
    }

    /// One check of --min/--max, the same message for a single target and a bulk error record.
    @Test func sizeRangeIsCheckedOnce() throws {
        let arguments = try ProfileArguments.parse(["--max", "1200"])
        let v6 = IPAddress("2001:db8::1")!
        #expect(throws: PathProbeError.usage("--max 1200 is outside 1280-65535, the packet sizes IPv6 allows")) {
            _ = try MTUSetup.prepare(Self.target(v6), arguments.mtu, probe: arguments.probe, traceHops: false)
        }
        let mode = try BulkModeKind.mtu.make(arguments, traceHops: false, sizesPerRound: nil)
        #expect(throws: PathProbeError.usage("--max 1200 is outside 1280-65535, the packet sizes IPv6 allows")) {
            _ = try mode.makeMeasurement(for: BulkTarget(text: "::1", line: 1, address: IPAddress("::1")!), egress: RouteLookup.Cache())
        }
        #expect(throws: PathProbeError.usage("--min 1400 is larger than --max 1300")) {
            _ = try MTUSetup.prepare(Self.target(), try MTUArguments.parse(["--min", "1400", "--max", "1300"]), probe: ProbeArguments.parse([]),
                                     traceHops: false)
        }
    }

    @Test func optionsAreCheckedWhereTheyAreDeclared() {
        #expect(throws: (any Error).self) { try ProbeArguments.parse(["-c", "0"]) }
        #expect(throws: (any Error).self) { try ProbeArguments.parse(["--timeout", "0"]) }
        #expect(throws: (any Error).self) { try ReachArguments.parse(["--tcp", "0"]) }
        #expect(throws: (any Error).self) { try ReachArguments.parse(["--responder-port", "0"]) }
        #expect(throws: (any Error).self) { try MTUArguments.parse(["--protocol", "sctp"]) }
        #expect(throws: (any Error).self) { try MTUArguments.parse(["--direction", "up"]) }
        #expect((try? ReachArguments.parse(["--rdp", "--udp", "500"]))?.ports.udp == [500, 3391, 3389])
        #expect(throws: PathProbeError.self) { try BulkModeKind.mtu.make(try ProfileArguments.parse(["--tcp", "443"]), traceHops: false, sizesPerRound: nil) }
    }

    /// A measured black hole (1400, at hop 2) as bulk --mode mtu records it.
    static func blackHoleResult(target: String, line: Int) -> PathMTUResult {
        var r = PathMTUResult(address: IPAddress("10.72.128.5")!, family: .ipv4)
        r.target = target
        r.line = line
        r.reachable = true
        r.pathMTU = 1400
        r.blackHole = true
        r.blackHoleHop = .init(ttl: 2, address: IPAddress("10.0.2.2")!)
        return r
    }

    /// bulk --mode mtu writes CSV from the typed result: the same cells as from the record's JSON.
    @Test func mtuTypedCSVIsTheJSONsCells() throws {
        let mode = try BulkModeKind.mtu.make(try ProfileArguments.parse([]), traceHops: false, sizesPerRound: nil)
        var records: [PathMTUResult] = []
        var a = Self.blackHoleResult(target: "gw, \"east\"", line: 7)
        a.localMTU = 1500
        a.interface = "eth0"
        a.maxProbed = 1500
        a.rttMs = 0.123456
        a.probesSent = 22
        a.durationMs = 1234.5678
        records.append(a)
        var b = PathMTUResult(address: IPAddress("fd00:72::9")!, family: .ipv6)
        b.probeProtocol = .udp
        b.port = 33434
        b.error = "no answer to 3 probes"
        b.durationMs = 3000
        records.append(b)
        for r in records {
            let record = BulkRecord.mtu(r)
            #expect(mode.csvFields(for: record) == BulkCSV.fields(of: record.json, columns: mode.csvColumns))
        }
    }

    @Test func mtuRecordsAsCSV() throws {
        let mode = try BulkModeKind.mtu.make(try ProfileArguments.parse([]), traceHops: false, sizesPerRound: nil)
        let result = Self.blackHoleResult(target: "10.72.128.5", line: 12)
        let fields = mode.csvFields(for: .mtu(result))
        let names = mode.csvColumns.map(\.name)
        #expect(names.first == "target" && names.contains("black_hole_hop.ttl") && names.last == "error")
        let byName = Dictionary(uniqueKeysWithValues: zip(names, fields))
        #expect(byName["target"] == "10.72.128.5")
        #expect(byName["line"] == "12")
        #expect(byName["path_mtu"] == "1400")
        #expect(byName["mss"] == "1360")
        #expect(byName["black_hole"] == "true")
        #expect(byName["black_hole_hop.ttl"] == "2")
        #expect(byName["black_hole_hop.address"] == "10.0.2.2")
        #expect(byName["error"] == "")
        let error = mode.csvFields(for: .error(BulkError(target: "bad!", line: 3, error: "not a host name")))
        #expect(error.first == "bad!")
        #expect(error.last == "not a host name")
    }

    /// Through the mode as the runner holds it (`any BulkMode`): reach's port columns hold the states.
    @Test func reachRecordsAsCSV() throws {
        let mode: any BulkMode = try BulkModeKind.reach.make(try ProfileArguments.parse(["--tcp", "443", "--udp", "53"]), traceHops: false,
                                                             sizesPerRound: nil)
        var r = ReachResult(address: Self.loopback, family: .ipv4)
        r.target = "127.0.0.1"
        r.tcp = [TCPPortResult(port: 443, state: .open, attempts: 1)]
        r.udp = [UDPPortResult(port: 53, state: .openFiltered, service: .dns, attempts: 2)]
        let byName = Dictionary(uniqueKeysWithValues: zip(mode.csvColumns.map(\.name), mode.csvFields(for: .reach(r))))
        #expect(byName["tcp/443"] == "open" && byName["udp/53"] == "open|filtered" && byName["target"] == "127.0.0.1")
    }

    @Test func reachFinishJudgesTheMSSAgainstTheBestMTUKnown() throws {
        let arguments = try ReachArguments.parse(["--tcp", "443"])
        let setup = try ReachSetup.prepare(Self.target(mtu: 1500), arguments, probe: ProbeArguments.parse([]))
        #expect(setup.finish().mssReferenceSource == .localMTU)
        #expect(setup.finish(pathMTU: 1400).mssReferenceSource == .pathMTU)
        #expect(setup.finish(pathMTU: 1400).tcpProbe == .syn)
        let known = try ReachSetup.prepare(Self.target(), try ReachArguments.parse(["--tcp", "443", "--path-mtu", "1300"]), probe: ProbeArguments.parse([]))
        #expect(known.finish().mssReferenceMTU == 1300)
    }

    @Test func utcTimestampIsISO8601() {
        let t = utcTimestamp()
        #expect(t.count == 20 && t.hasSuffix("Z") && t.dropFirst(10).first == "T")
    }
}
