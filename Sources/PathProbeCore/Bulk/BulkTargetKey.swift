/// Identity of a target for "listed twice, profiled once" and for `--resume`: an address (however it
/// was written: "10.0.0.1", "010.0.0.1", "[2001:db8::1]", "2001:DB8:0::1" are each one key) or,
/// for host names and bad lines, the text in lower case without a trailing dot.
public enum BulkTargetKey: Hashable, Sendable {
    case address(IPAddress)
    case name(String)

    /// The key of a record's `target` or an input line's text.
    public init(_ text: some StringProtocol) {
        if let a = BulkInput.literal(text) {
            self = .address(a)
        } else {
            var s = text.lowercased()
            if s.hasSuffix("."), s.count > 1 { s.removeLast() }
            self = .name(s)
        }
    }
}

/// The targets seen so far: those already in the output file (`--resume`) and those this run has
/// started. Addresses are kept as values (24 bytes each, no allocation), names as strings.
public struct BulkSeenSet: Sendable {
    public enum Origin: UInt8, Sendable { case earlierRun, thisRun }

    private var addresses: [IPAddress: Origin] = [:]
    private var names: [String: Origin] = [:]

    public init() {}

    public var count: Int { addresses.count + names.count }

    public func origin(of key: BulkTargetKey) -> Origin? {
        switch key {
        case let .address(a): return addresses[a]
        case let .name(n): return names[n]
        }
    }

    public func contains(_ key: BulkTargetKey) -> Bool { origin(of: key) != nil }

    /// Adds `key`; returns where it had been seen before, or nil when it is new.
    @discardableResult
    public mutating func insert(_ key: BulkTargetKey, origin: Origin = .thisRun) -> Origin? {
        switch key {
        case let .address(a):
            if let o = addresses[a] { return o }
            addresses[a] = origin
        case let .name(n):
            if let o = names[n] { return o }
            names[n] = origin
        }
        return nil
    }
}
