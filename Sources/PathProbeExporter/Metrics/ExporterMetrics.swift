import Prometheus

#if canImport(Glibc)
import Glibc
#endif

/// The exporter's own metrics (`/metrics`): probes by module and result, in flight, durations,
/// errors, config reloads, hop pacing.
public final class ExporterMetrics: Sendable {
    enum M {
        static let probes = MetricSpec("exporter", "probes", unit: "total", "Probes run, by module and result (success, failure).")
        static let inFlight = MetricSpec("exporter", "probes_in_flight", "Probes running now.")
        static let maxConcurrent = MetricSpec("exporter", "max_concurrent_probes", "Probes allowed at once (--max-concurrent); more scrapes get 503.")
        static let duration = MetricSpec("exporter", "probe_duration", unit: "seconds", "How long probes took, by module.")
        static let cutShort = MetricSpec("exporter", "probes_cut_short", unit: "total", "Probes stopped at their deadline (module or scrape timeout), by module.")
        static let errors = MetricSpec("exporter", "errors", unit: "total",
                                       "Requests not probed or not answered normally, by kind: busy (503), unknown_module, missing_target, abandoned (the prober missed its deadline), not_found, bad_request.")
        static let hopProbes = MetricSpec("exporter", "hop_probes", unit: "total", "Probes that could send hop probes, by decision: sent, cached (paced, served from the cache), skipped (paced, nothing cached).")
        static let reloads = MetricSpec("exporter", "config_reloads", unit: "total", "Config reloads (SIGHUP, POST /-/reload), by result (success, failure).")
        static let lastReloadOK = MetricSpec("exporter", "config_last_reload_successful", "1 if the last config reload succeeded (the config in use is the file's), else 0.")
        static let lastReloadTime = MetricSpec("exporter", "config_last_reload_success_timestamp", unit: "seconds", "When the config was last loaded successfully (Unix time).")
        static let all = [probes, inFlight, maxConcurrent, duration, cutShort, errors, hopProbes, reloads, lastReloadOK, lastReloadTime]
    }

    public enum ErrorKind: String, Sendable, CaseIterable {
        case busy, unknownModule = "unknown_module", missingTarget = "missing_target", abandoned, notFound = "not_found", badRequest = "bad_request"
    }

    public enum HopDecision: String, Sendable, CaseIterable { case sent, cached, skipped }

    public let registry = PrometheusCollectorRegistry()
    private let inFlight: Gauge
    private let lastReloadOK: Gauge
    private let lastReloadTime: Gauge
    static let durationBuckets: [Duration] = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60].map { .milliseconds(Int64($0 * 1000)) }

    public init(maxConcurrent: Int) {
        inFlight = registry.makeGauge(descriptor: M.inFlight.descriptor)
        lastReloadOK = registry.makeGauge(descriptor: M.lastReloadOK.descriptor)
        lastReloadTime = registry.makeGauge(descriptor: M.lastReloadTime.descriptor)
        registry.makeGauge(descriptor: M.maxConcurrent.descriptor).set(Double(maxConcurrent))
        for kind in ErrorKind.allCases { _ = errorCounter(kind) }
        for decision in HopDecision.allCases { _ = registry.makeCounter(descriptor: M.hopProbes.descriptor, labels: [("decision", decision.rawValue)]) }
        for result in ["success", "failure"] { _ = registry.makeCounter(descriptor: M.reloads.descriptor, labels: [("result", result)]) }
    }

    /// Creates the per-module series at 0, so that rates start from the first scrape.
    public func register(modules: [String]) {
        for module in modules {
            for result in ["success", "failure"] { _ = probesCounter(module, result) }
            _ = registry.makeCounter(descriptor: M.cutShort.descriptor, labels: [("module", module)])
        }
    }

    public func probeStarted() { inFlight.increment() }

    public func probeFinished(module: String, success: Bool, cutShort: Bool, duration: Duration) {
        inFlight.decrement()
        probesCounter(module, success ? "success" : "failure").increment()
        if cutShort { registry.makeCounter(descriptor: M.cutShort.descriptor, labels: [("module", module)]).increment() }
        registry.makeDurationHistogram(descriptor: M.duration.descriptor, labels: [("module", module)], buckets: Self.durationBuckets)
            .record(duration)
    }

    public func error(_ kind: ErrorKind) { errorCounter(kind).increment() }

    public func hopProbes(_ decision: HopDecision) {
        registry.makeCounter(descriptor: M.hopProbes.descriptor, labels: [("decision", decision.rawValue)]).increment()
    }

    public func configLoaded(success: Bool, reload: Bool) {
        if reload { registry.makeCounter(descriptor: M.reloads.descriptor, labels: [("result", success ? "success" : "failure")]).increment() }
        lastReloadOK.set(success ? 1.0 : 0.0)
        if success {
            var ts = timespec()
            clock_gettime(CLOCK_REALTIME, &ts)
            lastReloadTime.set(Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9)
        }
    }

    public func render() -> String { registry.emitToString() }

    private func probesCounter(_ module: String, _ result: String) -> Counter {
        registry.makeCounter(descriptor: M.probes.descriptor, labels: [("module", module), ("result", result)])
    }

    private func errorCounter(_ kind: ErrorKind) -> Counter {
        registry.makeCounter(descriptor: M.errors.descriptor, labels: [("kind", kind.rawValue)])
    }
}
