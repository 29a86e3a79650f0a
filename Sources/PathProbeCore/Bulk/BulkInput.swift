/// The `pathprobe bulk` input format, parsed one line at a time (nothing is held beyond the current
/// line and, for a CIDR range, where its expansion has got to).
///
/// One target per line: a host name, an IPv4 or IPv6 address (IPv6 optionally in brackets), or a
/// CIDR range. `#` starts a comment (whole line or after the target); blank lines are ignored.
/// A range is expanded to at most `BulkInput.rangeCap` addresses; IPv4 ranges of /30 and wider skip
/// their network and broadcast addresses (as `fping -g` does).
public enum BulkInput {
    /// Most addresses one CIDR line may expand to (an IPv4 /16, an IPv6 /112).
    public static let rangeCap: UInt64 = 65536
    /// Longest line read as a target (a host name is at most 253 bytes; the rest is room for a
    /// comment). A longer line is an error record; the reader keeps only its first `lineCap` + 1
    /// bytes and skips the rest.
    public static let lineCap = 4096
    /// A line that runs on for this many bytes without a newline ends the input: it is not a list
    /// of targets (`/dev/zero`, a binary file), and reading on would take unbounded time.
    public static let skipCap = 1 << 20
    /// The text an over-long line's error record carries.
    static let overlongShown = 64

    /// What one non-blank line holds.
    public enum Item: Equatable, Sendable {
        case address(IPAddress)
        /// `count` consecutive addresses from `first`.
        case range(first: IPAddress, count: UInt64)
        case host(String)
        /// Not a target: why, in words (becomes the error record's `error`).
        case invalid(String)
    }

    /// The target text of a line (comment and surrounding blanks removed) and what it is;
    /// nil for blank and comment-only lines.
    public static func parse(line: some StringProtocol) -> (text: String, item: Item)? {
        if line.utf8.count > lineCap {
            return (String(line.prefix(overlongShown)) + "...", .invalid("line longer than \(lineCap) bytes: not a target"))
        }
        var body = Substring(line)
        if let hash = body.firstIndex(of: "#") { body = body[..<hash] }
        let tokens = body.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\u{0B}" || $0 == "\u{0C}" })
        guard let first = tokens.first else { return nil }
        let text = String(first)
        if tokens.count > 1 {
            let rest = tokens.dropFirst().joined(separator: " ")
            return (body.trimmingBlanks, .invalid("one target per line expected, found more after '\(text)': '\(rest)'"))
        }
        return (text, item(text))
    }

    static func item(_ text: String) -> Item {
        if let slash = text.firstIndex(of: "/") {
            return range(address: text[..<slash], prefix: text[text.index(after: slash)...])
        }
        if let a = literal(text) { return .address(a) }
        if text.contains(":") || text.hasPrefix("[") { return .invalid("not a valid IPv6 address") }
        if let why = HostName.problem(text) { return .invalid(why) }
        return .host(text)
    }

    /// An address literal, IPv6 optionally in brackets.
    static func literal(_ text: some StringProtocol) -> IPAddress? {
        var s = Substring(text)
        if s.hasPrefix("[") && s.hasSuffix("]") { s = s.dropFirst().dropLast() }
        return IPAddress(s)
    }

    static func range(address: Substring, prefix: Substring) -> Item {
        guard let base = literal(address) else { return .invalid("'\(address)' is not an IPv4 or IPv6 address") }
        let bits = base.family == .ipv4 ? 32 : 128
        guard !prefix.isEmpty, prefix.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(prefix), n <= bits else {
            return .invalid("prefix length '/\(prefix)' must be 0-\(bits)")
        }
        let hostBits = bits - n
        guard hostBits < 64, (UInt64(1) << UInt64(hostBits)) <= rangeCap else {
            return .invalid("range /\(n) holds 2^\(hostBits) addresses, more than the \(rangeCap) one line may expand to; split it")
        }
        let size = UInt64(1) << UInt64(hostBits)
        let first = network(base, hostBits: hostBits)
        if base.family == .ipv4 && hostBits >= 2 {
            return .range(first: first.advanced(by: 1), count: size - 2)  // no network, no broadcast address
        }
        return .range(first: first, count: size)
    }

    /// The address with its host bits cleared ("10.0.0.7/24" means 10.0.0.0/24).
    static func network(_ a: IPAddress, hostBits: Int) -> IPAddress {
        let mask: UInt64 = hostBits == 0 ? ~0 : ~((UInt64(1) << UInt64(hostBits)) - 1)
        switch a.family {
        case .ipv4: return IPAddress(ipv4: UInt32(truncatingIfNeeded: a.low & mask))
        case .ipv6: return IPAddress(ipv6High: a.high, low: a.low & mask)
        }
    }
}

extension Substring {
    var trimmingBlanks: String {
        let isBlank: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
        guard let start = firstIndex(where: { !isBlank($0) }), let end = lastIndex(where: { !isBlank($0) }) else { return "" }
        return String(self[start...end])
    }
}

/// One target handed to the run: which input line it came from, the text its record carries as
/// `target` (for an expanded range, the address itself), and what it is.
public struct BulkTargetLine: Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        case address(IPAddress)
        case host(String)
        case invalid(String)
    }

    public var line: Int
    public var text: String
    public var kind: Kind

    public init(line: Int, text: String, kind: Kind) {
        self.line = line
        self.text = text
        self.kind = kind
    }

    /// The identity used to skip duplicates and targets already in a resumed output file.
    public var key: BulkTargetKey {
        if case let .address(a) = kind { return .address(a) }
        return BulkTargetKey(text)
    }
}

/// Expands input lines into targets lazily: lines are pulled from `lines` only as targets are asked
/// for, and a CIDR range yields its addresses one by one.
public struct BulkTargetReader<Lines: IteratorProtocol>: IteratorProtocol where Lines.Element == String {
    private var lines: Lines
    private var lineNumber = 0
    private var range: (line: Int, next: IPAddress, left: UInt64)? = nil

    public init(_ lines: Lines) { self.lines = lines }

    /// Number of the last line read (1-based).
    public var linesRead: Int { lineNumber }

    public mutating func next() -> BulkTargetLine? {
        if let r = range {
            range = r.left > 1 ? (r.line, r.next.advanced(by: 1), r.left - 1) : nil
            return BulkTargetLine(line: r.line, text: r.next.description, kind: .address(r.next))
        }
        while let raw = lines.next() {
            lineNumber += 1
            guard let (text, item) = BulkInput.parse(line: raw) else { continue }
            switch item {
            case let .address(a): return BulkTargetLine(line: lineNumber, text: text, kind: .address(a))
            case let .host(h): return BulkTargetLine(line: lineNumber, text: text, kind: .host(h))
            case let .invalid(why): return BulkTargetLine(line: lineNumber, text: text, kind: .invalid(why))
            case let .range(first, count):
                guard count > 0 else { continue }
                range = (lineNumber, first, count)
                return next()
            }
        }
        return nil
    }
}

/// How many targets lines hold (ranges counted by their size), for the progress display's total.
public func bulkTargetCount<Lines: IteratorProtocol>(_ lines: Lines) -> Int where Lines.Element == String {
    var it = lines
    var n = 0
    while let raw = it.next() {
        guard let (_, item) = BulkInput.parse(line: raw) else { continue }
        if case let .range(_, count) = item { n += Int(count) } else { n += 1 }
    }
    return n
}
