/// RDP's UDP transport ([MS-RDPEUDP]) as far as a path check needs it: the client's SYN datagram
/// and the server's SYN+ACK. Every field is big-endian (network byte order).
///
/// 3.1.5.1.1: a SYN carries RDPUDP_FEC_HEADER (snSourceAck -1, uReceiveWindowSize, uFlags with
/// RDPUDP_FLAG_SYN), RDPUDP_SYNDATA_PAYLOAD (snInitialSequenceNumber, uUpStreamMtu, uDownStreamMtu,
/// each MTU in 1132...1232), optionally RDPUDP_SYNDATAEX_PAYLOAD (2.2.2.9), and is zero-padded to
/// 1232 bytes: the path must carry 1260-byte IPv4 / 1280-byte IPv6 UDP packets or the UDP
/// transport never starts.
public enum RDPUDP {
    /// The size of every SYN and SYN+ACK datagram (UDP payload).
    public static let synSize = 1232
    /// The MTU range the two ends negotiate.
    public static let mtuRange: ClosedRange<UInt16> = 1132...1232
    public static let defaultPort: UInt16 = 3389

    public struct Flags: OptionSet, Sendable {
        public let rawValue: UInt16
        public init(rawValue: UInt16) { self.rawValue = rawValue }
        public static let syn = Flags(rawValue: 0x0001)
        public static let fin = Flags(rawValue: 0x0002)
        public static let ack = Flags(rawValue: 0x0004)
        public static let correlationId = Flags(rawValue: 0x0800)
        public static let synEx = Flags(rawValue: 0x1000)
    }

    /// RDPUDP_PROTOCOL_VERSION_2 (shorter retransmit timers; what current clients offer).
    public static let protocolVersion2: UInt16 = 0x0002

    /// A client SYN: RDP-UDP-R (reliable), version 2 offered, both MTUs `mtu`, padded to 1232 bytes.
    public static func syn(initialSequence: UInt32, mtu: UInt16 = 1232, receiveWindow: UInt16 = 64) -> [UInt8] {
        let m = min(max(mtu, mtuRange.lowerBound), mtuRange.upperBound)
        var d = Bytes.be32(0xFFFF_FFFF)                      // snSourceAck: -1
            + Bytes.be16(receiveWindow)                      // uReceiveWindowSize
            + Bytes.be16(Flags([.syn, .synEx]).rawValue)     // uFlags
        d += Bytes.be32(initialSequence) + Bytes.be16(m) + Bytes.be16(m)  // RDPUDP_SYNDATA_PAYLOAD
        d += Bytes.be16(0x0001) + Bytes.be16(protocolVersion2)           // SYNDATAEX: RDPUDP_VERSION_INFO_VALID
        return d + [UInt8](repeating: 0, count: synSize - d.count)
    }

    /// True when `answer` is a server's SYN+ACK to `syn`: SYN and ACK set, snSourceAck our initial sequence number.
    public static func isSynAck(_ answer: [UInt8], to syn: [UInt8]) -> Bool {
        guard answer.count >= 16, syn.count >= 12 else { return false }
        let flags = Flags(rawValue: Bytes.read16(answer, 6))
        return flags.contains([.syn, .ack]) && Bytes.read32(answer, 0) == Bytes.read32(syn, 8)
    }

    /// The mtu values a SYN+ACK settled on (uUpStreamMtu, uDownStreamMtu), nil for anything else.
    public static func negotiatedMTU(_ synAck: [UInt8]) -> (up: UInt16, down: UInt16)? {
        guard synAck.count >= 16, Flags(rawValue: Bytes.read16(synAck, 6)).contains([.syn, .ack]) else { return nil }
        return (Bytes.read16(synAck, 12), Bytes.read16(synAck, 14))
    }

    /// A DTLS 1.2 ClientHello (the RD Gateway's UDP transport, UDP 3391) grown to exactly `size`
    /// bytes with the padding extension (RFC 7685): a datagram of the UDP transport's size that a
    /// DTLS server still answers. nil when `size` is below the plain ClientHello plus 4 bytes.
    public static func paddedDTLSClientHello(random: [UInt8], size: Int = synSize) -> [UInt8]? {
        var hello = DTLSProbe.clientHello(random: random)
        let grow = size - hello.count
        guard grow >= 4, let extensionsLength = dtlsExtensionsLengthOffset(hello) else { return nil }
        func add(_ at: Int, _ width: Int) {
            var value = 0
            for i in 0..<width { value = value << 8 | Int(hello[at + i]) }
            value += grow
            for i in 0..<width { hello[at + i] = UInt8(value >> (8 * (width - 1 - i)) & 0xFF) }
        }
        add(11, 2)               // record length
        add(14, 3)               // handshake length
        add(22, 3)               // fragment length
        add(extensionsLength, 2) // extensions length
        hello += Bytes.be16(0x0015) + Bytes.be16(UInt16(grow - 4)) + [UInt8](repeating: 0, count: grow - 4)
        return hello
    }

    /// Where a DTLS ClientHello record keeps its extensions' total length.
    private static func dtlsExtensionsLengthOffset(_ r: [UInt8]) -> Int? {
        var at = 13 + 12 + 2 + 32                     // record header, handshake header, version, random
        guard r.count > at else { return nil }
        at += 1 + Int(r[at])                           // session id
        guard r.count > at else { return nil }
        at += 1 + Int(r[at])                           // cookie
        guard r.count >= at + 2 else { return nil }
        at += 2 + Int(Bytes.read16(r, at))             // cipher suites
        guard r.count > at else { return nil }
        at += 1 + Int(r[at])                           // compression methods
        guard r.count >= at + 2, at + 2 + Int(Bytes.read16(r, at)) == r.count else { return nil }
        return at
    }
}
