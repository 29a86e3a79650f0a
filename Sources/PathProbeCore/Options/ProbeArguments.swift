import ArgumentParser

/// The options every probing measurement shares (mtu, reach, and profile and bulk, which compose
/// them): one declaration, one check. `-c` given once reaches every probe of a composed run.
/// A measurement's own default applies where an option is not given (`retries(default:)`).
public struct ProbeArguments: ParsableArguments, Sendable {
    @Option(name: [.customShort("W"), .long], help: "Longest wait for one answer, seconds (-W as in ping).")
    public var timeout: Double = 1.0

    @Option(name: [.customShort("c"), .customLong("retries")],
            help: "Attempts before silence counts (mtu: 3: reachability rounds, confirmations of a silent size, attempts per hop; reach: 2 probes per silent port).")
    public var retries: Int?

    @Option(help: "Global probe rate limit, packets per second (0: unlimited; default 1000, bulk 100000).")
    public var rate: Double?

    @Option(name: [.customShort("I"), .customShort("i"), .customLong("interface")],
            help: "Probe out of this interface only (e.g. a VPN tunnel; -I as in ping).")
    public var interface: String?

    @Option(name: .customLong("icmp-socket"), help: "ICMP socket kind: auto (ping socket, else raw), ping, raw.")
    public var icmpSocket: ICMPSocketPreference = .auto

    public init() {}

    public func validate() throws {
        try OptionLimit.timeout.check(timeout, option: "--timeout")
        if let retries, retries < 1 || retries > 20 { throw ValidationError("--retries must be between 1 and 20") }
        try OptionLimit.probeRate.check(rate, option: "--rate")
    }

    public var timeoutMs: Double { timeout * 1000 }

    /// `-c` if given, else the measurement's own default.
    public func retries(default value: Int) -> Int { retries ?? value }

    /// `--rate` if given, else the command's default.
    public func rate(default value: Double) -> Double { rate ?? value }
}

/// Which ICMP socket carries echo probes: ping sockets work unprivileged where
/// net.ipv4.ping_group_range allows; raw sockets need root or CAP_NET_RAW.
public enum ICMPSocketPreference: String, CaseIterable, Sendable, ExpressibleByArgument {
    case auto, ping, raw
}

/// -4 / -6: the address family names resolve to.
public struct FamilyArguments: ParsableArguments, Sendable {
    @Flag(name: .customShort("4"), help: "Use IPv4 only.")
    public var ipv4 = false
    @Flag(name: .customShort("6"), help: "Use IPv6 only.")
    public var ipv6 = false

    public init() {}

    public func validate() throws {
        if ipv4 && ipv6 { throw ValidationError("-4 and -6 cannot be used together") }
    }

    public var family: AddressFamily? { ipv4 ? .ipv4 : (ipv6 ? .ipv6 : nil) }
}
