import Testing
@testable import PathProbeCore

/// Every advisor rule on synthetic measurements: it speaks when the facts support it, with the exact
/// values, and stays silent otherwise. No sockets.
@Suite struct AdvisorTests {
    func facts(_ family: AddressFamily = .ipv4, pathMTU: Int? = 1500, egressMTU: Int? = 1500,
               blackHole: Bool = false) -> ProfileFacts {
        var f = ProfileFacts(family: family)
        f.pathMTU = pathMTU
        f.egressMTU = egressMTU
        f.egressInterface = "eth0"
        f.egressKind = "ether"
        f.blackHole = blackHole
        f.tcpMTUProbing = 0
        return f
    }

    func ids(_ a: Advisor.Advice) -> [String] { a.recommendations.map(\.id) }

    @Test func cleanPathGetsNoRecommendation() {
        var f = facts()
        f.tcp = [.init(port: 443, state: .open, mss: 1460), .init(port: 3389, state: .open, mss: 1460)]
        f.udp = [.init(port: 3391, state: .open), .init(port: 3389, state: .open)]
        f.service = .rdp
        let a = Advisor.advise(f)
        #expect(a.recommendations.isEmpty)
        #expect(a.findings.isEmpty)
    }

    @Test func ipv4BlackHoleAt1400() {
        var f = facts(pathMTU: 1400, blackHole: true)
        f.blackHoleHop = .init(ttl: 2, address: IPAddress("10.0.2.2")!)
        let a = Advisor.advise(f)
        #expect(ids(a) == ["interface-mtu", "tcp-mss-clamp", "tcp-mtu-probing"])
        #expect(a.recommendations[0].value == "1400")
        #expect(a.recommendations[1].value == "1360")
        #expect(a.recommendations[2].value == "1")
        #expect(a.recommendations[0].linux.first == "ip link set dev eth0 mtu 1400")
        #expect(a.recommendations[0].windows.first?.contains("netsh interface ipv4 set subinterface") == true)
        #expect(a.recommendations[1].linux.first == "iptables -t mangle -A FORWARD -o eth0 -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1360")
        #expect(a.recommendations[1].linux.contains { $0.contains("tcp option maxseg size set 1360") })
        #expect(a.recommendations[2].windows.first?.contains("EnablePMTUBHDetect") == true)
        let bh = a.findings.first { $0.id == "pmtu-black-hole" }
        #expect(bh?.severity == .critical)
        #expect(bh?.message.contains("after hop 2 (10.0.2.2)") == true)
    }

    @Test func ipv6BlackHoleAt1380() {
        let a = Advisor.advise(facts(.ipv6, pathMTU: 1380, blackHole: true))
        #expect(a.recommendations.first { $0.id == "interface-mtu" }?.value == "1380")
        #expect(a.recommendations.first { $0.id == "tcp-mss-clamp" }?.value == "1320")
        #expect(a.recommendations.first { $0.id == "tcp-mss-clamp" }?.linux.first?.hasPrefix("ip6tables") == true)
        #expect(a.recommendations.first { $0.id == "interface-mtu" }?.windows.first?.contains("ipv6") == true)
    }

    @Test func packetTooBigPathStillGetsMTUAndClampButNoProbing() {
        let a = Advisor.advise(facts(pathMTU: 1492))
        #expect(ids(a) == ["interface-mtu", "tcp-mss-clamp"])
        #expect(a.findings.map(\.id) == ["path-mtu-below-interface"])
        #expect(a.findings[0].severity == .warning)
    }

    @Test func tcpMTUProbingOnlyWhenOff() {
        var f = facts(pathMTU: 1400, blackHole: true)
        f.tcpMTUProbing = 1
        #expect(!ids(Advisor.advise(f)).contains("tcp-mtu-probing"))
    }

    @Test func wireguardInterfaceGetsWgQuickForm() {
        var f = facts(pathMTU: 1380, egressMTU: 1420, blackHole: true)
        f.egressInterface = "wg0"
        f.egressKind = "wireguard"
        let r = Advisor.advise(f).recommendations.first { $0.id == "interface-mtu" }
        #expect(r?.linux.contains { $0.contains("MTU = 1380") && $0.contains("/etc/wireguard/wg0.conf") } == true)
    }

