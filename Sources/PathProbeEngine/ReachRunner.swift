import PathProbeCore

/// What to probe with `pathprobe reach` (and `profile`, which calls `ReachRunner.measure` directly).
public struct ReachPlan: Sendable {
    /// What the user typed, for the report.
    public var target: String
    public var address: IPAddress
    public var tcpPorts: [UInt16] = []
    public var udpPorts: [UInt16] = []
    /// Longest wait for one port's answer, ms.
    public var timeoutMs: Double = 1000
    /// Probes per silent port (TCP: spread over the timeout; UDP: with backoff and ICMP pacing).
    public var tcpAttempts = 2
    public var udpAttempts = 2
    /// Global probe rate, packets per second (0: unlimited).
    public var rate: Double = 1000
    /// Probe out of this interface only.
    public var interface: String? = nil
    /// Measure the UDP path with `pathprobe serve` on this port (nil: no responder).
    public var responderPort: UInt16? = nil
    /// A path MTU known from elsewhere (e.g. `pathprobe mtu`), the reference for `mss_clamped`.
    public var pathMTU: Int? = nil

    public init(target: String, address: IPAddress) {
        self.target = target
        self.address = address
    }
}

public enum ReachRunner {
    /// Runs the port probes and the responder measurement side by side on one engine.
    /// Throws `LocalPath.LookupError` (no route) or `SystemError`; the CLI reports either as bad
    /// input (exit 2).
    public static func measure(_ plan: ReachPlan) throws -> ReachResult {
        let engine = try ProbeEngine(options: EngineOptions(rate: plan.rate, interface: plan.interface))
        let session = try ReachSession(plan: plan, engine: engine)
        var queue = session.measurements[...]
        engine.run(concurrency: queue.count, next: { queue.popFirst() }, finished: { _ in })
        return session.result(pathMTU: plan.pathMTU)
    }
}

/// One reach measurement set up on an engine the caller runs, so other measurements (profile's
/// path MTU) can share the same event loop. TCP ports are probed with raw SYNs; without the
/// privilege for raw sockets, with connect() instead (`TCPConnectMeasurement`, `tcp_probe`
/// "connect"), on the same engine alongside the other probes.
public final class ReachSession {
    public let plan: ReachPlan
    /// Hand these to the engine.
    public let measurements: [any Measurement]
    private let reach: ReachMeasurement
    private let responder: ResponderMeasurement?
    private let local: LocalPath
    private let rawSYN: Bool
    private let connect: TCPConnectMeasurement?
    private let started = MonotonicClock.now()

    public init(plan: ReachPlan, engine: ProbeEngine) throws {
        self.plan = plan
        let family = plan.address.family
        let local = try LocalPath.lookup(to: plan.address, interface: plan.interface)
        self.local = local
        var rawSYN = !plan.tcpPorts.isEmpty
        if rawSYN {
            do { try engine.prepare(family: family, kind: .tcpSyn(port: 0)) } catch { rawSYN = false }
        }
        self.rawSYN = rawSYN
        if !plan.udpPorts.isEmpty || plan.responderPort != nil { try engine.prepare(family: family, kind: .udp(port: 0)) }

        connect = !rawSYN && !plan.tcpPorts.isEmpty
            ? TCPConnectMeasurement(destination: plan.address, ports: plan.tcpPorts, timeoutMs: plan.timeoutMs, attempts: plan.tcpAttempts)
            : nil
        var options = ReachOptions(destination: plan.address, tcpPorts: rawSYN ? plan.tcpPorts : [], udpPorts: plan.udpPorts)
        options.timeoutMs = plan.timeoutMs
        options.tcpAttempts = max(1, plan.tcpAttempts)
        options.udpAttempts = max(1, plan.udpAttempts)
        if let p = plan.responderPort { options.responderPort = p }
        options.seed = UInt64.random(in: 0...UInt64.max)
        reach = ReachMeasurement(options: options)

        if let port = plan.responderPort {
            var r = ResponderOptions(destination: plan.address, port: port, maxSize: min(local.mtu ?? 1500, 65535))
            r.timeoutMs = plan.timeoutMs
            responder = ResponderMeasurement(options: r)
        } else {
            responder = nil
        }
        measurements = [reach] + (responder.map { [$0] } ?? []) + (connect.map { [$0] } ?? [])
    }

    /// The finished result; `pathMTU`, when known, is the reference for `mss_clamped`.
    public func result(pathMTU: Int?) -> ReachResult {
        var result = reach.result
        result.target = plan.target
        if !plan.tcpPorts.isEmpty {
            result.tcpProbe = rawSYN ? "syn" : "connect"
            if let connect {
                result.tcp = connect.results
                result.probesSent += connect.probesSent
            }
        }
        if var report = responder?.report {
            report.localAddress = local.source
            result.responder = report
            result.probesSent += report.probesSent
        }
        // The SYN-ACK comes down the path: judge its MSS against the best path MTU we know.
        if let mtu = pathMTU {
            result.judgeMSS(referenceMTU: mtu, source: "path_mtu")
        } else if let down = result.responder?.pathMTUDown, result.responder?.downLimitedByUp == false {
            result.judgeMSS(referenceMTU: down, source: "responder")
        } else {
            result.judgeMSS(referenceMTU: local.mtu.map { min($0, 65535) }, source: "local_mtu")
        }
        result.durationMs = (MonotonicClock.now() - started).inMs
        return result
    }
}
