/// A TLS ClientHello sized to the byte, as a probe payload: the TCP path MTU measurement sends it to
/// TLS ports (and after RDP negotiation) so the server sees an ordinary client and answers with its
/// certificate flight, and grows it with the padding extension (RFC 7685) to fill a segment exactly.
///
/// It offers TLS 1.3 and 1.2 with the cipher suites, groups and signature algorithms browsers offer,
/// and well-formed key shares for x25519 (random bytes: any 32 bytes are a valid x25519 public key)
/// and secp256r1 (the curve's generator, a valid point: servers configured for P-256 only, such as
/// socat's default, would otherwise answer with a HelloRetryRequest instead of their certificates).
/// Nothing here can complete a handshake; the measurement never needs to.
///
/// Layout (RFC 8446 4.1.2, one record): record header `16 03 01 len16`, handshake header
/// `01 len24`, legacy_version 0303, random (32), session id (32), cipher suites, compression (null),
/// extensions, padding last.
public enum TLSClientHello {
    /// Record header (5) + handshake header (4).
    static let headers = 9
    /// The padding extension's type and length fields: the least it adds.
    static let paddingHeader = 4
    /// One TLS record carries at most 2^14 bytes of handshake.
    public static let maximumLength = 5 + 16384

    static let cipherSuites: [UInt16] = [
        0x1301, 0x1302, 0x1303,                  // TLS 1.3: AES-128-GCM, AES-256-GCM, CHACHA20-POLY1305
        0xC02B, 0xC02F, 0xC02C, 0xC030,          // ECDHE-ECDSA/RSA with AES-GCM
        0xCCA9, 0xCCA8,                          // ECDHE-ECDSA/RSA with CHACHA20-POLY1305
        0xC028, 0xC027, 0xC014, 0xC013,          // ECDHE-RSA with AES-CBC (older Windows servers)
        0x009D, 0x009C, 0x0035, 0x002F,          // RSA key exchange, last resort
    ]
    static let groups: [UInt16] = [0x001D, 0x0017, 0x0018]  // x25519, secp256r1, secp384r1
    static let signatureAlgorithms: [UInt16] = [
        0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601, 0x0203, 0x0201,
    ]
    /// The generator of P-256 (SEC 2), uncompressed: a valid public key for the secp256r1 key share.
    static let p256Generator: [UInt8] = [0x04]
        + [0x6B, 0x17, 0xD1, 0xF2, 0xE1, 0x2C, 0x42, 0x47, 0xF8, 0xBC, 0xE6, 0xE5, 0x63, 0xA4, 0x40, 0xF2,
           0x77, 0x03, 0x7D, 0x81, 0x2D, 0xEB, 0x33, 0xA0, 0xF4, 0xA1, 0x39, 0x45, 0xD8, 0x98, 0xC2, 0x96]
        + [0x4F, 0xE3, 0x42, 0xE2, 0xFE, 0x1A, 0x7F, 0x9B, 0x8E, 0xE7, 0xEB, 0x4A, 0x7C, 0x0F, 0x9E, 0x16,
           0x2B, 0xCE, 0x33, 0x57, 0x6B, 0x31, 0x5E, 0xCE, 0xCB, 0xB6, 0x40, 0x68, 0x37, 0xBF, 0x51, 0xF5]

    /// The smallest ClientHello (record included) for this server name: everything but padding
    /// content. `build` accepts any length from this up to `maximumLength`.
    public static func minimumLength(serverName: String?) -> Int {
        body(serverName: serverName, random: [UInt8](repeating: 0, count: 96)).count + headers + paddingHeader
    }

