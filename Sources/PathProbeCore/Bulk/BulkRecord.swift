/// Records of `pathprobe bulk`: the single-target JSON object with `line` added, error records for
/// targets that could not be measured, and their CSV rendering.
public enum BulkRecord {
    /// `record` with `"line": line` right after `target` (first if there is no `target`).
    public static func withLine(_ record: JSON, line: Int) -> JSON {
        guard case var .object(fields) = record else { return record }
        fields.removeAll { $0.0 == "line" }
        let at = fields.firstIndex { $0.0 == "target" }.map { $0 + 1 } ?? 0
        fields.insert(("line", .int(line)), at: at)
        return .object(fields)
    }

    /// `{"target": ..., "line": N, "error": "..."}`: a bad line, an unresolvable name, no route...
    public static func error(target: String, line: Int, message: String) -> JSON {
        .object([("target", .string(target)), ("line", .int(line)), ("error", .string(message))])
    }

    /// True for an error record (a target that was never measured).
    public static func isError(_ record: JSON) -> Bool { record["status"] == nil && record["error"] != nil }

    /// One JSON Lines line, newline included.
    public static func jsonLine(_ record: JSON) -> String { record.serialized() + "\n" }
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

    /// The value under a dotted key ("black_hole_hop.ttl") of a JSON object.
    public static func value(_ record: JSON, at path: String) -> JSON? {
        if !path.utf8.contains(UInt8(ascii: ".")) { return record[path] }
        var v: JSON? = record
        for part in path.split(separator: ".") { v = v?[String(part)] }
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

    public static func fields(of record: JSON, columns: [String]) -> [String] {
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
