import ArgumentParser

/// The options of the path MTU measurement: `pathprobe mtu` (with `ProbeArguments`), `profile`,
/// `bulk` and the exporter take exactly these, so names, defaults and checks are the same everywhere.
/// ICMP and UDP become `PathMTUOptions` (`parameters`), TCP becomes `TCPPathMTUOptions` (`tcpParameters`).
public struct MTUArguments: ParsableArguments, Sendable {
    @Option(name: [.customShort("P"), .customLong("protocol")],
            help: "Probe with ICMP echo, UDP (answered by port unreachable) or TCP (connections to a service port: both directions, no privileges).")
    public var probeProtocol: PathMTUResult.ProbeProtocol = .icmp

    @Option(help: "Destination port. UDP: default 33434 (closed, or answered by `pathprobe serve`); TCP: default 443 (a TLS, RDP, HTTP or `pathprobe serve` port).")
    public var port: UInt16?

    @Option(help: "Smallest packet size to consider, bytes (default 68 for IPv4, 1280 for IPv6; TCP: 576 for IPv4).")
    public var min: Int?

    @Option(help: "Largest packet size to try, bytes (default: the egress interface MTU).")
    public var max: Int?

    @Option(help: "TCP: connections in flight at once, one packet size each (default 8).")
    public var parallel: Int?

    @Option(help: "TCP: which way to measure: up (to the host), down (from the host) or both (default).")
    public var direction: TCPPathMTUOptions.Directions?

    @Option(help: "TCP: what to speak: tls, rdp, http or pathprobe (`pathprobe serve`); default by port (3389 rdp; 80, 8000, 8080 http; 33433 pathprobe; else tls).")
    public var service: TCPService?

    public init() {}

    public func validate() throws {
        if port == 0 { throw ValidationError("--port must be between 1 and 65535") }
        if let parallel, parallel < 1 || parallel > Self.maximumParallel {
            throw ValidationError("--parallel must be between 1 and \(Self.maximumParallel)")
        }
        if probeProtocol != .tcp && (parallel != nil || direction != nil || service != nil) {
            throw ValidationError("--parallel, --direction and --service apply to --protocol tcp")
        }
    }

    /// The measurement's attempts when `-c` is not given (ICMP and UDP).
    public static let defaultRetries = 3
    /// TCP: silences before a size counts as dropped, and handshake attempts, when `-c` is not given.
    public static let defaultTCPRetries = 2
    public static let defaultUDPPort: UInt16 = 33434
    public static let defaultTCPPort: UInt16 = 443
    public static let defaultParallel = 8
    public static let maximumParallel = 64

    /// The port probed: `--port`, else the protocol's default (nil for ICMP).
    public var destinationPort: UInt16? {
        switch probeProtocol {
        case .icmp: return nil
        case .udp: return port ?? Self.defaultUDPPort
        case .tcp: return port ?? Self.defaultTCPPort
        }
    }

    /// The datagram probe kind (ICMP echo or UDP); nil for TCP, whose probes are connections.
    public var kind: ProbeKind? {
        switch probeProtocol {
        case .icmp: return .icmpEcho
        case .udp: return .udp(port: destinationPort ?? Self.defaultUDPPort)
        case .tcp: return nil
        }
    }

    /// The search range for one target: `--min`/`--max` checked against the family; `localMTU`
    /// (the egress interface's) is the default `--max`. The one place these limits are checked.
    /// TCP cannot go below an MSS of 88 (Linux's TCP_MIN_MSS) and starts at 576 (IPv4) by default.
    public func sizeRange(family: AddressFamily, localMTU: Int?) throws(PathProbeError) -> (min: Int, max: Int) {
        let tcp = probeProtocol == .tcp
        let floor = tcp ? TCPPathMTUOptions.smallestSize(family) : family.minimumMTU
        let hi = max ?? Swift.min(localMTU ?? 1500, 65535)
        let lo = min ?? (tcp ? Swift.min(TCPPathMTUOptions.defaultMinimum(family), Swift.max(hi, floor)) : floor)
        let name = family == .ipv4 ? "IPv4" : "IPv6"
        let what = tcp ? "the packet sizes TCP over \(name) allows" : "the packet sizes \(name) allows"
        for (flag, v) in [("--min", lo), ("--max", hi)] where v < floor || v > 65535 {
            throw .usage("\(flag) \(v) is outside \(floor)-65535, \(what)")
        }
        if lo > hi { throw .usage("--min \(lo) is larger than --max \(hi)") }
        return (lo, hi)
    }

    /// The ICMP / UDP state machine's parameters for one target.
    public func parameters(for address: IPAddress, localMTU: Int?, probe: ProbeArguments, traceHops: Bool,
                           sizesPerRound: Int? = nil) throws(PathProbeError) -> PathMTUOptions {
        let range = try sizeRange(family: address.family, localMTU: localMTU)
        var p = PathMTUOptions(destination: address, kind: kind ?? .icmpEcho, minSize: range.min, maxSize: range.max)
        p.timeoutMs = probe.timeoutMs
        p.retries = probe.retries(default: Self.defaultRetries)
        p.traceHops = traceHops
        p.forwardCheck = traceHops
        p.lean = sizesPerRound != nil  // bulk's --sizes-per-round: thousands of targets share the packet rate
        if let sizesPerRound { p.parallelSizes = sizesPerRound }
        return p
    }

    /// The TCP state machine's parameters for one target. `serverName`: the name the user typed
    /// (SNI and Host; nil for an address); `port`, `service` and `directions` override the options
    /// (profile picks a port of its list).
    public func tcpParameters(for address: IPAddress, serverName: String?, localMTU: Int?, probe: ProbeArguments,
                              port: UInt16? = nil, service: TCPService? = nil,
                              seed: UInt64 = UInt64.random(in: 0...UInt64.max)) throws(PathProbeError) -> TCPPathMTUOptions {
        var copy = self
        copy.probeProtocol = .tcp
        let range = try copy.sizeRange(family: address.family, localMTU: localMTU)
        var o = TCPPathMTUOptions(destination: address, port: port ?? copy.destinationPort ?? Self.defaultTCPPort,
                                  service: service ?? self.service, serverName: serverName,
                                  maxSize: range.max, minSize: range.min)
        o.parallel = parallel ?? Self.defaultParallel
        o.directions = direction ?? .both
        o.timeoutMs = probe.timeoutMs
        o.retries = probe.retries(default: Self.defaultTCPRetries)
        o.seed = seed
        return o
    }
}

extension PathMTUResult.ProbeProtocol: ExpressibleByArgument {}
extension TCPPathMTUOptions.Directions: ExpressibleByArgument {}
extension TCPService: ExpressibleByArgument {}
