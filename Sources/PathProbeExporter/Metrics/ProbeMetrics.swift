import Prometheus

/// A metric's name parts and help, in one place (swift-prometheus joins them into
/// `pathprobe_<subsystem>_<name>_<unit>`).
struct MetricSpec: Sendable {
    let subsystem: String?
    let name: String
    let unit: String
    let help: String

    init(_ subsystem: String?, _ name: String, unit: String = "", _ help: String) {
        (self.subsystem, self.name, self.unit, self.help) = (subsystem, name, unit, help)
    }

    var descriptor: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "pathprobe", subsystem: subsystem, metricName: name, unitName: unit, helpText: help)
    }

    var fullName: String { descriptor.name }
}

/// The metrics of one probe (the answer to `/probe`): made in a registry of their own, per probe,
/// as blackbox_exporter does, so that nothing of one target leaks into another's scrape.
public enum ProbeMetrics {
    /// The metrics' names and help.
    enum M {
        static let success = MetricSpec("probe", "success", "1 if the probe succeeded (the target answered and the measurement completed), else 0.")
        static let duration = MetricSpec("probe", "duration", unit: "seconds", "How long the probe took.")
        static let cutShort = MetricSpec("probe", "cut_short", "1 if the probe was stopped at its deadline (module or scrape timeout) and reports what it had by then.")
        static let ipProtocol = MetricSpec("probe", "ip_protocol", "The IP version of the address probed (4 or 6).")
        static let pathMTU = MetricSpec("path", "mtu", unit: "bytes", "Path MTU to the target: direction up (towards it), down (back) or both (a round trip that bounds both).")
        static let blackHole = MetricSpec(nil, "black_hole", "1 if packets above the path MTU vanish without a packet-too-big (a PMTU black hole), else 0.")
        static let blackHoleHop = MetricSpec(nil, "black_hole_hop", "TTL of the hop after which large packets vanish.")
        static let mss = MetricSpec(nil, "mss", unit: "bytes", "TCP maximum segment size the target announced.")
        static let hopRTT = MetricSpec("hop", "rtt", unit: "seconds", "Round-trip time to each hop that answered, by TTL.")
        static let hopCacheAge = MetricSpec("hop", "cache_age", unit: "seconds", "Age of the hop data when it was served from the per-target cache (hop probes paced).")
        static let portState = MetricSpec(nil, "port_state", "1 for the state a port is in, 0 for the others, by transport (proto) and port.")
        static let finding = MetricSpec(nil, "finding", "1 for each finding of the probe, by id and severity.")
        static let all = [success, duration, cutShort, ipProtocol, pathMTU, blackHole, blackHoleHop, mss, hopRTT, hopCacheAge, portState, finding]
    }

    /// The text format answer for one probe.
    public static func render(_ outcome: ProbeOutcome, duration: Duration, hopCacheAge: Duration? = nil) -> String {
        let r = PrometheusCollectorRegistry()
        func gauge(_ spec: MetricSpec, _ labels: [(String, String)] = [], _ value: Double) {
            let g = labels.isEmpty ? r.makeGauge(descriptor: spec.descriptor) : r.makeGauge(descriptor: spec.descriptor, labels: labels)
            g.set(value)
        }
        func flag(_ b: Bool) -> Double { b ? 1 : 0 }

        gauge(M.success, [], flag(outcome.success))
        gauge(M.duration, [], duration.seconds)
        gauge(M.cutShort, [], flag(outcome.cutShort))
        if let v = outcome.ipVersion { gauge(M.ipProtocol, [], Double(v)) }
        for m in outcome.pathMTU {
            gauge(M.pathMTU, [("direction", m.direction.rawValue)], Double(m.bytes))
        }
        if let b = outcome.blackHole { gauge(M.blackHole, [], flag(b)) }
        if let hop = outcome.blackHoleHop { gauge(M.blackHoleHop, [], Double(hop)) }
        if let v = outcome.mss { gauge(M.mss, [], Double(v)) }
        for hop in outcome.hops {
            guard let rtt = hop.rtt else { continue }
            gauge(M.hopRTT, [("ttl", String(hop.ttl))], rtt.seconds)
        }
        if let age = hopCacheAge { gauge(M.hopCacheAge, [], age.seconds) }
        for p in outcome.ports {
            for state in ProbeOutcome.PortState.states(of: p.transport) {
                gauge(M.portState, [("proto", p.transport.rawValue), ("port", String(p.port)), ("state", state.rawValue)], flag(state == p.state))
            }
        }
        for f in outcome.findings {
            gauge(M.finding, [("id", f.id), ("severity", f.severity.rawValue)], 1)
        }
        return r.emitToString()
    }
}
