/// A path MTU the kernel learned from an ICMP fragmentation-needed / packet-too-big and keeps for
/// one destination until it expires (`ip route get` shows `cache expires Ns mtu N`).
public struct PMTUException: Sendable, Equatable {
    public var mtu: Int
    /// Seconds until the kernel forgets it (RTA_CACHEINFO rta_expires, in whole seconds as `ip` prints it).
    public var expiresSeconds: Int

    public init(mtu: Int, expiresSeconds: Int) {
        self.mtu = mtu
        self.expiresSeconds = expiresSeconds
    }

    public var json: JSON { .object([("mtu", .int(mtu)), ("expires_s", .int(expiresSeconds))]) }
}

/// What `pathprobe route --flush` did.
public struct RouteFlush: Sendable, Equatable {
    public enum Scope: String, Sendable, Equatable {
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

    public var json: JSON { .object([("scope", .string(scope.rawValue)), ("removed", removed?.json ?? .null)]) }
}

/// The kernel's answer for one destination (`pathprobe route`): what `ip route get` and
/// `ip route get fibmatch` say, plus the egress interface's MTU.
public struct RouteInfo: Sendable, Equatable {
    /// The destination as given (host name or literal address).
    public var destination: String
    public var address: IPAddress
    /// unicast, local, broadcast, multicast, blackhole, unreachable, prohibit...
    public var type: String
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

    public init(destination: String, address: IPAddress, type: String = "unicast", prefix: String? = nil, table: Int? = nil,
                interface: String? = nil, interfaceMTU: Int? = nil, gateway: IPAddress? = nil, source: IPAddress? = nil,
                mtu: Int? = nil, mtuLocked: Bool = false, advmss: Int? = nil, pmtuException: PMTUException? = nil,
                flush: RouteFlush? = nil) {
        self.destination = destination
        self.address = address
        self.type = type
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

    public var json: JSON {
        .object([
            ("destination", .string(destination)),
            ("address", .string(address.description)),
            ("family", .string(address.family.rawValue)),
            ("type", .string(type)),
            ("prefix", .from(prefix)),
            ("table", .from(table)),
            ("interface", .from(interface)),
            ("interface_mtu", .from(interfaceMTU)),
            ("gateway", .from(gateway?.description)),
            ("source", .from(source?.description)),
            ("mtu", .from(mtu)),
            ("mtu_locked", .bool(mtuLocked)),
            ("advmss", .from(advmss)),
            ("pmtu_exception", pmtuException?.json ?? .null),
            ("effective_mtu", .from(effectiveMTU)),
            ("flush", flush?.json ?? .null),
        ])
    }

    public func text(style: Style) -> String {
        var lines: [(String, String)] = []
        let dest = destination == address.description ? destination : "\(destination) (\(address))"
        lines.append(("destination", dest))
        var route = [prefix ?? "-"]
        if let gateway { route.append("via \(gateway)") }
        if let interface { route.append("dev \(interface)") }
        if let source { route.append("src \(source)") }
        if let table { route.append("table \(RouteInfo.tableName(table))") }
        if type != "unicast" { route.insert(type, at: 0) }
        lines.append(("route", route.joined(separator: " ")))
        lines.append(("interface mtu", interfaceMTU.map(String.init) ?? "-"))
        lines.append(("route mtu", mtu.map { "\($0)" + (mtuLocked ? " (locked)" : "") } ?? "-"))
        lines.append(("advmss", advmss.map(String.init) ?? "-"))
        if let e = pmtuException {
            lines.append(("pmtu cache", style.yellow("mtu \(e.mtu), expires in \(e.expiresSeconds) s")))
        } else {
            lines.append(("pmtu cache", "none"))
        }
        lines.append(("effective mtu", effectiveMTU.map { style.bold(String($0)) } ?? "-"))
        if let flush {
            let what = flush.removed.map { "removed mtu \($0.mtu) (it had \($0.expiresSeconds) s to live)" } ?? "nothing was cached"
            let scope = flush.scope == .namespace ? "every IPv4 exception in this namespace" : "this destination"
            lines.append(("flushed", "\(what); scope: \(scope)"))
        }
        let width = lines.map(\.0.count).max() ?? 0
        return lines.map { $0.0 + String(repeating: " ", count: width + 2 - $0.0.count) + $0.1 }.joined(separator: "\n")
    }

    /// RTN_* route types as `ip route` names them.
    public static func typeName(_ rtnType: Int) -> String {
        let names = ["unspec", "unicast", "local", "broadcast", "anycast", "multicast", "blackhole", "unreachable",
                     "prohibit", "throw", "nat", "xresolve"]
        return rtnType >= 0 && rtnType < names.count ? names[rtnType] : String(rtnType)
    }

    static func tableName(_ id: Int) -> String {
        switch id {
        case 253: return "default"
        case 254: return "main"
        case 255: return "local"
        default: return String(id)
        }
    }
}
