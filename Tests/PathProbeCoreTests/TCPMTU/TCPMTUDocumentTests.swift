import Testing
@testable import PathProbeCore

/// `mtu -P tcp` as the command line and the documents see it: MTUArguments' TCP options and their
/// checks, the `mtu` document's per-direction keys (every protocol), the text, profile's TCP step
/// (which port, which document) and the follow-up measurement that runs it, and the advisor sizing
/// from the smaller direction.
@Suite struct TCPMTUDocumentTests {
    static let server = IPAddress("10.0.3.2")!

    // MARK: arguments

    @Test func tcpDefaults() throws {
        let a = try MTUArguments.parse(["-P", "tcp"])
        let o = try a.tcpParameters(for: Self.server, serverName: "gw.example.net", localMTU: 1500, probe: ProbeArguments.parse([]), seed: 7)
        #expect(o.port == 443 && o.resolvedService == .tls && o.host == "gw.example.net")
        #expect(o.parallel == 8 && o.directions == .both && o.retries == 2 && o.timeoutMs == 1000)
        #expect(o.minSize == 576 && o.maxSize == 1500 && o.seed == 7)
        #expect(a.kind == nil && a.destinationPort == 443)
        let v6 = try a.tcpParameters(for: IPAddress("fd00:3::2")!, serverName: nil, localMTU: 9000, probe: ProbeArguments.parse([]))
        #expect(v6.minSize == 1280 && v6.maxSize == 9000)
        // UDP keeps its own default port.
        #expect(try MTUArguments.parse(["-P", "udp"]).kind == .udp(port: 33434))
        #expect(try MTUArguments.parse([]).kind == .icmpEcho && (try MTUArguments.parse([])).destinationPort == nil)
    }

