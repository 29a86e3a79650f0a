/// The wire protocol between `pathprobe reach --responder` and `pathprobe serve`, and the
/// responder's anti-abuse rules, as pure functions (the engine's `Responder` only does the I/O).
///
/// Every message is one UDP datagram that starts with pathprobe's 12-byte probe header (so the
/// client's engine matches answers and ICMP errors by token) followed by 8 bytes of its own; the
/// rest is zero padding. All integers are big-endian.
///
///     request  0 "PPRB" | 4 token | 8 size u16 | 10 ttl | 11 flags=0x01
///             12 version=1 | 13 op | 14 reply size u16 | 16 reserved u32 | 20.. zero padding
///     reply    0 "PPRB" | 4 token (the request's) | 8 size u16 | 10 0 | 11 flags=0x02
///             12 version=1 | 13 op | 14 status | 15 fragmented | 16 received payload u16
///             18 received IP size u16 | 20 responder MTU u16 | 22 seen port u16 | 24 seen family (4/6)
///             25 0 | 26 seen address (16 bytes, IPv4 in the first 4) | 42 limit u16 | 44 reserved u32
///             48.. zero padding
///
/// Ops: `echo` (answer with what was seen, a 48-byte reply), `replyDF` (send a reply of `reply size`
/// bytes, IP packet included, with DF set), `replyFragmentable` (the same without DF, so the
/// responder's stack fragments it).
///
/// Anti-abuse: requests shorter than 64 bytes or not well formed get nothing; a reply is never
/// larger (UDP payload) than the request that asked for it; each source address gets a token bucket
/// (`SourceRateLimiter`, ResponderLimits.swift). So `serve` can never send more bytes to an address than it received from it.
public enum ResponderWire {
    /// The default UDP and TCP port of `pathprobe serve` (33434, next door, is the mtu command's closed port).
    public static let defaultPort: UInt16 = 33433
    public static let version: UInt8 = 1
    public static let requestFlag: UInt8 = 0x01
    public static let replyFlag: UInt8 = 0x02
    public static let replyHeader = 48
    /// Shortest request answered: a reply header must fit in it.
    public static let minimumRequest = 64

    public enum Op: UInt8, Sendable {
        case echo = 1
        case replyDF = 2
        case replyFragmentable = 3
    }

    public enum Status: UInt8, Sendable {
        case ok = 0
        /// The requested reply does not fit the responder's own interface (`limit` is its MTU).
        case tooBigHere = 1
        /// The reply asked for was larger than the request (anti-abuse).
        case refused = 2
        /// A reply of this size drew an ICMP packet-too-big / frag-needed on its way back (`limit`).
        case packetTooBig = 3
    }

    public struct Request: Equatable, Sendable {
        public var token: UInt32 = 0
        public var op: Op
        /// Whole IP packet size wanted for the reply (replyDF, replyFragmentable); 0 for echo.
        public var replySize: Int = 0

        public init(token: UInt32 = 0, op: Op, replySize: Int = 0) {
            self.token = token
            self.op = op
            self.replySize = replySize
        }

        /// The request padded to `length` bytes of UDP payload (at least `minimumRequest`).
        public func encode(length: Int) -> [UInt8] {
            var b = [UInt8](repeating: 0, count: max(length, ResponderWire.minimumRequest))
            b.replaceSubrange(0..<4, with: ProbeHeader.magic)
            b.replaceSubrange(4..<8, with: Bytes.be32(token))
            b.replaceSubrange(8..<10, with: Bytes.be16(UInt16(clamping: b.count)))
            b[11] = ResponderWire.requestFlag
            b[12] = ResponderWire.version
            b[13] = op.rawValue
            b.replaceSubrange(14..<16, with: Bytes.be16(UInt16(clamping: replySize)))
            return b
        }

        /// A well-formed request, or nil. `bytes` is the whole UDP payload as received.
        public init?(decoding b: [UInt8]) {
            guard b.count >= ResponderWire.minimumRequest, Array(b[0..<4]) == ProbeHeader.magic,
                  b[11] == ResponderWire.requestFlag, b[12] == ResponderWire.version, let op = Op(rawValue: b[13]),
                  b[16] == 0, b[17] == 0, b[18] == 0, b[19] == 0 else { return nil }
            token = Bytes.read32(b, 4)
            self.op = op
            replySize = Int(Bytes.read16(b, 14))
            if op == .echo && replySize != 0 { return nil }
        }
    }

    public struct Reply: Equatable, Sendable {
        public var token: UInt32
        public var op: Op
        public var status: Status
        /// Did the request arrive as fragments: true, false, nil (the responder cannot tell).
        public var fragmented: Bool?
        public var receivedPayload: Int
        public var receivedIPSize: Int
        /// MTU of the responder's interface towards the client (0: unknown).
        public var responderMTU: Int
        public var seenAddress: IPAddress
        public var seenPort: UInt16
        /// `tooBigHere`: the responder's MTU; `packetTooBig`: the MTU the ICMP error carried.
        public var limit: Int = 0

