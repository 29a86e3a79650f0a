/// RDP's first exchange ([MS-RDPBCGR] 2.2.1.1 and 2.2.1.2): the client's X.224 Connection Request
/// carrying an RDP Negotiation Request, and the server's X.224 Connection Confirm carrying an RDP
/// Negotiation Response (the security protocol it selected) or an RDP Negotiation Failure. TLS, when
/// selected, starts right after on the same connection.
///
/// Wire layout: TPKT (RFC 1006: version 3, reserved 0, big-endian length of the whole packet), the
/// X.224 TPDU header (length indicator, code, DST-REF, SRC-REF, class), then the variable part.
public enum X224 {
    /// Security protocols, as flags in a request and as the single value a server selects.
    public struct Protocols: OptionSet, Sendable, Hashable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        /// TLS (PROTOCOL_SSL).
        public static let ssl = Protocols(rawValue: 0x1)
        /// CredSSP (PROTOCOL_HYBRID).
        public static let hybrid = Protocols(rawValue: 0x2)
        public static let rdstls = Protocols(rawValue: 0x4)
        /// CredSSP with the early user authorization result PDU (PROTOCOL_HYBRID_EX).
        public static let hybridEx = Protocols(rawValue: 0x8)
        /// What pathprobe offers: everything a modern client offers but RDSTLS.
        public static let modernClient: Protocols = [.ssl, .hybrid, .hybridEx]
    }

    /// The protocol a server selected, named as in pathprobe's JSON (`rdp.selected_protocol`).
    public enum SelectedProtocol: String, Sendable, Equatable, Codable {
        /// Standard RDP security: no TLS (PROTOCOL_RDP, 0).
        case rdp
        case ssl
        case hybrid
        case rdstls
        case hybridEx = "hybrid_ex"

        public init?(code: UInt32) {
            switch code {
            case 0: self = .rdp
            case 0x1: self = .ssl
            case 0x2: self = .hybrid
            case 0x4: self = .rdstls
            case 0x8: self = .hybridEx
            default: return nil
            }
        }
    }

    /// RDP_NEG_FAILURE codes ([MS-RDPBCGR] 2.2.1.2.2), named as the specification names them.
    public enum FailureCode: UInt32, Sendable, Equatable {
        case sslRequiredByServer = 1
        case sslNotAllowedByServer = 2
        case sslCertNotOnServer = 3
        case inconsistentFlags = 4
        case hybridRequiredByServer = 5
        case sslWithUserAuthRequiredByServer = 6

        public var name: String {
            switch self {
            case .sslRequiredByServer: return "SSL_REQUIRED_BY_SERVER"
            case .sslNotAllowedByServer: return "SSL_NOT_ALLOWED_BY_SERVER"
            case .sslCertNotOnServer: return "SSL_CERT_NOT_ON_SERVER"
            case .inconsistentFlags: return "INCONSISTENT_FLAGS"
            case .hybridRequiredByServer: return "HYBRID_REQUIRED_BY_SERVER"
            case .sslWithUserAuthRequiredByServer: return "SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER"
            }
        }
    }

    static let tpktHeader = 4
    /// LI, code, DST-REF (2), SRC-REF (2), class.
    static let tpduHeader = 7
    static let negotiationLength = 8
    static let connectionRequestCode: UInt8 = 0xE0
    static let connectionConfirmCode: UInt8 = 0xD0
    /// The length indicator is one byte and counts the TPDU after itself: the cookie can be at
    /// most this long (255 - 6 header bytes - 8 negotiation bytes - 1 spare, as clients keep LI <= 254).
    public static let maximumCookieLength = 240

    /// The X.224 Connection Request with an RDP_NEG_REQ. `cookie` (the user name mstsc puts there,
    /// "Cookie: mstshash=NAME\r\n") is optional; it is cut to `maximumCookieLength` bytes.
    public static func connectionRequest(cookieName: String? = nil, protocols: Protocols = .modernClient) -> [UInt8] {
        var variable: [UInt8] = []
        if let name = cookieName {
            variable += Array("Cookie: mstshash=\(name)\r\n".utf8.prefix(maximumCookieLength))
        }
        // RDP_NEG_REQ: type 1, flags 0, length 8 (little-endian), requestedProtocols (little-endian).
        variable += [0x01, 0x00, 0x08, 0x00] + littleEndian32(protocols.rawValue)
        let total = tpktHeader + tpduHeader + variable.count
        let tpkt: [UInt8] = [0x03, 0x00, UInt8(total >> 8), UInt8(total & 0xff)]
        let tpdu: [UInt8] = [UInt8(tpduHeader - 1 + variable.count), connectionRequestCode, 0, 0, 0, 0, 0]
        return tpkt + tpdu + variable
    }

    /// What the server answered.
    public enum Confirm: Sendable, Equatable {
        /// RDP_NEG_RSP: the selected protocol (nil: a code this parser does not know), and its flags.
        case selected(SelectedProtocol?, code: UInt32, flags: UInt8)
        /// RDP_NEG_FAILURE with its code (nil: unknown) and the raw value.
        case failure(FailureCode?, code: UInt32)
        /// A Connection Confirm without negotiation data: an old server, standard RDP security.
        case legacy
    }

    public enum ParseResult: Sendable, Equatable {
        /// The whole TPKT packet is not there yet.
        case needMore
        /// Not a TPKT-framed X.224 Connection Confirm: the far end does not speak RDP.
        case notRDP(String)
        /// A complete Connection Confirm; `length` bytes of the input were consumed.
        case confirm(Confirm, length: Int)
    }

    /// Parses the server's answer from the start of `bytes` (what the connection received so far).
    /// Never traps on hostile input.
    public static func parseConfirm(_ bytes: [UInt8]) -> ParseResult {
        guard bytes.count >= tpktHeader else {
            if let first = bytes.first, first != 0x03 { return .notRDP("not a TPKT packet (first byte \(hex(first)))") }
            return .needMore
        }
        guard bytes[0] == 0x03, bytes[1] == 0x00 else { return .notRDP("not a TPKT packet (first bytes \(hex(bytes[0])) \(hex(bytes[1])))") }
        let length = Int(bytes[2]) << 8 | Int(bytes[3])
        guard length >= tpktHeader + tpduHeader else { return .notRDP("TPKT length \(length) is too short for X.224") }
        guard bytes.count >= length else { return .needMore }
        let li = Int(bytes[4])
        let code = bytes[5] & 0xF0
        guard code == connectionConfirmCode else { return .notRDP("X.224 TPDU code \(hex(bytes[5])) is not a Connection Confirm") }
        guard li + 1 <= length - tpktHeader, li >= tpduHeader - 1 else { return .notRDP("X.224 length indicator \(li) does not fit the packet") }
        let variableStart = tpktHeader + tpduHeader
        let variableEnd = tpktHeader + 1 + li
        guard variableEnd - variableStart >= negotiationLength else { return .confirm(.legacy, length: length) }
        let type = bytes[variableStart]
        let flags = bytes[variableStart + 1]
        let value = UInt32(bytes[variableStart + 4]) | UInt32(bytes[variableStart + 5]) << 8
            | UInt32(bytes[variableStart + 6]) << 16 | UInt32(bytes[variableStart + 7]) << 24
        switch type {
        case 0x02: return .confirm(.selected(SelectedProtocol(code: value), code: value, flags: flags), length: length)
        case 0x03: return .confirm(.failure(FailureCode(rawValue: value), code: value), length: length)
        default: return .confirm(.legacy, length: length)
        }
    }

    private static func littleEndian32(_ v: UInt32) -> [UInt8] {
        [UInt8(v & 0xff), UInt8(v >> 8 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 24)]
    }

    private static func hex(_ b: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return "0x" + String(digits[Int(b >> 4)]) + String(digits[Int(b & 0xf)])
    }
}
