/// The TCP side of `pathprobe serve`: a small request/answer format for the TCP path MTU measurement
/// (the responder's implementation lives in the engine; this is the pure format and its rules).
/// It listens on the same port as the UDP responder (`ResponderWire.defaultPort`).
///
/// Every integer is big-endian. One request per connection, then the answer:
///
///     request  0 "PPTS" | 4 version=1 | 5 op | 6 reserved u16 = 0 | 8 value u32
///              12 length u32 (the whole request, this header included) | 16.. zero padding
///     answer   0 "PPTS" | 4 version=1 | 5 op | 6 status | 7 reserved = 0 | 8 received u32
///              12 largest segment u32 | 16 data length u32 | 20.. data (zeros)
///
/// Ops: `flight` asks for `value` bytes of data (the download probe: the responder writes them at
/// once, so they leave in full segments of the MSS the client advertised); `segment` is itself the
/// upload probe, padded to `length` bytes: the responder reads all of it and answers with what it
/// received and the largest segment its kernel saw (tcpi_rcv_mss; 0 when unknown).
///
/// Anti-abuse: a TCP peer has completed a handshake, so nothing can be reflected to a third party;
/// still, a `flight` never exceeds `maximumFlight` bytes and a request never `maximumRequest`.
public enum StreamResponderWire {
    public static let magic: [UInt8] = Array("PPTS".utf8)
    public static let version: UInt8 = 1
    public static let requestHeader = 16
    public static let answerHeader = 20
    public static let maximumFlight = 65536
    public static let maximumRequest = 65536

    public enum Op: UInt8, Sendable {
        case flight = 1
        case segment = 2
    }

    public enum Status: UInt8, Sendable {
        case ok = 0
        /// The flight asked for is larger than `maximumFlight`: nothing is sent but the answer header.
        case refused = 1
    }

    public struct Request: Sendable, Equatable {
        public var op: Op
        /// `flight`: bytes wanted; `segment`: 0.
        public var value: Int
        /// Bytes of the whole request, header included (at least `requestHeader`).
        public var length: Int

        public init(op: Op, value: Int = 0, length: Int = StreamResponderWire.requestHeader) {
            self.op = op
            self.value = value
            self.length = max(length, StreamResponderWire.requestHeader)
        }

        public func encode() -> [UInt8] {
            var b = [UInt8](repeating: 0, count: length)
            b.replaceSubrange(0..<4, with: StreamResponderWire.magic)
            b[4] = StreamResponderWire.version
            b[5] = op.rawValue
            b.replaceSubrange(8..<12, with: Bytes.be32(UInt32(clamping: value)))
            b.replaceSubrange(12..<16, with: Bytes.be32(UInt32(clamping: length)))
            return b
        }

        /// The request from its first `requestHeader` bytes; nil when not well formed.
        public init?(header b: [UInt8]) {
            guard b.count >= StreamResponderWire.requestHeader, Array(b[0..<4]) == StreamResponderWire.magic,
                  b[4] == StreamResponderWire.version, let op = Op(rawValue: b[5]), b[6] == 0, b[7] == 0 else { return nil }
            let length = Int(Bytes.read32(b, 12))
            guard length >= StreamResponderWire.requestHeader, length <= StreamResponderWire.maximumRequest else { return nil }
            self.op = op
            value = Int(Bytes.read32(b, 8))
            self.length = length
        }
    }

    public struct Answer: Sendable, Equatable {
        public var op: Op
        public var status: Status
        /// Request bytes the responder read.
        public var received: Int
        /// The largest segment payload the responder's kernel saw on this connection (0: unknown).
        public var largestSegment: Int
        /// Data bytes that follow the header.
        public var dataLength: Int

        public init(op: Op, status: Status, received: Int, largestSegment: Int, dataLength: Int) {
            self.op = op
            self.status = status
            self.received = received
            self.largestSegment = largestSegment
            self.dataLength = dataLength
        }

        /// Header and data.
        public func encode() -> [UInt8] {
            var b = [UInt8](repeating: 0, count: StreamResponderWire.answerHeader + dataLength)
            b.replaceSubrange(0..<4, with: StreamResponderWire.magic)
            b[4] = StreamResponderWire.version
            b[5] = op.rawValue
            b[6] = status.rawValue
            b.replaceSubrange(8..<12, with: Bytes.be32(UInt32(clamping: received)))
            b.replaceSubrange(12..<16, with: Bytes.be32(UInt32(clamping: largestSegment)))
            b.replaceSubrange(16..<20, with: Bytes.be32(UInt32(clamping: dataLength)))
            return b
        }

        /// The answer from its header; nil when the bytes are not one (or not all there yet).
        public init?(header b: [UInt8]) {
            guard b.count >= StreamResponderWire.answerHeader, Array(b[0..<4]) == StreamResponderWire.magic,
                  b[4] == StreamResponderWire.version, let op = Op(rawValue: b[5]),
                  let status = Status(rawValue: b[6]) else { return nil }
            self.op = op
            self.status = status
            received = Int(Bytes.read32(b, 8))
            largestSegment = Int(Bytes.read32(b, 12))
            dataLength = Int(Bytes.read32(b, 16))
        }
    }

    /// The responder's rule, once a whole request (`length` bytes) has been read.
    public static func answer(to request: Request, largestSegment: Int) -> Answer {
        switch request.op {
        case .flight:
            let ok = request.value <= maximumFlight
            return Answer(op: .flight, status: ok ? .ok : .refused, received: request.length,
                          largestSegment: largestSegment, dataLength: ok ? request.value : 0)
        case .segment:
            return Answer(op: .segment, status: .ok, received: request.length, largestSegment: largestSegment, dataLength: 0)
        }
    }
}
