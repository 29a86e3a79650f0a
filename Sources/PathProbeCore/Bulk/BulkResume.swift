/// `--resume`: which targets an earlier, interrupted run already wrote to the output file.
///
/// The file is fed in chunks (it is never held whole). Every complete record counts, error records
/// included (a bad line stays bad; delete its record to retry it). A last record without its newline
/// was cut off by the crash: `keepBytes` ends before it, and the runner truncates the file there
/// before appending, so the target is measured again and comes out exactly once.
public struct BulkResumeScanner {
    public enum Format: Sendable, Equatable {
        case jsonLines
        /// CSV whose header must be exactly `columns`.
        case csv(columns: [String])
    }

    public enum Problem: Error, Equatable, CustomStringConvertible {
        case headerMismatch(found: [String])
        case notJSONLines
        public var description: String {
            switch self {
            case let .headerMismatch(found):
                return "the output file's CSV header (\(found.prefix(4).joined(separator: ","))...) is not this mode's: cannot resume into it"
            case .notJSONLines:
                return "the output file is not JSON Lines (CSV? then add --csv): cannot resume into it"
            }
        }
    }

    public let format: Format
    /// Keys of the targets whose records are complete.
    public private(set) var seen = BulkSeenSet()
    /// Complete records (CSV: without the header).
    public private(set) var records = 0
    /// Complete lines that could not be read as a record (left in place, not counted as done).
    public private(set) var unreadable = 0
    /// Bytes of the file to keep: everything up to the end of the last complete record.
    public private(set) var keepBytes = 0
    /// True when the file already has its CSV header (do not write another).
    public private(set) var hasHeader = false

    private var fed = 0
    private var lineBuffer: [UInt8] = []
    private var csv = BulkCSV.Scanner()
    private var problem: Problem? = nil

    public init(format: Format) { self.format = format }

    /// Feeds the next piece of the file (any size; a record may span pieces).
    public mutating func feed(_ bytes: ArraySlice<UInt8>) {
        bytes.withUnsafeBytes { feed($0) }
    }

    public mutating func feed(_ bytes: [UInt8]) { bytes.withUnsafeBytes { feed($0) } }

    // Not generic: an unspecialised generic loop across modules costs an allocation per byte.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        switch format {
        case .jsonLines:
            for b in bytes {
                fed += 1
                if b == 0x0a {
                    jsonLine()
                    lineBuffer.removeAll(keepingCapacity: true)
                    keepBytes = fed
                } else {
                    lineBuffer.append(b)
                }
            }
        case let .csv(columns):
            for b in bytes {
                fed += 1
                if let fields = csv.feed(b) {
                    keepBytes = fed
                    csvRecord(fields, columns: columns)
                }
            }
        }
    }

    /// The outcome once the whole file was fed.
    public func finish() throws -> BulkResumeScanner {
        if let problem { throw problem }
        return self
    }

    private mutating func jsonLine() {
        guard let first = lineBuffer.firstIndex(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0d }) else { return }
        guard lineBuffer[first] == UInt8(ascii: "{") else {
            if records == 0 && problem == nil { problem = .notJSONLines }
            unreadable += 1
            return
        }
        switch Self.target(inJSONLine: lineBuffer) {
        case let .target(target)?:
            records += 1
            seen.insert(BulkTargetKey(target), origin: .earlierRun)
        case .header?:
            break  // the run's nic record: no target
        case nil:
            unreadable += 1
        }
    }

    private mutating func csvRecord(_ fields: [String], columns: [String]) {
        if !hasHeader && records == 0 && unreadable == 0 {
            if fields == columns { hasHeader = true } else if problem == nil { problem = .headerMismatch(found: fields) }
            return
        }
        guard let target = fields.first, !target.isEmpty, fields.count == columns.count else { unreadable += 1; return }
        records += 1
        seen.insert(BulkTargetKey(target), origin: .earlierRun)
    }

    /// What one JSON Lines line holds: a target's record, or a record about no target (bulk profile's
    /// `nic` record).
    enum LineContent: Equatable {
        case target(String)
        case header
    }

    /// Records pathprobe writes start with `{"type":"...","schema_version":N,"target":"`: the target is
    /// read without parsing the rest; anything else goes through the JSON reader and a typed decode.
    static let targetNeedle = Array(",\"\(Contract.EnvelopeKey.target.stringValue)\":\"".utf8)

    static func target(inJSONLine bytes: [UInt8]) -> LineContent? {
        let needle = targetNeedle
        let window = min(bytes.count, 64)
        if window > needle.count, bytes.first == UInt8(ascii: "{"),
           let at = (0...(window - needle.count)).first(where: { bytes[$0] == needle[0] && bytes[$0..<($0 + needle.count)].elementsEqual(needle) }),
           !bytes[0..<at].contains(UInt8(ascii: "\\")) {
            var i = at + needle.count
            let start = i
            var plain = true
            while i < bytes.count, bytes[i] != UInt8(ascii: "\"") {
                if bytes[i] == UInt8(ascii: "\\") { plain = false; break }
                i += 1
            }
            // Only a complete line (it ends in "}") counts; escaped names take the slow path.
            if plain, i < bytes.count, bytes.last(where: { $0 != 0x20 && $0 != 0x0d }) == UInt8(ascii: "}") {
                return .target(String(decoding: bytes[start..<i], as: UTF8.self))
            }
        }
        guard let v = try? JSON.parse(String(decoding: bytes, as: UTF8.self)),
              let key = try? JSONValueDecoder.decode(RecordKey.self, from: v) else { return nil }
        return key.target.map { .target($0) } ?? (key.type == nil ? nil : .header)
    }

    /// The envelope of a record: its type and target.
    struct RecordKey: Decodable {
        var type: String?
        var target: String?
        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: Contract.EnvelopeKey.self)
            type = try c.decodeIfPresent(String.self, forKey: .type)
            target = try c.decodeIfPresent(String.self, forKey: .target)
        }
    }
}
