/// The RD Gateway's HTTP transport as its first request shows it ([MS-TSGU] 2.2.3, 3.3.5.1, 4.2.1):
/// the client opens the OUT channel with the custom method RDG_OUT_DATA on /remoteDesktopGateway/,
/// HTTP/1.1, an `RDG-Connection-Id` header (a client-made GUID in braces), caching disallowed,
/// accept type "*/*". A gateway answers an unauthenticated client 401 with its authentication
/// schemes. The WebSocket transport sends the same request with an upgrade to WebSocket (RFC 6455);
/// authentication comes first there too.
///
/// pathprobe sends the headers a real client (mstsc, FreeRDP) sends, in FreeRDP's order, so the
/// gateway and any proxy in front of it see an ordinary client.
public enum RDGateway {
    public static let path = "/remoteDesktopGateway/"
    public static let outDataMethod = "RDG_OUT_DATA"
    public static let userAgent = "MS-RDGateway/1.0"
    public static let defaultPort: UInt16 = 443
    /// The UDP transport (DTLS).
    public static let defaultUDPPort: UInt16 = 3391

    /// A GUID in the registry form the header carries: "{958F92D8-DA20-467A-BBE3-65E7E9B4EDCF}".
    /// `bytes` are 16 bytes (missing ones read as zero); the version-4 and variant bits are set.
    public static func guid(_ bytes: [UInt8]) -> String {
        var b = Array(bytes.prefix(16)) + [UInt8](repeating: 0, count: max(0, 16 - bytes.count))
        b[6] = b[6] & 0x0F | 0x40
        b[8] = b[8] & 0x3F | 0x80
        let digits = Array("0123456789ABCDEF")
        var out = "{"
        for (i, byte) in b.enumerated() {
            if i == 4 || i == 6 || i == 8 || i == 10 { out += "-" }
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        return out + "}"
    }

    /// The Host header's value: a name as given, an IPv6 literal in brackets, ":port" unless 443.
    public static func hostHeader(_ host: String, port: UInt16) -> String {
        let name = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        return port == defaultPort ? name : "\(name):\(port)"
    }

    /// RDG_OUT_DATA: the first request of the HTTP transport.
    public static func outDataRequest(host: String, port: UInt16 = defaultPort, connectionId: String) -> [UInt8] {
        request(host: host, port: port, connectionId: connectionId, upgrade: [
            ("Connection", "Keep-Alive"),
        ])
    }

    /// The WebSocket transport's request: RDG_OUT_DATA with an upgrade to WebSocket; `key` is the
    /// 16-byte nonce of Sec-WebSocket-Key (RFC 6455 4.1).
    public static func webSocketRequest(host: String, port: UInt16 = defaultPort, connectionId: String, key: [UInt8]) -> [UInt8] {
        request(host: host, port: port, connectionId: connectionId, upgrade: [
            ("Connection", "Upgrade"),
            ("Upgrade", "websocket"),
            ("Sec-WebSocket-Version", "13"),
            ("Sec-WebSocket-Key", Base64.encode(Array(key.prefix(16)))),
        ])
    }

    private static func request(host: String, port: UInt16, connectionId: String, upgrade: [(String, String)]) -> [UInt8] {
        var headers: [(String, String)] = [("Host", hostHeader(host, port: port)),
                                           ("Accept", "*/*"),
                                           ("Cache-Control", "no-cache"),
                                           ("Pragma", "no-cache")]
        headers += upgrade
        headers += [("User-Agent", userAgent),
                    ("RDG-Connection-Id", connectionId),
                    ("Content-Length", "0")]
        var text = "\(outDataMethod) \(path) HTTP/1.1\r\n"
        for (name, value) in headers {
            // A header value carries no control characters: a hostile host name must not add headers.
            let clean = String(String.UnicodeScalarView(value.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }))
            text += "\(name): \(clean)\r\n"
        }
        return Array((text + "\r\n").utf8)
    }
}

/// RFC 4648 base64 with padding (the WebSocket key).
enum Base64 {
    static func encode(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        var out = ""
        var i = 0
        while i < bytes.count {
            let n = min(3, bytes.count - i)
            let b0 = Int(bytes[i]), b1 = n > 1 ? Int(bytes[i + 1]) : 0, b2 = n > 2 ? Int(bytes[i + 2]) : 0
            out.append(alphabet[b0 >> 2])
            out.append(alphabet[(b0 & 0x3) << 4 | b1 >> 4])
            out.append(n > 1 ? alphabet[(b1 & 0xF) << 2 | b2 >> 6] : "=")
            out.append(n > 2 ? alphabet[b2 & 0x3F] : "=")
            i += 3
        }
        return out
    }
}

/// What an answer to RDG_OUT_DATA (or its WebSocket form) says about the server.
public enum GatewayVerdict: Sendable, Equatable {
    /// 401 with authentication schemes: an RD Gateway asking the client to authenticate ([MS-TSGU] 3.3.5.1).
    case gateway(authSchemes: [String])
    /// 101 Switching Protocols to WebSocket: a gateway that took the WebSocket transport without
    /// authentication first (pre-authenticated, e.g. by a reverse proxy).
    case webSocketAccepted
    /// Anything else: a plain web server's 404, a proxy's 403, a redirect, a 401 without any scheme...
    /// `reason` says what answered, for the report.
    case notGateway(reason: String)

    public var isGateway: Bool {
        if case .notGateway = self { return false }
        return true
    }

    /// Judges a response head to RDG_OUT_DATA (`webSocket`: to the WebSocket upgrade request).
    public init(head: HTTPResponseHead, webSocket: Bool) {
        let schemes = head.authSchemes
        let status = "\(head.status) \(head.reason)".trimmingHTTPWhitespace()
        switch head.status {
        case 401 where !schemes.isEmpty:
            self = .gateway(authSchemes: schemes)
        case 401:
            self = .notGateway(reason: "\(status) without any WWW-Authenticate scheme")
        case 101 where webSocket && head.values(of: "Upgrade").contains(where: { $0.lowercased() == "websocket" }):
            self = .webSocketAccepted
        case 300...399:
            let location = head.values(of: "Location").first.map { " to \($0)" } ?? ""
            self = .notGateway(reason: "redirect (\(status))\(location)")
        case 403:
            self = .notGateway(reason: "\(status): a proxy or web server refused the gateway's path")
        case 404:
            self = .notGateway(reason: "\(status): a web server without the RD Gateway's path")
        case 405, 501:
            self = .notGateway(reason: "\(status): a web server that does not know RDG_OUT_DATA")
        case 407:
            self = .notGateway(reason: "\(status): a proxy asks for its own authentication")
        default:
            self = .notGateway(reason: "\(status)")
        }
    }
}