        public init(token: UInt32, op: Op, status: Status, fragmented: Bool?, receivedPayload: Int, receivedIPSize: Int,
                    responderMTU: Int, seenAddress: IPAddress, seenPort: UInt16, limit: Int = 0) {
            self.token = token
            self.op = op
            self.status = status
            self.fragmented = fragmented
            self.receivedPayload = receivedPayload
            self.receivedIPSize = receivedIPSize
            self.responderMTU = responderMTU
            self.seenAddress = seenAddress
            self.seenPort = seenPort
            self.limit = limit
        }

        /// The reply padded to `length` bytes of UDP payload (at least the 48-byte header).
        public func encode(length: Int, ipSize: Int) -> [UInt8] {
            var b = [UInt8](repeating: 0, count: max(length, ResponderWire.replyHeader))
            b.replaceSubrange(0..<4, with: ProbeHeader.magic)
            b.replaceSubrange(4..<8, with: Bytes.be32(token))
            b.replaceSubrange(8..<10, with: Bytes.be16(UInt16(clamping: ipSize)))
            b[11] = ResponderWire.replyFlag
            b[12] = ResponderWire.version
            b[13] = op.rawValue
            b[14] = status.rawValue
            b[15] = fragmented.map { $0 ? 1 : 0 } ?? 2
            b.replaceSubrange(16..<18, with: Bytes.be16(UInt16(clamping: receivedPayload)))
            b.replaceSubrange(18..<20, with: Bytes.be16(UInt16(clamping: receivedIPSize)))
            b.replaceSubrange(20..<22, with: Bytes.be16(UInt16(clamping: responderMTU)))
            b.replaceSubrange(22..<24, with: Bytes.be16(seenPort))
            b[24] = seenAddress.family == .ipv4 ? 4 : 6
            let a = seenAddress.bytes
            b.replaceSubrange(26..<(26 + a.count), with: a)
            b.replaceSubrange(42..<44, with: Bytes.be16(UInt16(clamping: limit)))
            return b
        }

        public init?(decoding b: [UInt8]) {
            guard b.count >= ResponderWire.replyHeader, Array(b[0..<4]) == ProbeHeader.magic,
                  b[11] == ResponderWire.replyFlag, b[12] == ResponderWire.version,
                  let op = Op(rawValue: b[13]), let status = Status(rawValue: b[14]), b[15] <= 2 else { return nil }
            let family = b[24]
            guard family == 4 || family == 6,
                  let address = IPAddress(bytes: b[26..<(family == 4 ? 30 : 42)]) else { return nil }
            token = Bytes.read32(b, 4)
            self.op = op
            self.status = status
            fragmented = b[15] == 2 ? nil : b[15] == 1
            receivedPayload = Int(Bytes.read16(b, 16))
            receivedIPSize = Int(Bytes.read16(b, 18))
            responderMTU = Int(Bytes.read16(b, 20))
            seenPort = Bytes.read16(b, 22)
            seenAddress = address
            limit = Int(Bytes.read16(b, 42))
        }
    }

    /// What the responder does with one datagram.
    public struct Decision: Equatable, Sendable {
        public var reply: Reply
        /// UDP payload bytes to send: never more than were received.
        public var payloadLength: Int
        /// Whole IP packet size of the reply.
        public var ipSize: Int
        public var dontFragment: Bool
    }

    /// The anti-abuse rules. nil: send nothing (not a well-formed request, or too short to answer).
    /// `ipSize` is the received datagram's IP packet size, `interfaceMTU` the responder's MTU towards
    /// the client (0 unknown): a datagram larger than it must have arrived as fragments.
    public static func decide(_ payload: [UInt8], from source: IPAddress, port: UInt16, interfaceMTU: Int) -> Decision? {
        guard let request = Request(decoding: payload) else { return nil }
        let overhead = source.family.ipHeaderSize + 8
        let ipSize = payload.count + overhead
        var fragmented: Bool? = nil
        if interfaceMTU > 0 { fragmented = ipSize > interfaceMTU ? true : nil }
        var reply = Reply(token: request.token, op: request.op, status: .ok, fragmented: fragmented,
                          receivedPayload: payload.count, receivedIPSize: ipSize, responderMTU: interfaceMTU,
                          seenAddress: source, seenPort: port)
        var length = replyHeader
        switch request.op {
        case .echo:
            break
        case .replyDF, .replyFragmentable:
            let wanted = request.replySize - overhead
            if wanted > payload.count {
                reply.status = .refused
            } else {
                length = max(replyHeader, wanted)
            }
        }
        return Decision(reply: reply, payloadLength: length, ipSize: length + overhead,
                        dontFragment: request.op != .replyFragmentable)
    }

    /// The small reply sent instead when the requested one cannot leave (`tooBigHere`) or drew a
    /// packet-too-big (`packetTooBig`). It is never larger than the request it answers.
    public static func notice(_ d: Decision, status: Status, limit: Int) -> Decision {
        var n = d
        n.reply.status = status
        n.reply.limit = limit
        n.payloadLength = replyHeader
        n.ipSize = replyHeader + d.ipSize - d.payloadLength
        n.dontFragment = true
        return n
    }
}
