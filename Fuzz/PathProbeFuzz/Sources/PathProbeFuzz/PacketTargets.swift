import PathProbeCore

/// Targets for what arrives from the network: ICMP, TCP, UDP answers, the responder protocol, RDP.
enum PacketTargets {
    /// What a ping socket (ICMP header first) or a raw IPv4 socket (IP header first) hands back.
    static func icmpEcho(_ b: UnsafeRawBufferPointer) {
        keep(ICMPPacket.parseEcho(b, withIPv4Header: false))
        keep(ICMPPacket.parseEcho(b, withIPv4Header: true))
        for proto: UInt8 in [1, 6, 17] {  // ICMP, TCP, UDP
            keep(IPv4Header(b, protocol: proto, minimumPayload: 8))
        }
    }

    /// One error-queue entry: byte 0 the family (even: IPv4), 1 type, 2 code, 3-6 info (big-endian),
    /// then the quote: the start of our own probe as the ICMP error carried it back (an echo request
    /// for ICMP probes, the UDP payload for UDP probes, the SYN's TCP header for TCP probes).
    static func icmpError(_ b: UnsafeRawBufferPointer) {
        guard b.count >= 7 else { return }
        let family: AddressFamily = b[0] & 1 == 0 ? .ipv4 : .ipv6
        let info = UInt32(b[3]) << 24 | UInt32(b[4]) << 16 | UInt32(b[5]) << 8 | UInt32(b[6])
        let from = family == .ipv4 ? IPAddress(ipv4: 0x0a00_0101) : IPAddress(ipv6High: 0xfd00_0001_0000_0000, low: 1)
        keep(ICMPPacket.outcome(family: family, type: b[1], code: b[2], info: info, from: from))
        let quote = UnsafeRawBufferPointer(rebasing: b[7...])
        keep(ProbeHeader.token(in: quote))
        keep(ICMPPacket.parseEcho(quote, withIPv4Header: false))
        keep(TCPSegment.parse(quote))
    }

    static func tcpSegment(_ b: UnsafeRawBufferPointer) {
        if let segment = TCPSegment.parse(b) {
            keep(segment.isSynAck)
            if let mss = segment.mss { expect(mss >= 0 && mss <= 65535, "MSS out of range: \(mss)") }
        }
        keep(TCPSegment.parseIPv4(b))
    }

    /// A datagram reaching `pathprobe serve`, from an IPv4 and an IPv6 source, with the interface MTU
    /// unknown, small and large. A reply must never be larger than the request (the anti-abuse rule).
    static func responderRequest(_ b: UnsafeRawBufferPointer) {
        let payload = b.bytes
        if let request = ResponderWire.Request(decoding: payload) {
            let again = ResponderWire.Request(decoding: request.encode(length: payload.count))
            expect(again == request, "request does not survive encode/decode: \(request) -> \(String(describing: again))")
        }
        let sources = [IPAddress(ipv4: 0xc000_0201), IPAddress(ipv6High: 0x2001_0db8_0000_0000, low: 1)]
        for source in sources {
            for mtu in [0, 1280, 1500, 9000] {
                guard let d = ResponderWire.decide(payload, from: source, port: 40000, interfaceMTU: mtu) else { continue }
                expect(d.payloadLength <= payload.count, "decided reply larger than the request: \(d.payloadLength) bytes to \(payload.count)")
                let reply = d.reply.encode(length: d.payloadLength, ipSize: d.ipSize)
                // The engine's Responder.send checks this with a precondition.
                expect(reply.count == d.payloadLength, "reply size differs from the decision: \(reply.count) bytes encoded, \(d.payloadLength) decided")
                expect(reply.count <= payload.count, "reply larger than the request: \(reply.count) bytes to \(payload.count)")
                expect(ResponderWire.Reply(decoding: reply) == d.reply, "reply does not survive encode/decode: \(d.reply)")
                for status in [ResponderWire.Status.tooBigHere, .packetTooBig] {
                    let n = ResponderWire.notice(d, status: status, limit: 1400)
                    expect(n.payloadLength <= payload.count, "notice larger than the request: \(n.payloadLength) bytes to \(payload.count)")
                }
            }
        }
    }

