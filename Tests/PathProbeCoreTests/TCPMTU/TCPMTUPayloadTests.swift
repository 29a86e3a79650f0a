import Foundation
import Testing
@testable import PathProbeCore

/// The probe payloads: exact sizes, well-formed structure (a ClientHello parsed back field by field).
@Suite struct TCPMTUPayloadTests {
    /// A ClientHello parsed back: record and handshake lengths must agree, extensions must tile the rest.
    struct ParsedHello {
        var recordLength = 0
        var handshakeLength = 0
        var sessionID: [UInt8] = []
        var suites: [UInt16] = []
        var extensions: [(type: UInt16, data: [UInt8])] = []

        init?(_ b: [UInt8]) {
            guard b.count >= 9, b[0] == 0x16, b[1] == 0x03, b[2] == 0x01, b[5] == 0x01 else { return nil }
            recordLength = Int(b[3]) << 8 | Int(b[4])
            handshakeLength = Int(b[6]) << 16 | Int(b[7]) << 8 | Int(b[8])
            guard recordLength == b.count - 5, handshakeLength == b.count - 9 else { return nil }
            var i = 9
            guard b[i] == 0x03, b[i + 1] == 0x03 else { return nil }
            i += 2 + 32
            let sid = Int(b[i]); sessionID = Array(b[(i + 1)..<(i + 1 + sid)]); i += 1 + sid
            let sl = Int(b[i]) << 8 | Int(b[i + 1]); i += 2
            for j in stride(from: i, to: i + sl, by: 2) { suites.append(UInt16(b[j]) << 8 | UInt16(b[j + 1])) }
            i += sl
            guard b[i] == 1, b[i + 1] == 0 else { return nil }
            i += 2
            let el = Int(b[i]) << 8 | Int(b[i + 1]); i += 2
            guard i + el == b.count else { return nil }
            while i < b.count {
                let t = UInt16(b[i]) << 8 | UInt16(b[i + 1])
                let l = Int(b[i + 2]) << 8 | Int(b[i + 3])
                guard i + 4 + l <= b.count else { return nil }
                extensions.append((t, Array(b[(i + 4)..<(i + 4 + l)])))
                i += 4 + l
            }
        }

        func ext(_ t: UInt16) -> [UInt8]? { extensions.first(where: { $0.type == t })?.data }
    }

    @Test(arguments: [0, 300, 517, 1448, 1449, 1428, 8948, 20000])
    func clientHelloHasTheExactLength(_ length: Int) throws {
        var rng = SplitMix64(seed: 7)
        let minimum = TLSClientHello.minimumLength(serverName: "server.lab")
        let hello = TLSClientHello.build(serverName: "server.lab", length: length, random: &rng)
        #expect(hello.count == min(max(length, minimum), TLSClientHello.maximumLength))
        let parsed = try #require(ParsedHello(hello))
        #expect(parsed.sessionID.count == 32)
        #expect(parsed.suites.contains(0x1301) && parsed.suites.contains(0xC02F))
        #expect(parsed.extensions.last?.type == 0x0015, "padding goes last")
        #expect(parsed.ext(0x0015)!.allSatisfy { $0 == 0 })
        // SNI: list length, type host_name, name length, name.
        let sni = try #require(parsed.ext(0x0000))
        #expect(Array(sni.dropFirst(5)) == Array("server.lab".utf8))
        #expect(parsed.ext(0x002B) == [0x04, 0x03, 0x04, 0x03, 0x03])
        // key_share: x25519 (32 bytes) and secp256r1 (65 bytes, uncompressed point).
        let shares = try #require(parsed.ext(0x0033))
        #expect(Int(shares[0]) << 8 | Int(shares[1]) == shares.count - 2)
        #expect(Array(shares[2..<6]) == [0x00, 0x1D, 0x00, 0x20])
        #expect(Array(shares[38..<42]) == [0x00, 0x17, 0x00, 0x41])
        #expect(shares[42] == 0x04)
        #expect(parsed.ext(0x000A) != nil && parsed.ext(0x000D) != nil)
        #expect(TLSClientHello.classify(hello) == .notTLS, "a ClientHello is not a server's answer")
    }

    @Test func everyLengthFromTheMinimumUpIsReachable() {
        var rng = SplitMix64(seed: 1)
        let minimum = TLSClientHello.minimumLength(serverName: nil)
        for length in minimum..<(minimum + 600) {
            let hello = TLSClientHello.build(serverName: nil, length: length, random: &rng)
            #expect(hello.count == length)
            #expect(ParsedHello(hello) != nil)
        }
    }

    @Test func noSNIForAddresses() throws {
        var rng = SplitMix64(seed: 1)
        for name in ["10.0.3.2", "fd00:3::2"] {
            let parsed = try #require(ParsedHello(TLSClientHello.build(serverName: name, length: 600, random: &rng)))
            #expect(parsed.ext(0x0000) == nil)
        }
    }

