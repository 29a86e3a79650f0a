import Testing
@testable import PathProbeCore

@Suite struct IPAddressTests {
    @Test(arguments: [
        ("192.0.2.1", "192.0.2.1"), ("0.0.0.0", "0.0.0.0"), ("255.255.255.255", "255.255.255.255"),
        ("2001:db8::1", "2001:db8::1"), ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("::", "::"), ("::1", "::1"), ("fe80::1%eth0", "fe80::1"), ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("::ffff:192.0.2.1", "::ffff:c000:201"), ("fd00:3::2", "fd00:3::2"),
    ])
    func parsesAndPrints(_ input: String, _ expected: String) {
        #expect(IPAddress(input)?.description == expected)
    }

    @Test(arguments: ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.-4", "01234.1.1.1", ":::", "1::2::3", "g::1",
                      "1:2:3:4:5:6:7:8:9", "12345::", "example.com", "1.2.3.4 "])
    func rejectsGarbage(_ input: String) {
        #expect(IPAddress(input) == nil)
    }

    @Test func bytesRoundTrip() {
        for text in ["10.0.3.2", "fd00:3::2", "2001:db8:ffff::abcd"] {
            let a = IPAddress(text)!
            #expect(IPAddress(bytes: a.bytes) == a)
        }
        #expect(IPAddress(bytes: [1, 2, 3]) == nil)
    }

    @Test func advancingAndOrdering() {
        #expect(IPAddress("10.0.0.255")!.advanced(by: 1).description == "10.0.1.0")
        #expect(IPAddress("::ffff:ffff:ffff:ffff")!.advanced(by: 1).description == "0:0:0:1::")
        #expect(IPAddress("10.0.0.1")! < IPAddress("::1")!)
        #expect(IPAddress("127.0.0.1")!.isLoopback && IPAddress("::1")!.isLoopback)
    }
}

@Suite struct JSONTests {
    @Test func keepsKeyOrderAndNulls() {
        let v: JSON = .object([("zeta", .int(1)), ("alpha", .null), ("mid", .string("x"))])
        #expect(v.serialized() == #"{"zeta":1,"alpha":null,"mid":"x"}"#)
    }

    @Test func roundTrips() throws {
        let v: JSON = .object([
            ("s", .string("tab\t\"quote\" \\ é 😀 \u{1}")), ("n", .int(-42)), ("d", .double(1.5)), ("b", .bool(true)),
            ("a", .array([.int(1), .null, .object([])])), ("o", .object([("k", .array([]))])),
        ])
        #expect(try JSON.parse(v.serialized()) == v)
        #expect(try JSON.parse(v.serialized(pretty: true)) == v)
    }

    @Test(arguments: ["", "{", "[1,]", "{\"a\" 1}", "tru", "\"unterminated", "[1] x", "{\"a\":1,}", "\"\u{1}\""])
    func rejectsMalformed(_ text: String) {
        #expect(throws: JSON.ParseError.self) { try JSON.parse(text) }
    }

    @Test func rejectsDeepNesting() {
        #expect(throws: JSON.ParseError.self) { try JSON.parse(String(repeating: "[", count: 1000)) }
    }

    @Test func parsesUnicodeEscapes() throws {
        #expect(try JSON.parse(#""\u00e9\ud83d\ude00""#) == .string("é😀"))
        #expect(try JSON.parse("1e3").doubleValue == 1000)
    }
}

@Suite struct PacketTests {
    @Test func probeHeaderRoundTrip() {
        var buffer = [UInt8](repeating: 0, count: 16)
        buffer.withUnsafeMutableBytes { ProbeHeader.write(token: 0xDEAD_BEEF, size: 1400, ttl: 3, to: $0.baseAddress!) }
        #expect(buffer[0..<12] == [0x50, 0x50, 0x52, 0x42, 0xDE, 0xAD, 0xBE, 0xEF, 0x05, 0x78, 3, 0])
        #expect(buffer.withUnsafeBytes { ProbeHeader.token(in: $0) } == 0xDEAD_BEEF)
        buffer[0] = 0
        #expect(buffer.withUnsafeBytes { ProbeHeader.token(in: $0) } == nil)
        #expect([UInt8]([0x50, 0x50, 0x52]).withUnsafeBytes { ProbeHeader.token(in: $0) } == nil)
    }

