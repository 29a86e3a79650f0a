/// An IPv4 or IPv6 address held by value (no allocation), as the engine and every report use it.
public enum AddressFamily: String, Sendable, Hashable, Codable {
    case ipv4
    case ipv6

    /// Size of the fixed IP header, which every `size` in pathprobe includes.
    public var ipHeaderSize: Int { self == .ipv4 ? 20 : 40 }
    /// The smallest MTU a link of this family may have (RFC 791 / RFC 8200).
    public var minimumMTU: Int { self == .ipv4 ? 68 : 1280 }
    /// TCP MSS that fits a path MTU: MTU minus IP and TCP headers.
    public func mss(forMTU mtu: Int) -> Int { mtu - ipHeaderSize - 20 }
}

public struct IPAddress: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let family: AddressFamily
    /// IPv6: the first and last 8 bytes, big-endian. IPv4: the address in `low` (host order), `high` 0.
    public let high: UInt64
    public let low: UInt64

    public init(ipv4 value: UInt32) {
        family = .ipv4
        high = 0
        low = UInt64(value)
    }

    public init(ipv6High high: UInt64, low: UInt64) {
        family = .ipv6
        self.high = high
        self.low = low
    }

    /// From network-order bytes: 4 for IPv4, 16 for IPv6.
    public init?<C: Collection>(bytes: C) where C.Element == UInt8 {
        let b = Array(bytes)
        if b.count == 4 {
            self.init(ipv4: UInt32(b[0]) << 24 | UInt32(b[1]) << 16 | UInt32(b[2]) << 8 | UInt32(b[3]))
        } else if b.count == 16 {
            var h: UInt64 = 0
            var l: UInt64 = 0
            for i in 0..<8 { h = h << 8 | UInt64(b[i]) }
            for i in 8..<16 { l = l << 8 | UInt64(b[i]) }
            self.init(ipv6High: h, low: l)
        } else {
            return nil
        }
    }

    /// Network-order bytes.
    public var bytes: [UInt8] {
        switch family {
        case .ipv4:
            let v = UInt32(truncatingIfNeeded: low)
            return [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)]
        case .ipv6:
            var out = [UInt8](repeating: 0, count: 16)
            for i in 0..<8 {
                out[i] = UInt8(truncatingIfNeeded: high >> (56 - 8 * UInt64(i)))
                out[8 + i] = UInt8(truncatingIfNeeded: low >> (56 - 8 * UInt64(i)))
            }
            return out
        }
    }

    public var ipv4Value: UInt32 { UInt32(truncatingIfNeeded: low) }

    /// Parses a literal address ("192.0.2.1", "2001:db8::1"); nil for anything else.
    ///
    /// One rule everywhere (command line, bulk input, --listen, reports), inet_pton's: IPv4 is four
    /// decimal numbers 0-255 without leading zeros; IPv6 groups are 1-4 hex digits (no sign). The
    /// legacy forms inet_aton and getaddrinfo also take (`127.1`, `0x7f.0.0.1`, `017.0.0.1`,
    /// `2130706433`) read differently in different tools, so they are not addresses here, and
    /// `HostName.problem` keeps them from reaching the resolver as names.
    public init?(_ text: some StringProtocol) {
        let s = String(text)
        if s.contains(":") {
            guard let v = IPAddress.parseIPv6(s) else { return nil }
            self = v
        } else {
            guard let v = IPAddress.parseIPv4(s) else { return nil }
            self.init(ipv4: v)
        }
    }

    static func parseIPv4(_ s: String) -> UInt32? {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var v: UInt32 = 0
        for p in parts {
            guard !p.isEmpty, p.count <= 3, p.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), p.count == 1 || p.first != "0",
                  let n = UInt32(p), n <= 255 else {
                return nil
            }
            v = v << 8 | n
        }
        return v
    }

    static func parseIPv6(_ input: String) -> IPAddress? {
        var s = Substring(input)
        if let pct = s.firstIndex(of: "%") { s = s[..<pct] }  // zone index is not part of the address
        guard !s.isEmpty, s.count <= 45 else { return nil }
        var groups: [UInt16] = []
        var gapAt: Int? = nil
        var halves: [String] = []
        if let r = s.firstRange(of: "::") {
            halves = [String(s[..<r.lowerBound]), String(s[r.upperBound...])]
            if halves[1].contains("::") { return nil }
        } else {
            halves = [String(s)]
        }
        func parseSide(_ side: String) -> [UInt16]? {
            if side.isEmpty { return [] }
            var out: [UInt16] = []
            let fields = side.split(separator: ":", omittingEmptySubsequences: false)
            for (i, f) in fields.enumerated() {
                if f.contains(".") {
                    guard i == fields.count - 1, let v4 = parseIPv4(String(f)) else { return nil }
                    out.append(UInt16(v4 >> 16))
                    out.append(UInt16(v4 & 0xffff))
                } else {
                    guard !f.isEmpty, f.utf8.count <= 4, f.utf8.allSatisfy(\.isHexDigit), let v = UInt16(f, radix: 16) else { return nil }
                    out.append(v)
                }
            }
            return out
        }
        guard let left = parseSide(halves[0]) else { return nil }
        groups = left
        if halves.count == 2 {
            guard let right = parseSide(halves[1]) else { return nil }
            guard left.count + right.count <= 7 else { return nil }
            gapAt = left.count
            groups += right
        }
        if let gap = gapAt {
            groups.insert(contentsOf: [UInt16](repeating: 0, count: 8 - groups.count), at: gap)
        }
        guard groups.count == 8 else { return nil }
        var h: UInt64 = 0
        var l: UInt64 = 0
        for i in 0..<4 { h = h << 16 | UInt64(groups[i]) }
        for i in 4..<8 { l = l << 16 | UInt64(groups[i]) }
        return IPAddress(ipv6High: h, low: l)
    }

    public var description: String {
        switch family {
        case .ipv4:
            let v = ipv4Value
            return "\(v >> 24).\(v >> 16 & 0xff).\(v >> 8 & 0xff).\(v & 0xff)"
        case .ipv6:
            var g = [UInt16](repeating: 0, count: 8)
            for i in 0..<4 {
                g[i] = UInt16(truncatingIfNeeded: high >> (48 - 16 * UInt64(i)))
                g[4 + i] = UInt16(truncatingIfNeeded: low >> (48 - 16 * UInt64(i)))
            }
            // RFC 5952: compress the longest run (length >= 2) of zero groups, the first one on ties.
            var bestStart = -1, bestLen = 0, i = 0
            while i < 8 {
                if g[i] == 0 {
                    var j = i
                    while j < 8 && g[j] == 0 { j += 1 }
                    if j - i > bestLen && j - i >= 2 { bestStart = i; bestLen = j - i }
                    i = j
                } else {
                    i += 1
                }
            }
            func hex(_ r: ArraySlice<UInt16>) -> String { r.map { String($0, radix: 16) }.joined(separator: ":") }
            if bestStart < 0 { return hex(g[0..<8]) }
            return hex(g[0..<bestStart]) + "::" + hex(g[(bestStart + bestLen)..<8])
        }
    }

    public static func < (a: IPAddress, b: IPAddress) -> Bool {
        if a.family != b.family { return a.family == .ipv4 }
        return (a.high, a.low) < (b.high, b.low)
    }

    public var isLoopback: Bool {
        switch family {
        case .ipv4: return ipv4Value >> 24 == 127
        case .ipv6: return high == 0 && low == 1
        }
    }

    /// The address `n` places after this one (wrapping inside the family), for CIDR expansion.
    public func advanced(by n: UInt64) -> IPAddress {
        switch family {
        case .ipv4: return IPAddress(ipv4: ipv4Value &+ UInt32(truncatingIfNeeded: n))
        case .ipv6:
            let (l, carry) = low.addingReportingOverflow(n)
            return IPAddress(ipv6High: high &+ (carry ? 1 : 0), low: l)
        }
    }
}

