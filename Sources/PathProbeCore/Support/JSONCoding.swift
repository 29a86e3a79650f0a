/// Codable over the ordered `JSON` value: `JSONValueEncoder` keeps keys in the order a type encodes
/// them (its CodingKeys order for synthesized conformances), so every document prints its fields in
/// the documented order; `JSONValueDecoder` reads typed values back (diff, bulk --resume).
///
/// Two rules of pathprobe's JSON contract live here, once for every document:
/// - every key is always present: `encodeIfPresent` of a nil writes `null` (Codable's own encoders
///   leave the key out);
/// - fractional numbers carry at most three decimals (microseconds for `*_ms`, milliseconds for `*_s`).
public enum JSONValueEncoder {
    public static func encode<T: Encodable>(_ value: T) throws -> JSON {
        if let json = value as? JSON { return json }
        let encoder = ValueEncoder(codingPath: [])
        try value.encode(to: encoder)
        return encoder.storage.json
    }

    /// Rounds to the contract's precision: three decimals.
    static func rounded(_ d: Double) -> JSON { .double((d * 1000).rounded() / 1000) }
}

public enum JSONValueDecoder {
    public static func decode<T: Decodable>(_ type: T.Type, from value: JSON) throws -> T {
        if T.self == JSON.self { return value as! T }
        return try T(from: ValueDecoder(value: value, codingPath: []))
    }
}

/// The JSON value itself is Codable (a finding's evidence, free-form objects).
extension JSON: Codable {
    public init(from decoder: Decoder) throws {
        if let d = decoder as? ValueDecoder { self = d.value; return }
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null } else if let b = try? c.decode(Bool.self) { self = .bool(b) } else if let i = try? c.decode(Int.self) {
            self = .int(i)
        } else if let d = try? c.decode(Double.self) { self = .double(d) } else { self = .string(try c.decode(String.self)) }
    }

    public func encode(to encoder: Encoder) throws {
        if let e = encoder as? ValueEncoder { e.storage.set(self); return }
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case let .bool(b): try c.encode(b)
        case let .int(i): try c.encode(i)
        case let .double(d): try c.encode(d)
        case let .string(s): try c.encode(s)
        case .array, .object: try c.encode(serialized())
        }
    }
}

/// A key made at run time: names that are data (offload features, sysctls), not fields.
public struct DynamicKey: CodingKey {
    public var stringValue: String
    public var intValue: Int? { nil }
    public init(_ s: String) { stringValue = s }
    public init?(stringValue: String) { self.stringValue = stringValue }
    public init?(intValue: Int) { nil }
}

// MARK: - encoding

/// What one encoder has produced so far: a value, or an object / array still being filled. Values
/// are kept inline (`Slot.value`): only nested objects and arrays get a node of their own.
final class EncodedNode {
    enum Kind { case none, value, object, array }

    enum Slot {
        case value(JSON)
        case node(EncodedNode)
        var json: JSON {
            switch self {
            case let .value(v): return v
            case let .node(n): return n.json
            }
        }
    }

    var kind = Kind.none
    var value = JSON.null
    var fields: [(String, Slot)] = []
    var items: [Slot] = []

    func set(_ v: JSON) {
        kind = .value
        value = v
    }

    func set(_ slot: Slot) {
        switch slot {
        case let .value(v): set(v)
        case let .node(n):
            kind = n.kind
            value = n.value
            fields = n.fields
            items = n.items
        }
    }

    var json: JSON {
        switch kind {
        case .none: return .null
        case .value: return value
        case .object: return .object(fields.map { ($0.0, $0.1.json) })
        case .array: return .array(items.map(\.json))
        }
    }

    /// Keys arrive once each (a type encodes each of its keys once), in order.
    func append(key: String, _ slot: Slot) {
        kind = .object
        fields.append((key, slot))
    }

    func appendItem(_ slot: Slot) {
        kind = .array
        items.append(slot)
    }

    func makeObject() { if kind != .object { kind = .object; fields.reserveCapacity(24) } }
    func makeArray() { if kind != .array { kind = .array } }
}

