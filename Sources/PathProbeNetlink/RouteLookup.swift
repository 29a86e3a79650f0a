internal import CNetlink
import PathProbeCore

#if canImport(Glibc)
import Glibc
#endif

/// The kernel's route to one destination and its cached path MTU (`ip route get`), and the flush
/// of that cache (`ip route flush cache`). Lookups need no privilege; flushing needs CAP_NET_ADMIN.
public enum RouteLookup {
    /// What the kernel does with packets to `address` now: egress interface and its MTU, gateway,
    /// source, the route's metrics and the cached PMTU exception. `destination` is the name to show
    /// (defaults to the address).
    public static func lookup(_ address: IPAddress, destination: String? = nil) throws -> RouteInfo {
        try route(to: address, target: destination ?? address.description).info
    }

    /// The route to `address` (as `lookup`) and the egress a probe to it takes, from the same
    /// kernel answers: `profile`'s one lookup per target. `interface` (-i) asks for the route out of
    /// that interface, as SO_BINDTODEVICE makes the kernel pick it.
    public static func route(to address: IPAddress, target: String, interface: String? = nil) throws -> (info: RouteInfo, egress: Egress) {
        let socket = try NetlinkSocket()
        let oif = try interface.map { try socket.interfaceIndex(named: $0) }
        let found = try socket.routeInfo(address, destination: target, outputInterface: oif)
        RecentEgress.shared.keep(found.egress, interface)
        return found
    }

    /// The egress of a probe to `address`: the kernel's route (RTM_GETROUTE, as `ip route get`):
    /// its output interface, that interface's MTU (the default largest probe) and the source address.
    /// With `interface` (-i), the route out of that interface. Throws `NetlinkError.noRoute` or
    /// `.unknownInterface`.
    public static func egress(to address: IPAddress, interface: String? = nil) throws -> Egress {
        try Cache().lookup(to: address, interface: interface)
    }

    /// Egress lookups for many destinations (bulk, SYN probes): one netlink socket, and each output
    /// interface's name and MTU read once.
    public final class Cache {
        private var opened: NetlinkSocket?
        private var links: [Int: LinkRecord] = [:]
        private var indexByName: [String: Int] = [:]
        /// Share lookups with the process's recent egress table (a later lookup of the same address
        /// in the next second is free). Bulk looks every target up once: it turns this off, and the
        /// table (16,384 entries, copied when full) no longer grows the run's memory.
        public let sharesRecent: Bool

        public init(sharesRecent: Bool = true) { self.sharesRecent = sharesRecent }

        /// The netlink socket, opened at the first lookup.
        private var socket: NetlinkSocket {
            get throws {
                if let opened { return opened }
                let s = try NetlinkSocket()
                opened = s
                return s
            }
        }

        public func lookup(to address: IPAddress, interface: String? = nil) throws -> Egress {
            if sharesRecent, let recent = RecentEgress.shared.find(address, interface) { return recent }
            let egress = try query(address, interface)
            if sharesRecent { RecentEgress.shared.keep(egress, interface) }
            return egress
        }

        private func query(_ address: IPAddress, _ interface: String?) throws -> Egress {
            let socket = try self.socket
            var oif: Int? = nil
            if let interface {
                if let i = indexByName[interface] { oif = i } else {
                    let i = try socket.interfaceIndex(named: interface)
                    indexByName[interface] = i
                    oif = i
                }
            }
            let reply = try socket.routeQuery(address, fibMatch: false, outputInterface: oif)
            return Egress(destination: address, reply: reply, link: try reply.outputInterface.flatMap(link))
        }

        /// The route to `address` and its egress (as `RouteLookup.route`), on this cache's socket.
        public func route(to address: IPAddress, target: String, interface: String? = nil) throws -> (info: RouteInfo, egress: Egress) {
            let socket = try self.socket
            let oif = try interface.map { try socket.interfaceIndex(named: $0) }
            let found = try socket.routeInfo(address, destination: target, outputInterface: oif)
            if sharesRecent { RecentEgress.shared.keep(found.egress, interface) }
            return found
        }

        private func link(_ index: Int) throws -> LinkRecord? {
            if let l = links[index] { return l }
            let l = try socket.link(index: index)
            links[index] = l
            return l
        }
    }

