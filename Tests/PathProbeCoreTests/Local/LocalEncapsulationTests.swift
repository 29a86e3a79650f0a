import Testing
import PathProbeCore

/// Overhead arithmetic for every kind `nic` knows, without netlink.
@Suite struct LocalEncapsulationTests {
    static let v4 = IPAddress("192.0.2.1")
    static let v6 = IPAddress("2001:db8::1")

    @Test(arguments: [
        (EncapsulationParameters(kind: "vxlan", remote: v4), 50, AddressFamily?.some(.ipv4)),
        (EncapsulationParameters(kind: "vxlan", remote: v6), 70, .ipv6),
        (EncapsulationParameters(kind: "vxlan", local: v6), 70, .ipv6),
        (EncapsulationParameters(kind: "vxlan"), 50, .ipv4),
        (EncapsulationParameters(kind: "geneve", remote: v6), 70, .ipv6),
        (EncapsulationParameters(kind: "wireguard"), 60, nil),
        (EncapsulationParameters(kind: "wireguard", remote: v4), 60, .ipv4),
        (EncapsulationParameters(kind: "wireguard", remote: v6), 80, .ipv6),
        (EncapsulationParameters(kind: "gre"), 24, .ipv4),
        (EncapsulationParameters(kind: "gre", greOutputFlags: Encapsulation.greKey), 28, .ipv4),
        (EncapsulationParameters(kind: "gre", greOutputFlags: Encapsulation.greKey | Encapsulation.greChecksum | Encapsulation.greSequence), 36, .ipv4),
        (EncapsulationParameters(kind: "gretap"), 38, .ipv4),
        (EncapsulationParameters(kind: "ip6gre"), 52, .ipv6),
        (EncapsulationParameters(kind: "ip6gre", ipv6EncapsulationLimitOption: false), 44, .ipv6),
        (EncapsulationParameters(kind: "ip6gretap", ipv6EncapsulationLimitOption: false), 58, .ipv6),
        (EncapsulationParameters(kind: "ipip"), 20, .ipv4),
        (EncapsulationParameters(kind: "sit"), 20, .ipv4),
        (EncapsulationParameters(kind: "ip6tnl"), 48, .ipv6),
        (EncapsulationParameters(kind: "ip6tnl", ipv6EncapsulationLimitOption: false), 40, .ipv6),
        (EncapsulationParameters(kind: "ppp"), 8, nil),
        (EncapsulationParameters(kind: "vlan", boundDeviceIndex: 2), 0, nil),
        (EncapsulationParameters(kind: "macvlan", boundDeviceIndex: 2), 0, nil),
    ])
    func overhead(_ p: EncapsulationParameters, _ overhead: Int, _ family: AddressFamily?) {
        let e = Encapsulation.of(p)
        #expect(e?.overhead == overhead)
        #expect(e?.underlayFamily == family)
    }

    @Test(arguments: ["veth", "bridge", "bond", "tun", "dummy", "loopback", "ether", "ifb"])
    func notATunnel(_ kind: String) {
        #expect(Encapsulation.of(EncapsulationParameters(kind: kind)) == nil)
    }

    @Test func fieldFactsInnerMTUsOverA1500Underlay() {
        // The table in field-facts.md: PPPoE 1492, VXLAN 1450 / 1430, WireGuard 1440 / 1420, GRE 1476.
        let cases: [(EncapsulationParameters, Int)] = [
            (.init(kind: "ppp"), 1492), (.init(kind: "vxlan", remote: Self.v4), 1450), (.init(kind: "vxlan", remote: Self.v6), 1430),
            (.init(kind: "wireguard", remote: Self.v4), 1440), (.init(kind: "wireguard", remote: Self.v6), 1420),
            (.init(kind: "gre"), 1476),
        ]
        for (p, inner) in cases {
            #expect(Encapsulation.of(p)?.innerMTU(overUnderlayMTU: 1500) == inner, "\(p.kind)")
        }
    }
}
