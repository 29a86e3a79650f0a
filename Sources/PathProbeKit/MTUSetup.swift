import PathProbeCore
import PathProbeEngine

/// The path MTU measurement for one target: `prepare` checks the options against the target and
/// builds the state machine, the engine runs it, `finish` makes the `mtu` document. The one place
/// (for `mtu`, `profile`, `bulk` and the exporter) a path MTU measurement is set up and finished.
public final class MTUSetup {
    public let target: ProbeTarget
    public let measurement: PathMTUMeasurement
    let socket: String?
    let started = MonotonicClock.now()

    init(target: ProbeTarget, measurement: PathMTUMeasurement, socket: String?) {
        self.target = target
        self.measurement = measurement
        self.socket = socket
    }

    /// `engine`: open its socket for this probe kind (single targets); nil when the caller opened
    /// them before (bulk), then `socket` names it.
    public static func prepare(_ target: ProbeTarget, _ arguments: MTUArguments, probe: ProbeArguments, traceHops: Bool,
                               sizesPerRound: Int? = nil, engine: ProbeEngine? = nil, socket: String? = nil) throws(PathProbeError) -> MTUSetup {
        let parameters = try arguments.parameters(for: target.address, localMTU: target.egress.mtu, probe: probe, traceHops: traceHops,
                                                  sizesPerRound: sizesPerRound)
        let name = try engine.map { e throws(PathProbeError) in try openSocket(e, family: target.address.family, kind: arguments.kind) } ?? socket
        return MTUSetup(target: target, measurement: PathMTUMeasurement(options: parameters), socket: name)
    }

    /// The finished measurement as the `mtu` document.
    public func finish() -> PathMTUResult {
        var r = measurement.result
        r.durationMs = (MonotonicClock.now() - started).inMs
        r.target = target.text
        r.line = target.line
        r.localMTU = target.egress.mtu
        r.interface = target.egress.interface
        r.socket = socket
        return r
    }

    /// Names the hops by reverse DNS (each lookup bounded; unnamed hops stay null).
    public static func addHopNames(_ r: inout PathMTUResult) {
        let names = Resolver.reverse(r.hops.compactMap(\.address))
        for i in r.hops.indices {
            if let a = r.hops[i].address, let n = names[a], n != a.description { r.hops[i].name = n }
        }
    }

    /// `pathprobe mtu`: one target, measured.
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
