/// Something worth knowing about the local configuration or the path, with the measured values
/// behind it: the one finding type of `nic` (the local rules) and `profile` (the advisor).
public struct Finding: Codable, Sendable, Equatable {
    public enum Severity: String, Codable, Sendable, Comparable {
        case info, warning, critical
        var rank: Int { self == .info ? 0 : (self == .warning ? 1 : 2) }
        public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
    }

    public var id: String
    public var severity: Severity
    /// One sentence for people.
    public var message: String
    /// The measured values that support it: an object whose keys are the names of the result fields
    /// they come from (see `Evidence`).
    public var evidence: Evidence
    /// The interface it is about; nil for the path or namespace-wide settings.
    public var interface: String?

    public init(id: String, severity: Severity, message: String, evidence: Evidence = Evidence(), interface: String? = nil) {
        self.id = id
        self.severity = severity
        self.message = message
        self.evidence = evidence
        self.interface = interface
    }
}

/// A finding's evidence: an ordered object of measured values, each keyed by the CodingKey of the
/// result field it comes from (so a field's JSON name is still written only in its CodingKeys).
public struct Evidence: Codable, Sendable, Equatable {
    public private(set) var fields: [(String, JSON)] = []

    public init() {}

    public func with(_ key: some CodingKey, _ value: JSON) -> Evidence {
        var e = self
        e.fields.append((key.stringValue, value))
        return e
    }

    public func with<T: Encodable>(_ key: some CodingKey, _ value: T?) -> Evidence {
        with(key, value.map { (try? JSONValueEncoder.encode($0)) ?? .null } ?? .null)
    }

    public subscript(key: some CodingKey) -> JSON? { fields.first { $0.0 == key.stringValue }?.1 }

    public static func == (a: Evidence, b: Evidence) -> Bool { JSON.object(a.fields) == JSON.object(b.fields) }

    public init(from decoder: Decoder) throws {
        let v = try JSON(from: decoder)
        guard case let .object(fields) = v else { throw JSONDecodingError(decoder.codingPath, "evidence must be an object") }
        self.fields = fields
    }

    public func encode(to encoder: Encoder) throws { try JSON.object(fields).encode(to: encoder) }
}

/// A change to make, with the exact commands.
public struct Recommendation: Codable, Sendable, Equatable {
    public var id: String
    /// The value to set, as it is typed: "1400" (an MTU), "1360" (an MSS), "1" (a sysctl), "tcp" (a transport).
    public var value: String
    public var reason: String
    public var commands: Commands

    public struct Commands: Codable, Sendable, Equatable {
        /// Ready to paste; lines starting with `#` are instructions where no single command exists.
        public var linux: [String]
        public var windows: [String]
    }

    public init(id: String, value: String, reason: String, linux: [String], windows: [String]) {
        self.id = id
        self.value = value
        self.reason = reason
        commands = Commands(linux: linux, windows: windows)
    }

    public var linux: [String] { commands.linux }
    public var windows: [String] { commands.windows }
}
