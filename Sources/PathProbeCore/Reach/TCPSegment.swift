/// TCP segments for SYN probing on a raw socket: the SYN we send (built like Linux's own, so the far
/// end answers it as it would a real connection) and the SYN-ACK or RST that comes back, with the
/// MSS option exactly as it arrived. Everything read is bounds-checked.
public enum TCPSegment {
    /// 20-byte header + MSS (4), SACK permitted (2), timestamps (10), NOP (1), window scale (3).
    public static let synLength = 40

    public struct Flags: OptionSet, Sendable, Equatable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let fin = Flags(rawValue: 0x01)
        public static let syn = Flags(rawValue: 0x02)
        public static let rst = Flags(rawValue: 0x04)
        public static let psh = Flags(rawValue: 0x08)
        public static let ack = Flags(rawValue: 0x10)
    }

    /// Writes a SYN at `p` (room for `synLength` bytes) with its checksum; returns its length.
    @discardableResult
    public static func writeSYN(to p: UnsafeMutableRawPointer, source: IPAddress, destination: IPAddress,
                                sourcePort: UInt16, destinationPort: UInt16, sequence: UInt32, mss: UInt16,
                                timestamp: UInt32) -> Int {
        let b = UnsafeMutableRawBufferPointer(start: p, count: synLength)
        func put16(_ at: Int, _ v: UInt16) { b[at] = UInt8(v >> 8); b[at + 1] = UInt8(v & 0xff) }
        func put32(_ at: Int, _ v: UInt32) { put16(at, UInt16(v >> 16)); put16(at + 2, UInt16(v & 0xffff)) }
        put16(0, sourcePort)
        put16(2, destinationPort)
        put32(4, sequence)
        put32(8, 0)
        b[12] = UInt8(synLength / 4) << 4
        b[13] = Flags.syn.rawValue
        put16(14, 64240)  // window
        put16(16, 0)      // checksum, below
        put16(18, 0)      // urgent pointer
        b[20] = 2; b[21] = 4; put16(22, mss)                  // MSS
        b[24] = 4; b[25] = 2                                  // SACK permitted
        b[26] = 8; b[27] = 10; put32(28, timestamp); put32(32, 0)  // timestamps
        b[36] = 1                                             // NOP
        b[37] = 3; b[38] = 3; b[39] = 7                       // window scale 7
        put16(16, checksum(UnsafeRawBufferPointer(b), source: source, destination: destination))
        return synLength
    }

    /// The same SYN as bytes (tests, debugging).
    public static func syn(source: IPAddress, destination: IPAddress, sourcePort: UInt16, destinationPort: UInt16,
                           sequence: UInt32, mss: UInt16, timestamp: UInt32) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: synLength)
        out.withUnsafeMutableBytes {
            _ = writeSYN(to: $0.baseAddress!, source: source, destination: destination, sourcePort: sourcePort,
                         destinationPort: destinationPort, sequence: sequence, mss: mss, timestamp: timestamp)
        }
        return out
    }

    /// The TCP checksum over the IPv4 or IPv6 pseudo-header and `segment` (checksum field zero).
    public static func checksum(_ segment: UnsafeRawBufferPointer, source: IPAddress, destination: IPAddress) -> UInt16 {
        var sum: UInt32 = 0
        for a in [source, destination] {
            let bytes = a.bytes
            for i in stride(from: 0, to: bytes.count, by: 2) { sum &+= UInt32(bytes[i]) << 8 | UInt32(bytes[i + 1]) }
        }
        let length = UInt32(segment.count)
        sum &+= 6 &+ (length >> 16) &+ (length & 0xffff)
        return InternetChecksum.compute(segment, initial: sum)
    }

    /// A segment as received (from its TCP header on).
    public struct Answer: Equatable, Sendable {
        public var sourcePort: UInt16
        public var destinationPort: UInt16
        public var sequence: UInt32
        public var acknowledgment: UInt32
        public var flags: Flags
        /// The MSS option's value, nil when the segment carries none.
        public var mss: Int?

        public var isSynAck: Bool { flags.contains(.syn) && flags.contains(.ack) && !flags.contains(.rst) }
        public var isReset: Bool { flags.contains(.rst) }
    }

    /// Parses a TCP header and its options; nil when short or malformed.
    public static func parse(_ b: UnsafeRawBufferPointer) -> Answer? {
        guard b.count >= 20 else { return nil }
        func read16(_ at: Int) -> UInt16 { UInt16(b[at]) << 8 | UInt16(b[at + 1]) }
        func read32(_ at: Int) -> UInt32 { UInt32(read16(at)) << 16 | UInt32(read16(at + 2)) }
        let headerLength = Int(b[12] >> 4) * 4
        guard headerLength >= 20, headerLength <= b.count else { return nil }
        var mss: Int? = nil
        var i = 20
        while i < headerLength {
            let kind = b[i]
            if kind == 0 { break }
            if kind == 1 { i += 1; continue }
            guard i + 1 < headerLength else { break }
            let len = Int(b[i + 1])
            guard len >= 2, i + len <= headerLength else { break }
            if kind == 2 && len == 4 { mss = Int(read16(i + 2)) }
            i += len
        }
        return Answer(sourcePort: read16(0), destinationPort: read16(2), sequence: read32(4), acknowledgment: read32(8),
                      flags: Flags(rawValue: b[13] & 0x3f), mss: mss)
    }

    /// A raw IPv4 socket delivers the IP header first: skips it, checks it carries TCP, and returns
    /// the source address and TTL with the segment.
    public static func parseIPv4(_ b: UnsafeRawBufferPointer) -> (source: IPAddress, ttl: Int, segment: Answer)? {
        guard let ip = IPv4Header(b, protocol: 6, minimumPayload: 20),  // TCP
              let segment = parse(UnsafeRawBufferPointer(rebasing: b[ip.headerLength...])) else { return nil }
        return (ip.source, ip.ttl, segment)
    }
}
