/// Parsing of what the kernel hands back on ICMP sockets. Every field is bounds-checked: a short,
/// truncated or hostile packet yields nil, never a crash or a trusted value.
public enum ICMPPacket {
    public static let echoRequestV4: UInt8 = 8
    public static let echoReplyV4: UInt8 = 0
    public static let echoRequestV6: UInt8 = 128
    public static let echoReplyV6: UInt8 = 129

    public struct Echo: Equatable, Sendable {
        public var type: UInt8
        public var identifier: UInt16
        public var sequence: UInt16
        /// From the probe header in the payload, when present and well formed.
        public var token: UInt32?
        /// TTL from the IPv4 header (raw IPv4 sockets only), else nil.
        public var ipTTL: Int?
        /// Source address from the IPv4 header (raw IPv4 sockets only), else nil.
        public var ipSource: IPAddress?
    }

    /// An echo message as read from a socket. Raw IPv4 sockets deliver the IP header first
    /// (`withIPv4Header`); ping sockets and raw IPv6 sockets start at the ICMP header.
    public static func parseEcho(_ bytes: UnsafeRawBufferPointer, withIPv4Header: Bool) -> Echo? {
        var offset = 0
        var ttl: Int? = nil
        var source: IPAddress? = nil
        if withIPv4Header {
            guard let ip = IPv4Header(bytes, protocol: 1, minimumPayload: 8) else { return nil }  // ICMP
            (ttl, source, offset) = (ip.ttl, ip.source, ip.headerLength)
        }
        guard bytes.count >= offset + 8 else { return nil }
        let type = bytes[offset]
        let id = UInt16(bytes[offset + 4]) << 8 | UInt16(bytes[offset + 5])
        let seq = UInt16(bytes[offset + 6]) << 8 | UInt16(bytes[offset + 7])
        let token = ProbeHeader.token(in: UnsafeRawBufferPointer(rebasing: bytes[(offset + 8)...]))
        return Echo(type: type, identifier: id, sequence: seq, token: token, ipTTL: ttl, ipSource: source)
    }

    /// Maps an ICMP error (as the kernel's error queue reports it) to a probe outcome.
    public static func outcome(family: AddressFamily, type: UInt8, code: UInt8, info: UInt32, from: IPAddress) -> ProbeOutcome {
        switch family {
        case .ipv4:
            switch type {
            case 11: return .timeExceeded(from: from)
            case 3 where code == 4: return .packetTooBig(mtu: Int(info), from: from)
            default: return .unreachable(type: type, code: code, from: from)
            }
        case .ipv6:
            switch type {
            case 3: return .timeExceeded(from: from)
            case 2: return .packetTooBig(mtu: Int(info), from: from)
            default: return .unreachable(type: type, code: code, from: from)
            }
        }
    }
}

/// The fixed part of an IPv4 header, as raw IPv4 sockets deliver it in front of the payload.
public struct IPv4Header: Sendable, Equatable {
    public var source: IPAddress
    public var ttl: Int
    /// Where the payload starts (IHL x 4).
    public var headerLength: Int

    /// Nil unless `bytes` starts with an IPv4 header for `protocol` followed by at least
    /// `minimumPayload` bytes.
    public init?(_ bytes: UnsafeRawBufferPointer, protocol: UInt8, minimumPayload: Int) {
        guard bytes.count >= 20, bytes[0] >> 4 == 4 else { return nil }
        let ihl = Int(bytes[0] & 0x0f) * 4
        guard ihl >= 20, bytes.count >= ihl + minimumPayload, bytes[9] == `protocol`,
              let source = IPAddress(bytes: UnsafeRawBufferPointer(rebasing: bytes[12..<16])) else { return nil }
        self.source = source
        ttl = Int(bytes[8])
        headerLength = ihl
    }
}
