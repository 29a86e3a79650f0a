import NIOConcurrencyHelpers

/// Runs a module's measurement for one target and hands back what it found. The exporter calls it
/// from Swift concurrency (one task per scrape, never a thread per probe, never on a NIO event loop).
///
/// The real implementation (phase 2) submits the measurement to pathprobe's own epoll engine, which
/// runs on its one dedicated thread, and resumes a continuation from the engine's completion:
///
/// ```swift
/// func run(_ job: ProbeJob) async -> ProbeOutcome {
///     await withTaskCancellationHandler {
///         await withCheckedContinuation { continuation in
///             engine.submit(measurement(for: job), deadline: job.deadline) { result in   // thread-safe submit + eventfd wake-up
///                 continuation.resume(returning: outcome(from: result))               // called once, on the engine thread
///             }
///         }
///     } onCancel: { engine.cancel(job.id) }                                           // also thread-safe
/// }
/// ```
///
/// Contract:
/// - Return by `job.deadline` with what was measured by then and `cutShort` set (the exporter answers
///   the scrape shortly after the deadline whether or not this returned; a late outcome is dropped).
/// - Task cancellation (scrape abandoned, shutdown) means: stop the measurement, return promptly.
/// - Never throw, never crash on input: a name that does not resolve, an address of the wrong family,
///   a missing privilege are outcomes with `success == false` and the reason in `failure`.
/// - With `job.hopProbes == .skip`, send no TTL-limited probes (the exporter serves hops from its cache).
/// - Write what happens to `job.log`; the lines appear under `debug=true` even when cut short.
public protocol ProbeExecutor: Sendable {
    func run(_ job: ProbeJob) async -> ProbeOutcome
}

/// One probe to run.
public struct ProbeJob: Sendable {
    /// Unique for the exporter's lifetime (the status page's log links use it).
    public let id: UInt64
    /// The `target` parameter as given (host name or address; resolving it is the prober's job).
    public let target: String
    public let module: Module
    /// When the outcome must be back (module timeout and scrape timeout, minus the margin).
    public let deadline: ContinuousClock.Instant
    /// Whether this probe may send hop probes (per-target pacing).
    public let hopProbes: HopProbes
    /// The measurement's log, shown by `debug=true` and the status page.
    public let log: ProbeLog

    public init(id: UInt64, target: String, module: Module, deadline: ContinuousClock.Instant, hopProbes: HopProbes, log: ProbeLog) {
        (self.id, self.target, self.module, self.deadline, self.hopProbes, self.log) = (id, target, module, deadline, hopProbes, log)
    }

    public enum HopProbes: String, Sendable {
        /// Send TTL-limited probes as the module's settings ask.
        case send
        /// This target's routers were asked recently: send none.
        case skip
    }
}

/// A probe's log lines, each stamped with the time since the probe started. Thread-safe: the
/// engine thread may write while the exporter reads it for a cut-short answer.
public final class ProbeLog: Sendable {
    private let start: ContinuousClock.Instant
    private let lines = NIOLockedValueBox<[String]>([])

    public init(start: ContinuousClock.Instant = .now) {
        self.start = start
    }

    public func add(_ line: String) {
        let elapsed = (ContinuousClock.now - start).seconds
        let stamp = String(Int((elapsed * 1000).rounded()))
        lines.withLockedValue { $0.append("+\(stamp)ms \(line)") }
    }

    public var entries: [String] { lines.withLockedValue { $0 } }
}
