/// A path MTU the kernel learned from an ICMP fragmentation-needed / packet-too-big and keeps for
/// one destination until it expires (`ip route get` shows `cache expires Ns mtu N`).
public struct PMTUException: Codable, Sendable, Equatable {
    public var mtu: Int
    /// Seconds until the kernel forgets it (RTA_CACHEINFO rta_expires, in whole seconds as `ip` prints it).
    public var expiresSeconds: Int

    public init(mtu: Int, expiresSeconds: Int) {
        self.mtu = mtu
        self.expiresSeconds = expiresSeconds
    }

    enum CodingKeys: String, CodingKey {
        case mtu
        case expiresSeconds = "expires_s"
    }
}

/// What `pathprobe route --flush` did.
public struct RouteFlush: Codable, Sendable, Equatable {
    public enum Scope: String, Codable, Sendable, Equatable {
        /// IPv6: the exception of this one destination was deleted.
        case destination
        /// IPv4: the kernel only flushes every cached exception of the namespace at once (`ip route flush cache`).
        case namespace
    }

    public var scope: Scope
    /// The exception that was in place before the flush, if any.
    public var removed: PMTUException?

    public init(scope: Scope, removed: PMTUException?) {
        self.scope = scope
        self.removed = removed
    }
}

/// The kernel's answer for one destination (`pathprobe route`): what `ip route get` and
/// `ip route get fibmatch` say, plus the egress interface's MTU.
public struct RouteInfo: TargetDocument, Sendable, Equatable {
    public static let documentType = DocumentType.route

    /// The destination as given (host name or literal address); written by the envelope.
    public var target: String
    /// Not a bulk record: always nil.
    public var line: Int? = nil
    public var address: IPAddress
    /// unicast, local, broadcast, multicast, blackhole, unreachable, prohibit...
    public var routeType: String
    /// The matching route's prefix ("10.0.2.0/24", "default"); nil when the kernel gave none.
    public var prefix: String?
    /// Routing table id (254 main, 255 local).
    public var table: Int?
    public var interface: String?
    /// The egress interface's MTU for this family (for IPv6 net.ipv6.conf.IFACE.mtu).
    public var interfaceMTU: Int?
    public var gateway: IPAddress?
    public var source: IPAddress?
    /// The route's own `mtu` metric (`ip route add ... mtu [lock] N`).
    public var mtu: Int?
    public var mtuLocked: Bool
    public var advmss: Int?
    public var pmtuException: PMTUException?
    /// Set when the exceptions were flushed (`--flush`); the other fields then describe the state after the flush.
    public var flush: RouteFlush?

    public init(target: String, address: IPAddress, routeType: String = "unicast", prefix: String? = nil, table: Int? = nil,
                interface: String? = nil, interfaceMTU: Int? = nil, gateway: IPAddress? = nil, source: IPAddress? = nil,
                mtu: Int? = nil, mtuLocked: Bool = false, advmss: Int? = nil, pmtuException: PMTUException? = nil,
                flush: RouteFlush? = nil) {
        self.target = target
        self.address = address
        self.routeType = routeType
        self.prefix = prefix
        self.table = table
        self.interface = interface
        self.interfaceMTU = interfaceMTU
        self.gateway = gateway
        self.source = source
        self.mtu = mtu
        self.mtuLocked = mtuLocked
        self.advmss = advmss
        self.pmtuException = pmtuException
        self.flush = flush
    }

    /// The MTU the kernel applies to new packets to this destination: the cached exception's,
    /// else the route's metric, else the interface's.
    public var effectiveMTU: Int? { pmtuException?.mtu ?? mtu ?? interfaceMTU }

    public enum CodingKeys: String, CodingKey {
        case address, family
        case routeType = "route_type"
        case prefix, table, interface
        case interfaceMTU = "interface_mtu"
        case gateway, source, mtu
        case mtuLocked = "mtu_locked"
        case advmss
        case pmtuException = "pmtu_exception"
        case effectiveMTU = "effective_mtu"
        case flush
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(address, forKey: .address)
        try c.encode(address.family, forKey: .family)
        try c.encode(routeType, forKey: .routeType)
        try c.encodeIfPresent(prefix, forKey: .prefix)
        try c.encodeIfPresent(table, forKey: .table)
        try c.encodeIfPresent(interface, forKey: .interface)
        try c.encodeIfPresent(interfaceMTU, forKey: .interfaceMTU)
        try c.encodeIfPresent(gateway, forKey: .gateway)
        try c.encodeIfPresent(source, forKey: .source)
        try c.encodeIfPresent(mtu, forKey: .mtu)
        try c.encode(mtuLocked, forKey: .mtuLocked)
        try c.encodeIfPresent(advmss, forKey: .advmss)
        try c.encodeIfPresent(pmtuException, forKey: .pmtuException)
        try c.encodeIfPresent(effectiveMTU, forKey: .effectiveMTU)
        try c.encodeIfPresent(flush, forKey: .flush)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(target: "", address: try c.decode(IPAddress.self, forKey: .address), routeType: try c.decode(String.self, forKey: .routeType),
                  prefix: try c.decodeIfPresent(String.self, forKey: .prefix), table: try c.decodeIfPresent(Int.self, forKey: .table),
                  interface: try c.decodeIfPresent(String.self, forKey: .interface),
                  interfaceMTU: try c.decodeIfPresent(Int.self, forKey: .interfaceMTU),
                  gateway: try c.decodeIfPresent(IPAddress.self, forKey: .gateway), source: try c.decodeIfPresent(IPAddress.self, forKey: .source),
                  mtu: try c.decodeIfPresent(Int.self, forKey: .mtu), mtuLocked: try c.decode(Bool.self, forKey: .mtuLocked),
                  advmss: try c.decodeIfPresent(Int.self, forKey: .advmss),
                  pmtuException: try c.decodeIfPresent(PMTUException.self, forKey: .pmtuException),
                  flush: try c.decodeIfPresent(RouteFlush.self, forKey: .flush))
    }
}
