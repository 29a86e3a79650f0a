/// The per-namespace sysctls that decide how the kernel discovers and caches path MTUs.
/// Each value is nil when it cannot be read (IPv6 off, an older kernel).
public struct PMTUSysctls: Codable, Sendable, Equatable {
    /// One sysctl: its key in the JSON output and its path under /proc/sys.
    public struct Key: Sendable, Equatable {
        public let name: String
        public let path: String
        /// The key it stands under in the `sysctls` object.
        public var codingKey: DynamicKey { DynamicKey(name) }
    }

    public static let ipNoPMTUDisc = Key(name: "ip_no_pmtu_disc", path: "net/ipv4/ip_no_pmtu_disc")
    public static let tcpMTUProbing = Key(name: "tcp_mtu_probing", path: "net/ipv4/tcp_mtu_probing")

    /// Integer sysctls in output order.
    public static let integerKeys: [Key] = [
        ipNoPMTUDisc,
        Key(name: "min_pmtu", path: "net/ipv4/route/min_pmtu"),
        Key(name: "mtu_expires", path: "net/ipv4/route/mtu_expires"),
        tcpMTUProbing,
        Key(name: "tcp_base_mss", path: "net/ipv4/tcp_base_mss"),
        Key(name: "tcp_probe_threshold", path: "net/ipv4/tcp_probe_threshold"),
        Key(name: "icmp_ratelimit", path: "net/ipv4/icmp_ratelimit"),
        Key(name: "ipv6_mtu_expires", path: "net/ipv6/route/mtu_expires"),
    ]
    public static let pingGroupRangePath = "net/ipv4/ping_group_range"
    public static let pingGroupRangeKey = DynamicKey("ping_group_range")

    /// Values by `Key.name`.
    public var values: [String: Int]
    /// net.ipv4.ping_group_range: the groups allowed to open ping sockets (first > last: nobody).
    public var pingGroupRange: (first: Int, last: Int)?

    public init(values: [String: Int] = [:], pingGroupRange: (first: Int, last: Int)? = nil) {
        self.values = values
        self.pingGroupRange = pingGroupRange
    }

    public static func == (a: PMTUSysctls, b: PMTUSysctls) -> Bool {
        a.values == b.values && a.pingGroupRange?.first == b.pingGroupRange?.first && a.pingGroupRange?.last == b.pingGroupRange?.last
    }

    public subscript(key: Key) -> Int? { values[key.name] }

    /// Parses the text of a sysctl file: one integer, or (for ping_group_range) two.
    public static func parseIntegers(_ text: String) -> [Int] {
        text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).compactMap { Int($0) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: DynamicKey.self)
        for key in Self.integerKeys.prefix(6) { try c.encodeIfPresent(values[key.name], forKey: key.codingKey) }
        try c.encodeIfPresent(pingGroupRange.map { [$0.first, $0.last] }, forKey: Self.pingGroupRangeKey)
        for key in Self.integerKeys.dropFirst(6) { try c.encodeIfPresent(values[key.name], forKey: key.codingKey) }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: DynamicKey.self)
        values = [:]
        for key in Self.integerKeys { values[key.name] = try c.decodeIfPresent(Int.self, forKey: key.codingKey) }
        if let r = try c.decodeIfPresent([Int].self, forKey: Self.pingGroupRangeKey), r.count == 2 { pingGroupRange = (r[0], r[1]) }
    }

    /// "key  value" lines for the text output, in JSON order.
    public var rows: [(String, String)] {
        func row(_ key: Key) -> (String, String) { (key.name, values[key.name].map(String.init) ?? "-") }
        return Self.integerKeys.prefix(6).map(row)
            + [(Self.pingGroupRangeKey.stringValue, pingGroupRange.map { "\($0.first) \($0.last)" } ?? "-")]
            + Self.integerKeys.dropFirst(6).map(row)
    }
}
