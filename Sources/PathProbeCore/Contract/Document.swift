/// pathprobe's JSON contract (docs/json.md): every document and every bulk record starts with
/// `"type"` (what it is) and `"schema_version"` (the contract's version), then, for documents about
/// one target, `"target"` (as the user gave it) and `"line"` (its input line in bulk, else null).
/// The envelope is written here and nowhere else; the body is the document's own Codable fields.
public enum Contract {
    /// The contract version every document carries. Bump it when a key changes meaning or type,
    /// or disappears; adding a key is not a new version.
    public static let schemaVersion = 2

    /// The document with its envelope, as a JSON value in the documented key order.
    public static func json<D: ContractDocument>(_ document: D) -> JSON {
        do { return try JSONValueEncoder.encode(Envelope(document: document)) } catch {
            preconditionFailure("encoding \(D.self) failed: \(error)")  // pathprobe's types never throw
        }
    }

    /// One compact line (JSON Lines records) or a pretty document (the commands' --json).
    public static func text<D: ContractDocument>(_ document: D, pretty: Bool) -> String {
        json(document).serialized(pretty: pretty)
    }

    /// Reads a document of type `D`: its `type` and `schema_version` must match.
    public static func decode<D: ContractDocument>(_ type: D.Type, from value: JSON) throws -> D {
        try JSONValueDecoder.decode(Envelope<D>.self, from: value).document
    }

    /// A document's `type` and `schema_version`, read without the rest (nil when absent).
    public static func header(of value: JSON) -> (type: String?, version: Int?) {
        guard let h = try? JSONValueDecoder.decode(Header.self, from: value) else { return (nil, nil) }
        return (h.type, h.version)
    }

    public enum EnvelopeKey: String, CodingKey {
        case type
        case schemaVersion = "schema_version"
        case target
        case line
    }

    struct Header: Decodable {
        var type: String?
        var version: Int?
        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: EnvelopeKey.self)
            type = try c.decodeIfPresent(String.self, forKey: .type)
            version = try c.decodeIfPresent(Int.self, forKey: .schemaVersion)
        }
    }

    /// A document whose type or version is not the one asked for.
    public struct WrongDocument: Error, CustomStringConvertible {
        public let expected: DocumentType
        public let found: String?
        public let version: Int?
        public var description: String {
            if found != expected.rawValue { return "not a pathprobe \(expected.rawValue) document (type \(found.map { "'\($0)'" } ?? "missing"))" }
            return "schema_version \(version.map(String.init) ?? "missing"); this pathprobe reads \(Contract.schemaVersion)"
        }
    }

    /// The envelope around one document: written first, then the document's own fields.
    struct Envelope<D: ContractDocument>: Codable {
        var document: D

        init(document: D) { self.document = document }

        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: EnvelopeKey.self)
            try c.encode(D.documentType, forKey: .type)
            try c.encode(Contract.schemaVersion, forKey: .schemaVersion)
            if let t = document as? any TargetDocument {
                try c.encode(t.target, forKey: .target)
                if D.self is any LineNumbered.Type { try c.encodeIfPresent(t.line, forKey: .line) }
            }
            try document.encode(to: encoder)
        }

        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: EnvelopeKey.self)
            let type = try c.decodeIfPresent(String.self, forKey: .type)
            let version = try c.decodeIfPresent(Int.self, forKey: .schemaVersion)
            guard type == D.documentType.rawValue, version == Contract.schemaVersion else {
                throw WrongDocument(expected: D.documentType, found: type, version: version)
            }
            document = try D(from: decoder)
            if var t = document as? any TargetDocument {
                t.target = try c.decode(String.self, forKey: .target)
                t.line = try c.decodeIfPresent(Int.self, forKey: .line)
                document = t as! D
            }
        }
    }
}

/// The kinds of document (the `type` key). Each has docs/schemas/<type>.schema.json.
public enum DocumentType: String, Codable, Sendable, CaseIterable {
    case mtu, reach, nic, route, profile, diff, rdp
    case bulkSummary = "bulk-summary"
    /// A bulk target that could not be measured at all.
    case error
}

/// A JSON document of the contract: its body fields are its Codable conformance.
public protocol ContractDocument: Codable {
    static var documentType: DocumentType { get }
}

/// A document about one target: the envelope carries `target` (and, for `LineNumbered` ones, `line`).
/// Its own CodingKeys leave both out.
public protocol TargetDocument: ContractDocument {
    var target: String { get set }
    var line: Int? { get set }
}

/// Documents that are also bulk records carry `line`: the input line (null outside bulk).
public protocol LineNumbered: TargetDocument {}
