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
        let socket = try NetlinkSocket()
        return try socket.routeInfo(address, destination: destination ?? address.description)
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
        var after = try socket.routeInfo(address, destination: name)
        after.flush = RouteFlush(scope: scope, removed: removed)
        return after
    }

    /// USER_HZ, the unit of RTA_CACHEINFO's expiry.
    static var ticksPerSecond: Int { max(1, sysconf(Int32(_SC_CLK_TCK))) }
}

extension NetlinkSocket {
    /// RTM_GETROUTE for one address; `fibMatch` asks for the routing-table entry that matched
    /// (`ip route get fibmatch`) instead of the resolved, possibly cached, result.
    func routeQuery(_ address: IPAddress, fibMatch: Bool) throws -> RouteReply {
        let family = address.family == .ipv4 ? AF_INET : AF_INET6
        var header = [UInt8](repeating: 0, count: RouteReply.headerSize)
        header[0] = UInt8(family)
        header[1] = UInt8(address.bytes.count * 8)
        if fibMatch { header.replaceSubrange(8..<12, with: NetlinkBytes.bytes(of: UInt32(RTM_F_FIB_MATCH))) }
        do {
            let replies = try request(type: RTM_GETROUTE, header: header,
                                      attributes: [(RouteReply.attribute(RTA_DST), address.bytes)])
            guard let reply = replies.compactMap(RouteReply.init).first else {
                throw NetlinkError.system("RTM_GETROUTE", reason: "the kernel sent no route")
            }
            return reply
        } catch let e as KernelError {
            throw NetlinkError.noRoute(address, reason: NetlinkError.errnoText(e.errno))
        }
    }

    func routeInfo(_ address: IPAddress, destination: String) throws -> RouteInfo {
        let resolved = try routeQuery(address, fibMatch: false)
        // The table entry carries the route's own metrics even while an exception overrides the MTU.
        // Without it (kernels before 4.13) the resolved answer has them too, unless an exception replaced the MTU.
        let entry = try? routeQuery(address, fibMatch: true)
        let exception = resolved.exception(ticksPerSecond: RouteLookup.ticksPerSecond)
        let metrics = entry ?? (exception == nil ? resolved : nil)
        var info = RouteInfo(destination: destination, address: address, type: RouteInfo.typeName((entry ?? resolved).type),
                             prefix: entry?.prefix, table: (entry ?? resolved).table, gateway: resolved.gateway,
                             source: resolved.preferredSource, mtu: metrics?.mtu, mtuLocked: metrics?.mtuLocked ?? false,
                             advmss: metrics?.advmss ?? resolved.advmss, pmtuException: exception)
        if let oif = resolved.outputInterface, let link = try link(index: oif) {
            info.interface = link.name
            info.interfaceMTU = address.family == .ipv6 ? ProcSys.ipv6MTU(interface: link.name) ?? link.mtu : link.mtu
        }
        return info
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
