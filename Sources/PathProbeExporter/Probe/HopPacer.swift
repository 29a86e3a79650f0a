/// Pacing of hop probes. Routers answer TTL-limited probes with time-exceeded errors, which they
/// rate-limit per destination of the error, that is per vantage point (Linux: a burst of 6, then 1
/// per second), and a target scraped every few seconds by several modules would spend that budget
/// alone. Two limits, both serving the last hops measured (with their age) when they hold probes back:
///
/// - **per target**: hop probes go to a target at most once per `interval`;
/// - **per exporter**: at most `tracesPerSecond` targets get hop probes per second (a burst of 3),
///   because the routers near the vantage point are on every target's path: thousands of targets
///   traced once a minute each would ask them for far more answers than they give, and only a few
///   traces would come back complete. A trace asks each router for one answer, and for a black hole
///   one more (the large probes that find the hop after which they vanish): 0.5 traces per second
///   keeps within a Linux router's 1 per second.
///
/// Cached hops are served for `cacheLifetime` (at least 6 hours: routes change seldom, and under the
/// exporter-wide budget a target's turn may come only every hour or two).
///
/// Not thread-safe by itself: the coordinator keeps it under its lock.
public struct HopPacer: Sendable {
    public struct Cached: Sendable, Equatable {
        public var hops: [ProbeOutcome.Hop]
        public var blackHoleHop: Int?
        public var measuredAt: ContinuousClock.Instant
    }

    public enum Decision: Sendable, Equatable {
        /// Send hop probes (the slot is taken now, so concurrent probes of the target skip).
        case send
        /// Skip them; serve these (nil: nothing recent to serve).
        case skip(Cached?, Reason)
    }

    public enum Reason: String, Sendable {
        /// This target's hops were probed less than `interval` ago.
        case recent
        /// The exporter-wide budget of hop traces is spent for now.
        case budget
    }

    public let interval: Duration
    /// Targets whose hops are probed per second, over all targets (0: no limit).
    public let tracesPerSecond: Double
    public static let burst = 3.0
    private var tokens = HopPacer.burst
    private var refilledAt: ContinuousClock.Instant?
    private var lastSent: [String: ContinuousClock.Instant] = [:]
    private var cache: [String: Cached] = [:]
    private var operations = 0

    public init(interval: Duration, tracesPerSecond: Double = 0) {
        self.interval = interval
        self.tracesPerSecond = tracesPerSecond
    }

    /// How long measured hops are served from the cache.
    public var cacheLifetime: Duration { max(interval * 2, .seconds(6 * 3600)) }

    /// Targets are paced by name, case-insensitively.
    static func key(_ target: String) -> String { target.lowercased() }

    public mutating func decide(target: String, now: ContinuousClock.Instant) -> Decision {
        purgeNowAndThen(now: now)
        let key = Self.key(target)
        let cached = cache[key].flatMap { now - $0.measuredAt <= cacheLifetime ? $0 : nil }
        if interval > .zero, let last = lastSent[key], now - last < interval {
            return .skip(cached, .recent)
        }
        if !takeToken(now) { return .skip(cached, .budget) }
        lastSent[key] = now
        return .send
    }

    /// Remembers the hops a probe measured.
    public mutating func store(target: String, hops: [ProbeOutcome.Hop], blackHoleHop: Int?, now: ContinuousClock.Instant) {
        guard !hops.isEmpty else { return }
        cache[Self.key(target)] = Cached(hops: hops, blackHoleHop: blackHoleHop, measuredAt: now)
    }

    public var count: Int { lastSent.count }

    private mutating func takeToken(_ now: ContinuousClock.Instant) -> Bool {
        guard tracesPerSecond > 0 else { return true }
        if let last = refilledAt { tokens = min(Self.burst, tokens + (now - last).seconds * tracesPerSecond) }
        refilledAt = now
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }

    private mutating func purgeNowAndThen(now: ContinuousClock.Instant) {
        operations += 1
        guard operations % 1024 == 0 else { return }
        let lifetime = cacheLifetime
        lastSent = lastSent.filter { now - $0.value < interval }
        cache = cache.filter { now - $0.value.measuredAt <= lifetime }
    }
}