final class ValueEncoder: Encoder {
    let storage = EncodedNode()
    let codingPath: [CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(codingPath: [CodingKey]) { self.codingPath = codingPath }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        storage.makeObject()
        return KeyedEncodingContainer(KeyedContainer<Key>(node: storage, codingPath: codingPath))
    }

    func unkeyedContainer() -> UnkeyedEncodingContainer {
        storage.makeArray()
        return UnkeyedContainer(node: storage, codingPath: codingPath)
    }

    func singleValueContainer() -> SingleValueEncodingContainer { SingleContainer(node: storage, codingPath: codingPath) }

    /// One value: primitives inline, everything else through its own encode(to:) (the coding path
    /// is only built for those).
    static func slot<T: Encodable>(_ value: T, path: [CodingKey], key: CodingKey?) throws -> EncodedNode.Slot {
        // Metatype checks first (cheap), then the encoder's own value types.
        if T.self == String.self { return .value(.string(value as! String)) }
        if T.self == Int.self { return .value(.int(value as! Int)) }
        if T.self == Bool.self { return .value(.bool(value as! Bool)) }
        if T.self == Double.self { return .value(JSONValueEncoder.rounded(value as! Double)) }
        if T.self == JSON.self { return .value(value as! JSON) }
        if T.self == UInt16.self { return .value(.int(Int(value as! UInt16))) }
        if T.self == UInt8.self { return .value(.int(Int(value as! UInt8))) }
        switch value {
        case let v as any BinaryInteger: return .value(.int(Int(v)))
        case let v as Float: return .value(JSONValueEncoder.rounded(Double(v)))
        default:
            let e = ValueEncoder(codingPath: key.map { path + [$0] } ?? path)
            try value.encode(to: e)
            return .node(e.storage)
        }
    }

    struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let node: EncodedNode
        let codingPath: [CodingKey]

