import ArgumentParser

/// The options of the Remote Desktop check: `pathprobe rdp` (with `ProbeArguments` and the host),
/// `profile --rdp`, `bulk --mode rdp` and the exporter's `rdp` prober take exactly these.
/// `checkOptions(probe:)` turns them into the state machine's parameters.
public struct RDPArguments: ParsableArguments, Sendable {
    @Option(help: ArgumentHelp("Check through this RD Gateway (TCP 443, UDP 3391); HOST is then only named to it.", valueName: "gateway"))
    public var gateway: String?

    @Option(help: "TCP port of the RDP host (default 3389) or, with --gateway, of the gateway (default 443).")
    public var port: UInt16?

    @Option(name: .customLong("udp-port"), help: "UDP port of RDP's UDP transport (default 3389; with --gateway 3391).")
    public var udpPort: UInt16?

    @Flag(name: .customLong("no-udp"), help: "Skip RDP's UDP transport.")
    public var noUDP = false

    @Flag(name: .customLong("no-mtu"), help: "Skip the path MTU of the RDP (or gateway) port.")
    public var noMTU = false

    @Option(help: ArgumentHelp("User name for the X.224 cookie (Cookie: mstshash=NAME), as mstsc sends it; no password is ever sent.",
                               valueName: "name"))
    public var user: String?

    public init() {}

    /// The defaults, readable without a command line (profile and bulk, which have no RDP options;
    /// `RDPArguments()` alone cannot be read).
    public static var defaults: RDPArguments {
        do { return try parse([]) } catch { preconditionFailure("RDPArguments without arguments: \(error)") }
    }

    public func validate() throws {
        if port == 0 { throw ValidationError("--port must be between 1 and 65535") }
        if udpPort == 0 { throw ValidationError("--udp-port must be between 1 and 65535") }
        if let g = gateway, g.isEmpty { throw ValidationError("--gateway needs a host name or address") }
        if let u = user, u.utf8.count > X224.maximumCookieLength - 19 || u.unicodeScalars.contains(where: { $0.value < 0x20 }) {
            throw ValidationError("--user must be a plain name of at most \(X224.maximumCookieLength - 19) bytes")
        }
    }

    /// The TCP port checked: the RDP host's, or the gateway's.
    public var tcpPort: UInt16 { port ?? (gateway == nil ? RDPUDP.defaultPort : RDGateway.defaultPort) }
    /// The UDP port checked.
    public var udpPortToUse: UInt16 { udpPort ?? (gateway == nil ? RDPUDP.defaultPort : RDGateway.defaultUDPPort) }

    /// The check's deadlines from the shared probe options: each answer waits --timeout (default
    /// 1 s), a TCP handshake one and a half times that, a UDP datagram 0.6 times that, sent `-c`
    /// times (default 2). `seed` fills the connection ids, keys and sequence numbers.
    public func checkOptions(probe: ProbeArguments, seed: UInt64) -> RDPCheckOptions {
        var o = RDPCheckOptions()
        o.answerTimeout = .fromMs(probe.timeoutMs)
        o.connectTimeout = .fromMs(probe.timeoutMs * 1.5)
        o.udpTimeout = .fromMs(probe.timeoutMs * 0.6)
        o.udpAttempts = probe.retries(default: 2)
        o.probeUDP = !noUDP
        o.cookieName = user
        o.seed = seed
        return o
    }
}
