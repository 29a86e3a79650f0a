/// The rules behind `pathprobe nic`'s findings, pure so they are tested without netlink.
public enum InventoryRules {
    /// The underlay MTU assumed for tunnels whose underlay cannot be known (Ethernet).
    public static let assumedUnderlayMTU = 1500

    /// Findings about one interface.
    public static func findings(for i: LocalInterface) -> [Finding] {
        var out: [Finding] = []
        if let t = i.tunnel {
            let what = t.overhead == 0 ? i.kind : "\(i.kind) (\(t.overhead) bytes\(t.underlayFamily.map { " over " + familyName($0) } ?? ""))"
            if let underlay = t.underlay, let underlayMTU = t.underlayMTU, let limit = t.maxInnerMTU {
                if i.mtu > limit {
                    let arithmetic = t.overhead == 0 ? "\(underlayMTU)" : "\(underlayMTU) - \(t.overhead) = \(limit)"
                    out.append(Finding(
                        id: "tunnel-mtu-exceeds-underlay", severity: .warning,
                        message: "\(i.name): MTU \(i.mtu) is above what \(underlay) carries for \(what): \(arithmetic); "
                            + "packets between \(limit + 1) and \(i.mtu) bytes are fragmented or dropped "
                            + "(set `ip link set dev \(i.name) mtu \(limit)`)",
                        evidence: evidence(i), interface: i.name))
                }
            } else if t.underlay == nil, t.overhead > 0 {
                let limit = assumedUnderlayMTU - t.overhead
                if i.mtu > limit {
                    out.append(Finding(
                        id: "tunnel-mtu-ignores-overhead", severity: .warning,
                        message: "\(i.name): MTU \(i.mtu) leaves no room for \(what) over a \(assumedUnderlayMTU)-byte underlay "
                            + "(at most \(limit))",
                        evidence: evidence(i), interface: i.name))
                }
            }
        }
        if let v6 = i.ipv6MTU, v6 < i.mtu {
            out.append(Finding(
                id: "ipv6-mtu-below-link-mtu", severity: .info,
                message: "\(i.name): IPv6 MTU \(v6) is below the link MTU \(i.mtu) (set by a router advertisement or net.ipv6.conf.\(i.name).mtu)",
                evidence: Evidence().with(LocalInterface.CodingKeys.mtu, i.mtu).with(LocalInterface.CodingKeys.ipv6MTU, v6),
                interface: i.name))
        }
        return out
    }

    /// Findings about the namespace's sysctls.
    public static func findings(for s: PMTUSysctls) -> [Finding] {
        var out: [Finding] = []
        let noPMTUDiscovery = PMTUSysctls.ipNoPMTUDisc
        if let v = s[noPMTUDiscovery], v != 0 {
            out.append(Finding(
                id: "pmtu-discovery-disabled", severity: .warning,
                message: "net.ipv4.ip_no_pmtu_disc is \(v): IPv4 sockets send without DF by default and learn no path MTU",
                evidence: Evidence().with(noPMTUDiscovery.codingKey, v)))
        }
        if let r = s.pingGroupRange, r.first > r.last {
            out.append(Finding(
                id: "ping-sockets-disabled", severity: .info,
                message: "net.ipv4.ping_group_range is \(r.first) \(r.last): unprivileged ICMP echo sockets are off, "
                    + "so measuring needs root or CAP_NET_RAW",
                evidence: Evidence().with(PMTUSysctls.pingGroupRangeKey, [r.first, r.last])))
        }
        return out
    }

    /// A tunnel finding's evidence: the link's MTU and its tunnel's figures.
    static func evidence(_ i: LocalInterface) -> Evidence {
        Evidence().with(LocalInterface.CodingKeys.mtu, i.mtu).with(LocalInterface.CodingKeys.tunnel, i.tunnel)
    }

    static func familyName(_ f: AddressFamily) -> String { f == .ipv4 ? "IPv4" : "IPv6" }
}
