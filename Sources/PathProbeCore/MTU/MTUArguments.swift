import ArgumentParser

/// The options of the path MTU measurement: `pathprobe mtu` (with `ProbeArguments`), `profile`,
/// `bulk` and the exporter take exactly these, so names, defaults and checks are the same everywhere.
public struct MTUArguments: ParsableArguments, Sendable {
    @Option(name: [.customShort("P"), .customLong("protocol")], help: "Probe with ICMP echo or UDP (answered by port unreachable).")
    public var probeProtocol: PathMTUResult.ProbeProtocol = .icmp

    @Option(help: "UDP destination port (UDP mode; must be closed, or answered by `pathprobe serve`).")
    public var port: UInt16 = 33434

    @Option(help: "Smallest packet size to consider, bytes (default 68 for IPv4, 1280 for IPv6).")
    public var min: Int?

    @Option(help: "Largest packet size to try, bytes (default: the egress interface MTU).")
    public var max: Int?

    public init() {}

    public func validate() throws {
        if port == 0 { throw ValidationError("--port must be between 1 and 65535") }
    }

    /// The measurement's attempts when `-c` is not given.
    public static let defaultRetries = 3

    public var kind: ProbeKind { probeProtocol == .udp ? .udp(port: port) : .icmpEcho }

    /// The search range for one target: `--min`/`--max` checked against the family; `localMTU`
    /// (the egress interface's) is the default `--max`. The one place these limits are checked.
    public func sizeRange(family: AddressFamily, localMTU: Int?) throws(PathProbeError) -> (min: Int, max: Int) {
        let floor = family.minimumMTU
        let lo = min ?? floor
        let hi = max ?? Swift.min(localMTU ?? 1500, 65535)
        let name = family == .ipv4 ? "IPv4" : "IPv6"
        for (flag, v) in [("--min", lo), ("--max", hi)] where v < floor || v > 65535 {
            throw .usage("\(flag) \(v) is outside \(floor)-65535, the packet sizes \(name) allows")
        }
        if lo > hi { throw .usage("--min \(lo) is larger than --max \(hi)") }
        return (lo, hi)
    }

    /// The state machine's parameters for one target.
    public func parameters(for address: IPAddress, localMTU: Int?, probe: ProbeArguments, traceHops: Bool,
                           sizesPerRound: Int? = nil) throws(PathProbeError) -> PathMTUOptions {
        let range = try sizeRange(family: address.family, localMTU: localMTU)
        var p = PathMTUOptions(destination: address, kind: kind, minSize: range.min, maxSize: range.max)
        p.timeoutMs = probe.timeoutMs
        p.retries = probe.retries(default: Self.defaultRetries)
        p.traceHops = traceHops
        p.forwardCheck = traceHops
        p.lean = sizesPerRound != nil  // bulk's --sizes-per-round: thousands of targets share the packet rate
        if let sizesPerRound { p.parallelSizes = sizesPerRound }
        return p
    }
}

extension PathMTUResult.ProbeProtocol: ExpressibleByArgument {}
