import PathProbeCore
import PathProbeEngine

/// The reach measurement for one target: the port probes and, with --responder, the responder's
/// UDP path measurement, side by side on one engine. `prepare` builds them (TCP by raw SYNs; without
/// the privilege for raw sockets, by connect() on the same engine: `tcp_probe` "connect"); `finish` makes the `reach` document. The one place (for `reach`, `profile`, `bulk`
/// and the exporter) a reach measurement is set up and finished.
public final class ReachSetup {
    public let target: ProbeTarget
    public let arguments: ReachArguments
    /// Hand these to the engine (the port probes, then the responder's).
    public let measurements: [any Measurement]
    let reach: ReachMeasurement
    let responder: ResponderMeasurement?
    let rawSYN: Bool
    let connect: TCPConnectMeasurement?
    let started = MonotonicClock.now()

    init(target: ProbeTarget, arguments: ReachArguments, reach: ReachMeasurement, responder: ResponderMeasurement?, rawSYN: Bool,
         connect: TCPConnectMeasurement?) {
        self.target = target
        self.arguments = arguments
        self.reach = reach
        self.responder = responder
        self.rawSYN = rawSYN
        self.connect = connect
        measurements = [reach] + (responder.map { [$0] } ?? []) + (connect.map { [$0] } ?? [])
    }

    /// `engine`: open its sockets for these probes (single targets), falling back to connect() when
    /// raw SYNs are not allowed; nil when the caller opened them before (bulk: raw SYNs only).
    public static func prepare(_ target: ProbeTarget, _ arguments: ReachArguments, probe: ProbeArguments,
                               engine: ProbeEngine? = nil) throws(PathProbeError) -> ReachSetup {
        let family = target.address.family
        let (tcp, udp) = arguments.ports
        var rawSYN = !tcp.isEmpty
        if rawSYN, let engine {
            // Without the privilege for raw sockets, TCP ports are probed with connect() instead.
            do { try engine.prepare(family: family, kind: .tcpSyn(port: 0)) } catch { rawSYN = false }
        }
        if let engine, !udp.isEmpty || arguments.responderPortToUse != nil {
            _ = try openSocket(engine, family: family, kind: .udp(port: 0))
        }
        let connect = !rawSYN && !tcp.isEmpty
            ? TCPConnectMeasurement(destination: target.address, ports: tcp, timeoutMs: probe.timeoutMs,
                                    attempts: probe.retries(default: ReachArguments.defaultRetries))
            : nil
        let reach = ReachMeasurement(options: arguments.parameters(for: target.address, probe: probe, synPorts: rawSYN))
        let responder = arguments.responderParameters(for: target.address, maxSize: target.egress.mtu ?? 1500, probe: probe)
            .map(ResponderMeasurement.init)
        return ReachSetup(target: target, arguments: arguments, reach: reach, responder: responder, rawSYN: rawSYN, connect: connect)
    }

    /// The finished `reach` document. The SYN-ACK's MSS is judged against the best path MTU known:
    /// `pathMTU` (profile's measurement) or --path-mtu, else the responder's down path MTU, else the
    /// egress interface MTU.
    public func finish(pathMTU measured: Int? = nil) -> ReachResult {
        var result = reach.result
        result.target = target.text
        result.line = target.line
        if !arguments.ports.tcp.isEmpty {
            result.tcpProbe = rawSYN ? .syn : .connect
            if let connect {
                result.tcp = connect.results
                result.probesSent += connect.probesSent
            }
        }
        if var report = responder?.report {
            report.localAddress = target.egress.source
            result.responder = report
            result.probesSent += report.probesSent
        }
        if let mtu = measured ?? arguments.pathMTU {
            result.judgeMSS(referenceMTU: mtu, source: .pathMTU)
        } else if let down = result.responder?.pathMTUDown, result.responder?.downLimitedByUp == false {
            result.judgeMSS(referenceMTU: down, source: .responder)
        } else {
            result.judgeMSS(referenceMTU: target.egress.mtu.map { min($0, 65535) }, source: .localMTU)
        }
        result.durationMs = (MonotonicClock.now() - started).inMs
        return result
    }

    /// `pathprobe reach`: one target, measured.
    public static func measure(host: String, family: AddressFamily?, _ arguments: ReachArguments,
                               probe: ProbeArguments) throws(PathProbeError) -> ReachResult {
        if arguments.isEmpty {
            throw .usage("nothing to probe: give --tcp, --udp, a preset (--rdp, --ipsec, --wireguard, --openvpn) or --responder")
        }
        let target = try ProbeTarget.resolve(host, family: family, interface: probe.interface)
        let engine = try makeEngine(probe)
        let setup = try prepare(target, arguments, probe: probe, engine: engine)
        var queue = setup.measurements[...]
        engine.run(concurrency: queue.count, next: { queue.popFirst() }, finished: { _ in })
        return setup.finish()
    }
}
