import Testing
@testable import PathProbeCore

/// Issue 13: `reach --tcp 1-65535 --rate 0` reported 25,207 closed ports as filtered: the answers
/// were lost on our side (a socket queue overrun by the first pass), not by the path. Retry passes
/// are paced, and slowed while they keep recovering answers; a silence that cannot be trusted is
/// `uncertain`. (HostRunner drops answers beyond `answersPerMs` arriving in one millisecond.)
@Suite struct ReachHardeningTests {
    let base = ReachSimulationTests()

    @Test func closedPortsLostByUsAreRecovered() {
        var h = ReachSimulationTests.host(.ipv4)
        h.answersPerMs = 50
        let ports = (1...20_000).map { UInt16($0) }
        for p in 1000...1999 { h.tcp[UInt16(p)] = .dropped }
        let (r, ms) = base.measure(h, tcp: ports)
        let states = Dictionary(grouping: r.tcp, by: \.state).mapValues(\.count)
        #expect(states[.closed] == 19_000, "\(states)")
        #expect(states[.filtered] == 1_000)
        #expect(r.tcp.filter { $0.state == .filtered }.allSatisfy { (1000...1999).contains($0.port) && !$0.uncertain },
                "the firewall's ports are filtered, and trusted: the last pass recovered nothing")
        #expect(ms < 10_000, "\(ms) ms")
    }

    @Test func answersStillLostAtTheSlowestPaceAreUncertain() {
        var h = ReachSimulationTests.host(.ipv4)
        h.answersPerMs = 1
        let ports = (1...5_000).map { UInt16($0) }
        let (r, _) = base.measure(h, tcp: ports) { $0.tcpExtraAttempts = 1 }
        let filtered = r.tcp.filter { $0.state == .filtered }
        #expect(!filtered.isEmpty, "at 1 answer per ms not every port can be recovered in 3 passes")
        #expect(filtered.allSatisfy { $0.uncertain }, "every port still silent is uncertain: none reads as a trusted filter")
        #expect(r.tcp.filter { $0.state == .closed }.count + filtered.count == 5_000)
    }

    @Test func aCleanScanCostsNothingMore() {
        var h = ReachSimulationTests.host(.ipv4)
        let ports = (2000..<2500).map { UInt16($0) }
        for p in ports { h.tcp[p] = .dropped }
        let (r, ms) = base.measure(h, tcp: ports)
        #expect(r.tcp.allSatisfy { $0.state == .filtered && !$0.uncertain && $0.attempts == 2 })
        #expect(ms <= 1100)
        #expect(r.probesSent == 1000)
    }

    @Test func uncertainIsInTheDocumentAndOldReportsReadAsCertain() throws {
        var p = TCPPortResult(port: 9, state: .filtered, attempts: 5)
        p.uncertain = true
        let json = try JSONValueEncoder.encode(p)
        #expect(json.serialized().contains(#""uncertain":true"#))
        let old = try JSON.parse(#"{"port":9,"state":"filtered","rtt_ms":null,"mss":null,"mss_source":null,"mss_clamped":null,"icmp":null,"error":null,"attempts":2}"#)
        let read = try JSONValueDecoder.decode(TCPPortResult.self, from: old)
        #expect(!read.uncertain && read.port == 9)
    }
}