    /// The responder's per-source rate limiter under a flood. Bytes 0-7: `serve --rate` as a Double
    /// (accepted as ServeCommand.validate accepts it today: whatever is not <= 0; tighten this
    /// together with that validation); byte 8: how many sources are tracked (1-16; serve uses 4096, the code is the
    /// same); then 2 bytes per datagram: the source (256 addresses, IPv4 and IPv6) and the time
    /// since the previous datagram (0-254 ms; 255: ten minutes).
    static func responderFlood(_ b: UnsafeRawBufferPointer) {
        guard b.count >= 9 else { return }
        let rate = Double(bitPattern: b.loadUnaligned(as: UInt64.self))
        guard OptionLimit.replyRate.allows(rate) else { return }  // ServeCommand.validate's check
        let capacity = 1 + Int(b[8] % 16)
        var limiter = SourceRateLimiter(rate: rate, burst: rate / 2, capacity: capacity)  // as serve sets it up
        let ceilingRate = Double(1 + Int(b[8] >> 4) * 100)
        var ceiling = ResponderCeiling(packetsPerSecond: ceilingRate, bytesPerSecond: 0)
        let start: Nanoseconds = 1_000_000_000
        var now = start
        var allowed = [IPAddress: Int]()
        var answered = 0
        var i = 9
        while i + 1 < b.count {
            let id = b[i]
            let source = id & 1 == 0 ? IPAddress(ipv4: 0xc633_6400 | UInt32(id)) : IPAddress(ipv6High: 0x2001_0db8_0000_0000, low: UInt64(id))
            now += b[i + 1] == 255 ? 600_000_000_000 : UInt64(b[i + 1]) * 1_000_000
            if limiter.allow(source, now: now) {
                allowed[source, default: 0] += 1
                // The anti-abuse promise: no source gets more than the burst plus `rate` replies a
                // second, plus one more burst each time a full table forgot a source (least recently
                // used first: a flood of other sources can make a source start over, once per
                // `capacity` other sources; the global ceiling bounds what that is worth).
                let bound = limiter.burst * Double(1 + limiter.evictions) + rate * Double(now - start) / 1e9 + 1
                expect(Double(allowed[source]!) <= bound,
                       "a source got more replies than burst + rate x time: \(allowed[source]!) > \(bound) at rate \(rate)")
                if ceiling.allow(size: 64, now: now) { answered += 1 }
                let ceilingBound = max(1, ceilingRate / 10) + ceilingRate * Double(now - start) / 1e9 + 1
                expect(Double(answered) <= ceilingBound, "more replies than the global ceiling: \(answered) > \(ceilingBound)")
            }
            expect(limiter.trackedSources <= capacity, "more sources tracked than the capacity: \(limiter.trackedSources) > \(capacity)")
            i += 2
        }
    }

    static func responderReply(_ b: UnsafeRawBufferPointer) {
        let bytes = b.bytes
        guard let reply = ResponderWire.Reply(decoding: bytes) else { return }
        let again = ResponderWire.Reply(decoding: reply.encode(length: bytes.count, ipSize: reply.receivedIPSize))
        expect(again == reply, "reply does not survive encode/decode: \(reply) -> \(String(describing: again))")
    }

    /// The same bytes as the answer to each service's probe. The probes are built from a fixed seed
    /// (the corpus' answers echo its identifiers), so the fuzzer can reach the identifier checks.
    static let udpRequests: [(UDPService, [UInt8])] = UDPService.allCases.map { ($0, $0.payload(seed: 1)) }

    static func udpAnswer(_ b: UnsafeRawBufferPointer) {
        let answer = b.bytes
        for (service, request) in udpRequests {
            keep(service.recognizes(answer: answer, to: request))
        }
    }

    /// What an RDP server answers to the X.224 Connection Request, as received so far.
    static func x224Confirm(_ b: UnsafeRawBufferPointer) {
        let bytes = b.bytes
        let result = X224.parseConfirm(bytes)
        if case let .confirm(_, length) = result {
            expect(length <= bytes.count, "confirm longer than the input: \(length) bytes of \(bytes.count)")
            // More bytes after the packet (TLS starting) change nothing.
            expect(X224.parseConfirm(bytes + [0x16, 0x03, 0x01]) == result, "trailing bytes change the confirm")
        }
    }
}
