import Testing
@testable import PathProbeCore

/// RDP-UDP's SYN ([MS-RDPEUDP] 2.2.2.1, 2.2.2.5, 2.2.2.9, 3.1.5.1.1) and the padded DTLS ClientHello.
@Suite struct RDPUDPTests {
    @Test func synGolden() {
        let syn = RDPUDP.syn(initialSequence: 0x1234_5678)
        #expect(syn.count == 1232)
        #expect(hex(Array(syn.prefix(20))) ==
            "ffffffff" + "0040" + "1001"    // snSourceAck -1, window 64, SYN | SYNEX
            + "12345678" + "04d0" + "04d0"  // ISN, up and down MTU 1232
            + "0001" + "0002")              // RDPUDP_VERSION_INFO_VALID, version 2
        #expect(syn.dropFirst(20).allSatisfy { $0 == 0 })
        #expect(Array(RDPUDP.syn(initialSequence: 1, mtu: 9000)[12..<16]) == [0x04, 0xd0, 0x04, 0xd0])
        #expect(Array(RDPUDP.syn(initialSequence: 1, mtu: 1000)[12..<16]) == [0x04, 0x6c, 0x04, 0x6c])
    }

    @Test func synAck() {
        let syn = RDPUDP.syn(initialSequence: 0xCAFE_0001)
        var answer = bytes("cafe0001 0040 0005 99999999 0488 04b0")
        #expect(RDPUDP.isSynAck(answer, to: syn))
        let mtu = RDPUDP.negotiatedMTU(answer)
        #expect(mtu?.up == 0x488)
        #expect(mtu?.down == 0x4b0)
        answer[3] = 2
        #expect(!RDPUDP.isSynAck(answer, to: syn))
        #expect(!RDPUDP.isSynAck(bytes("cafe0001 0040 0001 99999999 0488 04b0"), to: syn))  // no ACK
        #expect(!RDPUDP.isSynAck([1, 2, 3], to: syn))
        #expect(RDPUDP.negotiatedMTU([0, 0])?.up == nil)
    }

    @Test func paddedDTLSHello() throws {
        let random = [UInt8](repeating: 7, count: 32)
        let plain = DTLSProbe.clientHello(random: random)
        let padded = try #require(RDPUDP.paddedDTLSClientHello(random: random))
        #expect(padded.count == 1232)
        #expect(Int(Bytes.read16(padded, 11)) == padded.count - 13)              // record length
        let handshakeLength = Int(padded[14]) << 16 | Int(padded[15]) << 8 | Int(padded[16])
        let fragmentLength = Int(padded[22]) << 16 | Int(padded[23]) << 8 | Int(padded[24])
        #expect(handshakeLength == padded.count - 25)
        #expect(fragmentLength == handshakeLength)
        // Everything before the grown lengths and the new extension is the plain ClientHello.
        #expect(Array(padded.prefix(11)) == Array(plain.prefix(11)))
        #expect(Array(padded[25..<(plain.count - 2 - extensionsLength(plain))]) == Array(plain[25..<(plain.count - 2 - extensionsLength(plain))]))
        // The padding extension closes the message: type 21, length, zeros.
        let tail = padded.count - (padded.count - plain.count)
        #expect(Array(padded[tail..<(tail + 2)]) == [0x00, 0x15])
        #expect(Int(Bytes.read16(padded, tail + 2)) == padded.count - plain.count - 4)
        #expect(padded[(tail + 4)...].allSatisfy { $0 == 0 })
        #expect(RDPUDP.paddedDTLSClientHello(random: random, size: plain.count + 3) == nil)
        #expect(RDPUDP.paddedDTLSClientHello(random: random, size: plain.count + 4)?.count == plain.count + 4)
    }

    /// The extensions block's length of a plain ClientHello: it ends the record.
    func extensionsLength(_ hello: [UInt8]) -> Int {
        // Walk back: the known extension set (groups, point formats, signature algorithms, EMS, renegotiation info).
        var at = 25 + 2 + 32
        at += 1 + Int(hello[at])
        at += 1 + Int(hello[at])
        at += 2 + Int(Bytes.read16(hello, at))
        at += 1 + Int(hello[at])
        return Int(Bytes.read16(hello, at))
    }
}
