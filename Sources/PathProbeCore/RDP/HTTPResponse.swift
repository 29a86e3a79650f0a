/// An HTTP/1.x response head (RFC 9112): the status line and the header fields, up to the empty
/// line. Hostile-input safe: never traps, refuses heads over `maximumLength`, bare LF line ends
/// accepted (RFC 9112 2.2), obsolete line folding refused.
public struct HTTPResponseHead: Sendable, Equatable {
    /// "HTTP/1.1".
    public var version: String
    public var status: Int
    public var reason: String
    /// Field names as sent, in order; repeated fields stay repeated.
    public var headers: [Header]

    public struct Header: Sendable, Equatable {
        public var name: String
        public var value: String
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public init(version: String, status: Int, reason: String, headers: [Header]) {
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers
    }

    /// Longest head accepted; a real gateway's 401 head is under 1 KiB.
    public static let maximumLength = 16_384

    public enum ParseResult: Sendable, Equatable {
        /// The empty line that ends the head has not arrived yet.
        case needMore
        /// Not an HTTP response (or a head too long to be one): the reason, for the report.
        case invalid(String)
        /// A complete head; `length` bytes of the input (line ends included) were consumed.
        case head(HTTPResponseHead, length: Int)
    }

    public static func parse(_ bytes: [UInt8]) -> ParseResult {
        // Before a full line is there, what has come must at least start like "HTTP/".
        let prefix = Array("HTTP/".utf8)
        let start = Array(bytes.prefix(prefix.count))
        guard start == Array(prefix.prefix(start.count)) else { return .invalid("the answer is not HTTP") }
        guard let end = headEnd(bytes) else {
            return bytes.count > maximumLength ? .invalid("the response head is longer than \(maximumLength) bytes") : .needMore
        }
        guard end.bodyStart <= maximumLength else { return .invalid("the response head is longer than \(maximumLength) bytes") }
        var lines = splitLines(Array(bytes[0..<end.headLength]))
        guard !lines.isEmpty else { return .invalid("empty response head") }
        let statusLine = lines.removeFirst()
        // status-line = HTTP-version SP status-code SP [ reason-phrase ]
        let parts = statusLine.split(separator: 0x20, maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, let version = ascii(parts[0]), version.hasPrefix("HTTP/1."),
              parts[1].count == 3, parts[1].allSatisfy({ (0x30...0x39).contains($0) }),
              let code = Int(String(decoding: parts[1], as: UTF8.self)), (100...599).contains(code) else {
            return .invalid("malformed status line")
        }
        let reason = parts.count > 2 ? String(decoding: parts[2], as: UTF8.self) : ""
        var headers: [Header] = []
        for line in lines {
            guard let first = line.first else { continue }
            if first == 0x20 || first == 0x09 { return .invalid("obsolete header line folding") }
            guard let colon = line.firstIndex(of: 0x3A), colon > line.startIndex else { return .invalid("malformed header line") }
            let nameBytes = line[line.startIndex..<colon]
            guard nameBytes.allSatisfy(isTokenCharacter), let name = ascii(nameBytes) else { return .invalid("malformed header name") }
            let value = String(decoding: line[(colon + 1)...], as: UTF8.self).trimmingHTTPWhitespace()
            headers.append(Header(name: name, value: value))
        }
        return .head(HTTPResponseHead(version: version, status: code, reason: reason, headers: headers), length: end.bodyStart)
    }

    /// Every value of a header (case-insensitive name), in order.
    public func values(of name: String) -> [String] {
        let wanted = name.lowercased()
        return headers.filter { $0.name.lowercased() == wanted }.map(\.value)
    }

    /// The authentication schemes of every WWW-Authenticate header, in order, duplicates removed
    /// ("Negotiate", "NTLM", "Basic"). A header may carry several challenges ("Basic realm="x", NTLM");
    /// auth-params after a scheme are not schemes (RFC 9110 11.6.1).
    public var authSchemes: [String] {
        var out: [String] = []
        for value in values(of: "WWW-Authenticate") {
            for scheme in Self.challengeSchemes(value) where !out.contains(where: { $0.lowercased() == scheme.lowercased() }) {
                out.append(scheme)
            }
        }
        return out
    }

    /// The scheme names of one WWW-Authenticate field value: a comma-separated element that starts
    /// with a token followed by nothing or a space opens a challenge; `token=...` elements are
    /// parameters of the challenge before them. Quoted strings may hold commas.
    static func challengeSchemes(_ value: String) -> [String] {
        var elements: [String] = []
        var current = ""
        var quoted = false
        var escaped = false
        for c in value {
            if quoted {
                if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { quoted = false }
                current.append(c)
            } else if c == "\"" {
                quoted = true
                current.append(c)
            } else if c == "," {
                elements.append(current)
                current = ""
            } else {
                current.append(c)
            }
        }
        elements.append(current)
        var schemes: [String] = []
        for element in elements {
            let trimmed = element.trimmingHTTPWhitespace()
            let token = String(trimmed.unicodeScalars.prefix { $0.isASCII && isTokenCharacter(UInt8($0.value)) })
            guard !token.isEmpty else { continue }
            let rest = trimmed.unicodeScalars.dropFirst(token.unicodeScalars.count)
            // "realm=..." or "realm = ..." (RFC 9110 allows spaces around '='): a parameter.
            if rest.drop(while: { $0 == " " || $0 == "\t" }).first == "=" { continue }
            // A scheme stands alone or is followed by a space (then its token68 or parameters).
            if rest.isEmpty || rest.first == " " || rest.first == "\t" { schemes.append(token) }
        }
        return schemes
    }

    private static func headEnd(_ bytes: [UInt8]) -> (headLength: Int, bodyStart: Int)? {
        // The head ends at the first empty line: CRLF CRLF, or LF LF / LF CRLF with bare LF line ends.
        var i = 0
        while i < bytes.count {
            if bytes[i] == 0x0A {
                if i + 1 < bytes.count, bytes[i + 1] == 0x0A { return (i + 1, i + 2) }
                if i + 2 < bytes.count, bytes[i + 1] == 0x0D, bytes[i + 2] == 0x0A { return (i + 1, i + 3) }
            }
            i += 1
        }
        return nil
    }

    private static func splitLines(_ head: [UInt8]) -> [ArraySlice<UInt8>] {
        head.split(separator: 0x0A, omittingEmptySubsequences: false).map { line in
            line.last == 0x0D ? line.dropLast() : line
        }.filter { !$0.isEmpty }
    }

    private static func ascii(_ bytes: ArraySlice<UInt8>) -> String? {
        bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) ? String(decoding: bytes, as: UTF8.self) : nil
    }

    /// RFC 9110 tchar.
    static func isTokenCharacter(_ b: UInt8) -> Bool {
        switch b {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        default: return Array("!#$%&'*+-.^_`|~".utf8).contains(b)
        }
    }
}

extension String {
    /// Without leading and trailing spaces and tabs (HTTP's OWS).
    func trimmingHTTPWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { $0 != " " && $0 != "\t" }),
              let last = scalars.lastIndex(where: { $0 != " " && $0 != "\t" }) else { return "" }
        return String(scalars[first...last])
    }
}
