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
            if let mss = segment.mss { expect(mss >= 0 && mss <= 65535, "MSS \(mss) out of range") }
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
                expect(d.payloadLength <= payload.count, "reply of \(d.payloadLength) bytes to a request of \(payload.count)")
                let reply = d.reply.encode(length: d.payloadLength, ipSize: d.ipSize)
                expect(reply.count <= payload.count, "encoded reply of \(reply.count) bytes to a request of \(payload.count)")
                expect(ResponderWire.Reply(decoding: reply) == d.reply, "reply does not survive encode/decode: \(d.reply)")
                for status in [ResponderWire.Status.tooBigHere, .packetTooBig] {
                    let n = ResponderWire.notice(d, status: status, limit: 1400)
                    expect(n.payloadLength <= payload.count, "notice of \(n.payloadLength) bytes to a request of \(payload.count)")
                }
            }
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
            expect(length <= bytes.count, "confirm of \(length) bytes from \(bytes.count) received")
            // More bytes after the packet (TLS starting) change nothing.
            expect(X224.parseConfirm(bytes + [0x16, 0x03, 0x01]) == result, "trailing bytes change the confirm")
        }
    }
}
