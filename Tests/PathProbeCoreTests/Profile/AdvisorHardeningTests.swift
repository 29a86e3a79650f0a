import Testing
@testable import PathProbeCore

/// Issue 13's wrong advice: a closed UDP port answered (reachability, not a block); loopback and
/// the IP maximum (65535 against lo's 65536) are not findings.
@Suite struct AdvisorHardeningTests {
    let base = AdvisorTests()

    @Test func aClosedPortAnsweredItIsNoReasonForTCPOnly() {
        var f = base.facts()
        f.udp = [.init(port: 53, state: .closed)]
        let a = Advisor.advise(f)
        #expect(a.recommendations.isEmpty)
        #expect(a.findings.isEmpty)
        f.service = .rdp
        f.udp = [.init(port: 3391, state: .closed), .init(port: 3389, state: .closed)]
        #expect(Advisor.advise(f).recommendations.isEmpty)
        f.udp = [.init(port: 3391, state: .filtered), .init(port: 3389, state: .closed)]
        let blocked = Advisor.advise(f)
        #expect(base.ids(blocked) == ["tcp-only"])
        #expect(blocked.recommendations[0].reason.hasPrefix("UDP 3391 did not answer"))
    }

    @Test func loopbackIsNotAFinding() {
        var f = base.facts(pathMTU: 65535, egressMTU: 65536)
        f.egressInterface = "lo"
        f.egressKind = "loopback"
        let a = Advisor.advise(f)
        #expect(a.findings.isEmpty && a.recommendations.isEmpty)
        // Even a smaller loopback MTU measured smaller is the host, not a path.
        f.pathMTU = 1500
        f.egressMTU = 9000
        #expect(Advisor.advise(f).recommendations.isEmpty)
    }

    @Test func theIPMaximumIsNotAFinding() {
        for family in [AddressFamily.ipv4, .ipv6] {
            var f = base.facts(family, pathMTU: 65535, egressMTU: 65536)
            f.egressKind = "dummy"
            let a = Advisor.advise(f)
            #expect(a.findings.isEmpty && a.recommendations.isEmpty, "\(family)")
        }
        // A real difference on the same kind of link still is one.
        var f = base.facts(pathMTU: 9000, egressMTU: 65536)
        f.egressKind = "dummy"
        #expect(base.ids(Advisor.advise(f)) == ["interface-mtu", "tcp-mss-clamp"])
    }
}
