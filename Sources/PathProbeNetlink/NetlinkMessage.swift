import PathProbeCore

/// Netlink messages and attributes as byte arrays, parsed in Swift. libnl does the socket work
/// (sequence numbers, multipart dumps, ACKs); the parsing lives here so tests can feed it bytes.
struct NetlinkMessage: Equatable {
    static let headerSize = 16  // struct nlmsghdr

    var type: UInt16
    var flags: UInt16
    /// Everything after the nlmsghdr: the family header (ifinfomsg, rtmsg...) and the attributes.
    var payload: [UInt8]

    /// Parses one message (header included), as libnl hands it to the valid-message callback.
    init?(bytes: [UInt8]) {
        guard bytes.count >= NetlinkMessage.headerSize else { return nil }
        let length = Int(NetlinkBytes.u32(bytes, at: 0))
        guard length >= NetlinkMessage.headerSize, length <= bytes.count else { return nil }
        type = NetlinkBytes.u16(bytes, at: 4)
        flags = NetlinkBytes.u16(bytes, at: 6)
        payload = Array(bytes[NetlinkMessage.headerSize..<length])
    }

    init(type: UInt16, flags: UInt16 = 0, payload: [UInt8]) {
        self.type = type
        self.flags = flags
        self.payload = payload
    }

    /// The family header (ifinfomsg, rtmsg...) and the attributes after it, when the message is of
    /// `type` and long enough.
    func parts(type expected: Int, headerSize: Int) -> (header: [UInt8], attributes: NetlinkAttributes)? {
        guard type == UInt16(expected), payload.count >= headerSize else { return nil }
        return (Array(payload[0..<headerSize]), attributes(afterHeader: headerSize))
    }

    /// The attributes after a family header of `headerSize` bytes (padded to 4).
    func attributes(afterHeader headerSize: Int) -> NetlinkAttributes {
        let start = NetlinkBytes.align(headerSize)
        guard start <= payload.count else { return NetlinkAttributes([]) }
        return NetlinkAttributes(Array(payload[start...]))
    }
}

/// A run of netlink attributes (struct nlattr / rtattr: length u16, type u16, value, padding to 4).
struct NetlinkAttributes: Equatable {
    struct Attribute: Equatable {
        /// The type without the NLA_F_NESTED / NLA_F_NET_BYTEORDER flag bits.
        var type: UInt16
        var value: [UInt8]
    }

    private(set) var all: [Attribute] = []

    init(_ bytes: [UInt8]) {
        var offset = 0
        while offset + 4 <= bytes.count {
            let length = Int(NetlinkBytes.u16(bytes, at: offset))
            let type = NetlinkBytes.u16(bytes, at: offset + 2) & 0x3FFF
            guard length >= 4, offset + length <= bytes.count else { break }
            all.append(Attribute(type: type, value: Array(bytes[(offset + 4)..<(offset + length)])))
            offset += NetlinkBytes.align(length)
        }
    }

    subscript(type: UInt16) -> [UInt8]? { all.first { $0.type == type }?.value }
    subscript(type: Int) -> [UInt8]? { self[UInt16(type)] }

    func nested(_ type: Int) -> NetlinkAttributes? { self[type].map(NetlinkAttributes.init) }
    func u8(_ type: Int) -> UInt8? { self[type].flatMap { $0.count >= 1 ? $0[0] : nil } }
    func u32(_ type: Int) -> UInt32? { self[type].flatMap { $0.count >= 4 ? NetlinkBytes.u32($0, at: 0) : nil } }
    func i32(_ type: Int) -> Int32? { u32(type).map { Int32(bitPattern: $0) } }
    /// A big-endian 16-bit field (GRE flags).
    func be16(_ type: Int) -> UInt16? { self[type].flatMap { $0.count >= 2 ? UInt16($0[0]) << 8 | UInt16($0[1]) : nil } }
    /// A NUL-terminated string.
    func string(_ type: Int) -> String? {
        self[type].map { bytes in String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self) }
    }
    /// A 4- or 16-byte address in network order.
    func address(_ type: Int) -> IPAddress? { self[type].flatMap { IPAddress(bytes: $0) } }

    /// Encodes attributes for a request (host order, padded).
    static func encode(_ attributes: [(type: Int, value: [UInt8])]) -> [UInt8] {
        var out: [UInt8] = []
        for (type, value) in attributes {
            let length = 4 + value.count
            out += NetlinkBytes.bytes(of: UInt16(length)) + NetlinkBytes.bytes(of: UInt16(type)) + value
            out += [UInt8](repeating: 0, count: NetlinkBytes.align(length) - length)
        }
        return out
    }
}

/// Host-order integer access (netlink uses the host's byte order; every Linux target pathprobe
/// builds for is little-endian, and these helpers load through memory so they follow the host).
enum NetlinkBytes {
    static func align(_ n: Int) -> Int { (n + 3) & ~3 }

    static func u16(_ b: [UInt8], at i: Int) -> UInt16 {
        b.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: i, as: UInt16.self) }
    }

    static func u32(_ b: [UInt8], at i: Int) -> UInt32 {
        b.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: i, as: UInt32.self) }
    }

    /// The bytes of an integer in host order.
    static func bytes<T: FixedWidthInteger>(of v: T) -> [UInt8] { withUnsafeBytes(of: v) { Array($0) } }
}