        mutating func encodeNil(forKey key: Key) throws { node.append(key: key.stringValue, .value(.null)) }
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            node.append(key: key.stringValue, try ValueEncoder.slot(value, path: codingPath, key: key))
        }
        // Every documented key is always present: nil is written as null (every overload, since the
        // standard library's defaults leave the key out).
        private mutating func present<T: Encodable>(_ value: T?, _ key: Key) throws {
            guard let value else { return node.append(key: key.stringValue, .value(.null)) }
            try encode(value, forKey: key)
        }
        mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws { try present(value, key) }
        mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws { node.append(key: key.stringValue, .value(value.map { .bool($0) } ?? .null)) }
        mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws { node.append(key: key.stringValue, .value(value.map { .string($0) } ?? .null)) }
        mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws { node.append(key: key.stringValue, .value(value.map { JSONValueEncoder.rounded($0) } ?? .null)) }
        mutating func encodeIfPresent(_ value: Float?, forKey key: Key) throws { try present(value, key) }
        mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws { node.append(key: key.stringValue, .value(value.map { .int($0) } ?? .null)) }
        mutating func encodeIfPresent(_ value: Int8?, forKey key: Key) throws { try present(value, key) }
        mutating func encodeIfPresent(_ value: Int16?, forKey key: Key) throws { try present(value, key) }
        mutating func encodeIfPresent(_ value: Int32?, forKey key: Key) throws { node.append(key: key.stringValue, .value(value.map { .int(Int($0)) } ?? .null)) }
        mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws { try present(value, key) }
        mutating func encodeIfPresent(_ value: UInt?, forKey key: Key) throws { try present(value, key) }
        mutating func encodeIfPresent(_ value: UInt8?, forKey key: Key) throws { node.append(key: key.stringValue, .value(value.map { .int(Int($0)) } ?? .null)) }
        mutating func encodeIfPresent(_ value: UInt16?, forKey key: Key) throws { node.append(key: key.stringValue, .value(value.map { .int(Int($0)) } ?? .null)) }
        mutating func encodeIfPresent(_ value: UInt32?, forKey key: Key) throws { try present(value, key) }
        mutating func encodeIfPresent(_ value: UInt64?, forKey key: Key) throws { try present(value, key) }

        mutating func encode(_ value: Bool, forKey key: Key) throws { node.append(key: key.stringValue, .value(.bool(value))) }
        mutating func encode(_ value: String, forKey key: Key) throws { node.append(key: key.stringValue, .value(.string(value))) }
        mutating func encode(_ value: Double, forKey key: Key) throws { node.append(key: key.stringValue, .value(JSONValueEncoder.rounded(value))) }
        mutating func encode(_ value: Int, forKey key: Key) throws { node.append(key: key.stringValue, .value(.int(value))) }
        mutating func encode(_ value: UInt8, forKey key: Key) throws { node.append(key: key.stringValue, .value(.int(Int(value)))) }
        mutating func encode(_ value: UInt16, forKey key: Key) throws { node.append(key: key.stringValue, .value(.int(Int(value)))) }
        mutating func encode(_ value: Int32, forKey key: Key) throws { node.append(key: key.stringValue, .value(.int(Int(value)))) }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
            let child = EncodedNode()
            child.makeObject()
            node.append(key: key.stringValue, .node(child))
            return KeyedEncodingContainer(KeyedContainer<NestedKey>(node: child, codingPath: codingPath + [key]))
        }
        mutating func nestedUnkeyedContainer(forKey key: Key) -> UnkeyedEncodingContainer {
            let child = EncodedNode()
            child.makeArray()
            node.append(key: key.stringValue, .node(child))
            return UnkeyedContainer(node: child, codingPath: codingPath + [key])
        }
        mutating func superEncoder() -> Encoder { ValueEncoder(codingPath: codingPath) }
        mutating func superEncoder(forKey key: Key) -> Encoder { ValueEncoder(codingPath: codingPath + [key]) }
    }

    struct UnkeyedContainer: UnkeyedEncodingContainer {
        let node: EncodedNode
        let codingPath: [CodingKey]
        var count: Int { node.items.count }

        mutating func encodeNil() throws { node.appendItem(.value(.null)) }
        mutating func encode<T: Encodable>(_ value: T) throws { node.appendItem(try ValueEncoder.slot(value, path: codingPath, key: nil)) }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
            let child = EncodedNode()
            child.makeObject()
            node.appendItem(.node(child))
            return KeyedEncodingContainer(KeyedContainer<NestedKey>(node: child, codingPath: codingPath))
        }
        mutating func nestedUnkeyedContainer() -> UnkeyedEncodingContainer {
            let child = EncodedNode()
            child.makeArray()
            node.appendItem(.node(child))
            return UnkeyedContainer(node: child, codingPath: codingPath)
        }
        mutating func superEncoder() -> Encoder { ValueEncoder(codingPath: codingPath) }
    }

    struct SingleContainer: SingleValueEncodingContainer {
        let node: EncodedNode
        let codingPath: [CodingKey]
        mutating func encodeNil() throws { node.set(.null) }
        mutating func encode<T: Encodable>(_ value: T) throws { node.set(try ValueEncoder.slot(value, path: codingPath, key: nil)) }
    }
}

// MARK: - decoding

/// A typed value could not be read: the path to it and why.
public struct JSONDecodingError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { path.isEmpty ? reason : "\(path): \(reason)" }

    init(_ path: [CodingKey], _ reason: String) {
        self.path = path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        self.reason = reason
    }
}