    @Test func randomsDifferPerHello() {
        var rng = SplitMix64(seed: 3)
        let a = TLSClientHello.build(serverName: "x", length: 512, random: &rng)
        let b = TLSClientHello.build(serverName: "x", length: 512, random: &rng)
        #expect(a.count == b.count && a != b)
    }

    @Test func serverAnswersAreClassified() {
        #expect(TLSClientHello.classify([0x16, 0x03, 0x03, 0x00, 0x58, 0x02, 0x00]) == .serverHello)
        #expect(TLSClientHello.classify([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]) == .alert(level: 2, description: 40))
        #expect(TLSClientHello.classify([0x16, 0x03]) == .needMore)
        #expect(TLSClientHello.classify(Array("HTTP/1.1 400".utf8)) == .notTLS)
    }

    @Test(arguments: ["server.lab", "10.0.3.2", "fd00:3::2"])
    func httpRequestHasTheExactLength(_ host: String) {
        let minimum = HTTPProbeRequest.minimumLength(host: host)
        for length in [0, minimum, minimum + 1, 1448, 8948] {
            let request = HTTPProbeRequest.build(host: host, length: length)
            #expect(request.count == max(length, minimum))
            let text = String(decoding: request, as: UTF8.self)
            #expect(text.hasPrefix("GET / HTTP/1.1\r\nHost: "))
            #expect(text.hasSuffix("\r\n\r\n"))
            #expect(text.components(separatedBy: "\r\n\r\n").count == 2, "one header block")
        }
        #expect(String(decoding: HTTPProbeRequest.build(host: "fd00:3::2", length: 0), as: UTF8.self).contains("Host: [fd00:3::2]\r\n"))
        #expect(HTTPProbeRequest.isResponse(Array("HTTP/1.0 200 OK\r\n".utf8)))
    }

    @Test func responderWireRoundTrips() throws {
        let flight = StreamResponderWire.Request(op: .flight, value: 16384)
        let encoded = flight.encode()
        #expect(encoded.count == StreamResponderWire.requestHeader)
        #expect(StreamResponderWire.Request(header: encoded) == flight)
        let segment = StreamResponderWire.Request(op: .segment, length: 1448)
        #expect(segment.encode().count == 1448)
        #expect(StreamResponderWire.Request(header: segment.encode()) == segment)
        var bad = encoded
        bad[6] = 1
        #expect(StreamResponderWire.Request(header: bad) == nil)
        #expect(StreamResponderWire.Request(header: Array(encoded.prefix(10))) == nil)

        let answer = StreamResponderWire.answer(to: flight, largestSegment: 1448)
        #expect(answer.status == .ok && answer.dataLength == 16384)
        let bytes = answer.encode()
        #expect(bytes.count == StreamResponderWire.answerHeader + 16384)
        #expect(StreamResponderWire.Answer(header: bytes) == answer)
        let tooMuch = StreamResponderWire.answer(to: .init(op: .flight, value: 1 << 20), largestSegment: 0)
        #expect(tooMuch.status == .refused && tooMuch.dataLength == 0)
        let seen = StreamResponderWire.answer(to: segment, largestSegment: 1436)
        #expect(seen.received == 1448 && seen.largestSegment == 1436 && seen.dataLength == 0)
    }

    @Test func segmentArithmetic() {
        let v4 = SegmentMath(family: .ipv4, timestamps: true)
        #expect(v4.mss(forPacket: 1500) == 1460)
        #expect(v4.payload(forPacket: 1500) == 1448)
        #expect(v4.packet(forPayload: 1348) == 1400)
        let v6 = SegmentMath(family: .ipv6, timestamps: false)
        #expect(v6.mss(forPacket: 1500) == 1440)
        #expect(v6.payload(forPacket: 1280) == 1220)
        #expect(SegmentMath(family: .ipv6, timestamps: true).packet(forPayload: 1208) == 1280)
    }

    @Test func servicesByPort() {
        #expect(TCPService.forPort(443) == .tls)
        #expect(TCPService.forPort(3389) == .rdp)
        #expect(TCPService.forPort(80) == .http)
        #expect(TCPService.forPort(ResponderWire.defaultPort) == .pathprobe)
        #expect(TCPService.forPort(8443) == .tls)
    }

    /// `PATHPROBE_DUMP_HELLO=FILE swift test --filter dumpClientHello` writes a 1448-byte ClientHello
    /// (for trying it against real servers in the lab).
    @Test func dumpClientHello() throws {
        let env = ProcessInfo.processInfo.environment
        guard let path = env["PATHPROBE_DUMP_HELLO"] else { return }
        var rng = SplitMix64(seed: 42)
        let length = Int(env["PATHPROBE_DUMP_LENGTH"] ?? "") ?? 1448
        let hello = TLSClientHello.build(serverName: env["PATHPROBE_DUMP_NAME"] ?? "server.lab", length: length, random: &rng)
        try Data(hello).write(to: URL(fileURLWithPath: path))
    }
}
