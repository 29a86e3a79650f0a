import Foundation
import NIOConcurrencyHelpers

/// How the coordinator admits, bounds and paces probes.
public struct CoordinatorSettings: Sendable {
    /// Probes at once; more scrapes get 503 at once.
    public var maxConcurrent = 512
    /// Taken off the scrape's timeout so that the answer reaches Prometheus in time.
    public var timeoutOffset: Duration = .milliseconds(500)
    /// Hop probes to one target at most this often (0: no pacing).
    public var hopInterval: Duration = .seconds(60)
    /// Targets whose hops are probed per second, over all targets (0: no limit).
    public var hopTracesPerSecond = 0.5
    /// How long after the deadline the exporter waits for a prober that does not return by itself.
    public var backstopGrace: Duration = .milliseconds(250)
    /// Probes kept for the status page and their logs.
    public var recentCapacity = 100

    public init() {}
}

/// The answer to one `/probe` request.
public enum ProbeReply: Sendable, Equatable {
    /// The probe's metrics, Prometheus text format.
    case metrics(String)
    /// `debug=true`: the measurement's log, result and metrics as text.
    case debug(String)
    /// Not probed: an HTTP status and a one-line reason.
    case rejected(status: Int, message: String)
}

/// One finished probe, for the status page and `/logs?id=N`.
public struct ProbeRecord: Sendable {
    public let id: UInt64
    public let started: Date
    public let module: String
    public let prober: ProberKind
    public let target: String
    public let outcome: ProbeOutcome
    public let duration: Duration
    /// The debug report (what `debug=true` would have shown).
    public let debugText: String
}

/// Runs `/probe` requests: module lookup, admission (`--max-concurrent`), the deadline from the module
/// and the scrape timeout, hop pacing, the executor under a backstop, metrics and the recent list.
public final class ProbeCoordinator: Sendable {
    public let settings: CoordinatorSettings
    public let config: ConfigStore
    public let metrics: ExporterMetrics
    private let executor: any ProbeExecutor

    private struct State {
        var inFlight = 0
        var nextID: UInt64 = 1
        var pacer: HopPacer
        var recent: [ProbeRecord] = []
    }
    private let state: NIOLockedValueBox<State>

    public init(executor: any ProbeExecutor, config: ConfigStore, metrics: ExporterMetrics, settings: CoordinatorSettings) {
        self.executor = executor
        self.config = config
        self.metrics = metrics
        self.settings = settings
        state = NIOLockedValueBox(State(pacer: HopPacer(interval: settings.hopInterval, tracesPerSecond: settings.hopTracesPerSecond)))
    }

    /// Recent probes, newest first.
    public var recent: [ProbeRecord] { state.withLockedValue { $0.recent.reversed() } }

    public func record(id: UInt64) -> ProbeRecord? { state.withLockedValue { s in s.recent.first { $0.id == id } } }

    public var inFlight: Int { state.withLockedValue { $0.inFlight } }

    /// `target` and `module` are the query parameters; `scrapeTimeout` the value of
    /// `X-Prometheus-Scrape-Timeout-Seconds`.
    public func probe(target rawTarget: String?, module moduleName: String?, scrapeTimeout: String?, debug: Bool) async -> ProbeReply {
        guard let target = rawTarget?.trimmingCharacters(in: .whitespaces), !target.isEmpty else {
            metrics.error(.missingTarget)
            return .rejected(status: 400, message: "Target parameter is missing")
        }
        let moduleName = moduleName ?? ""
        guard let module = config.current.modules[moduleName] else {
            metrics.error(.unknownModule)
            return .rejected(status: 400, message: moduleName.isEmpty ? "Module parameter is missing" : "Unknown module \"\(moduleName)\"")
        }
        let start = ContinuousClock.now
        let budget = Self.budget(module: module.timeout, scrapeTimeout: scrapeTimeout, offset: settings.timeoutOffset)
        let admitted: (id: UInt64, hops: HopPacer.Decision?)? = state.withLockedValue { s in
            guard s.inFlight < settings.maxConcurrent else { return nil }
            s.inFlight += 1
            defer { s.nextID += 1 }
            let hops = module.options.sendsHopProbes && Self.isPlausibleTarget(target) ? s.pacer.decide(target: target, now: start) : nil
            return (s.nextID, hops)
        }
        guard let admitted else {
            metrics.error(.busy)
            return .rejected(status: 503, message: "busy: \(settings.maxConcurrent) probes are running (--max-concurrent)")
        }
        metrics.probeStarted()

        let log = ProbeLog(start: start)
        log.add("budget \(ConfigDuration.format(budget.duration)): \(budget.reason)")
        var cached: HopPacer.Cached?
        if case .skip(let c, let reason) = admitted.hops {
            cached = c
            switch reason {
            case .recent: log.add("hop probes paced: this target's routers were asked less than \(ConfigDuration.format(settings.hopInterval)) ago")
            case .budget: log.add("hop probes paced: the exporter's budget of \(settings.hopTracesPerSecond) hop traces per second is spent")
            }
        }
        let job = ProbeJob(id: admitted.id, target: target, module: module, deadline: start + budget.duration,
                           hopProbes: admitted.hops == .send || admitted.hops == nil ? .send : .skip, log: log)

        var outcome: ProbeOutcome
        if !Self.isPlausibleTarget(target) {
            outcome = .failed("not a host name or address: \(target.debugDescription)")
        } else if let finished = await Self.run(job, on: executor, backstop: job.deadline + settings.backstopGrace) {
            outcome = finished
        } else {
            metrics.error(.abandoned)
            log.add("no outcome \(ConfigDuration.format(settings.backstopGrace)) after the deadline: answered without it")
            outcome = .failed("cut short: the prober had no result by the deadline", cutShort: true)
        }
        let duration = ContinuousClock.now - start
        let (hopsNote, hopCacheAge) = applyPacing(admitted.hops, cached: cached, target: target, to: &outcome, log: log)
        if outcome.cutShort { log.add("cut short at the deadline: the metrics hold what was measured by then") }

        let text = ProbeMetrics.render(outcome, duration: duration, hopCacheAge: hopCacheAge)
        let report = DebugReport.render(job: job, budget: budget, hops: hopsNote, outcome: outcome, duration: duration, metrics: text)
        let record = ProbeRecord(id: job.id, started: Date() - duration.seconds, module: module.name, prober: module.prober,
                                 target: target, outcome: outcome, duration: duration, debugText: report)
        state.withLockedValue { s in
            s.inFlight -= 1
            s.recent.append(record)
            if s.recent.count > settings.recentCapacity { s.recent.removeFirst(s.recent.count - settings.recentCapacity) }
        }
        metrics.probeFinished(module: module.name, success: outcome.success, cutShort: outcome.cutShort, duration: duration)
        return debug ? .debug(report) : .metrics(text)
    }