    /// Removes the cached PMTU exception(s) for `address`, then looks the route up again.
    /// IPv6 deletes the destination's exception (RTM_DELROUTE of the cached route); IPv4 has no
    /// per-destination removal, so every IPv4 exception of the namespace is flushed, as
    /// `ip route flush cache` does. Throws `permissionDenied` without CAP_NET_ADMIN.
    public static func flushExceptions(for address: IPAddress, destination: String? = nil) throws -> RouteInfo {
        let socket = try NetlinkSocket()
        let name = destination ?? address.description
        let before = try socket.routeQuery(address, fibMatch: false)
        let removed = before.exception(ticksPerSecond: ticksPerSecond)
        let scope: RouteFlush.Scope
        switch address.family {
        case .ipv4:
            scope = .namespace
            let rc = ProcSys.write("net/ipv4/route/flush", "-1")
            if rc == EACCES || rc == EPERM || rc == EROFS {
                throw NetlinkError.permissionDenied("flushing cached PMTU exceptions needs root (CAP_NET_ADMIN): "
                    + NetlinkError.errnoText(rc))
            }
            if rc != 0 { throw NetlinkError.system("write /proc/sys/net/ipv4/route/flush", reason: NetlinkError.errnoText(rc)) }
        case .ipv6:
            scope = .destination
            if removed != nil { try socket.deleteCachedRoute(address, like: before) }
        }
        var after = try socket.routeInfo(address, destination: name).info
        after.flush = RouteFlush(scope: scope, removed: removed)
        return after
    }

    /// USER_HZ, the unit of RTA_CACHEINFO's expiry.
    static var ticksPerSecond: Int { max(1, sysconf(Int32(_SC_CLK_TCK))) }
}

extension NetlinkSocket {
    /// RTM_GETROUTE for one address; `fibMatch` asks for the routing-table entry that matched
    /// (`ip route get fibmatch`) instead of the resolved, possibly cached, result.
    func routeQuery(_ address: IPAddress, fibMatch: Bool, outputInterface: Int? = nil) throws -> RouteReply {
        let family = address.family == .ipv4 ? AF_INET : AF_INET6
        var header = [UInt8](repeating: 0, count: RouteReply.headerSize)
        header[0] = UInt8(family)
        header[1] = UInt8(address.bytes.count * 8)
        if fibMatch { header.replaceSubrange(8..<12, with: NetlinkBytes.bytes(of: UInt32(RTM_F_FIB_MATCH))) }
        do {
            var attributes: [(type: Int, value: [UInt8])] = [(RouteReply.attribute(RTA_DST), address.bytes)]
            if let oif = outputInterface { attributes.append((RouteReply.attribute(RTA_OIF), NetlinkBytes.bytes(of: UInt32(oif)))) }
            let replies = try request(type: RTM_GETROUTE, header: header, attributes: attributes)
            guard let reply = replies.compactMap(RouteReply.init).first else {
                throw NetlinkError.system("RTM_GETROUTE", reason: "the kernel sent no route")
            }
            return reply
        } catch let e as KernelError {
            throw NetlinkError.noRoute(address, reason: NetlinkError.errnoText(e.errno))
        }
    }

    func routeInfo(_ address: IPAddress, destination: String, outputInterface: Int? = nil) throws -> (info: RouteInfo, egress: Egress) {
        let resolved = try routeQuery(address, fibMatch: false, outputInterface: outputInterface)
        // The table entry carries the route's own metrics even while an exception overrides the MTU.
        // Without it (kernels before 4.13) the resolved answer has them too, unless an exception replaced the MTU.
        let entry = try? routeQuery(address, fibMatch: true, outputInterface: outputInterface)
        let exception = resolved.exception(ticksPerSecond: RouteLookup.ticksPerSecond)
        let metrics = entry ?? (exception == nil ? resolved : nil)
        var info = RouteInfo(target: destination, address: address, routeType: RouteInfo.typeName((entry ?? resolved).type),
                             prefix: entry?.prefix, table: (entry ?? resolved).table, gateway: resolved.gateway,
                             source: resolved.preferredSource, mtu: metrics?.mtu, mtuLocked: metrics?.mtuLocked ?? false,
                             advmss: metrics?.advmss ?? resolved.advmss, pmtuException: exception)
        let link = try resolved.outputInterface.flatMap { try self.link(index: $0) }
        if let link {
            info.interface = link.name
            info.interfaceMTU = address.family == .ipv6 ? ProcSys.ipv6MTU(interface: link.name) ?? link.mtu : link.mtu
        }
        return (info, Egress(destination: address, reply: resolved, link: link))
    }

