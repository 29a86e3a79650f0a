/// The 12 bytes pathprobe puts at the start of every probe's payload (after the ICMP or UDP header),
/// so an answer or a quoted ICMP error can be matched to the probe that caused it:
///
///     0      4        8      10   11
///     "PPRB" token    size   ttl  flags
///
/// `token` is the engine's slot number and generation; `size` and `ttl` are informational.
/// Everything read back from the network is checked, never trusted.
public enum ProbeHeader {
    public static let size = 12
    public static let magic: [UInt8] = [0x50, 0x50, 0x52, 0x42]  // "PPRB"

    public static func write(token: UInt32, size: Int, ttl: Int, flags: UInt8 = 0, to p: UnsafeMutableRawPointer) {
        p.storeBytes(of: 0x50, toByteOffset: 0, as: UInt8.self)
        p.storeBytes(of: 0x50, toByteOffset: 1, as: UInt8.self)
        p.storeBytes(of: 0x52, toByteOffset: 2, as: UInt8.self)
        p.storeBytes(of: 0x42, toByteOffset: 3, as: UInt8.self)
        p.storeBytes(of: token.bigEndian, toByteOffset: 4, as: UInt32.self)
        p.storeBytes(of: UInt16(clamping: size).bigEndian, toByteOffset: 8, as: UInt16.self)
        p.storeBytes(of: UInt8(clamping: ttl), toByteOffset: 10, as: UInt8.self)
        p.storeBytes(of: flags, toByteOffset: 11, as: UInt8.self)
    }

    /// The token, when `bytes` starts with a well-formed header.
    public static func token(in bytes: UnsafeRawBufferPointer) -> UInt32? {
        guard bytes.count >= 8, bytes[0] == 0x50, bytes[1] == 0x50, bytes[2] == 0x52, bytes[3] == 0x42 else { return nil }
        return UInt32(bytes[4]) << 24 | UInt32(bytes[5]) << 16 | UInt32(bytes[6]) << 8 | UInt32(bytes[7])
    }
}

/// The Internet checksum (RFC 1071), for ICMPv4 echo requests on raw sockets.
public enum InternetChecksum {
    public static func compute(_ bytes: UnsafeRawBufferPointer, initial: UInt32 = 0) -> UInt16 {
        var sum = initial
        var i = 0
        let n = bytes.count
        while i + 1 < n {
            sum &+= UInt32(bytes[i]) << 8 | UInt32(bytes[i + 1])
            i += 2
        }
        if i < n { sum &+= UInt32(bytes[i]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xffff) &+ (sum >> 16) }
        return ~UInt16(truncatingIfNeeded: sum)
    }
}
