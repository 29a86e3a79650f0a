import PathProbeCore

extension LocalInventory {
    /// Reads the inventory of the caller's network namespace over netlink, SIOCETHTOOL and /proc/sys.
    /// `interfaces`: the names to report (in that order), nil for every link. Needs no privilege.
    /// Throws `NetlinkError.unknownInterface` for a name that does not exist.
    public static func read(interfaces names: [String]? = nil) throws -> LocalInventory {
        let socket = try NetlinkSocket()
        let links = try socket.links()
        let addresses = try socket.addresses()
        let byIndex = Dictionary(links.map { ($0.index, $0) }, uniquingKeysWith: { a, _ in a })

        var selected = links
        if let names {
            var seen = Set<String>()
            selected = try names.filter { seen.insert($0).inserted }.map { name in
                guard let link = links.first(where: { $0.name == name }) else { throw NetlinkError.unknownInterface(name) }
                return link
            }
        }

        let interfaces = selected.map { link in
            LocalInterface(
                name: link.name, index: link.index, kind: link.displayKind, operstate: LinkType.operstate(link.operstate), mtu: link.mtu,
                minMTU: link.minMTU, maxMTU: link.maxMTU, ipv6MTU: ProcSys.ipv6MTU(interface: link.name),
                parent: link.linkIndex.flatMap { byIndex[$0]?.name }, master: link.masterIndex.flatMap { byIndex[$0]?.name },
                addresses: addresses.filter { $0.index == link.index }.map(\.text),
                tunnel: tunnel(of: link, links: byIndex, socket: socket),
                offloads: Ethtool.features(interface: link.name))
        }
        return LocalInventory(interfaces: interfaces, sysctls: ProcSys.pmtuSysctls())
    }

    /// The encapsulation of a link and the device under it: the bound device when the kernel has
    /// one, else the egress interface of the route to the remote endpoint.
    static func tunnel(of link: LinkRecord, links: [Int: LinkRecord], socket: NetlinkSocket) -> TunnelInfo? {
        guard let parameters = link.encapsulation, let encapsulation = Encapsulation.of(parameters) else { return nil }
        var underlayIndex = parameters.boundDeviceIndex
        if underlayIndex == nil, let remote = parameters.remote {
            underlayIndex = (try? socket.routeQuery(remote, fibMatch: false))?.outputInterface
        }
        let underlay = underlayIndex.flatMap { links[$0] }
        let family = encapsulation.underlayFamily
        var underlayMTU = underlay?.mtu
        if family == .ipv6, let name = underlay?.name, let v6 = ProcSys.ipv6MTU(interface: name) {
            underlayMTU = min(underlayMTU ?? v6, v6)
        }
        return TunnelInfo(overhead: encapsulation.overhead, underlay: underlay?.name, underlayMTU: underlayMTU,
                          underlayFamily: family, remote: parameters.remote)
    }
}