    /// The index of the interface called `name`; throws `unknownInterface`.
    func interfaceIndex(named name: String) throws -> Int {
        guard !name.isEmpty, name.utf8.count < 16,
              let link = try? request(type: RTM_GETLINK, header: [UInt8](repeating: 0, count: LinkRecord.headerSize),
                                      attributes: [(Int(IFLA_IFNAME), Array(name.utf8) + [0])]).compactMap(LinkRecord.init).first
        else { throw NetlinkError.unknownInterface(name) }
        return link.index
    }

    /// Deletes the cached IPv6 route (the PMTU exception) that `reply` came from.
    func deleteCachedRoute(_ address: IPAddress, like reply: RouteReply) throws {
        var header = [UInt8](repeating: 0, count: RouteReply.headerSize)
        header[0] = UInt8(AF_INET6)
        header[1] = 128
        header[4] = UInt8(truncatingIfNeeded: reply.table < 256 ? reply.table : 0)
        header.replaceSubrange(8..<12, with: NetlinkBytes.bytes(of: UInt32(RTM_F_CLONED)))
        var attributes: [(type: Int, value: [UInt8])] = [
            (RouteReply.attribute(RTA_DST), address.bytes),
            (RouteReply.attribute(RTA_TABLE), NetlinkBytes.bytes(of: UInt32(reply.table))),
        ]
        if let oif = reply.outputInterface {
            attributes.append((RouteReply.attribute(RTA_OIF), NetlinkBytes.bytes(of: UInt32(oif))))
        }
        do {
            _ = try request(type: RTM_DELROUTE, header: header, attributes: attributes, ack: true)
        } catch let e as KernelError {
            switch e.errno {
            case EPERM, EACCES:
                throw NetlinkError.permissionDenied("flushing cached PMTU exceptions needs root (CAP_NET_ADMIN): "
                    + NetlinkError.errnoText(e.errno))
            case ESRCH:
                return  // expired or removed in the meantime
            default:
                throw NetlinkError.system("RTM_DELROUTE (cached route)", reason: NetlinkError.errnoText(e.errno))
            }
        }
    }
}

/// Where a probe to one destination leaves: the kernel's route, the one egress lookup every probe
/// and the local side use (`RouteLookup.egress`, `RouteLookup.route`).
public struct Egress: Sendable, Equatable {
    public var destination: IPAddress
    /// The source address the kernel picks (the route's preferred source).
    public var source: IPAddress?
    /// The route's output interface and its link MTU (the largest probe that can leave).
    public var interface: String?
    public var mtu: Int?
    public var gateway: IPAddress?

    public init(destination: IPAddress, source: IPAddress? = nil, interface: String? = nil, mtu: Int? = nil, gateway: IPAddress? = nil) {
        self.destination = destination
        self.source = source
        self.interface = interface
        self.mtu = mtu
        self.gateway = gateway
    }

    init(destination: IPAddress, reply: RouteReply, link: LinkRecord?) {
        self.init(destination: destination, source: reply.preferredSource, interface: link?.name, mtu: link?.mtu, gateway: reply.gateway)
    }

    /// The egress to `destination`, nil when there is no route.
    public static func egress(to destination: IPAddress) -> Egress? { try? RouteLookup.egress(to: destination) }
}

/// The egresses looked up in the last second, shared by every lookup in the process: a bulk target's
/// egress is looked up once, and the engine's SYN socket, asking for the same destination a moment
/// later, gets the same answer. Entries older than `lifetime` are looked up again.
final class RecentEgress: @unchecked Sendable {
    static let shared = RecentEgress()
    static let lifetime: Int64 = 1_000_000_000
    static let capacity = 16384

    private struct Key: Hashable {
        var address: IPAddress
        var interface: String?
    }

    private var entries: [Key: (egress: Egress, at: Int64)] = [:]
    private var lock = pthread_mutex_t()

    init() { pthread_mutex_init(&lock, nil) }

    private static func now() -> Int64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Int64(t.tv_sec) * 1_000_000_000 + Int64(t.tv_nsec)
    }

    func find(_ address: IPAddress, _ interface: String?) -> Egress? {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        guard let e = entries[Key(address: address, interface: interface)], Self.now() - e.at < Self.lifetime else { return nil }
        return e.egress
    }

    func keep(_ egress: Egress, _ interface: String?) {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        if entries.count >= Self.capacity {
            let now = Self.now()
            entries = entries.filter { now - $0.value.at < Self.lifetime }
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
        }
        entries[Key(address: egress.destination, interface: interface)] = (egress, Self.now())
    }
}
