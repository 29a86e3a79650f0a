import Testing
@testable import PathProbeCore

/// Service payloads against golden bytes (decoded cleanly by Wireshark's DNS, NTP, ISAKMP, STUN,
/// OpenVPN and DTLS dissectors when they were frozen), and answer recognition on hand-built replies.
@Suite struct ReachUDPServicesTests {
    @Test func dnsQueryForTheRootNS() {
        #expect(hex(UDPService.dns.payload(seed: 1)) == "0001" + "0100" + "0001000000000000" + "00" + "0002" + "0001")
        let query = UDPService.dns.payload(seed: 0x1234)
        #expect(query.prefix(2) == [0x12, 0x34])
        // A REFUSED answer with our id is still DNS.
        #expect(UDPService.dns.recognizes(answer: bytes("1234 8105 0001 0000 0000 0000 00 0002 0001"), to: query))
        #expect(!UDPService.dns.recognizes(answer: bytes("1235 8105 0001 0000 0000 0000"), to: query))
        #expect(!UDPService.dns.recognizes(answer: bytes("1234 0100 0001 0000 0000 0000"), to: query), "a query is not an answer")
        #expect(!UDPService.dns.recognizes(answer: [0x12, 0x34, 0x81], to: query))
    }

    @Test func ntpClientRequest() {
        let p = UDPService.ntp.payload(seed: 1)
        #expect(p.count == 48)
        #expect(hex(p) == "23" + String(repeating: "00", count: 39) + "910a2dec89025cc1")
        var answer = [UInt8](repeating: 0, count: 48)
        answer[0] = 0x24  // version 4, mode 4 (server)
        answer.replaceSubrange(24..<32, with: p[40..<48])
        #expect(UDPService.ntp.recognizes(answer: answer, to: p))
        answer[0] = 0x23
        #expect(!UDPService.ntp.recognizes(answer: answer, to: p), "mode 3 is a client")
        answer[0] = 0x24
        answer[24] ^= 1
        #expect(!UDPService.ntp.recognizes(answer: answer, to: p), "origin timestamp must echo ours")
    }

    static let ikeGolden = "910a2dec89025cc1" + "0000000000000000" + "21202208" + "00000000" + "00000178"
        + "22000030" + "0000002c01010004" + "0300000c0100000c800e0080" + "0300000802000005" + "030000080300000c" + "000000080400000e"
        + "28000108000e0000"

    @Test func ikeSAInit() {
        let p = UDPService.ike.payload(seed: 1)
        #expect(p.count == 376)
        #expect(hex(Array(p.prefix(84))) == Self.ikeGolden)
        // Nonce payload: last, 36 bytes.
        #expect(hex(Array(p[340..<344])) == "00000024")
        let natt = UDPService.ikeNATT.payload(seed: 1)
        #expect(natt.prefix(4) == [0, 0, 0, 0])
        #expect(Array(natt.dropFirst(4)) == p)
    }

    @Test func ikeAnswers() {
        let p = UDPService.ike.payload(seed: 7)
        // NO_PROPOSAL_CHOSEN: our SPI, responder SPI 0, Notify, IKEv2, IKE_SA_INIT, response flag.
        let answer = Array(p[0..<8]) + [UInt8](repeating: 0, count: 8) + bytes("29 20 22 20 00000000 00000024 00000008 0000000e")
        #expect(UDPService.ike.recognizes(answer: answer, to: p))
        var request = answer
        request[19] = 0x08
        #expect(!UDPService.ike.recognizes(answer: request, to: p), "our own request (initiator, no response flag)")
        var other = answer
        other[0] ^= 0xff
        #expect(!UDPService.ike.recognizes(answer: other, to: p), "someone else's SPI")
        let natt = UDPService.ikeNATT.payload(seed: 7)
        #expect(UDPService.ikeNATT.recognizes(answer: [0, 0, 0, 0] + answer, to: natt))
        #expect(!UDPService.ikeNATT.recognizes(answer: answer, to: natt), "no non-ESP marker")
    }

    @Test func stunBinding() {
        let p = UDPService.stun.payload(seed: 1)
        #expect(hex(p) == "0001" + "0000" + "2112a442" + "910a2dec89025cc1beeb8da1")
        // Success response with an XOR-MAPPED-ADDRESS.
        let answer = bytes("0101 000c") + Array(p[4..<20]) + bytes("0020 0008 0001 a147 2b12a443")
        #expect(UDPService.stun.recognizes(answer: answer, to: p))
        #expect(UDPService.stun.recognizes(answer: bytes("0111 0000") + Array(p[4..<20]), to: p), "error response")
        var wrong = answer
        wrong[19] ^= 1
        #expect(!UDPService.stun.recognizes(answer: wrong, to: p))
        #expect(!UDPService.stun.recognizes(answer: p, to: p), "a request is not an answer")
    }

    @Test func openVPNHardReset() {
        let p = UDPService.openvpn.payload(seed: 1)
        #expect(hex(p) == "38" + "910a2dec89025cc1" + "00" + "00000000")
        // P_CONTROL_HARD_RESET_SERVER_V2: server session, one ack (id 0), our session, packet id 0.
        let answer = bytes("40 1122334455667788 01 00000000") + Array(p[1..<9]) + bytes("00000000")
        #expect(UDPService.openvpn.recognizes(answer: answer, to: p))
        var other = answer
        other[14] ^= 1
        #expect(!UDPService.openvpn.recognizes(answer: other, to: p), "acknowledges another session")
        #expect(!UDPService.openvpn.recognizes(answer: p, to: p), "our own opcode")
    }

    @Test func dtlsClientHello() {
        let p = UDPService.dtls.payload(seed: 1)
        #expect(p.count == 146)
        // Record: handshake, DTLS 1.2, epoch 0, sequence 0, 133 bytes; ClientHello of 121 bytes, unfragmented.
        #expect(hex(Array(p.prefix(27))) == "16fefd" + "0000" + "000000000000" + "0085" + "01000079" + "0000" + "000000" + "000079" + "fefd")
        #expect(hex(Array(p.suffix(5))) == "ff01000100")
        let verify = bytes("16 fefd 0000 000000000000 0017 03 00000b 0000 000000 00000b fefd 08 0102030405060708")
        #expect(UDPService.dtls.recognizes(answer: verify, to: p))
        #expect(UDPService.dtls.recognizes(answer: bytes("15 fefd 0000 000000000000 0002 0228"), to: p), "an alert")
        #expect(!UDPService.dtls.recognizes(answer: p, to: p), "a ClientHello is not an answer")
        #expect(!UDPService.dtls.recognizes(answer: bytes("16 0303 0000 000000000000 0002"), to: p), "TLS, not DTLS")
    }

    @Test func pathprobeRequest() {
        let p = UDPService.pathprobe.payload(seed: 1)
        #expect(p.count == ResponderWire.minimumRequest)
        #expect(hex(Array(p.prefix(20))) == "50505242" + "00000000" + "0040" + "00" + "01" + "01" + "01" + "0000" + "00000000")
        let reply = ResponderWire.Reply(token: 5, op: .echo, status: .ok, fragmented: nil, receivedPayload: 64, receivedIPSize: 92,
                                        responderMTU: 1500, seenAddress: IPAddress("10.0.1.1")!, seenPort: 4000)
        #expect(UDPService.pathprobe.recognizes(answer: reply.encode(length: 48, ipSize: 76), to: p))
        #expect(!UDPService.pathprobe.recognizes(answer: p, to: p), "an echo of our request is not the responder")
    }
}
