/// Per-target pacing of hop probes. Routers answer TTL-limited probes with time-exceeded errors,
/// which they rate-limit per destination (Linux: about 6 at once, then 1 per second); a target scraped
/// every few seconds by several modules and several Prometheus servers would spend that budget, and
/// other people's traceroutes through the same routers would see silent hops. So hop probes go to a
/// target at most once per `interval`; in between, probes skip them and the last hops measured are
/// served from this cache (with their age), for at most `interval * 2`.
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
        case skip(Cached?)
    }

    public let interval: Duration
    private var lastSent: [String: ContinuousClock.Instant] = [:]
    private var cache: [String: Cached] = [:]
    private var operations = 0

    public init(interval: Duration) {
        self.interval = interval
    }

    /// Targets are paced by name, case-insensitively (phase 2 may key by resolved address).
    static func key(_ target: String) -> String { target.lowercased() }

    public mutating func decide(target: String, now: ContinuousClock.Instant) -> Decision {
        purgeNowAndThen(now: now)
        let key = Self.key(target)
        if interval > .zero, let last = lastSent[key], now - last < interval {
            return .skip(cache[key].flatMap { now - $0.measuredAt <= interval * 2 ? $0 : nil })
        }
        lastSent[key] = now
        return .send
    }

    /// Remembers the hops a probe measured.
    public mutating func store(target: String, hops: [ProbeOutcome.Hop], blackHoleHop: Int?, now: ContinuousClock.Instant) {
        guard !hops.isEmpty else { return }
        cache[Self.key(target)] = Cached(hops: hops, blackHoleHop: blackHoleHop, measuredAt: now)
    }

    public var count: Int { lastSent.count }

    private mutating func purgeNowAndThen(now: ContinuousClock.Instant) {
        operations += 1
        guard operations % 1024 == 0 else { return }
        let horizon = interval * 2
        lastSent = lastSent.filter { now - $0.value < horizon }
        cache = cache.filter { now - $0.value.measuredAt <= horizon }
    }
}