/// Addresses are strings in every document ("192.0.2.1", "2001:db8::1").
extension IPAddress: Codable {
    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let a = IPAddress(text) else { throw JSONDecodingError(decoder.codingPath, "'\(text)' is not an IP address") }
        self = a
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

extension UInt8 {
    /// 0-9, a-f, A-F.
    var isHexDigit: Bool { (self >= 0x30 && self <= 0x39) || (self >= 0x61 && self <= 0x66) || (self >= 0x41 && self <= 0x46) }
}

/// The one check of a host name before it goes to the resolver (the command line and bulk input).
public enum HostName {
    /// Why `name` cannot be a DNS host name, or nil when it can (RFC 1123 labels; `_` tolerated).
    /// A name whose last label is a number (`127.1`, `0x7f.0.0.1`, `10.0.0.300`) is an attempted
    /// IPv4 address that `IPAddress` did not accept: "not a valid IPv4 address" (RFC 3696: a
    /// top-level label is never all-numeric), so getaddrinfo's legacy forms never apply.
    public static func problem(_ name: String) -> String? {
        var s = Substring(name)
        if s.hasSuffix(".") { s = s.dropLast() }
        guard !s.isEmpty, s.utf8.count <= 253 else { return "not a host name (1-253 characters)" }
        if s.contains(":") { return "not a valid IPv6 address" }
        let labels = s.split(separator: ".", omittingEmptySubsequences: false)
        if let last = labels.last, isNumber(last) { return "not a valid IPv4 address" }
        for label in labels {
            guard !label.isEmpty, label.utf8.count <= 63 else { return "not a host name (empty or over-long label)" }
            let ok = label.unicodeScalars.allSatisfy {
                ($0 >= "a" && $0 <= "z") || ($0 >= "A" && $0 <= "Z") || ($0 >= "0" && $0 <= "9") || $0 == "-" || $0 == "_"
            }
            guard ok else { return "not a host name or address: '\(name)'" }
            guard !label.hasPrefix("-"), !label.hasSuffix("-") else { return "not a host name (label starts or ends with '-')" }
        }
        return nil
    }

    /// A number as inet_aton reads one: decimal, octal (leading 0) or hex (0x).
    private static func isNumber(_ label: Substring) -> Bool {
        let b = Array(label.utf8)
        if b.count > 2, b[0] == 0x30, b[1] | 0x20 == 0x78 { return b[2...].allSatisfy(\.isHexDigit) }
        return !b.isEmpty && b.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }
}
