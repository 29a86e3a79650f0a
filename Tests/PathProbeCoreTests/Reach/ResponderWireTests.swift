import Testing
@testable import PathProbeCore

@Suite struct ResponderWireTests {
    let client = IPAddress("10.0.1.1")!
    let client6 = IPAddress("fd00:1::1")!

    @Test func requestGoldenBytesAndRoundTrip() throws {
        let r = ResponderWire.Request(token: 0x1122_3344, op: .replyDF, replySize: 1400)
        let b = r.encode(length: 64)
        #expect(hex(Array(b.prefix(20))) == "50505242" + "11223344" + "0040" + "00" + "01" + "01" + "02" + "0578" + "00000000")
        #expect(b.count == 64 && b.dropFirst(20).allSatisfy { $0 == 0 })
        #expect(ResponderWire.Request(decoding: b) == r)
        #expect(r.encode(length: 10).count == ResponderWire.minimumRequest, "padded to the minimum")
    }

    @Test func replyRoundTrip() throws {
        for (address, fragmented) in [(client, Bool?.some(true)), (client6, nil), (client, false)] {
            let r = ResponderWire.Reply(token: 9, op: .replyFragmentable, status: .tooBigHere, fragmented: fragmented,
                                        receivedPayload: 2972, receivedIPSize: 3000, responderMTU: 1500,
                                        seenAddress: address, seenPort: 51000, limit: 1500)
            let b = r.encode(length: 100, ipSize: 128)
            #expect(b.count == 100)
            #expect(ResponderWire.Reply(decoding: b) == r)
            #expect(ResponderWire.Request(decoding: b) == nil, "a reply is not a request (no reflection loops)")
        }
    }

    @Test func malformedRequestsAreIgnored() {
        let good = ResponderWire.Request(op: .echo).encode(length: 64)
        #expect(ResponderWire.decide(good, from: client, port: 1, interfaceMTU: 1500) != nil)
        #expect(ResponderWire.decide(Array(good.prefix(63)), from: client, port: 1, interfaceMTU: 1500) == nil, "too short")
        for (offset, value) in [(0, UInt8(0x51)), (11, 0x02), (12, 2), (13, 9), (13, 0), (16, 1), (15, 1)] {
            var bad = good
            bad[offset] = value
            #expect(ResponderWire.decide(bad, from: client, port: 1, interfaceMTU: 1500) == nil, "byte \(offset) = \(value)")
        }
        #expect(ResponderWire.decide([UInt8](repeating: 0, count: 1000), from: client, port: 1, interfaceMTU: 1500) == nil)
    }

    @Test func echoReportsWhatWasSeen() throws {
        let request = ResponderWire.Request(token: 77, op: .echo).encode(length: 2972)
        let d = try #require(ResponderWire.decide(request, from: client, port: 40000, interfaceMTU: 1500))
        #expect(d.payloadLength == ResponderWire.replyHeader)
        #expect(d.dontFragment)
        #expect(d.reply.token == 77)
        #expect(d.reply.receivedIPSize == 3000)
        #expect(d.reply.fragmented == true, "3000 bytes cannot cross a 1500 interface whole")
        #expect(d.reply.seenAddress == client && d.reply.seenPort == 40000)
        let small = try #require(ResponderWire.decide(ResponderWire.Request(op: .echo).encode(length: 64), from: client, port: 1,
                                                       interfaceMTU: 1500))
        #expect(small.reply.fragmented == nil, "a small datagram may or may not have been fragmented on the way")
    }

    @Test func sizedRepliesNeverExceedTheRequest() throws {
        // IPv4: a 1400-byte reply asked for by a 1400-byte request.
        let ok = try #require(ResponderWire.decide(ResponderWire.Request(op: .replyDF, replySize: 1400).encode(length: 1372),
                                                   from: client, port: 1, interfaceMTU: 1500))
        #expect(ok.reply.status == .ok && ok.payloadLength == 1372 && ok.ipSize == 1400 && ok.dontFragment)
        // Asking for 1500 with 1400 bytes: refused, answered with the small header only.
        let big = try #require(ResponderWire.decide(ResponderWire.Request(op: .replyDF, replySize: 1500).encode(length: 1372),
                                                    from: client, port: 1, interfaceMTU: 1500))
        #expect(big.reply.status == .refused && big.payloadLength == ResponderWire.replyHeader)
        // IPv6 headers are 20 bytes larger on both sides.
        let six = try #require(ResponderWire.decide(ResponderWire.Request(op: .replyFragmentable, replySize: 3000).encode(length: 2952),
                                                    from: client6, port: 1, interfaceMTU: 1500))
        #expect(six.reply.status == .ok && six.payloadLength == 2952 && !six.dontFragment)
        let notice = ResponderWire.notice(ok, status: .tooBigHere, limit: 1280)
        #expect(notice.payloadLength == ResponderWire.replyHeader && notice.ipSize == 76 && notice.reply.limit == 1280)
    }

    /// The anti-abuse invariant, over many random (and hostile) requests: never more bytes out than in.
    @Test func neverMoreBytesOutThanIn() {
        var rng = SplitMix64(seed: 42)
        var answered = 0
        for _ in 0..<20_000 {
            let r = rng.next()
            let length = Int(r % 3000)
            let op = ResponderWire.Op(rawValue: UInt8(r >> 16 % 4)) ?? .replyDF
            var b = ResponderWire.Request(token: UInt32(truncatingIfNeeded: r), op: op,
                                          replySize: op == .echo ? 0 : Int(r >> 24 % 65536)).encode(length: length)
            if r >> 40 & 7 == 0 { b = rng.bytes(length) }  // noise
            if r >> 44 & 7 == 0, b.count > 14 { b[14] = 0xff; b[15] = 0xff }  // asks for 65535
            let from = r & 1 == 0 ? client : client6
            guard let d = ResponderWire.decide(b, from: from, port: 1, interfaceMTU: 1500) else { continue }
            answered += 1
            #expect(d.payloadLength <= b.count)
            #expect(d.reply.encode(length: d.payloadLength, ipSize: d.ipSize).count <= b.count)
            #expect(ResponderWire.notice(d, status: .tooBigHere, limit: 1500).payloadLength <= b.count)
        }
        #expect(answered > 1000)
    }
}
