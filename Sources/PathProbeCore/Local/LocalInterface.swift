/// A tunnel's (or stacked link's) encapsulation and the device it rides on.
public struct TunnelInfo: Sendable, Equatable {
    public var overhead: Int
    /// Name of the underlay device, nil when the kernel does not bind the link to one and no route to
    /// the remote endpoint is known (WireGuard, PPP, a vxlan without `dev` or `remote`).
    public var underlay: String?
    public var underlayMTU: Int?
    public var underlayFamily: AddressFamily?
    /// The remote endpoint when the kernel knows it (vxlan `remote`/`group`, GRE/IP tunnels).
    public var remote: IPAddress?

    public init(overhead: Int, underlay: String? = nil, underlayMTU: Int? = nil, underlayFamily: AddressFamily? = nil,
                remote: IPAddress? = nil) {
        self.overhead = overhead
        self.underlay = underlay
        self.underlayMTU = underlayMTU
        self.underlayFamily = underlayFamily
        self.remote = remote
    }

    /// The largest MTU the tunnel can have without its outer packets exceeding the underlay's MTU.
    public var maxInnerMTU: Int? { underlayMTU.map { $0 - overhead } }

    public var json: JSON {
        .object([
            ("overhead", .int(overhead)),
            ("underlay", .from(underlay)),
            ("underlay_mtu", .from(underlayMTU)),
            ("underlay_family", .from(underlayFamily?.rawValue)),
            ("remote", .from(remote?.description)),
            ("max_inner_mtu", .from(maxInnerMTU)),
        ])
    }
}

/// One network interface of the local inventory (`pathprobe nic`).
public struct LocalInterface: Sendable, Equatable {
    public var name: String
    public var index: Int
    /// The kernel's link kind (veth, vxlan, wireguard...) or, for links without one, the link type
    /// as `ip link` names it: loopback, ether, none, ppp...
    public var kind: String
    /// UP, DOWN, UNKNOWN, LOWERLAYERDOWN, DORMANT, NOTPRESENT, TESTING (as `ip link` prints it).
    public var operstate: String
    public var mtu: Int
    public var minMTU: Int?
    public var maxMTU: Int?
    /// net.ipv6.conf.NAME.mtu; nil when IPv6 is off on the link.
    public var ipv6MTU: Int?
    /// The device this one is stacked on or paired with (IFLA_LINK: a VLAN's lower device, a veth's
    /// peer), nil when there is none or it lives in another namespace.
    public var parent: String?
    /// The bridge or bond this device is enslaved to.
    public var master: String?
    /// "10.0.0.1/24", "2001:db8::1/64", IPv4 first.
    public var addresses: [String]
    public var tunnel: TunnelInfo?
    /// Every feature the device reports, in the kernel's order; empty when they cannot be read.
    public var offloads: [OffloadFeature]
    public var findings: [InventoryFinding]

    public init(name: String, index: Int, kind: String, operstate: String, mtu: Int, minMTU: Int? = nil, maxMTU: Int? = nil,
                ipv6MTU: Int? = nil, parent: String? = nil, master: String? = nil, addresses: [String] = [],
                tunnel: TunnelInfo? = nil, offloads: [OffloadFeature] = [], findings: [InventoryFinding] = []) {
        self.name = name
        self.index = index
        self.kind = kind
        self.operstate = operstate
        self.mtu = mtu
        self.minMTU = minMTU
        self.maxMTU = maxMTU
        self.ipv6MTU = ipv6MTU
        self.parent = parent
        self.master = master
        self.addresses = addresses
        self.tunnel = tunnel
        self.offloads = offloads
        self.findings = findings
    }

    public var json: JSON {
        .object([
            ("name", .string(name)),
            ("index", .int(index)),
            ("kind", .string(kind)),
            ("operstate", .string(operstate)),
            ("mtu", .int(mtu)),
            ("min_mtu", .from(minMTU)),
            ("max_mtu", .from(maxMTU)),
            ("ipv6_mtu", .from(ipv6MTU)),
            ("parent", .from(parent)),
            ("master", .from(master)),
            ("addresses", .array(addresses.map { .string($0) })),
            ("tunnel", tunnel?.json ?? .null),
            ("offloads", offloads.json),
            ("offload_summary", offloads.summaryJSON),
            ("findings", .array(findings.map(\.json))),
        ])
    }
}

/// Names for link types (ARPHRD_*) of links that have no kind, as iproute2 prints them.
public enum LinkType {
    public static func name(arphrd: Int) -> String {
        switch arphrd {
        case 1: return "ether"
        case 24: return "ieee1394"
        case 32: return "infiniband"
        case 512: return "ppp"
        case 513: return "cisco"
        case 768: return "ipip"
        case 769: return "tunnel6"
        case 772: return "loopback"
        case 776: return "sit"
        case 778: return "gre"
        case 783: return "irda"
        case 801: return "ieee802.11"
        case 803: return "ieee802.11/radiotap"
        case 823: return "ip6gre"
        case 824: return "netlink"
        case 825: return "6lowpan"
        case 0xFFFE: return "none"
        case 0xFFFF: return "void"
        default: return "[\(arphrd)]"
        }
    }

    /// IF_OPER_* (RFC 2863) as `ip link` prints it.
    public static func operstate(_ value: Int) -> String {
        switch value {
        case 0: return "UNKNOWN"
        case 1: return "NOTPRESENT"
        case 2: return "DOWN"
        case 3: return "LOWERLAYERDOWN"
        case 4: return "TESTING"
        case 5: return "DORMANT"
        case 6: return "UP"
        default: return "UNKNOWN"
        }
    }
}
