/// The UDP payloads `pathprobe reach` sends, one per service a port usually carries, and the parsers
/// that recognise each service's answer. A closed or filtered UDP port is told apart by ICMP; an
/// open one only shows itself when something answers, and real services answer only requests
/// they understand: hence a real DNS query on 53, an IKE_SA_INIT on 500, and so on.
///
/// Builders are deterministic for a given `seed` (golden-byte tests); the seed also fills the
/// identifiers (DNS id, IKE SPI, STUN transaction, OpenVPN session) that answers must echo.
public enum UDPService: String, Codable, Sendable, CaseIterable {
    case dns
    case ntp
    /// IKEv2 IKE_SA_INIT on UDP 500.
    case ike
    /// The same behind the four-byte non-ESP marker, on UDP 4500 (NAT traversal).
    case ikeNATT = "ike-nat-t"
    case stun
    /// OpenVPN P_CONTROL_HARD_RESET_CLIENT_V2 (no tls-auth).
    case openvpn
    /// A DTLS 1.2 ClientHello (RD Gateway's UDP channel, other DTLS services).
    case dtls
    /// pathprobe's own request, answered by `pathprobe serve`.
    case pathprobe

    /// The service a port is probed as.
    public static func forPort(_ port: UInt16, responderPort: UInt16 = ResponderWire.defaultPort) -> UDPService {
        if port == responderPort { return .pathprobe }
        switch port {
        case 53: return .dns
        case 123: return .ntp
        case 500: return .ike
        case 4500: return .ikeNATT
        case 3478: return .stun
        case 1194: return .openvpn
        case 443, 3389, 3391: return .dtls
        default: return .pathprobe
        }
    }

    /// The probe's UDP payload.
    public func payload(seed: UInt64) -> [UInt8] {
        var rng = SplitMix64(seed: seed)
        switch self {
        case .dns: return DNSProbe.query(id: UInt16(truncatingIfNeeded: seed))
        case .ntp: return NTPProbe.request(transmit: rng.next())
        case .ike: return IKEProbe.saInit(spi: rng.next(), rng: &rng)
        case .ikeNATT: return [0, 0, 0, 0] + IKEProbe.saInit(spi: rng.next(), rng: &rng)
        case .stun: return STUNProbe.bindingRequest(transaction: rng.bytes(12))
        case .openvpn: return OpenVPNProbe.hardResetClient(session: rng.next())
        case .dtls: return DTLSProbe.clientHello(random: rng.bytes(32))
        case .pathprobe:
            return ResponderWire.Request(op: .echo).encode(length: ResponderWire.minimumRequest)
        }
    }

    /// True when `answer` is this service's reply to `request` (the identifiers match). A UDP answer
    /// that is not recognised still proves the port open; this only names who answered.
    public func recognizes(answer: [UInt8], to request: [UInt8]) -> Bool {
        switch self {
        case .dns: return DNSProbe.isAnswer(answer, to: request)
        case .ntp: return NTPProbe.isAnswer(answer, to: request)
        case .ike: return IKEProbe.isAnswer(answer, to: request)
        case .ikeNATT:
            guard answer.count > 4, request.count > 4, answer.prefix(4).allSatisfy({ $0 == 0 }) else { return false }
            return IKEProbe.isAnswer(Array(answer.dropFirst(4)), to: Array(request.dropFirst(4)))
        case .stun: return STUNProbe.isAnswer(answer, to: request)
        case .openvpn: return OpenVPNProbe.isAnswer(answer, to: request)
        case .dtls: return DTLSProbe.isAnswer(answer)
        case .pathprobe: return ResponderWire.Reply(decoding: answer) != nil
        }
    }
}