final class ValueDecoder: Decoder {
    let value: JSON
    let codingPath: [CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(value: JSON, codingPath: [CodingKey]) {
        self.value = value
        self.codingPath = codingPath
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case let .object(fields) = value else { throw JSONDecodingError(codingPath, "expected an object") }
        return KeyedDecodingContainer(KeyedContainer<Key>(fields: fields, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> UnkeyedDecodingContainer {
        guard case let .array(items) = value else { throw JSONDecodingError(codingPath, "expected an array") }
        return UnkeyedContainer(items: items, codingPath: codingPath)
    }

    func singleValueContainer() throws -> SingleValueDecodingContainer { SingleContainer(value: value, codingPath: codingPath) }

    static func decode<T: Decodable>(_ type: T.Type, _ v: JSON, path: [CodingKey]) throws -> T {
        func fail() -> JSONDecodingError { JSONDecodingError(path, "expected \(T.self), found \(v.serialized().prefix(40))") }
        switch type {
        case is String.Type:
            guard let s = v.stringValue else { throw fail() }
            return s as! T
        case is Int.Type:
            guard let i = v.intValue else { throw fail() }
            return i as! T
        case is Bool.Type:
            guard let b = v.boolValue else { throw fail() }
            return b as! T
        case is Double.Type:
            guard let d = v.doubleValue else { throw fail() }
            return d as! T
        case is JSON.Type:
            return v as! T
        case let integer as any FixedWidthInteger.Type:
            guard let i = v.intValue, let n = integer.init(exactly: i) else { throw fail() }
            return n as! T
        default:
            return try T(from: ValueDecoder(value: v, codingPath: path))
        }
    }

    struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let fields: [(String, JSON)]
        let codingPath: [CodingKey]

        var allKeys: [Key] { fields.compactMap { Key(stringValue: $0.0) } }
        func lookup(_ key: Key) -> JSON? { fields.first { $0.0 == key.stringValue }?.1 }
        func contains(_ key: Key) -> Bool { lookup(key) != nil }
        func decodeNil(forKey key: Key) throws -> Bool { lookup(key)?.isNull ?? true }
        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            guard let v = lookup(key) else { throw JSONDecodingError(codingPath + [key], "missing") }
            return try ValueDecoder.decode(type, v, path: codingPath + [key])
        }
        func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
            guard let v = lookup(key), !v.isNull else { return nil }
            return try ValueDecoder.decode(type, v, path: codingPath + [key])
        }
        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
            try ValueDecoder(value: lookup(key) ?? .null, codingPath: codingPath + [key]).container(keyedBy: type)
        }
        func nestedUnkeyedContainer(forKey key: Key) throws -> UnkeyedDecodingContainer {
            try ValueDecoder(value: lookup(key) ?? .null, codingPath: codingPath + [key]).unkeyedContainer()
        }
        func superDecoder() throws -> Decoder { ValueDecoder(value: .object(fields), codingPath: codingPath) }
        func superDecoder(forKey key: Key) throws -> Decoder { ValueDecoder(value: lookup(key) ?? .null, codingPath: codingPath + [key]) }
    }

    struct UnkeyedContainer: UnkeyedDecodingContainer {
        let items: [JSON]
        let codingPath: [CodingKey]
        var currentIndex = 0
        var count: Int? { items.count }
        var isAtEnd: Bool { currentIndex >= items.count }

        mutating func next() throws -> JSON {
            guard !isAtEnd else { throw JSONDecodingError(codingPath, "array too short") }
            defer { currentIndex += 1 }
            return items[currentIndex]
        }
        mutating func decodeNil() throws -> Bool {
            if !isAtEnd, items[currentIndex].isNull { currentIndex += 1; return true }
            return false
        }
        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try ValueDecoder.decode(type, try next(), path: codingPath) }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
            try ValueDecoder(value: try next(), codingPath: codingPath).container(keyedBy: type)
        }
        mutating func nestedUnkeyedContainer() throws -> UnkeyedDecodingContainer {
            try ValueDecoder(value: try next(), codingPath: codingPath).unkeyedContainer()
        }
        mutating func superDecoder() throws -> Decoder { ValueDecoder(value: try next(), codingPath: codingPath) }
    }

    struct SingleContainer: SingleValueDecodingContainer {
        let value: JSON
        let codingPath: [CodingKey]
        func decodeNil() -> Bool { value.isNull }
        func decode<T: Decodable>(_ type: T.Type) throws -> T { try ValueDecoder.decode(type, value, path: codingPath) }
    }
}
