import Testing
@testable import PathProbeCore

@Suite struct ReachPortListTests {
    @Test func listsAndRanges() throws {
        #expect(try PortList.parse("443,3389") == [443, 3389])
        #expect(try PortList.parse("2000-2004") == [2000, 2001, 2002, 2003, 2004])
        #expect(try PortList.parse(" 53 , 500-501,53") == [53, 500, 501])
        #expect(try PortList.parse("1,65535") == [1, 65535])
        #expect(try PortList.parse("2000-2499").count == 500)
    }

    @Test func badInput() {
        #expect(throws: PortListError.outOfRange("0")) { try PortList.parse("0") }
        #expect(throws: PortListError.outOfRange("65536")) { try PortList.parse("443,65536") }
        #expect(throws: PortListError.outOfRange("0-10")) { try PortList.parse("0-10") }
        #expect(throws: PortListError.empty("--udp")) { try PortList.parse("", flag: "--udp") }
        #expect(throws: PortListError.empty("--tcp")) { try PortList.parse(" , ", flag: "--tcp") }
        #expect(throws: PortListError.malformed("80-")) { try PortList.parse("80-") }
        #expect(throws: PortListError.malformed("20-10")) { try PortList.parse("20-10") }
        #expect(throws: PortListError.malformed("http")) { try PortList.parse("http") }
        #expect(throws: PortListError.malformed("1-2-3")) { try PortList.parse("1-2-3") }
        #expect(throws: PortListError.malformed("443,,80")) { try PortList.parse("443,,80") }
        #expect(throws: PortListError.malformed("-5")) { try PortList.parse("-5") }
    }

    @Test func format() {
        #expect(PortList.format([443, 3389, 2000, 2001, 2002, 7, 8]) == "443,3389,2000-2002,7,8")
    }

    @Test func presets() {
        #expect(ReachPreset.rdp.tcp == [443, 3389])
        #expect(ReachPreset.rdp.udp == [3391, 3389])
        #expect(ReachPreset.ipsec.udp == [500, 4500])
        #expect(ReachPreset.wireguard.udp == [51820])
        #expect(ReachPreset.openvpn.udp == [1194])
        let merged = ReachPreset.combine(tcp: [3389, 22], udp: [500], presets: [.rdp, .ipsec])
        #expect(merged.tcp == [3389, 22, 443])
        #expect(merged.udp == [500, 3391, 3389, 4500])
    }

    @Test func serviceForPort() {
        #expect(UDPService.forPort(53) == .dns)
        #expect(UDPService.forPort(123) == .ntp)
        #expect(UDPService.forPort(500) == .ike)
        #expect(UDPService.forPort(4500) == .ikeNATT)
        #expect(UDPService.forPort(3478) == .stun)
        #expect(UDPService.forPort(1194) == .openvpn)
        #expect(UDPService.forPort(3391) == .dtls)
        #expect(UDPService.forPort(3389) == .dtls)
        #expect(UDPService.forPort(443) == .dtls)
        #expect(UDPService.forPort(ResponderWire.defaultPort) == .pathprobe)
        #expect(UDPService.forPort(51820) == .pathprobe)
        #expect(UDPService.forPort(53, responderPort: 53) == .pathprobe)
    }
}
