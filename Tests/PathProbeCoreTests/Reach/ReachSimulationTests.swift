import Testing
@testable import PathProbeCore

/// `pathprobe reach` and the responder measurement against simulated hosts, in virtual time.
@Suite struct ReachSimulationTests {
    static func host(_ family: AddressFamily) -> SimulatedHost {
        SimulatedHost(family == .ipv4 ? IPAddress("10.0.3.2")! : IPAddress("fd00:3::2")!)
    }

    func measure(_ host: SimulatedHost, tcp: [UInt16] = [], udp: [UInt16] = [],
                 configure: (inout ReachOptions) -> Void = { _ in }) -> (ReachResult, Double) {
        var options = ReachOptions(destination: host.address, tcpPorts: tcp, udpPorts: udp)
        configure(&options)
        let m = ReachMeasurement(options: options)
        var runner = HostRunner(host: host)
        let ms = runner.run(m)
        #expect(m.isFinished)
        return (m.result, ms)
    }

    @Test(arguments: [AddressFamily.ipv4, .ipv6])
    func tcpStates(_ family: AddressFamily) {
        var h = Self.host(family)
        let prohibited: (UInt8, UInt8) = family == .ipv4 ? (3, 13) : (1, 1)
        h.tcp = [443: .open(mss: 1200), 3389: .closed, 8443: .dropped, 22: .rejected(type: prohibited.0, code: prohibited.1)]
        let (r, _) = measure(h, tcp: [443, 3389, 8443, 22])
        #expect(r.tcp.map(\.state) == [.open, .closed, .filtered, .filtered])
        #expect(r.tcp[0].mss == 1200)
        #expect(r.tcp[0].mssSource == .synAck)
        #expect(r.tcp[0].rttMs == 1)
        #expect(r.tcp[2].icmp == nil && r.tcp[2].attempts == 2)
        #expect(r.tcp[3].icmp == ICMPReport(type: prohibited.0, code: prohibited.1, from: h.address))
        #expect(r.tcp[1].attempts == 1)
    }

    @Test func mssClampJudgement() {
        var r = ReachResult(address: IPAddress("10.0.3.2")!, family: .ipv4)
        for (port, mss) in [(1, 1200), (2, 1460), (3, 1360)] {
            var p = TCPPortResult(port: UInt16(port), state: .open, attempts: 1)
            p.mss = mss
            r.tcp.append(p)
        }
        r.judgeMSS(referenceMTU: 1500, source: .localMTU)
        #expect(r.tcp.map(\.mssClamped) == [true, false, true])
        r.judgeMSS(referenceMTU: 1400, source: .responder)
        #expect(r.tcp.map(\.mssClamped) == [true, false, false], "1360 is what a 1400 path gives without any clamp")
        r.judgeMSS(referenceMTU: nil, source: .localMTU)
        #expect(r.tcp.map(\.mssClamped) == [nil, nil, nil])
        var six = ReachResult(address: IPAddress("fd00:3::2")!, family: .ipv6)
        var p = TCPPortResult(port: 1, state: .open, attempts: 1)
        p.mss = 1440
        six.tcp = [p]
        six.judgeMSS(referenceMTU: 1500, source: .localMTU)
        #expect(six.tcp[0].mssClamped == false, "IPv6: MTU - 60")
    }

    @Test func fiveHundredFilteredPortsTakeOneTimeout() {
        var h = Self.host(.ipv4)
        let ports = (2000..<2500).map { UInt16($0) }
        for p in ports { h.tcp[p] = .dropped }
        let (r, ms) = measure(h, tcp: ports)
        #expect(r.tcp.count == 500 && r.tcp.allSatisfy { $0.state == .filtered && $0.attempts == 2 })
        #expect(ms <= 1000.5, "one timeout, not 500")
        #expect(r.probesSent == 1000)
    }

