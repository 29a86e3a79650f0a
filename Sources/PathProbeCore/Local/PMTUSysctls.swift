/// The per-namespace sysctls that decide how the kernel discovers and caches path MTUs.
/// Each value is nil when it cannot be read (IPv6 off, an older kernel).
public struct PMTUSysctls: Sendable, Equatable {
    /// One sysctl: its key in the JSON output and its path under /proc/sys.
    public struct Key: Sendable, Equatable {
        public let name: String
        public let path: String
    }

    /// Integer sysctls in output order.
    public static let integerKeys: [Key] = [
        Key(name: "ip_no_pmtu_disc", path: "net/ipv4/ip_no_pmtu_disc"),
        Key(name: "min_pmtu", path: "net/ipv4/route/min_pmtu"),
        Key(name: "mtu_expires", path: "net/ipv4/route/mtu_expires"),
        Key(name: "tcp_mtu_probing", path: "net/ipv4/tcp_mtu_probing"),
        Key(name: "tcp_base_mss", path: "net/ipv4/tcp_base_mss"),
        Key(name: "tcp_probe_threshold", path: "net/ipv4/tcp_probe_threshold"),
        Key(name: "icmp_ratelimit", path: "net/ipv4/icmp_ratelimit"),
        Key(name: "ipv6_mtu_expires", path: "net/ipv6/route/mtu_expires"),
    ]
    public static let pingGroupRangePath = "net/ipv4/ping_group_range"

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

    public subscript(name: String) -> Int? { values[name] }

    /// Parses the text of a sysctl file: one integer, or (for ping_group_range) two.
    public static func parseIntegers(_ text: String) -> [Int] {
        text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).compactMap { Int($0) }
    }

    public var json: JSON {
        var fields: [(String, JSON)] = PMTUSysctls.integerKeys.prefix(6).map { ($0.name, JSON.from(values[$0.name])) }
        fields.append(("ping_group_range", pingGroupRange.map { .array([.int($0.first), .int($0.last)]) } ?? .null))
        fields += PMTUSysctls.integerKeys.dropFirst(6).map { ($0.name, JSON.from(values[$0.name])) }
        return .object(fields)
    }

    /// "key  value" lines for the text output, in JSON order.
    public var rows: [(String, String)] {
        json.objectValue?.map { key, value -> (String, String) in
            switch value {
            case .null: return (key, "-")
            case let .array(items): return (key, items.compactMap { $0.intValue.map(String.init) }.joined(separator: " "))
            default: return (key, value.intValue.map(String.init) ?? "-")
            }
        } ?? []
    }
}
