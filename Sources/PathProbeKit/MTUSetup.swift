import PathProbeCore
import PathProbeEngine

/// The path MTU measurement for one target: `prepare` checks the options against the target and
/// builds the state machine (ICMP / UDP: `PathMTUMeasurement`; TCP: `TCPMTUSetup`), the engine runs
/// it, `finish` makes the `mtu` document. The one place (for `mtu`, `profile`, `bulk` and the
/// exporter) a path MTU measurement is set up and finished.
public final class MTUSetup {
    public let target: ProbeTarget
    /// ICMP or UDP; nil with `-P tcp`.
    public let datagram: PathMTUMeasurement?
    /// `-P tcp`; nil otherwise.
    public let tcp: TCPMTUSetup?
    let socket: String?
    let started = MonotonicClock.now()

    /// Hand this to the engine.
    public var measurement: any Measurement { tcp?.measurement ?? datagram! }

    init(target: ProbeTarget, measurement: PathMTUMeasurement?, tcp: TCPMTUSetup? = nil, socket: String?) {
        self.target = target
        datagram = measurement
        self.tcp = tcp
        self.socket = socket
    }

    /// `engine`: open its socket for this probe kind (single targets); nil when the caller opened
    /// them before (bulk), then `socket` names it.
    public static func prepare(_ target: ProbeTarget, _ arguments: MTUArguments, probe: ProbeArguments, traceHops: Bool,
                               sizesPerRound: Int? = nil, engine: ProbeEngine? = nil, socket: String? = nil) throws(PathProbeError) -> MTUSetup {
        if arguments.probeProtocol == .tcp {
            // Plain TCP sockets, opened per connection: nothing to open beforehand, no privilege.
            return MTUSetup(target: target, measurement: nil, tcp: try TCPMTUSetup.prepare(target, arguments, probe: probe), socket: nil)
        }
        let parameters = try arguments.parameters(for: target.address, localMTU: target.egress.mtu, probe: probe, traceHops: traceHops,
                                                  sizesPerRound: sizesPerRound)
        let kind = arguments.kind ?? .icmpEcho
        let name = try engine.map { e throws(PathProbeError) in try openSocket(e, family: target.address.family, kind: kind) } ?? socket
        return MTUSetup(target: target, measurement: PathMTUMeasurement(options: parameters), socket: name)
    }

    /// The finished measurement as the `mtu` document.
    public func finish() -> PathMTUResult {
        if let tcp { return tcp.finish() }
        var r = datagram!.result
        r.durationMs = (MonotonicClock.now() - started).inMs
        r.target = target.text
        r.line = target.line
        r.localMTU = target.egress.mtu
        r.interface = target.egress.interface
        r.socket = socket
        if r.probeProtocol == .udp && r.pathMTUUp == nil && r.reachable {
            // A UDP probe is answered by a small port unreachable: it tests the way up only.
            r.pathMTUUp = r.pathMTU
            r.pathMTUUpAtLeast = r.pathMTU
            if r.blackHole { r.blackHoleDirection = .up }
        }
        return r
    }

    /// Names the hops by reverse DNS (each lookup bounded; unnamed hops stay null).
    public static func addHopNames(_ r: inout PathMTUResult) {
        let names = Resolver.reverse(r.hops.compactMap(\.address))
        for i in r.hops.indices {
            if let a = r.hops[i].address, let n = names[a], n != a.description { r.hops[i].name = n }
        }
    }

    /// `pathprobe mtu`: one target, measured (TCP: unprivileged).
    public static func measure(host: String, family: AddressFamily?, _ arguments: MTUArguments, probe: ProbeArguments,
                               traceHops: Bool, numeric: Bool) throws(PathProbeError) -> PathMTUResult {
        let target = try ProbeTarget.resolve(host, family: family, interface: probe.interface)
        let engine = try makeEngine(probe)
        let setup = try prepare(target, arguments, probe: probe, traceHops: traceHops, engine: engine)
        engine.run(setup.measurement)
        var r = setup.finish()
        if !numeric { addHopNames(&r) }
        return r
    }
}