    @Test func tcpOptions() throws {
        let a = try MTUArguments.parse(["-P", "tcp", "--port", "3390", "--service", "rdp", "--parallel", "3", "--direction", "down",
                                        "--min", "1200", "--max", "1480"])
        let probe = try ProbeArguments.parse(["-c", "4", "--timeout", "0.5"])
        let o = try a.tcpParameters(for: Self.server, serverName: nil, localMTU: 1500, probe: probe)
        #expect(o.port == 3390 && o.resolvedService == .rdp && o.parallel == 3 && o.directions == .down)
        #expect(o.minSize == 1200 && o.maxSize == 1480 && o.retries == 4 && o.timeoutMs == 500)
        #expect(try MTUArguments.parse(["-P", "tcp", "--port", "3389"]).tcpParameters(
            for: Self.server, serverName: nil, localMTU: 1500, probe: probe).resolvedService == .rdp)
        // profile's choice of port and service wins over the options.
        let chosen = try MTUArguments.parse([]).tcpParameters(for: Self.server, serverName: nil, localMTU: 1500, probe: probe, port: 80, service: .http)
        #expect(chosen.port == 80 && chosen.resolvedService == .http && chosen.minSize == 576)
    }

    @Test(arguments: [
        (["-P", "tcp", "--parallel", "0"], "--parallel must be between 1 and 64"),
        (["-P", "tcp", "--parallel", "65"], "--parallel must be between 1 and 64"),
        (["--direction", "down"], "apply to --protocol tcp"),
        (["-P", "udp", "--service", "tls"], "apply to --protocol tcp"),
        (["--parallel", "4"], "apply to --protocol tcp"),
        (["-P", "tcp", "--port", "0"], "--port must be between 1 and 65535"),
        (["-P", "tcp", "--direction", "sideways"], "sideways"),
        (["-P", "tcp", "--service", "smtp"], "smtp"),
    ])
    func badTCPOptions(_ args: [String], _ message: String) {
        do {
            _ = try MTUArguments.parse(args)
            Issue.record("\(args) was accepted")
        } catch {
            #expect(MTUArguments.message(for: error).contains(message), "\(MTUArguments.message(for: error))")
        }
    }

    @Test func tcpSizeRange() throws {
        let a = try MTUArguments.parse(["-P", "tcp", "--min", "100"])
        #expect(throws: PathProbeError.usage("--min 100 is outside 128-65535, the packet sizes TCP over IPv4 allows")) {
            _ = try a.tcpParameters(for: Self.server, serverName: nil, localMTU: 1500, probe: ProbeArguments.parse([]))
        }
        // A small egress MTU: the default minimum follows it down.
        let small = try MTUArguments.parse(["-P", "tcp"]).sizeRange(family: .ipv4, localMTU: 400)
        #expect(small.min == 400 && small.max == 400)
    }

    // MARK: the document

    func tcpResult(_ path: SimulatedTCPPath, _ change: (inout TCPPathMTUOptions) -> Void = { _ in }) -> TCPPathMTUResult {
        var options = TCPPathMTUOptions(destination: path.server, port: 443, maxSize: 1500)
        change(&options)
        let m = TCPPathMTUMeasurement(options: options)
        var runner = SimulatedTCPRunner(path: path)
        runner.run(m)
        return m.result
    }

    static let keys = ["address", "family", "protocol", "port", "service", "socket", "status", "path_mtu", "path_mtu_up", "path_mtu_down",
                       "path_mtu_up_at_least", "path_mtu_down_at_least", "mss", "black_hole", "black_hole_direction", "black_hole_hop",
                       "local_mtu", "interface", "max_probed", "rtt_ms", "hops", "ptb", "probes_sent", "connections", "duration_ms",
                       "notes", "error"]

    func fields(_ r: PathMTUResult) throws -> [(String, JSON)] {
        guard case let .object(f) = try JSONValueEncoder.encode(r) else { throw PathProbeError.usage("not an object") }
        return f
    }

    @Test func tcpDocumentHasBothDirections() throws {
        var path = SimulatedTCPPath()
        path.downMTU = 1400
        var r = PathMTUResult(tcp: tcpResult(path))
        r.target = "10.0.3.2"
        let f = try fields(r)
        #expect(f.map(\.0) == Self.keys)
        let v = Dictionary(uniqueKeysWithValues: f)
        #expect(v["protocol"] == .string("tcp") && v["port"] == .int(443) && v["service"] == .string("tls") && v["socket"] == .string("tcp"))
        #expect(v["status"] == .string("measured") && v["path_mtu"] == .int(1400) && v["mss"] == .int(1360))
        #expect(v["path_mtu_up"] == .int(1500) && v["path_mtu_down"] == .int(1400))
        #expect(v["path_mtu_up_at_least"] == .int(1500) && v["path_mtu_down_at_least"] == .int(1400))
        #expect(v["black_hole"] == .bool(true) && v["black_hole_direction"] == .string("down") && v["black_hole_hop"] == .null)
        #expect(v["max_probed"] == .int(1500) && v["hops"] == .array([]) && v["ptb"] == .array([]) && v["error"] == .null)
        guard case let .int(connections)? = v["connections"] else { Issue.record("connections"); return }
        #expect(connections > 9 && v["probes_sent"] == .int(connections))
        // Read back as written.
        let back = try Contract.decode(PathMTUResult.self, from: Contract.json(r))
        #expect(back.pathMTUDown == 1400 && back.pathMTUUp == 1500 && back.blackHoleDirection == .down && back.service == .tls)
        #expect(back.connections == connections && back.status == .measured && back.probeProtocol == .tcp)
    }

    @Test func tcpPacketTooBigsHaveNoSender() throws {
        var path = SimulatedTCPPath()
        path.upMTU = 1400
        path.up = .sendsPTB
        let r = PathMTUResult(tcp: tcpResult(path))
        #expect(r.pathMTUUp == 1400 && !r.blackHole && r.blackHoleDirection == nil)
        let ptb = try #require(r.allPacketTooBigs.first)
        #expect(ptb.from == nil && ptb.mtu == 1400)
        guard case let .array(entries)? = Dictionary(uniqueKeysWithValues: try fields(r))["ptb"], case let .object(e)? = entries.first else {
            Issue.record("ptb")
            return
        }
        #expect(e.map(\.0) == ["from", "mtu", "probe_size"] && e[0].1 == .null)
        let back = try Contract.decode(PathMTUResult.self, from: Contract.json(r))
        #expect(back.tcpPacketTooBigs == r.tcpPacketTooBigs && back.packetTooBigs.isEmpty)
    }

    @Test func smallFlightIsALowerBoundWithANote() {
        var path = SimulatedTCPPath()
        path.flightBytes = 1000
        let r = PathMTUResult(tcp: tcpResult(path))
        #expect(r.pathMTUDown == nil && r.pathMTUDownAtLeast != nil)
        #expect(r.notes.contains { $0.hasPrefix("down: at least") })
        #expect(r.pathMTUUp == 1500)
    }

    @Test func closedPortIsOneLine() throws {
        var path = SimulatedTCPPath()
        path.port = .closed
        var r = PathMTUResult(tcp: tcpResult(path))
        r.target = "rdgw.example.net"
        #expect(!r.reachable && r.status == .unreachable && r.service == nil && r.pathMTUUp == nil)
        let text = r.text()
        #expect(text.split(separator: "\n").count == 1)
        #expect(text.contains("port 443") && text.contains("closed"))
        #expect(Dictionary(uniqueKeysWithValues: try fields(r))["connections"] == .int(1))
    }

    @Test func textShowsBothDirections() {
        var path = SimulatedTCPPath()
        path.downMTU = 1400
        var r = PathMTUResult(tcp: tcpResult(path))
        r.target = "10.0.3.2"
        r.interface = "eth0"
        r.localMTU = 1500
        let text = r.text()
        #expect(text.contains("tcp port 443 (tls), via eth0 mtu 1500"))
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.contains("up (to the host)") && $0.contains("1500") })
        #expect(lines.contains { $0.contains("down (from the host)") && $0.contains("1400") && $0.contains("black hole") })
        #expect(text.contains("path MTU 1400 bytes (MSS 1360), black hole on the way down (from the host)"))
        #expect(text.contains("connections in"))
    }

    @Test func datagramDocumentsHaveTheKeysToo() throws {
        var r = PathMTUResult(address: Self.server, family: .ipv4)
        r.reachable = true
        r.pathMTU = 1400
        let v = try fields(r)
        #expect(v.map(\.0) == Self.keys)
        let d = Dictionary(uniqueKeysWithValues: v)
        #expect(d["path_mtu_up"] == .null && d["path_mtu_down"] == .null && d["black_hole_direction"] == .null)
        #expect(d["service"] == .null && d["connections"] == .null && d["notes"] == .array([]))
    }

    // MARK: profile's TCP step

    @Test func profileChoosesAServicePortOrAnyWhenNothingElseAnswers() {
        typealias P = (port: UInt16, state: TCPPortState)
        let ports: [P] = [(22, .open), (3389, .open), (443, .filtered)]
        #expect(ProfileTCPStep.choose(datagramReachable: true, tcp: ports)! == (3389, .rdp))
        #expect(ProfileTCPStep.choose(datagramReachable: false, tcp: ports)! == (3389, .rdp))
        let noService: [P] = [(22, .open), (443, .closed)]
        #expect(ProfileTCPStep.choose(datagramReachable: true, tcp: noService) == nil, "ICMP measured and no flight to ask for")
        #expect(ProfileTCPStep.choose(datagramReachable: false, tcp: noService)! == (22, .tls))
        #expect(ProfileTCPStep.choose(datagramReachable: false, tcp: [(443, .filtered)]) == nil)
    }

    @Test func profileKeepsTheTCPDocumentWhenItMeasured() {
        var icmp = PathMTUResult(address: Self.server, family: .ipv4)
        icmp.reachable = true
        icmp.pathMTU = 1500
        icmp.probesSent = 20
        icmp.hops = [.init(ttl: 1, address: IPAddress("10.0.1.2"), rttMs: 0.1, mtu: 1500, note: nil)]
        var path = SimulatedTCPPath()
        path.downMTU = 1400
        let tcp = PathMTUResult(tcp: tcpResult(path))
        let r = ProfileTCPStep.combine(icmp, tcp: tcp)
        #expect(r.probeProtocol == .tcp && r.pathMTU == 1400 && r.pathMTUDown == 1400 && r.blackHoleDirection == .down)
        #expect(r.hops.count == 1 && r.probesSent == 20 + (tcp.connections ?? 0))
        #expect(r.notes.last == "icmp: path MTU 1500")

        var silent = PathMTUResult(address: Self.server, family: .ipv4)
        silent.reachable = false
        silent.error = "no answer to 6 probes"
        let viaTCP = ProfileTCPStep.combine(silent, tcp: tcp)
        #expect(viaTCP.reachable && viaTCP.probeProtocol == .tcp && viaTCP.notes.last == "icmp: no answer (no answer to 6 probes): measured over TCP")

        var closed = SimulatedTCPPath()
        closed.port = .closed
        let kept = ProfileTCPStep.combine(icmp, tcp: PathMTUResult(tcp: tcpResult(closed)))
        #expect(kept.probeProtocol == .icmp && kept.pathMTU == 1500 && kept.notes.first?.hasPrefix("tcp port 443: connection refused") == true)
    }

    /// A measurement that finishes at its first wake-up (the ICMP search's stand-in).
    final class Quick: Measurement {
        var isFinished = false
        var woken = false
        func advance<S: ProbeScheduler>(_ s: inout S) {
            if woken { isFinished = true } else { woken = true; s.wake(at: s.now + 5_000_000) }
        }
        func handle<S: ProbeScheduler>(_ r: ProbeResult, _ s: inout S) {}
    }

    @Test func followUpStartsTheTCPStepWhenChosen() {
        var path = SimulatedTCPPath()
        path.downMTU = 1400
        let tcp = TCPPathMTUMeasurement(options: TCPPathMTUOptions(destination: path.server, port: 443, maxSize: 1500))
        var asked = 0
        var runner = SimulatedTCPRunner(path: path)
        let follow = FollowUpMeasurement(Quick()) {
            asked += 1
            // The other measurements (the port probes) finish a little later.
            return asked < 3 ? .wait : .start(tcp)
        }
        runner.run(follow)
        #expect(follow.isFinished && tcp.isFinished && asked == 3)
        #expect(tcp.result.pathMTUDown == 1400 && runner.openConnections == 0)

        let none = FollowUpMeasurement(Quick()) { .none }
        var idle = SimulatedTCPRunner(path: path)
        let ms = idle.run(none)
        #expect(none.isFinished && none.second == nil && ms < 10)
    }

    // MARK: the advisor

    @Test func advisorSizesFromTheSmallerDirection() {
        var f = ProfileFacts(family: .ipv4)
        f.pathMTU = 1400
        f.pathMTUUp = 1500
        f.pathMTUDown = 1400
        f.blackHole = true
        f.blackHoleDirection = .down
        f.egressInterface = "eth0"
        f.egressMTU = 1500
        let a = Advisor.advise(f)
        let mtu = a.recommendations.first { $0.id == "interface-mtu" }
        #expect(mtu?.value == "1400" && mtu?.reason.contains("on the way down") == true)
        #expect(a.recommendations.first { $0.id == "tcp-mss-clamp" }?.value == "1360")
        let bh = a.findings.first { $0.id == "pmtu-black-hole" }
        #expect(bh?.message.contains("on the way down (from the host)") == true)
        #expect(bh?.evidence[PathMTUResult.CodingKeys.pathMTUDown] == .int(1400))
        #expect(bh?.evidence[PathMTUResult.CodingKeys.blackHoleDirection] == .string("down"))
    }
}