    @Test func checksumOfAKnownEchoRequest() {
        // ICMP echo request, id 0x1234, seq 1, payload "abcd".
        var packet: [UInt8] = [8, 0, 0, 0, 0x12, 0x34, 0x00, 0x01, 0x61, 0x62, 0x63, 0x64]
        let sum = packet.withUnsafeBytes { InternetChecksum.compute($0) }
        packet[2] = UInt8(sum >> 8)
        packet[3] = UInt8(sum & 0xff)
        // A correct checksum makes the whole packet sum to zero.
        #expect(packet.withUnsafeBytes { InternetChecksum.compute($0) } == 0)
        #expect([UInt8]([0x00, 0x01, 0xf2]).withUnsafeBytes { InternetChecksum.compute($0) } == ~UInt16(0x0001 + 0xf200))
    }

    /// A raw IPv4 socket's view of an echo reply from 10.0.3.2 with TTL 62.
    @Test func parsesRawIPv4EchoReply() {
        var bytes: [UInt8] = [0x45, 0, 0, 40, 0, 0, 0x40, 0, 62, 1, 0, 0, 10, 0, 3, 2, 10, 0, 1, 1]
        bytes += [0, 0, 0, 0, 0xAB, 0xCD, 0x00, 0x07]
        bytes += [0x50, 0x50, 0x52, 0x42, 0, 0x01, 0, 0x07, 0, 0, 0, 0]
        let echo = bytes.withUnsafeBytes { ICMPPacket.parseEcho($0, withIPv4Header: true) }
        #expect(echo == ICMPPacket.Echo(type: 0, identifier: 0xABCD, sequence: 7, token: 0x0001_0007, ipTTL: 62,
                                        ipSource: IPAddress("10.0.3.2")))
    }

    @Test func ignoresTruncatedAndHostilePackets() {
        let cases: [[UInt8]] = [
            [],
            [0x45, 0, 0, 20],                                                           // short IP header
            [0x46, 0, 0, 40, 0, 0, 0, 0, 64, 1, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0],  // IHL 24, nothing after options
            [0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0, 0, 0],  // UDP, not ICMP
            [0x65] + [UInt8](repeating: 0, count: 40),                                  // IP version 6 in a v4 socket
            [0x4F] + [UInt8](repeating: 0, count: 30),                                  // IHL 60 beyond the data
        ]
        for c in cases {
            #expect(c.withUnsafeBytes { ICMPPacket.parseEcho($0, withIPv4Header: true) } == nil)
        }
        #expect([UInt8]([129, 0, 0]).withUnsafeBytes { ICMPPacket.parseEcho($0, withIPv4Header: false) } == nil)
        // A ping socket's echo reply without a probe header: parsed, but no token to trust.
        let plain: [UInt8] = [129, 0, 0, 0, 0, 1, 0, 2, 1, 2, 3]
        #expect(plain.withUnsafeBytes { ICMPPacket.parseEcho($0, withIPv4Header: false) }?.token == nil)
    }

    @Test func mapsICMPErrorsToOutcomes() {
        let r = IPAddress("10.0.2.2")!
        #expect(ICMPPacket.outcome(family: .ipv4, type: 11, code: 0, info: 0, from: r) == .timeExceeded(from: r))
        #expect(ICMPPacket.outcome(family: .ipv4, type: 3, code: 4, info: 1400, from: r) == .packetTooBig(mtu: 1400, from: r))
        #expect(ICMPPacket.outcome(family: .ipv4, type: 3, code: 3, info: 0, from: r) == .unreachable(type: 3, code: 3, from: r))
        let r6 = IPAddress("fd00:2::2")!
        #expect(ICMPPacket.outcome(family: .ipv6, type: 2, code: 0, info: 1280, from: r6) == .packetTooBig(mtu: 1280, from: r6))
        #expect(ICMPPacket.outcome(family: .ipv6, type: 3, code: 0, info: 0, from: r6) == .timeExceeded(from: r6))
        #expect(ICMPPacket.outcome(family: .ipv6, type: 1, code: 4, info: 0, from: r6) == .unreachable(type: 1, code: 4, from: r6))
    }
}

@Suite struct SizeSearchTests {
    @Test func spreadsOverTheRangeWithTheTopFirst() {
        let s = SizeSearch(minSize: 68, maxSize: 1500, knownGood: 68)
        let sizes = s.nextSizes(count: 4)
        #expect(sizes.count == 4)
        #expect(sizes.last == 1500)
        #expect(sizes.allSatisfy { $0 > 68 && $0 <= 1500 })
    }

    @Test func silenceNeedsConfirmations() {
        var s = SizeSearch(minSize: 68, maxSize: 1500, knownGood: 1400, confirmations: 3)
        s.record(size: 1401, .silent)
        s.record(size: 1401, .silent)
        #expect(!s.isDone)
        #expect(s.nextSizes(count: 8) == [1401])
        s.record(size: 1401, .silent)
        #expect(s.isDone && s.pathMTU == 1400 && s.failureWasSilent)
    }

