/// Something in the local configuration that breaks or hides path MTU behaviour.
public struct InventoryFinding: Sendable, Equatable {
    public enum Severity: String, Sendable, Equatable {
        case info, warning, error
    }

    public var id: String
    public var severity: Severity
    /// The interface it is about; nil for namespace-wide settings.
    public var interface: String?
    public var summary: String

    public init(id: String, severity: Severity, interface: String?, summary: String) {
        self.id = id
        self.severity = severity
        self.interface = interface
        self.summary = summary
    }

    public var json: JSON {
        .object([("id", .string(id)), ("severity", .string(severity.rawValue)), ("interface", .from(interface)),
                 ("summary", .string(summary))])
    }
}

/// The rules behind `findings`, pure so they are tested without netlink.
public enum InventoryRules {
    /// The underlay MTU assumed for tunnels whose underlay cannot be known (Ethernet).
    public static let assumedUnderlayMTU = 1500

    /// Findings about one interface.
    public static func findings(for i: LocalInterface) -> [InventoryFinding] {
        var out: [InventoryFinding] = []
        if let t = i.tunnel {
            let what = t.overhead == 0 ? i.kind : "\(i.kind) (\(t.overhead) bytes\(t.underlayFamily.map { " over " + familyName($0) } ?? ""))"
            if let underlay = t.underlay, let underlayMTU = t.underlayMTU, let limit = t.maxInnerMTU {
                if i.mtu > limit {
                    let arithmetic = t.overhead == 0 ? "\(underlayMTU)" : "\(underlayMTU) - \(t.overhead) = \(limit)"
                    out.append(InventoryFinding(
                        id: "tunnel-mtu-exceeds-underlay", severity: .warning, interface: i.name,
                        summary: "\(i.name): MTU \(i.mtu) is above what \(underlay) carries for \(what): \(arithmetic); "
                            + "packets between \(limit + 1) and \(i.mtu) bytes are fragmented or dropped "
                            + "(set `ip link set dev \(i.name) mtu \(limit)`)"))
                }
            } else if t.underlay == nil, t.overhead > 0 {
                let limit = assumedUnderlayMTU - t.overhead
                if i.mtu > limit {
                    out.append(InventoryFinding(
                        id: "tunnel-mtu-ignores-overhead", severity: .warning, interface: i.name,
                        summary: "\(i.name): MTU \(i.mtu) leaves no room for \(what) over a \(assumedUnderlayMTU)-byte underlay "
                            + "(at most \(limit))"))
                }
            }
        }
        if let v6 = i.ipv6MTU, v6 < i.mtu {
            out.append(InventoryFinding(
                id: "ipv6-mtu-below-link-mtu", severity: .info, interface: i.name,
                summary: "\(i.name): IPv6 MTU \(v6) is below the link MTU \(i.mtu) (set by a router advertisement or net.ipv6.conf.\(i.name).mtu)"))
        }
        return out
    }

    /// Findings about the namespace's sysctls.
    public static func findings(for s: PMTUSysctls) -> [InventoryFinding] {
        var out: [InventoryFinding] = []
        if let v = s["ip_no_pmtu_disc"], v != 0 {
            out.append(InventoryFinding(
                id: "pmtu-discovery-disabled", severity: .warning, interface: nil,
                summary: "net.ipv4.ip_no_pmtu_disc is \(v): IPv4 sockets send without DF by default and learn no path MTU"))
        }
        if let r = s.pingGroupRange, r.first > r.last {
            out.append(InventoryFinding(
                id: "ping-sockets-disabled", severity: .info, interface: nil,
                summary: "net.ipv4.ping_group_range is \(r.first) \(r.last): unprivileged ICMP echo sockets are off, "
                    + "so measuring needs root or CAP_NET_RAW"))
        }
        return out
    }

    static func familyName(_ f: AddressFamily) -> String { f == .ipv4 ? "IPv4" : "IPv6" }
}