    @Test func rdpWithBlockedUDPGetsTCPOnly() {
        var f = facts()
        f.service = .rdp
        f.udp = [.init(port: 3391, state: .openFiltered), .init(port: 3389, state: .closed)]
        let a = Advisor.advise(f)
        #expect(ids(a) == ["tcp-only"])
        let r = a.recommendations[0]
        #expect(r.value == "tcp")
        #expect(r.windows.contains { $0.contains("fClientDisableUDP") && $0.contains("/d 1") })
        #expect(r.windows.contains { $0.contains("SelectTransport") })
        #expect(a.findings.map(\.id) == ["udp-blocked"])
    }

    @Test func udpPortsTheServiceDoesNotNeedDoNotCount() {
        var f = facts()
        f.service = .rdp
        f.udp = [.init(port: 3391, state: .open), .init(port: 3389, state: .open), .init(port: 53, state: .closed)]
        #expect(Advisor.advise(f).recommendations.isEmpty)
    }

    @Test func fragmentsDroppedGetsTCPOnly() {
        var f = facts()
        f.service = .openvpn
        f.udp = [.init(port: 1194, state: .open)]
        f.fragmentsPass = false
        let a = Advisor.advise(f)
        #expect(ids(a) == ["tcp-only"])
        #expect(a.recommendations[0].linux.contains { $0.contains("proto tcp-client") })
        #expect(a.findings.map(\.id) == ["udp-fragments-dropped"])
    }

    @Test func clampedMSSIsReported() {
        var f = facts()
        f.tcp = [.init(port: 443, state: .open, mss: 1200)]
        let a = Advisor.advise(f)
        #expect(a.findings.map(\.id) == ["mss-clamped"])
        #expect(a.findings[0].severity == .info)
        #expect(a.recommendations.isEmpty)
    }

    @Test func cachedExceptionThatDisagrees() {
        var f = facts()
        f.cachedPMTU = 1300
        let a = Advisor.advise(f)
        #expect(a.findings.map(\.id) == ["cached-pmtu-mismatch"])
        #expect(a.recommendations.isEmpty)
        f.cachedPMTU = 1500
        #expect(Advisor.advise(f).findings.isEmpty)
    }

    @Test func offloadsOnATunnelAreInfoOnly() {
        var f = facts(pathMTU: 1420, egressMTU: 1420)
        f.egressInterface = "wg0"
        f.egressKind = "wireguard"
        f.activeOffloads = ["tx-generic-segmentation", "rx-gro", "tx-checksum-ip-generic"]
        let a = Advisor.advise(f)
        #expect(a.findings.map(\.id) == ["tunnel-offloads"])
        #expect(a.findings[0].severity == .info)
        #expect(a.recommendations.isEmpty)
        f.egressKind = "ether"
        #expect(Advisor.advise(f).findings.isEmpty)
    }

    @Test func nothingMeasuredNothingSaid() {
        var f = ProfileFacts(family: .ipv4)
        f.egressMTU = 1500
        let a = Advisor.advise(f)
        #expect(a.findings.isEmpty && a.recommendations.isEmpty)
    }

    @Test func findingsAreOrderedBySeverity() {
        var f = facts(pathMTU: 1400, blackHole: true)
        f.tcp = [.init(port: 443, state: .open, mss: 1200)]
        let severities = Advisor.advise(f).findings.map(\.severity)
        #expect(severities == severities.sorted(by: >))
    }

    /// Evidence is always an object, keyed by the names of the result fields it comes from.
    @Test func evidenceIsAnObjectOfResultFields() throws {
        var f = facts(pathMTU: 1400, blackHole: true)
        f.blackHoleHop = .init(ttl: 2, address: IPAddress("10.0.2.2")!)
        f.udp = [.init(port: 3391, state: .openFiltered)]
        f.service = .rdp
        let a = Advisor.advise(f)
        let bh = try #require(a.findings.first { $0.id == "pmtu-black-hole" })
        #expect(bh.evidence[PathMTUResult.CodingKeys.pathMTU] == .int(1400))
        #expect(bh.evidence[PathMTUResult.CodingKeys.blackHoleHop] == .object([("ttl", .int(2)), ("address", .string("10.0.2.2"))]))
        let udp = try #require(a.findings.first { $0.id == "udp-blocked" })
        #expect(try JSONValueEncoder.encode(udp.evidence).serialized() == #"{"udp":[{"port":3391,"state":"open|filtered"}]}"#)
        for finding in a.findings { #expect(try JSONValueEncoder.encode(finding.evidence).objectValue != nil, "\(finding.id)") }
    }
}
