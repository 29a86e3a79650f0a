import PathProbeCore
import PathProbeEngine
import PathProbeNetlink

#if canImport(Glibc)
import Glibc
#endif

/// What every measurement of one target starts from: the host as given, its address, and where a
/// probe to it leaves (the kernel's route: the one egress lookup per target).
public struct ProbeTarget: Sendable {
    /// As the user gave it (host name or address); the document's `target`.
    public var text: String
    public var address: IPAddress
    public var egress: Egress
    /// The input line in bulk; nil elsewhere.
    public var line: Int?

    public init(text: String, address: IPAddress, egress: Egress, line: Int? = nil) {
        self.text = text
        self.address = address
        self.egress = egress
        self.line = line
    }

    /// Resolves `host` (in `family` if given) and looks up its egress (out of `interface` with -i).
    public static func resolve(_ host: String, family: AddressFamily?, interface: String?) throws(PathProbeError) -> ProbeTarget {
        let address = try resolveAddress(host, family: family)
        let egress = try sorted { try RouteLookup.egress(to: address, interface: interface) }
        return ProbeTarget(text: host, address: address, egress: egress)
    }

    public static func resolveAddress(_ host: String, family: AddressFamily?) throws(PathProbeError) -> IPAddress {
        try sorted { try Resolver.resolve(host, family: family) }
    }
}

/// The engine for a single-target command: `--rate` (else `defaultRate`), `--icmp-socket`, `-i`.
public func makeEngine(_ probe: ProbeArguments, defaultRate: Double = 1000) throws(PathProbeError) -> ProbeEngine {
    try sorted { try ProbeEngine(options: engineOptions(probe, defaultRate: defaultRate)) }
}

public func engineOptions(_ probe: ProbeArguments, defaultRate: Double) -> EngineOptions {
    EngineOptions(rate: probe.rate(default: defaultRate), icmpSocket: probe.icmpSocket,
                  interface: probe.interface)
}

/// Opens the engine's socket for one probe kind and names it ("ping", "raw", "udp").
func openSocket(_ engine: ProbeEngine, family: AddressFamily, kind: ProbeKind) throws(PathProbeError) -> String? {
    try sorted { try engine.prepare(family: family, kind: kind) }
    return engine.socketDescription(family: family, kind: kind)
}

/// Wall-clock time for `started_at`: ISO 8601, UTC, whole seconds ("2026-11-26T09:16:09Z").
public func utcTimestamp() -> String {
    var now = time(nil)
    var t = tm()
    gmtime_r(&now, &t)
    func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : String(v) }
    return "\(t.tm_year + 1900)-\(two(t.tm_mon + 1))-\(two(t.tm_mday))T\(two(t.tm_hour)):\(two(t.tm_min)):\(two(t.tm_sec))Z"
}