/// Big-endian helpers for building and reading wire formats.
enum Bytes {
    static func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }
    static func be24(_ v: Int) -> [UInt8] { [UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
    static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
    static func be64(_ v: UInt64) -> [UInt8] { be32(UInt32(v >> 32)) + be32(UInt32(truncatingIfNeeded: v)) }
    static func read16(_ b: [UInt8], _ at: Int) -> UInt16 { UInt16(b[at]) << 8 | UInt16(b[at + 1]) }
    static func read32(_ b: [UInt8], _ at: Int) -> UInt32 {
        UInt32(b[at]) << 24 | UInt32(b[at + 1]) << 16 | UInt32(b[at + 2]) << 8 | UInt32(b[at + 3])
    }
}

/// DNS: a query for the root's NS records (RFC 1035). Any response with our id (even REFUSED) is DNS.
enum DNSProbe {
    static func query(id: UInt16) -> [UInt8] {
        Bytes.be16(id) + [0x01, 0x00]   // standard query, recursion desired
            + [0, 1, 0, 0, 0, 0, 0, 0]  // 1 question
            + [0x00, 0x00, 0x02, 0x00, 0x01]  // root, type NS, class IN
    }
    static func isAnswer(_ a: [UInt8], to q: [UInt8]) -> Bool {
        a.count >= 12 && q.count >= 2 && a[0] == q[0] && a[1] == q[1] && a[2] & 0x80 != 0
    }
}

/// NTP: a 48-byte version 4 client request (RFC 5905) whose transmit timestamp is a nonce; the
/// server copies it into the origin timestamp of its mode 4 answer.
enum NTPProbe {
    static func request(transmit: UInt64) -> [UInt8] {
        var p = [UInt8](repeating: 0, count: 48)
        p[0] = 0x23  // LI 0, version 4, mode 3 (client)
        p.replaceSubrange(40..<48, with: Bytes.be64(transmit))
        return p
    }
    static func isAnswer(_ a: [UInt8], to q: [UInt8]) -> Bool {
        guard a.count >= 48, q.count >= 48, a[0] & 0x07 == 4 else { return false }
        return Array(a[24..<32]) == Array(q[40..<48])
    }
}

/// IKEv2 IKE_SA_INIT (RFC 7296): one proposal AES-CBC-128 / HMAC-SHA2-256 / MODP 2048, a 2048-bit
/// key share and a 32-byte nonce. Any IKE response with our SPI (a real reply, NO_PROPOSAL_CHOSEN,
/// INVALID_KE_PAYLOAD, a COOKIE request) proves an IKE responder.
enum IKEProbe {
    static func saInit(spi: UInt64, rng: inout SplitMix64) -> [UInt8] {
        func transform(last: Bool, type: UInt8, id: UInt16, attributes: [UInt8] = []) -> [UInt8] {
            [last ? 0 : 3, 0] + Bytes.be16(UInt16(8 + attributes.count)) + [type, 0] + Bytes.be16(id) + attributes
        }
        let transforms = transform(last: false, type: 1, id: 12, attributes: [0x80, 0x0e, 0x00, 0x80])  // ENCR_AES_CBC, 128-bit key
            + transform(last: false, type: 2, id: 5)   // PRF_HMAC_SHA2_256
            + transform(last: false, type: 3, id: 12)  // AUTH_HMAC_SHA2_256_128
            + transform(last: true, type: 4, id: 14)   // 2048-bit MODP group
        let proposal = [0, 0] + Bytes.be16(UInt16(8 + transforms.count)) + [1, 1, 0, 4] + transforms
        let sa = [34, 0] + Bytes.be16(UInt16(4 + proposal.count)) + proposal            // next: KE
        let keyShare = rng.bytes(256)
        let ke = [40, 0] + Bytes.be16(UInt16(8 + keyShare.count)) + [0, 14, 0, 0] + keyShare  // next: Nonce
        let nonce = rng.bytes(32)
        let ni = [0, 0] + Bytes.be16(UInt16(4 + nonce.count)) + nonce
        let body = sa + ke + ni
        let header = Bytes.be64(spi) + Bytes.be64(0) + [33, 0x20, 34, 0x08] + Bytes.be32(0) + Bytes.be32(UInt32(28 + body.count))
        return header + body
    }
    static func isAnswer(_ a: [UInt8], to q: [UInt8]) -> Bool {
        guard a.count >= 28, q.count >= 8, Array(a[0..<8]) == Array(q[0..<8]) else { return false }
        return a[17] >> 4 == 2 && a[18] == 34 && a[19] & 0x20 != 0  // IKEv2, IKE_SA_INIT, response
    }
}

/// STUN Binding request (RFC 8489); success and error responses both carry our transaction id.
enum STUNProbe {
    static let magicCookie: [UInt8] = [0x21, 0x12, 0xa4, 0x42]
    static func bindingRequest(transaction: [UInt8]) -> [UInt8] {
        [0x00, 0x01, 0x00, 0x00] + magicCookie + transaction
    }
    static func isAnswer(_ a: [UInt8], to q: [UInt8]) -> Bool {
        guard a.count >= 20, q.count >= 20 else { return false }
        let type = Bytes.read16(a, 0)
        return (type == 0x0101 || type == 0x0111) && Array(a[4..<20]) == Array(q[4..<20])
    }
}

/// OpenVPN's first packet over UDP: P_CONTROL_HARD_RESET_CLIENT_V2, key id 0, our session id, no
/// acks, packet id 0. A server without tls-auth / tls-crypt answers P_CONTROL_HARD_RESET_SERVER_V2
/// acknowledging our session; one with them stays silent (the port then reads open|filtered).
enum OpenVPNProbe {
    static func hardResetClient(session: UInt64) -> [UInt8] {
        [7 << 3] + Bytes.be64(session) + [0] + Bytes.be32(0)
    }
    static func isAnswer(_ a: [UInt8], to q: [UInt8]) -> Bool {
        guard a.count >= 14, q.count >= 9, a[0] >> 3 == 8 || a[0] >> 3 == 10 else { return false }
        // opcode, server session (8), ack count, acked ids (4 each), then our session id.
        let acks = Int(a[9])
        guard acks > 0 else { return true }
        let at = 10 + 4 * acks
        return a.count >= at + 8 && Array(a[at..<(at + 8)]) == Array(q[1..<9])
    }
}

/// A DTLS 1.2 ClientHello (RFC 6347) with common ECDHE suites. Servers answer with a
/// HelloVerifyRequest (cookie), a ServerHello or an alert: all DTLS records.
enum DTLSProbe {
    static func clientHello(random: [UInt8]) -> [UInt8] {
        let suites: [UInt16] = [0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc009, 0xc013, 0xc00a, 0xc014,
                                0x009c, 0x009d, 0x002f, 0x0035]
        let suiteBytes = suites.flatMap(Bytes.be16)
        func ext(_ type: UInt16, _ data: [UInt8]) -> [UInt8] { Bytes.be16(type) + Bytes.be16(UInt16(data.count)) + data }
        let groups: [UInt8] = [0x00, 0x1d, 0x00, 0x17, 0x00, 0x18]  // x25519, secp256r1, secp384r1
        let sigs: [UInt16] = [0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601]
        let sigBytes = sigs.flatMap(Bytes.be16)
        let extensions = ext(10, Bytes.be16(UInt16(groups.count)) + groups)
            + ext(11, [1, 0])
            + ext(13, Bytes.be16(UInt16(sigBytes.count)) + sigBytes)
            + ext(23, [])
            + ext(0xff01, [0])
        let body = [0xfe, 0xfd] + random + [0, 0]  // version DTLS 1.2, random, no session id, no cookie
            + Bytes.be16(UInt16(suiteBytes.count)) + suiteBytes + [1, 0]
            + Bytes.be16(UInt16(extensions.count)) + extensions
        let handshake = [1] + Bytes.be24(body.count) + [0, 0] + Bytes.be24(0) + Bytes.be24(body.count) + body
        return [22, 0xfe, 0xfd] + [0, 0, 0, 0, 0, 0, 0, 0] + Bytes.be16(UInt16(handshake.count)) + handshake
    }
    static func isAnswer(_ a: [UInt8]) -> Bool {
        guard a.count >= 13, a[0] == 22 || a[0] == 21, a[1] == 0xfe else { return false }
        if a[0] == 21 { return true }  // an alert
        return a.count >= 14 && (a[13] == 3 || a[13] == 2)  // HelloVerifyRequest or ServerHello
    }
}
