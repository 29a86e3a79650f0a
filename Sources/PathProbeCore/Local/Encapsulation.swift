/// What a stacked link (tunnel, VPN, VLAN...) adds to every packet, and what that leaves for the
/// inner MTU. Pure arithmetic: the netlink reader fills `EncapsulationParameters` from the link's
/// IFLA_INFO_DATA and this decides the overhead, so it is testable without a kernel.
public struct EncapsulationParameters: Sendable, Equatable {
    /// The kernel's link kind (IFLA_INFO_KIND): "vxlan", "wireguard", "gre", "vlan"...
    public var kind: String
    /// The device the link is bound to, when the kernel says (vxlan `dev`, a tunnel's `link`, a VLAN's lower device).
    public var boundDeviceIndex: Int?
    public var local: IPAddress?
    public var remote: IPAddress?
    /// GRE output flags (IFLA_GRE_OFLAGS, converted to host order): checksum, key and sequence add 4 bytes each.
    public var greOutputFlags: UInt16
    /// ip6tnl / ip6gre insert an 8-byte destination option (tunnel encapsulation limit) unless told not to.
    public var ipv6EncapsulationLimitOption: Bool

    public init(kind: String, boundDeviceIndex: Int? = nil, local: IPAddress? = nil, remote: IPAddress? = nil,
                greOutputFlags: UInt16 = 0, ipv6EncapsulationLimitOption: Bool = true) {
        self.kind = kind
        self.boundDeviceIndex = boundDeviceIndex
        self.local = local
        self.remote = remote
        self.greOutputFlags = greOutputFlags
        self.ipv6EncapsulationLimitOption = ipv6EncapsulationLimitOption
    }
}

public struct Encapsulation: Sendable, Equatable {
    /// Bytes added in front of (and, for WireGuard, behind) every inner packet.
    public var overhead: Int
    /// The family of the outer (underlay) packets; nil when only the endpoint configuration, which
    /// the kernel does not expose, decides it (WireGuard): then `overhead` is the IPv4 figure.
    public var underlayFamily: AddressFamily?

    public init(overhead: Int, underlayFamily: AddressFamily?) {
        self.overhead = overhead
        self.underlayFamily = underlayFamily
    }

    // GRE header flag bits (RFC 2784 / 2890), as in IFLA_GRE_OFLAGS once in host order.
    public static let greChecksum: UInt16 = 0x8000
    public static let greKey: UInt16 = 0x2000
    public static let greSequence: UInt16 = 0x1000

    /// Kinds stacked on a lower device without adding to the IP MTU (the VLAN tag is outside the MTU).
    public static let sameMTUKinds: Set<String> = ["vlan", "macvlan", "macvtap", "ipvlan", "ipvtap"]

    /// The encapsulation of a link, or nil when the kind does not encapsulate (veth, bridge, bond...)
    /// or its overhead cannot be known (tun: decided by the user-space VPN).
    ///
    /// Figures (outer IP header 20 over IPv4, 40 over IPv6, plus):
    /// vxlan, geneve: UDP 8 + header 8 + inner Ethernet 14 (50 / 70);
    /// wireguard: UDP 8 + header 16 + tag 16 (60 / 80);
    /// gre: 4 (+4 each for checksum, key, sequence), gretap/ip6gretap/erspan add the inner Ethernet 14;
    /// ipip, sit: 20; ip6tnl: 40; ip6tnl and ip6gre add 8 for the encapsulation-limit option;
    /// ppp: 8 (PPPoE header 6 + PPP protocol 2); vlan, macvlan, ipvlan: 0.
    public static func of(_ p: EncapsulationParameters) -> Encapsulation? {
        let addressFamily = p.remote?.family ?? p.local?.family
        func ip(_ family: AddressFamily) -> Int { family.ipHeaderSize }
        func greHeader() -> Int {
            var n = 4
            for bit in [greChecksum, greKey, greSequence] where p.greOutputFlags & bit != 0 { n += 4 }
            return n
        }
        let encapLimit = p.ipv6EncapsulationLimitOption ? 8 : 0
        switch p.kind {
        case "vxlan", "geneve":
            let f = addressFamily ?? .ipv4
            return Encapsulation(overhead: ip(f) + 8 + 8 + 14, underlayFamily: f)
        case "wireguard":
            let f = addressFamily
            return Encapsulation(overhead: ip(f ?? .ipv4) + 8 + 16 + 16, underlayFamily: f)
        case "gre":
            return Encapsulation(overhead: 20 + greHeader(), underlayFamily: .ipv4)
        case "gretap", "erspan":
            return Encapsulation(overhead: 20 + greHeader() + 14, underlayFamily: .ipv4)
        case "ip6gre":
            return Encapsulation(overhead: 40 + encapLimit + greHeader(), underlayFamily: .ipv6)
        case "ip6gretap", "ip6erspan":
            return Encapsulation(overhead: 40 + encapLimit + greHeader() + 14, underlayFamily: .ipv6)
        case "ipip", "sit":
            return Encapsulation(overhead: 20, underlayFamily: .ipv4)
        case "ip6tnl":
            return Encapsulation(overhead: 40 + encapLimit, underlayFamily: .ipv6)
        case "ppp", "pppoe":
            return Encapsulation(overhead: 8, underlayFamily: nil)
        case _ where sameMTUKinds.contains(p.kind):
            return Encapsulation(overhead: 0, underlayFamily: nil)
        default:
            return nil
        }
    }

    /// The largest inner MTU an underlay of `underlayMTU` bytes carries without fragmenting.
    public func innerMTU(overUnderlayMTU underlayMTU: Int) -> Int { underlayMTU - overhead }
}
