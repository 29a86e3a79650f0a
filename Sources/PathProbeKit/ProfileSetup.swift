import PathProbeCore
import PathProbeEngine
import PathProbeNetlink

/// A profile of one target: the local side (read before), the path MTU measurement and, when ports
/// are given, the reach measurement, on one engine; then, when a TCP port of the list is open, the
/// TCP path MTU both ways (`ProfileTCPStep`); `finish` makes the `profile` document with the
/// advisor's findings and recommendations. Used by `profile`, `bulk --mode profile` and the exporter.
public final class ProfileSetup {
    public let mtu: MTUSetup
    public let reach: ReachSetup?
    /// `--rdp`: the Remote Desktop check of the target, as an RDP host and as an RD Gateway.
    public let rdp: RDPSetup?
    public let local: ProfileReport.LocalSide
    public let service: ReachPreset?
    /// The TCP step, once chosen (after the path MTU search and the port probes).
    public private(set) var tcp: TCPMTUSetup? = nil
    let arguments: ProfileArguments
    let startedAt = utcTimestamp()
    let started = MonotonicClock.now()

    init(mtu: MTUSetup, reach: ReachSetup?, rdp: RDPSetup?, local: ProfileReport.LocalSide, service: ReachPreset?,
         arguments: ProfileArguments) {
        self.mtu = mtu
        self.reach = reach
        self.rdp = rdp
        self.local = local
        self.service = service
        self.arguments = arguments
    }

    /// Hand these to the engine: the path MTU search (followed by the TCP step when TCP ports are
    /// probed), the port probes and the RDP check share the event loop.
    public private(set) lazy var measurements: [any Measurement] = {
        let first: any Measurement
        if let reach, !reach.arguments.ports.tcp.isEmpty, mtu.tcp == nil {
            first = FollowUpMeasurement(mtu.measurement) { [weak self] in self?.tcpStep() ?? .none }
        } else {
            first = mtu.measurement
        }
        return [first] + (reach?.measurements ?? []) + (rdp.map { [$0.run] } ?? [])
    }()

    /// Once the port probes are done: the TCP measurement on one of the open ports, if any.
    func tcpStep() -> FollowUpMeasurement.Next {
        guard let reach else { return .none }
        guard reach.measurements.allSatisfy(\.isFinished) else { return .wait }
        let ports = reach.finish().tcp.map { (port: $0.port, state: $0.state) }
        guard let choice = ProfileTCPStep.choose(datagramReachable: mtu.finish().reachable, tcp: ports),
              let setup = try? TCPMTUSetup.prepare(mtu.target, arguments.mtu, probe: arguments.probe, port: choice.port,
                                                   service: choice.service) else { return .none }
        tcp = setup
        return .start(setup.measurement)
    }

    /// `local`: the side read for this target (`localSide`); `engine`/`socket` as for `MTUSetup`.
    public static func prepare(_ target: ProbeTarget, _ arguments: ProfileArguments, local: ProfileReport.LocalSide, traceHops: Bool = true,
                               sizesPerRound: Int? = nil, engine: ProbeEngine? = nil, socket: String? = nil) throws(PathProbeError) -> ProfileSetup {
        let mtu = try MTUSetup.prepare(target, arguments.mtu, probe: arguments.probe, traceHops: traceHops, sizesPerRound: sizesPerRound,
                                       engine: engine, socket: socket)
        let reach = arguments.probesPorts ? try ReachSetup.prepare(target, arguments.reach, probe: arguments.probe, engine: engine) : nil
        let rdp = arguments.reach.rdp
            ? try RDPSetup.prepare(target, .defaults, probe: arguments.probe, role: .hostAndGateway, engine: engine) : nil
        return ProfileSetup(mtu: mtu, reach: reach, rdp: rdp, local: local, service: arguments.reach.service, arguments: arguments)
    }

    /// The local side of a target from its route and the namespace's inventory (read once for many
    /// targets). The route's interface, or -i's.
    public static func localSide(route: RouteInfo?, inventory: LocalInventory?, interface: String?, error: String? = nil) -> ProfileReport.LocalSide {
        var side = ProfileReport.LocalSide(inventory: inventory, route: route, interface: interface)
        side.error = error
        return side
    }

    /// The `profile` document.
    public func finish(includeInventory: Bool = true, numeric: Bool = true) -> ProfileReport {
        var m = mtu.finish()
        if !numeric { MTUSetup.addHopNames(&m) }
        if let tcp { m = ProfileTCPStep.combine(m, tcp: tcp.finish()) }
        var r = reach?.finish(pathMTU: m.pathMTU)
        r?.line = nil
        m.line = nil
        var report = ProfileReport(target: mtu.target.text, address: mtu.target.address, startedAt: startedAt, version: PathProbeVersion.string,
                                   local: local, mtu: m, reach: r, service: service)
        report.line = mtu.target.line
        report.includesInventory = includeInventory
        report.rdp = rdp?.finish(local: report.facts)
        report.durationMs = (MonotonicClock.now() - started).inMs
        return report
    }

    /// `pathprobe profile`: the local side read once (the route gives the egress for the probes
    /// too), then the measurements, then the advisor.
    public static func measure(host: String, family: AddressFamily?, _ arguments: ProfileArguments,
                               numeric: Bool) throws(PathProbeError) -> ProfileReport {
        let address = try ProbeTarget.resolveAddress(host, family: family)
        let interface = arguments.probe.interface
        let (route, egress) = try sorted { try RouteLookup.route(to: address, target: host, interface: interface) }
        let local: ProfileReport.LocalSide
        do { local = localSide(route: route, inventory: try LocalInventory.read(), interface: interface) } catch {
            local = localSide(route: route, inventory: nil, interface: interface, error: "\(error)")
        }
        let engine = try makeEngine(arguments.probe)
        let setup = try prepare(ProbeTarget(text: host, address: address, egress: egress), arguments, local: local, engine: engine)
        var queue = setup.measurements[...]
        engine.run(concurrency: queue.count, next: { queue.popFirst() }, finished: { _ in })
        return setup.finish(numeric: numeric)
    }
}
