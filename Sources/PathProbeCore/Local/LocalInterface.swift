/// A tunnel's (or stacked link's) encapsulation and the device it rides on.
public struct TunnelInfo: Codable, Sendable, Equatable {
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

    public enum CodingKeys: String, CodingKey {
        case overhead, underlay
        case underlayMTU = "underlay_mtu"
        case underlayFamily = "underlay_family"
        case remote
        case maxInnerMTU = "max_inner_mtu"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(overhead: try c.decode(Int.self, forKey: .overhead), underlay: try c.decodeIfPresent(String.self, forKey: .underlay),
                  underlayMTU: try c.decodeIfPresent(Int.self, forKey: .underlayMTU),
                  underlayFamily: try c.decodeIfPresent(AddressFamily.self, forKey: .underlayFamily),
                  remote: try c.decodeIfPresent(IPAddress.self, forKey: .remote))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(overhead, forKey: .overhead)
        try c.encodeIfPresent(underlay, forKey: .underlay)
        try c.encodeIfPresent(underlayMTU, forKey: .underlayMTU)
        try c.encodeIfPresent(underlayFamily, forKey: .underlayFamily)
        try c.encodeIfPresent(remote, forKey: .remote)
        try c.encodeIfPresent(maxInnerMTU, forKey: .maxInnerMTU)
    }
}

/// One network interface of the local inventory (`pathprobe nic`).
public struct LocalInterface: Codable, Sendable, Equatable {
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

    public init(name: String, index: Int, kind: String, operstate: String, mtu: Int, minMTU: Int? = nil, maxMTU: Int? = nil,
                ipv6MTU: Int? = nil, parent: String? = nil, master: String? = nil, addresses: [String] = [],
                tunnel: TunnelInfo? = nil, offloads: [OffloadFeature] = []) {
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
    }

    public enum CodingKeys: String, CodingKey {
        case name, index, kind, operstate, mtu
        case minMTU = "min_mtu"
        case maxMTU = "max_mtu"
        case ipv6MTU = "ipv6_mtu"
        case parent, master, addresses, tunnel, offloads
        case offloadSummary = "offload_summary"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(name: try c.decode(String.self, forKey: .name), index: try c.decode(Int.self, forKey: .index),
                  kind: try c.decode(String.self, forKey: .kind), operstate: try c.decode(String.self, forKey: .operstate),
                  mtu: try c.decode(Int.self, forKey: .mtu), minMTU: try c.decodeIfPresent(Int.self, forKey: .minMTU),
                  maxMTU: try c.decodeIfPresent(Int.self, forKey: .maxMTU), ipv6MTU: try c.decodeIfPresent(Int.self, forKey: .ipv6MTU),
                  parent: try c.decodeIfPresent(String.self, forKey: .parent), master: try c.decodeIfPresent(String.self, forKey: .master),
                  addresses: try c.decode([String].self, forKey: .addresses), tunnel: try c.decodeIfPresent(TunnelInfo.self, forKey: .tunnel),
                  offloads: try c.decode(OffloadFeatures.self, forKey: .offloads).features)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(index, forKey: .index)
        try c.encode(kind, forKey: .kind)
        try c.encode(operstate, forKey: .operstate)
        try c.encode(mtu, forKey: .mtu)
        try c.encodeIfPresent(minMTU, forKey: .minMTU)
        try c.encodeIfPresent(maxMTU, forKey: .maxMTU)
        try c.encodeIfPresent(ipv6MTU, forKey: .ipv6MTU)
        try c.encodeIfPresent(parent, forKey: .parent)
        try c.encodeIfPresent(master, forKey: .master)
        try c.encode(addresses, forKey: .addresses)
        try c.encodeIfPresent(tunnel, forKey: .tunnel)
        try c.encode(OffloadFeatures(features: offloads), forKey: .offloads)
        try c.encode(OffloadSummary(features: offloads), forKey: .offloadSummary)
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
