/// One record of `pathprobe bulk`: the single-target command's document with `line` filled in, or an
/// error record for a target that could not be measured at all. Typed: the summary counts these
/// values and the writers encode them; nothing reads a record back by key.
public enum BulkRecord: Sendable {
    case mtu(PathMTUResult)
    case reach(ReachResult)
    case profile(ProfileReport)
    case rdp(RDPReport)
    case error(BulkError)

    /// The document with its envelope.
    public var json: JSON {
        switch self {
        case let .mtu(r): return Contract.json(r)
        case let .reach(r): return Contract.json(r)
        case let .profile(r): return Contract.json(r)
        case let .rdp(r): return Contract.json(r)
        case let .error(e): return Contract.json(e)
        }
    }

    /// One JSON Lines line, newline included.
    public var jsonLine: String { json.serialized() + "\n" }

    public var isError: Bool {
        if case .error = self { return true }
        return false
    }
}

/// The `error` record: a bulk target that could not be measured (a bad line, a name that does not
/// resolve, no route, an option that does not fit its address family). The run goes on.
public struct BulkError: LineNumbered, Sendable {
    public static let documentType = DocumentType.error
    public var target: String = ""
    public var line: Int? = nil
    public var error: String

    public init(target: String, line: Int, error: String) {
        self.target = target
        self.line = line
        self.error = error
    }

    public enum CodingKeys: String, CodingKey {
        case error
    }
}

/// A CSV column: a path of JSON names into the record ("black_hole_hop.ttl"), each written by its CodingKey.
public struct BulkColumn: Sendable, Equatable {
    public let path: [String]
    public init(_ keys: any CodingKey...) { path = keys.map(\.stringValue) }
    public init(path: [String]) { self.path = path }
    /// The header cell.
    public var name: String { path.joined(separator: ".") }
}

/// CSV as RFC 4180 has it: comma-separated, CRLF-free (lines end in "\n"), a field quoted when it holds
/// a comma, a quote, a line break or leading/trailing blanks, with quotes doubled.
public enum BulkCSV {
    public static func escape(_ field: String) -> String {
        let needsQuotes = field.utf8.contains { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0a || $0 == 0x0d }
            || field.first == " " || field.last == " " || field.first == "\t" || field.last == "\t"
        guard needsQuotes else { return field }
        var out = "\""
        for c in field.unicodeScalars {
            if c == "\"" { out += "\"\"" } else { out.unicodeScalars.append(c) }
        }
        return out + "\""
    }

    /// One CSV line, newline included.
    public static func line(_ fields: [String]) -> String {
        fields.map(escape).joined(separator: ",") + "\n"
    }

    /// The value under a column's path of a JSON object.
    public static func value(_ record: JSON, at column: BulkColumn) -> JSON? {
        var v: JSON? = record
        for part in column.path { v = v?[part] }
        return v
    }

    /// A JSON value as a CSV cell: null and absent are empty, strings bare, arrays/objects as compact JSON.
    public static func cell(_ v: JSON?) -> String {
        switch v {
        case .none, .some(.null): return ""
        case let .some(.string(s)): return s
        case let .some(other): return other.serialized()
        }
    }

    /// Typed cells, as `cell` writes the encoded value (numbers as the JSON encoder rounds them):
    /// for modes that build their rows from the typed result instead of its JSON tree.
    public static func cell(_ v: Double?) -> String { v.map { JSONValueEncoder.rounded($0).serialized() } ?? "" }
    public static func cell(_ v: Int?) -> String { v.map(String.init) ?? "" }
    public static func cell(_ v: Bool) -> String { v ? "true" : "false" }
    public static func cell(_ v: String?) -> String { v ?? "" }

    public static func fields(of record: JSON, columns: [BulkColumn]) -> [String] {
        columns.map { cell(value(record, at: $0)) }
    }

    /// Splits CSV text into records of fields. `complete` is the number of bytes up to the end of
    /// the last complete record (a final record not ended by a newline is left out: it may have been
    /// cut off by a crash).
    public static func parse(_ text: String) -> (records: [[String]], complete: Int) {
        var records: [[String]] = []
        var scanner = Scanner()
        var offset = 0
        for b in text.utf8 {
            offset += 1
            if let r = scanner.feed(b) { records.append(r); scanner.completeBytes = offset }
        }
        return (records, scanner.completeBytes)
    }

    /// Byte-at-a-time CSV record splitter (so a large file can be read in chunks).
    public struct Scanner: Sendable {
        private var field: [UInt8] = []
        private var fields: [String] = []
        private var inQuotes = false
        private var quoteSeen = false
        /// Bytes fed up to the end of the last complete record (maintained by the caller).
        public var completeBytes = 0

        public init() {}

        /// Feeds one byte; returns a record when this byte ended one.
        public mutating func feed(_ b: UInt8) -> [String]? {
            if inQuotes {
                if b == UInt8(ascii: "\"") {
                    inQuotes = false
                    quoteSeen = true
                } else {
                    field.append(b)
                }
                return nil
            }
            switch b {
            case UInt8(ascii: "\""):
                if quoteSeen { field.append(b) }  // "" inside a quoted field
                inQuotes = true
                quoteSeen = false
            case UInt8(ascii: ","):
                endField()
            case 0x0a:
                endField()
                let r = fields
                fields.removeAll(keepingCapacity: true)
                return r
            case 0x0d:
                quoteSeen = false
            default:
                quoteSeen = false
                field.append(b)
            }
            return nil
        }

        private mutating func endField() {
            fields.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
            quoteSeen = false
        }
    }
}
