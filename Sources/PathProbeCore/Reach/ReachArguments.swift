import ArgumentParser

/// The options of the reach measurement: which ports and transports, the responder, the MSS
/// reference. `pathprobe reach` (with `ProbeArguments`), `profile`, `bulk` and the exporter take
/// exactly these; `parameters(for:)` turns them into the state machines' parameters for one target.
public struct ReachArguments: ParsableArguments, Sendable {
    @Option(help: "TCP ports: a list and ranges, e.g. 443,3389,2000-2499.", transform: { try PortSet($0, flag: "--tcp") })
    public var tcp: PortSet?

    @Option(help: "UDP ports: a list and ranges, e.g. 3391,3389,500.", transform: { try PortSet($0, flag: "--udp") })
    public var udp: PortSet?

    @Flag(help: "Remote Desktop: TCP 443, 3389; UDP 3391, 3389.")
    public var rdp = false
    @Flag(help: "IPsec / IKEv2: UDP 500, 4500.")
    public var ipsec = false
    @Flag(help: "WireGuard: UDP 51820.")
    public var wireguard = false
    @Flag(help: "OpenVPN: UDP and TCP 1194.")
    public var openvpn = false

    @Flag(help: "Measure the UDP path both ways with `pathprobe serve` on the host (--responder=PORT: another port).")
    public var responder = false

    @Option(name: .customLong("responder-port"), help: "The responder's port (implies --responder).")
    public var responderPort: UInt16?

    @Option(name: .customLong("path-mtu"), help: "Known path MTU, the reference for mss_clamped (default: measured by the responder, else the local MTU).")
    public var pathMTU: Int?

    public init() {}

    public func validate() throws {
        if responderPort == 0 { throw ValidationError("--responder-port must be between 1 and 65535") }
        if let m = pathMTU, m < 68 || m > 65535 { throw ValidationError("--path-mtu must be between 68 and 65535") }
    }

    /// The measurement's probes per silent port when `-c` is not given.
    public static let defaultRetries = 2

    public var presets: [ReachPreset] {
        [(rdp, ReachPreset.rdp), (ipsec, .ipsec), (wireguard, .wireguard), (openvpn, .openvpn)].filter(\.0).map(\.1)
    }

    /// The service the advisor judges UDP by: the first preset given.
    public var service: ReachPreset? { presets.first }

    /// The responder's port when one was asked for.
    public var responderPortToUse: UInt16? { responder || responderPort != nil ? (responderPort ?? ResponderWire.defaultPort) : nil }

    /// Explicit lists and presets merged, first occurrence first.
    public var ports: (tcp: [UInt16], udp: [UInt16]) {
        ReachPreset.combine(tcp: tcp?.ports ?? [], udp: udp?.ports ?? [], presets: presets)
    }

    /// Nothing to probe: no port, no preset, no responder.
    public var isEmpty: Bool { tcp == nil && udp == nil && presets.isEmpty && responderPortToUse == nil }

    /// The port probes' parameters for one target; `synPorts` false leaves TCP to the connect() fallback.
    public func parameters(for address: IPAddress, probe: ProbeArguments, synPorts: Bool = true) -> ReachOptions {
        let (tcp, udp) = ports
        var o = ReachOptions(destination: address, tcpPorts: synPorts ? tcp : [], udpPorts: udp)
        o.timeoutMs = probe.timeoutMs
        let attempts = probe.retries(default: Self.defaultRetries)
        o.tcpAttempts = attempts
        o.udpAttempts = attempts
        if let p = responderPortToUse { o.responderPort = p }
        o.seed = UInt64.random(in: 0...UInt64.max)
        return o
    }

    /// The responder measurement's parameters for one target (nil without --responder); `maxSize`
    /// is the egress interface MTU.
    public func responderParameters(for address: IPAddress, maxSize: Int, probe: ProbeArguments) -> ResponderOptions? {
        guard let port = responderPortToUse else { return nil }
        var r = ResponderOptions(destination: address, port: port, maxSize: Swift.min(maxSize, 65535))
        r.timeoutMs = probe.timeoutMs
        r.retries = probe.retries(default: r.retries)
        return r
    }
}

/// A port list as typed after --tcp / --udp ("443,3389,2000-2499"), parsed by `PortList`.
public struct PortSet: Sendable, Equatable {
    public var ports: [UInt16]
    public init(_ text: String, flag: String) throws { ports = try PortList.parse(text, flag: flag) }
}
