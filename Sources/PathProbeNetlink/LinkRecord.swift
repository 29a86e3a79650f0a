internal import CNetlink
import PathProbeCore

/// One RTM_NEWLINK message, reduced to what the inventory uses.
struct LinkRecord: Equatable {
    static let headerSize = 16  // struct ifinfomsg

    var index: Int
    var name: String
    /// ifi_type: ARPHRD_*.
    var arphrd: Int = 1
    var mtu: Int
    var minMTU: Int?
    var maxMTU: Int?
    /// IF_OPER_*.
    var operstate: Int = 0
    /// IFLA_LINK when it names a device of this namespace (nil when the peer lives in another one).
    var linkIndex: Int?
    var masterIndex: Int?
    /// IFLA_INFO_KIND.
    var kind: String?
    /// Tunnel parameters from IFLA_INFO_DATA for the kinds `Encapsulation` knows.
    var encapsulation: EncapsulationParameters?

    /// The kind, or the link type for links without one (loopback, ether, none, ppp...).
    var displayKind: String { kind ?? LinkType.name(arphrd: arphrd) }
}

extension LinkRecord {
    init?(_ message: NetlinkMessage) {
        guard let (h, a) = message.parts(type: RTM_NEWLINK, headerSize: LinkRecord.headerSize),
              let name = a.string(IFLA_IFNAME), let mtu = a.u32(IFLA_MTU) else { return nil }
        self.init(index: Int(Int32(bitPattern: NetlinkBytes.u32(h, at: 4))), name: name,
                  arphrd: Int(NetlinkBytes.u16(h, at: 2)), mtu: Int(mtu))
        minMTU = a.u32(IFLA_MIN_MTU).map(Int.init)
        maxMTU = a.u32(IFLA_MAX_MTU).map(Int.init)
        operstate = a.u8(IFLA_OPERSTATE).map(Int.init) ?? 0
        // With IFLA_LINK_NETNSID the lower device (IFLA_LINK, a tunnel's bound device) lives in another namespace.
        let lowerIsHere = a[IFLA_LINK_NETNSID] == nil
        if let link = a.u32(IFLA_LINK), link != 0, lowerIsHere { linkIndex = Int(link) }
        masterIndex = a.u32(IFLA_MASTER).flatMap { $0 == 0 ? nil : Int($0) }
        let info = a.nested(IFLA_LINKINFO)
        kind = info?.string(IFLA_INFO_KIND)
        let data = info?.nested(IFLA_INFO_DATA) ?? NetlinkAttributes([])
        encapsulation = LinkRecord.encapsulation(kind: displayKind, data: data, linkIndex: linkIndex)
        if !lowerIsHere { encapsulation?.boundDeviceIndex = nil }
    }

    /// Reads the tunnel attributes of the kinds whose overhead is known.
    static func encapsulation(kind: String, data: NetlinkAttributes, linkIndex: Int?) -> EncapsulationParameters? {
        func index(_ v: UInt32?) -> Int? { v.flatMap { $0 == 0 ? nil : Int($0) } }
        func address(_ type: Int) -> IPAddress? {
            data.address(type).flatMap { $0.bytes.allSatisfy { $0 == 0 } ? nil : $0 }
        }
        // IP6_TNL_F_IGN_ENCAP_LIMIT: no destination option is inserted.
        let ignoreEncapLimit: UInt32 = 0x1
        var p = EncapsulationParameters(kind: kind)
        switch kind {
        case "vxlan":
            p.boundDeviceIndex = index(data.u32(IFLA_VXLAN_LINK))
            p.remote = address(IFLA_VXLAN_GROUP) ?? address(IFLA_VXLAN_GROUP6)
            p.local = address(IFLA_VXLAN_LOCAL) ?? address(IFLA_VXLAN_LOCAL6)
        case "geneve":
            p.remote = address(IFLA_GENEVE_REMOTE) ?? address(IFLA_GENEVE_REMOTE6)
        case "gre", "gretap", "erspan", "ip6gre", "ip6gretap", "ip6erspan":
            p.boundDeviceIndex = index(data.u32(IFLA_GRE_LINK))
            p.remote = address(IFLA_GRE_REMOTE)
            p.local = address(IFLA_GRE_LOCAL)
            p.greOutputFlags = data.be16(IFLA_GRE_OFLAGS) ?? 0
            p.ipv6EncapsulationLimitOption = (data.u32(IFLA_GRE_FLAGS) ?? 0) & ignoreEncapLimit == 0
        case "ipip", "sit", "ip6tnl":
            p.boundDeviceIndex = index(data.u32(IFLA_IPTUN_LINK))
            p.remote = address(IFLA_IPTUN_REMOTE)
            p.local = address(IFLA_IPTUN_LOCAL)
            if kind == "ip6tnl" { p.ipv6EncapsulationLimitOption = (data.u32(IFLA_IPTUN_FLAGS) ?? 0) & ignoreEncapLimit == 0 }
        default:
            p.boundDeviceIndex = Encapsulation.sameMTUKinds.contains(kind) ? linkIndex : nil
        }
        return Encapsulation.of(p) == nil ? nil : p
    }
}

/// One RTM_NEWADDR message: the interface and "address/prefix".
struct AddressRecord: Equatable {
    static let headerSize = 8  // struct ifaddrmsg

    var index: Int
    var address: IPAddress
    var prefixLength: Int

    var text: String { "\(address)/\(prefixLength)" }
}

extension AddressRecord {
    init?(_ message: NetlinkMessage) {
        // IFA_LOCAL is the interface's own address on point-to-point links; IFA_ADDRESS the peer there.
        guard let (h, a) = message.parts(type: RTM_NEWADDR, headerSize: AddressRecord.headerSize),
              let address = a.address(IFA_LOCAL) ?? a.address(IFA_ADDRESS) else { return nil }
        self.init(index: Int(NetlinkBytes.u32(h, at: 4)), address: address, prefixLength: Int(h[1]))
    }
}

extension NetlinkSocket {
    /// Every link of the namespace (RTM_GETLINK dump), in the kernel's order.
    func links() throws -> [LinkRecord] {
        try request(type: RTM_GETLINK, header: [UInt8](repeating: 0, count: LinkRecord.headerSize), dump: true)
            .compactMap(LinkRecord.init)
    }

    /// One link by index.
    func link(index: Int) throws -> LinkRecord? {
        var header = [UInt8](repeating: 0, count: LinkRecord.headerSize)
        header.replaceSubrange(4..<8, with: NetlinkBytes.bytes(of: Int32(index)))
        return try request(type: RTM_GETLINK, header: header).compactMap(LinkRecord.init).first
    }

    /// Every address of the namespace (RTM_GETADDR dump): IPv4 first, then IPv6.
    func addresses() throws -> [AddressRecord] {
        try request(type: RTM_GETADDR, header: [UInt8](repeating: 0, count: AddressRecord.headerSize), dump: true)
            .compactMap(AddressRecord.init)
    }
}