    @Test(arguments: [AddressFamily.ipv4, .ipv6])
    func udpStates(_ family: AddressFamily) {
        var h = Self.host(family)
        let prohibited: (UInt8, UInt8) = family == .ipv4 ? (3, 10) : (1, 1)
        let dnsQuery = UDPService.dns.payload(seed: 0x5eed)  // the measurement's seed for the first port
        h.udp = [53: .answers([dnsQuery[0], dnsQuery[1], 0x81, 0x80] + [UInt8](repeating: 0, count: 8)),
                 7: .echoes, 3391: .dropped, 500: .closed, 4500: .rejected(type: prohibited.0, code: prohibited.1)]
        let (r, ms) = measure(h, udp: [53, 7, 3391, 500, 4500])
        #expect(r.udp.map(\.state) == [.open, .open, .openFiltered, .closed, .filtered])
        #expect(r.udp.map(\.service) == [.dns, .pathprobe, .dtls, .ike, .ikeNATT])
        #expect(r.udp[0].recognized == true)
        #expect(r.udp[1].recognized == false, "an echo of our request is not pathprobe's responder")
        #expect(r.udp[2].recognized == nil && r.udp[2].attempts == 2 && !r.udp[2].uncertain)
        #expect(r.udp[3].icmp?.from == h.address)
        #expect(!r.icmpRateLimited)
        #expect(ms <= 3600, "silence costs the timeout, a wait for the ICMP budget, and one 1.5x retry")
    }

    /// Twenty closed ports behind Linux's ICMP rate limit (6 at once, then 1/s): every one must read
    /// closed, not open|filtered.
    @Test(arguments: [AddressFamily.ipv4, .ipv6])
    func rateLimitedPortUnreachablesAreNotSilence(_ family: AddressFamily) {
        var h = Self.host(family)
        h.icmpIntervalMs = family == .ipv4 ? 1000 : 250
        let ports = (9100..<9120).map { UInt16($0) }
        let (r, ms) = measure(h, udp: ports)
        #expect(r.udp.allSatisfy { $0.state == .closed }, "\(r.udp.filter { $0.state != .closed }.map(\.port))")
        #expect(r.icmpRateLimited)
        #expect(ms < (family == .ipv4 ? 20_000 : 6_000))
    }

    @Test func silenceWithoutBudgetIsUncertain() {
        var h = Self.host(.ipv4)
        let ports = (9100..<9110).map { UInt16($0) }
        for p in ports.suffix(5) { h.udp[p] = .dropped }
        // No extra tries: silence from a host that sends port unreachables cannot be trusted.
        let (r, _) = measure(h, udp: ports) { $0.udpAttempts = 1; $0.extraAttempts = 0 }
        #expect(r.udp.prefix(5).allSatisfy { $0.state == .closed && !$0.uncertain })
        #expect(r.udp.suffix(5).allSatisfy { $0.state == .openFiltered && $0.uncertain })
        // With retries under budget, the same silence is a trusted open|filtered.
        let (r2, _) = measure(h, udp: ports) { $0.udpAttempts = 1 }
        #expect(r2.udp.suffix(5).allSatisfy { $0.state == .openFiltered && !$0.uncertain })
    }

    /// Another scan just spent the target's ICMP budget: the first pass is mostly silent; the
    /// measurement must notice and pace its retries to the refill, not call the ports open|filtered.
    @Test func budgetSpentByAnEarlierScan() {
        var h = Self.host(.ipv4)
        h.icmpInitialTokens = 0
        let ports = (9100..<9120).map { UInt16($0) }
        let (r, _) = measure(h, udp: ports)
        #expect(r.udp.allSatisfy { $0.state == .closed }, "\(r.udp.filter { $0.state != .closed }.map(\.port))")
    }

    @Test func icmpBudgetModel() {
        var b = ICMPBudget(burst: 6, intervalMs: 1000)
        #expect(b.covers(inFlight: 5) && !b.covers(inFlight: 6))
        for _ in 0..<6 { b.charge(0) }
        #expect(!b.covers(inFlight: 0))
        #expect(b.nextCoverage(inFlight: 0, now: 0) == .fromMs(1000))
        b.refill(.fromMs(2500))
        #expect(b.covers(inFlight: 1) && !b.covers(inFlight: 2))
    }

    // MARK: responder