    @Test func aLostProbeDoesNotStick() {
        var s = SizeSearch(minSize: 68, maxSize: 1500, knownGood: 68)
        s.record(size: 1000, .silent)  // lost, although 1000 fits
        s.record(size: 1000, .passed)
        #expect(s.suspicions.isEmpty)
        #expect(s.largestPassed == 1000)
    }

    /// A silence later disproven is loss: with `moreConfirmationsOnLoss`, each one asks one more
    /// silence of a failure (at most 4 more).
    @Test func lossSeenAsksForMoreConfirmations() {
        var s = SizeSearch(minSize: 68, maxSize: 1500, knownGood: 1300, confirmations: 3)
        s.moreConfirmationsOnLoss = true
        s.record(size: 1350, .silent)
        s.record(size: 1350, .passed)  // it was loss
        s.noteLoss()                    // and a lost control
        #expect(s.lossesSeen == 2 && s.requiredConfirmations == 5)
        for _ in 0..<4 { s.record(size: 1401, .silent) }
        #expect(!s.isDone)
        s.record(size: 1400, .passed)
        #expect(s.nextSizes(count: 4) == [1401])
        s.record(size: 1401, .silent)
        #expect(s.isDone && s.pathMTU == 1400)
        for _ in 0..<10 { s.noteLoss() }
        #expect(s.requiredConfirmations == 7)
        var fixed = SizeSearch(minSize: 68, maxSize: 1500, knownGood: 1300, confirmations: 3)
        fixed.noteLoss()
        #expect(fixed.requiredConfirmations == 3)
    }

    /// Lean (bulk) black hole: the top alone, then the common sizes below it with the smallest size
    /// left where no rung is (IPv6), then the byte above the rung that passed, confirmations at once.
    @Test func ladderRounds() {
        var s = SizeSearch(minSize: 68, maxSize: 1500, knownGood: 68)
        s.ladder = SizeSearch.commonPathMTUs
        #expect(s.nextSizes(count: 4, lean: true) == [1500])
        s.record(size: 1500, .silent)
        #expect(s.nextSizes(count: 4, lean: true) == SizeSearch.commonPathMTUs.sorted())
        for size in SizeSearch.commonPathMTUs { s.record(size: size, size <= 1400 ? .passed : .silent) }
        #expect(s.nextSizes(count: 4, lean: true) == [1401, 1401, 1401])
        var v6 = SizeSearch(minSize: 1280, maxSize: 1500, knownGood: 1280)
        v6.ladder = SizeSearch.commonPathMTUs
        v6.record(size: 1500, .silent)
        #expect(v6.nextSizes(count: 4, lean: true) == [1281] + SizeSearch.commonPathMTUs.filter { $0 > 1280 }.sorted())
        // A packet-too-big says where to look: no ladder.
        var ptb = SizeSearch(minSize: 68, maxSize: 1500, knownGood: 68)
        ptb.ladder = SizeSearch.commonPathMTUs
        ptb.record(size: 1500, .tooBig(mtu: 1450))
        #expect(ptb.nextSizes(count: 4, lean: true) == [1450, 1451])
    }

    @Test func packetTooBigIsCertainAndItsMTUAHint() {
        var s = SizeSearch(minSize: 68, maxSize: 1500, knownGood: 68)
        s.record(size: 1500, .tooBig(mtu: 1492))
        #expect(s.smallestFailed == 1500 && !s.failureWasSilent)
        #expect(s.nextSizes(count: 2) == [1492, 1493])
        s.record(size: 1493, .tooBig(mtu: 1492))
        s.record(size: 1492, .passed)
        #expect(s.isDone && s.pathMTU == 1492)
    }

    @Test func zeroMTUFallsBackToPlateauHints() {
        var s = SizeSearch(minSize: 68, maxSize: 1500, knownGood: 68)
        s.record(size: 1500, .tooBig(mtu: 0))
        #expect(s.hints == [1492])
        #expect(SizeSearch.plateauBelow(1006) == 508)
    }

    @Test func aPassAboveACertaintyReopensTheSearch() {
        var s = SizeSearch(minSize: 68, maxSize: 1500, knownGood: 68, confirmations: 1)
        s.record(size: 1300, .tooBig(mtu: 1280))  // a lie
        s.record(size: 1400, .passed)
        #expect(!s.isDone)
        #expect(s.smallestFailed == 1501)
    }
}
