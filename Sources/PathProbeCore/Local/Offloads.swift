/// One netdev feature as the kernel names it (the ETH_SS_FEATURES string set) with the bits
/// `ethtool -k` shows: `fixed` means it cannot be changed (not in hw_features, or never changeable).
public struct OffloadFeature: Sendable, Equatable {
    public var name: String
    public var active: Bool
    public var fixed: Bool
    public var requested: Bool

    public init(name: String, active: Bool, fixed: Bool, requested: Bool) {
        self.name = name
        self.active = active
        self.fixed = fixed
        self.requested = requested
    }

    /// The JSON value of one feature (its name is the key it stands under).
    struct Bits: Codable {
        var active: Bool
        var fixed: Bool
        var requested: Bool
    }
}

/// `{"feature-name": {"active", "fixed", "requested"}, ...}` in the kernel's order: the names are the
/// kernel's (data, not fields), as in `ethtool --json -k`.
struct OffloadFeatures: Codable {
    var features: [OffloadFeature]

    init(features: [OffloadFeature]) { self.features = features }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: DynamicKey.self)
        features = try c.allKeys.map { k in
            let b = try c.decode(OffloadFeature.Bits.self, forKey: k)
            return OffloadFeature(name: k.stringValue, active: b.active, fixed: b.fixed, requested: b.requested)
        }
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: DynamicKey.self)
        for f in features {
            try c.encode(OffloadFeature.Bits(active: f.active, fixed: f.fixed, requested: f.requested), forKey: DynamicKey(f.name))
        }
    }
}

/// `{"tso": true, ...}`: every classic group, null when the device has none of its features.
struct OffloadSummary: Encodable {
    var features: [OffloadFeature]

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: DynamicKey.self)
        for g in OffloadGroup.all { try c.encodeIfPresent(g.state(in: features), forKey: DynamicKey(g.key)) }
    }
}

/// The classic offload switches (`ethtool -K dev tso off`) and the kernel features each one groups.
/// ethtool(8) shows a group as one line when exactly one feature matches it, and as an "on if any is
/// on" summary line above the features otherwise; `pattern` may hold one `*`, as in ethtool.
public struct OffloadGroup: Sendable, Equatable {
    /// Short name used in tables and JSON summaries ("tso").
    public let key: String
    /// Column title in the text table.
    public let title: String
    /// ethtool's long name ("tcp-segmentation-offload"), which `ethtool --json -k` uses as the key.
    public let ethtoolName: String
    public let pattern: String

    /// ethtool's legacy flags, in its order. `udp-fragmentation-offload` is left out as ethtool does
    /// with netlink kernels (no kernel has UFO any more).
    public static let all: [OffloadGroup] = [
        OffloadGroup(key: "rx_checksum", title: "RX-CSUM", ethtoolName: "rx-checksumming", pattern: "rx-checksum"),
        OffloadGroup(key: "tx_checksum", title: "TX-CSUM", ethtoolName: "tx-checksumming", pattern: "tx-checksum-*"),
        OffloadGroup(key: "sg", title: "SG", ethtoolName: "scatter-gather", pattern: "tx-scatter-gather*"),
        OffloadGroup(key: "tso", title: "TSO", ethtoolName: "tcp-segmentation-offload", pattern: "tx-tcp*-segmentation"),
        OffloadGroup(key: "gso", title: "GSO", ethtoolName: "generic-segmentation-offload", pattern: "tx-generic-segmentation"),
        OffloadGroup(key: "gro", title: "GRO", ethtoolName: "generic-receive-offload", pattern: "rx-gro"),
        OffloadGroup(key: "lro", title: "LRO", ethtoolName: "large-receive-offload", pattern: "rx-lro"),
        OffloadGroup(key: "rx_vlan", title: "RX-VLAN", ethtoolName: "rx-vlan-offload", pattern: "rx-vlan-hw-parse"),
        OffloadGroup(key: "tx_vlan", title: "TX-VLAN", ethtoolName: "tx-vlan-offload", pattern: "tx-vlan-hw-insert"),
        OffloadGroup(key: "ntuple", title: "NTUPLE", ethtoolName: "ntuple-filters", pattern: "rx-ntuple-filter"),
        OffloadGroup(key: "rx_hash", title: "RXHASH", ethtoolName: "receive-hashing", pattern: "rx-hashing"),
    ]

    public static func named(_ key: String) -> OffloadGroup? { all.first { $0.key == key } }

    /// ethtool's matcher: exact, or with one `*` a prefix and suffix that do not overlap.
    public func matches(_ feature: String) -> Bool {
        guard let star = pattern.firstIndex(of: "*") else { return feature == pattern }
        let prefix = pattern[..<star]
        let suffix = pattern[pattern.index(after: star)...]
        return feature.count >= prefix.count + suffix.count && feature.hasPrefix(prefix) && feature.hasSuffix(suffix)
    }

    /// The first group a feature belongs to, as ethtool assigns it.
    public static func group(of feature: String) -> OffloadGroup? { all.first { $0.matches(feature) } }

    /// On when any feature of the group is active; nil when the device has none of its features.
    public func state(in features: [OffloadFeature]) -> Bool? {
        let members = features.filter { OffloadGroup.group(of: $0.name) == self }
        return members.isEmpty ? nil : members.contains { $0.active }
    }
}
