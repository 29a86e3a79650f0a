internal import CNetlink
import PathProbeCore

/// One RTM_NEWROUTE answer to RTM_GETROUTE, reduced to what `pathprobe route` shows.
struct RouteReply: Equatable {
    static let headerSize = 12  // struct rtmsg

    var family: Int
    var destinationLength: Int = 0
    var table: Int = 254
    /// RTN_*.
    var type: Int = 1
    /// rtm_flags (RTM_F_CLONED marks an answer that came from a cached exception or route cache).
    var flags: UInt32 = 0
    var destination: IPAddress?
    var outputInterface: Int?
    var gateway: IPAddress?
    var preferredSource: IPAddress?
    var mtu: Int?
    /// RTAX_LOCK: one bit per locked metric (1 << RTAX_MTU for `mtu lock`).
    var lockedMetrics: UInt32 = 0
    var advmss: Int?
    /// RTA_CACHEINFO rta_expires, in clock ticks (USER_HZ); nil when absent.
    var expiresTicks: Int?

    static func attribute(_ t: rtattr_type_t) -> Int { Int(t.rawValue) }

    var mtuLocked: Bool { lockedMetrics & (1 << UInt32(RTAX_MTU)) != 0 }

    /// The cached PMTU exception this answer carries, if any: an answer from the exception cache
    /// (RTM_F_CLONED) with an MTU and a time to live, as `ip route get` prints `cache expires Ns mtu N`.
    func exception(ticksPerSecond: Int) -> PMTUException? {
        guard flags & UInt32(RTM_F_CLONED) != 0, let mtu, let ticks = expiresTicks, ticks > 0 else { return nil }
        return PMTUException(mtu: mtu, expiresSeconds: ticks / max(1, ticksPerSecond))
    }

    /// "10.0.2.0/24", "default".
    var prefix: String? {
        guard let destination else { return destinationLength == 0 ? "default" : nil }
        return "\(destination)/\(destinationLength)"
    }
}

extension RouteReply {
    init?(_ message: NetlinkMessage) {
        guard let (h, a) = message.parts(type: RTM_NEWROUTE, headerSize: RouteReply.headerSize) else { return nil }
        self.init(family: Int(h[0]), destinationLength: Int(h[1]), table: Int(h[4]), type: Int(h[7]),
                  flags: NetlinkBytes.u32(h, at: 8))
        if let t = a.u32(RouteReply.attribute(RTA_TABLE)) { table = Int(t) }
        destination = a.address(RouteReply.attribute(RTA_DST))
        outputInterface = a.u32(RouteReply.attribute(RTA_OIF)).map(Int.init)
        gateway = a.address(RouteReply.attribute(RTA_GATEWAY))
        if gateway == nil, let via = a[RouteReply.attribute(RTA_VIA)], via.count > 2 {
            gateway = IPAddress(bytes: via.dropFirst(2))  // struct rtvia: family u16, then the address
        }
        preferredSource = a.address(RouteReply.attribute(RTA_PREFSRC))
        if let metrics = a.nested(RouteReply.attribute(RTA_METRICS)) {
            mtu = metrics.u32(RTAX_MTU).map(Int.init)
            lockedMetrics = metrics.u32(RTAX_LOCK) ?? 0
            advmss = metrics.u32(RTAX_ADVMSS).map(Int.init)
        }
        if let cache = a[RouteReply.attribute(RTA_CACHEINFO)], cache.count >= 12 {
            expiresTicks = Int(Int32(bitPattern: NetlinkBytes.u32(cache, at: 8)))  // rta_cacheinfo.rta_expires
        }
    }
}
