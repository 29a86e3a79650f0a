/// An HTTP/1.1 request sized to the byte, as a probe payload for plain HTTP ports: `GET /` with the
/// headers a client sends, grown with one padding header (`X-Pad`) to an exact length. The server's
/// answer (any status: a page, a redirect, a 404) is the download flight.
public enum HTTPProbeRequest {
    static func head(host: String) -> String {
        "GET / HTTP/1.1\r\nHost: \(host)\r\nUser-Agent: pathprobe\r\nAccept: */*\r\n"
    }
    static let paddingName = "X-Pad: "
    static let end = "Connection: close\r\n\r\n"

    /// The shortest request for this host (the padding header present, its value empty).
    public static func minimumLength(host: String) -> Int {
        head(host: hostHeader(host)).utf8.count + paddingName.utf8.count + 2 + end.utf8.count
    }

    /// The request, exactly `length` bytes (at least `minimumLength`). `host` is the name or address
    /// typed by the user; an IPv6 literal gets its brackets.
    public static func build(host: String, length: Int) -> [UInt8] {
        let h = hostHeader(host)
        let fill = max(0, length - minimumLength(host: host))
        return Array((head(host: h) + paddingName + String(repeating: "a", count: fill) + "\r\n" + end).utf8)
    }

    static func hostHeader(_ host: String) -> String {
        if let a = IPAddress(host), a.family == .ipv6 { return "[\(a)]" }
        return host
    }

    /// True when the bytes start like an HTTP response.
    public static func isResponse(_ bytes: [UInt8]) -> Bool {
        let prefix = Array("HTTP/".utf8)
        return bytes.count >= prefix.count && Array(bytes.prefix(prefix.count)) == prefix
    }
}