    func measureResponder(_ host: SimulatedHost, maxSize: Int = 1500) -> (ResponderReport, HostRunner, Double) {
        var options = ResponderOptions(destination: host.address, maxSize: maxSize)
        options.timeoutMs = 1000
        let m = ResponderMeasurement(options: options)
        var runner = HostRunner(host: host)
        let ms = runner.run(m)
        #expect(m.isFinished)
        return (m.report, runner, ms)
    }

    @Test(arguments: [AddressFamily.ipv4, .ipv6])
    func responderAcrossABlackHole(_ family: AddressFamily) {
        var h = Self.host(family)
        h.responder = .init(upMTU: 1400, downMTU: 1400, seenAddress: family == .ipv4 ? IPAddress("198.51.100.7")! : IPAddress("2001:db8::7")!)
        let (r, runner, ms) = measureResponder(h)
        #expect(r.reachable)
        #expect(r.pathMTUUp == 1400)
        #expect(r.pathMTUDown == 1400)
        #expect(!r.downLimitedByUp)
        #expect(r.fragmentsPass == true)
        #expect(r.seenAddress == h.responder!.seenAddress && r.seenPort == 61000)
        #expect(ms < 2000)
        #expect(runner.host.responderBytesOut <= runner.host.responderBytesIn)
    }

    @Test func responderAsymmetricPaths() {
        var h = Self.host(.ipv4)
        h.responder = .init(upMTU: 1500, downMTU: 1420, seenAddress: IPAddress("10.0.1.1")!)
        let (r, _, _) = measureResponder(h)
        #expect(r.pathMTUUp == 1500 && r.pathMTUDown == 1420)
    }

    @Test func responderWithFragmentsDropped() {
        var h = Self.host(.ipv4)
        // Up 1400, down 1500, no fragments: the down search cannot ask for more than 1400.
        h.responder = .init(upMTU: 1400, downMTU: 1500, fragmentsPass: false, seenAddress: IPAddress("10.0.1.1")!)
        let (r, runner, _) = measureResponder(h)
        #expect(r.fragmentsPass == false && r.fragmentsUp == false && r.fragmentsDown == nil)
        #expect(r.pathMTUUp == 1400)
        #expect(r.pathMTUDown == 1400 && r.downLimitedByUp)
        #expect(runner.host.responderBytesOut <= runner.host.responderBytesIn)
    }

    @Test func noResponder() {
        let h = Self.host(.ipv6)
        let (r, _, ms) = measureResponder(h)
        #expect(!r.reachable && r.pathMTUUp == nil && r.fragmentsPass == nil)
        #expect(r.probesSent == 3)
        #expect(ms <= 3001)
    }

    @Test func jsonShape() throws {
        var h = Self.host(.ipv4)
        h.tcp = [443: .open(mss: 1460)]
        h.udp = [3391: .dropped]
        var (r, _) = measure(h, tcp: [443], udp: [3391])
        r.target = "gw"
        r.judgeMSS(referenceMTU: 1500, source: .localMTU)
        let json = try JSON.parse(Contract.text(r, pretty: false))
        #expect(json["type"] == .string("reach") && json["schema_version"] == .int(2))
        #expect(json["target"] == .string("gw") && json["line"] == .null)
        #expect(json["mss_reference"] == .string("local_mtu"))
        #expect(json["family"] == .string("ipv4"))
        let t = try #require(json["tcp"]?.arrayValue?.first)
        #expect(t["port"] == .int(443) && t["state"] == .string("open") && t["mss"] == .int(1460) && t["mss_clamped"] == .bool(false))
        #expect(t["icmp"] == .null)
        let u = try #require(json["udp"]?.arrayValue?.first)
        #expect(u["state"] == .string("open|filtered") && u["service"] == .string("dtls") && u["rtt_ms"] == .null)
        #expect(json["responder"] == .null)
        let back = try Contract.decode(ReachResult.self, from: json)
        #expect(back.target == "gw" && back.tcp.first?.state == .open && back.udp.first?.state == .openFiltered)
        let text = r.text()
        #expect(text.contains("443  tcp    open"))
        #expect(text.contains("3391  udp    open|filtered"))
    }
}