    /// After a probe: remember the hops it measured, or fill in the cached ones when it was paced.
    /// Returns the debug line about hops and the age of the hops served from the cache.
    private func applyPacing(_ decision: HopPacer.Decision?, cached: HopPacer.Cached?, target: String,
                             to outcome: inout ProbeOutcome, log: ProbeLog) -> (note: String, cacheAge: Duration?) {
        switch decision {
        case nil:
            return ("none (the module sends none)", nil)
        case .send:
            let (hops, hole) = (outcome.hops, outcome.blackHoleHop)
            state.withLockedValue { $0.pacer.store(target: target, hops: hops, blackHoleHop: hole, now: .now) }
            metrics.hopProbes(.sent)
            return ("sent", nil)
        case .skip:
            guard let cached, outcome.hops.isEmpty else {
                metrics.hopProbes(.skipped)
                return ("paced: skipped, nothing cached", nil)
            }
            outcome.hops = cached.hops
            if outcome.blackHole == true && outcome.blackHoleHop == nil { outcome.blackHoleHop = cached.blackHoleHop }
            let age = ContinuousClock.now - cached.measuredAt
            let note = "paced: served from the cache, \(ConfigDuration.format(age)) old"
            log.add("hops \(note)")
            metrics.hopProbes(.cached)
            return (note, age)
        }
    }

    /// The probe's time budget: the module's timeout, shortened by the scrape's timeout less the
    /// margin (at least half the scrape's timeout, so that a tiny timeout still leaves some time).
    public static func budget(module: Duration, scrapeTimeout: String?, offset: Duration) -> (duration: Duration, reason: String) {
        guard let header = scrapeTimeout, let seconds = Double(header.trimmingCharacters(in: .whitespaces)), seconds.isFinite, seconds > 0 else {
            let ignored = scrapeTimeout.map { " (scrape timeout header '\($0)' ignored: not a number of seconds)" } ?? ""
            return (module, "the module's timeout\(ignored)")
        }
        let scrape = Duration.milliseconds(Int64(min(seconds, 86_400) * 1000))
        let usable = max(scrape - offset, scrape / 2)
        if usable < module {
            return (usable, "the scrape timeout \(ConfigDuration.format(scrape)) less the \(ConfigDuration.format(offset)) margin")
        }
        return (module, "the module's timeout (the scrape timeout is \(ConfigDuration.format(scrape)))")
    }

    /// A host name or an address: printable, no spaces, at most 255 characters. Anything else is a
    /// bad target (probe_success 0) without reaching the prober.
    static func isPlausibleTarget(_ target: String) -> Bool {
        target.utf8.count <= 255 && target.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value != 0x7f && !$0.properties.isWhitespace }
    }

    /// The executor's outcome, or nil when it has none `backstop` (or the scrape went away): the
    /// executor runs in a task of its own, so one that hangs cannot hold the answer.
    static func run(_ job: ProbeJob, on executor: any ProbeExecutor, backstop: ContinuousClock.Instant) async -> ProbeOutcome? {
        let race = Race()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                race.start(continuation, tasks: [
                    Task { race.finish(await executor.run(job)) },
                    Task {
                        try? await Task.sleep(until: backstop)
                        race.finish(nil)
                    },
                ])
            }
        } onCancel: {
            race.finish(nil)
        }
    }
}

/// The first of the executor and the backstop timer wins; the other task is cancelled.
private final class Race: Sendable {
    private struct State {
        var continuation: CheckedContinuation<ProbeOutcome?, Never>?
        var tasks: [Task<Void, Never>] = []
        var result: ProbeOutcome??
    }
    private let state = NIOLockedValueBox(State())

    func start(_ continuation: CheckedContinuation<ProbeOutcome?, Never>, tasks: [Task<Void, Never>]) {
        state.withLockedValue { s in
            if let result = s.result {
                continuation.resume(returning: result)
                tasks.forEach { $0.cancel() }
            } else {
                s.continuation = continuation
                s.tasks = tasks
            }
        }
    }

    func finish(_ outcome: ProbeOutcome?) {
        state.withLockedValue { s in
            guard s.result == nil else { return }
            s.result = .some(outcome)
            s.continuation?.resume(returning: outcome)
            s.continuation = nil
            s.tasks.forEach { $0.cancel() }
        }
    }
}