    /// The ClientHello as one TLS record of exactly `length` bytes (clamped to the possible range).
    /// `serverName`: a DNS name for SNI (nil, or an IP address literal: no SNI, as RFC 6066 asks).
    public static func build(serverName: String?, length: Int, random rng: inout SplitMix64) -> [UInt8] {
        // 32 bytes of client random, 32 of session id (the TLS 1.3 compatibility mode), 32 of x25519 share.
        let randomBytes = rng.bytes(96)
        var hello = body(serverName: serverName, random: randomBytes)
        let target = min(max(length, hello.count + headers + paddingHeader), maximumLength)
        let padding = target - hello.count - headers - paddingHeader
        hello += Bytes.be16(0x0015) + Bytes.be16(UInt16(padding)) + [UInt8](repeating: 0, count: padding)
        // Patch the extensions' total length, which `body` left at the end of its fixed part.
        let extensionsLength = hello.count - extensionsStart(hello)
        let at = extensionsStart(hello) - 2
        hello[at] = UInt8(extensionsLength >> 8)
        hello[at + 1] = UInt8(extensionsLength & 0xff)
        let handshake = [0x01] + Bytes.be24(hello.count) + hello
        return [0x16, 0x03, 0x01] + Bytes.be16(UInt16(handshake.count)) + handshake
    }

    /// The ClientHello body (after the handshake header), with every extension but padding; the
    /// extensions' length field is patched by `build`.
    static func body(serverName: String?, random: [UInt8]) -> [UInt8] {
        var b: [UInt8] = [0x03, 0x03] + random[0..<32]
        b += [32] + random[32..<64]
        b += Bytes.be16(UInt16(cipherSuites.count * 2)) + cipherSuites.flatMap { Bytes.be16($0) }
        b += [0x01, 0x00]
        b += [0x00, 0x00]  // extensions length, patched later
        var ext: [UInt8] = []
        func add(_ type: UInt16, _ data: [UInt8]) { ext += Bytes.be16(type) + Bytes.be16(UInt16(data.count)) + data }
        if let name = serverName, IPAddress(name) == nil, !name.isEmpty {
            let host = Array(name.utf8.prefix(253))
            add(0x0000, Bytes.be16(UInt16(host.count + 3)) + [0x00] + Bytes.be16(UInt16(host.count)) + host)
        }
        add(0x0017, [])                                       // extended_master_secret
        add(0xFF01, [0x00])                                   // renegotiation_info
        add(0x000A, Bytes.be16(UInt16(groups.count * 2)) + groups.flatMap { Bytes.be16($0) })
        add(0x000B, [0x01, 0x00])                             // ec_point_formats: uncompressed
        add(0x0023, [])                                       // session_ticket
        add(0x000D, Bytes.be16(UInt16(signatureAlgorithms.count * 2)) + signatureAlgorithms.flatMap { Bytes.be16($0) })
        add(0x002B, [0x04, 0x03, 0x04, 0x03, 0x03])           // supported_versions: 1.3, 1.2
        add(0x002D, [0x01, 0x01])                             // psk_key_exchange_modes: psk_dhe_ke
        let x25519 = Bytes.be16(0x001D) + Bytes.be16(32) + random[64..<96]
        let p256 = Bytes.be16(0x0017) + Bytes.be16(UInt16(p256Generator.count)) + p256Generator
        add(0x0033, Bytes.be16(UInt16(x25519.count + p256.count)) + x25519 + p256)
        return b + ext
    }

    /// Where the extensions start in a body: after version, random, session id, suites, compression
    /// and the extensions length field.
    static func extensionsStart(_ body: [UInt8]) -> Int {
        let suites = 2 + 32 + 1 + 32
        let suitesLength = Int(body[suites]) << 8 | Int(body[suites + 1])
        return suites + 2 + suitesLength + 2 + 2
    }

    /// What a server's bytes say, read from the start of its answer: a TLS record stream whose first
    /// handshake message is a ServerHello (or HelloRetryRequest), an alert, or something else.
    public enum Answer: Sendable, Equatable {
        case needMore
        case serverHello
        /// A TLS alert record (level, description): the server refused our hello.
        case alert(level: UInt8, description: UInt8)
        case notTLS
    }

    public static func classify(_ bytes: [UInt8]) -> Answer {
        guard bytes.count >= 6 else {
            if let first = bytes.first, first != 0x16, first != 0x15 { return .notTLS }
            return .needMore
        }
        guard bytes[1] == 0x03, bytes[2] <= 0x04 else { return .notTLS }
        switch bytes[0] {
        case 0x16: return bytes[5] == 0x02 ? .serverHello : .notTLS
        case 0x15: return bytes.count >= 7 ? .alert(level: bytes[5], description: bytes[6]) : .needMore
        default: return .notTLS
        }
    }
}
