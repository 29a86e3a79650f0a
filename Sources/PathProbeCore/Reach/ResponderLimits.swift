/// What keeps `pathprobe serve` safe to run on the open Internet, as pure values (the engine's
/// `Responder` asks them, in this order, for every well-formed request):
///
/// 1. `SourceRateLimiter`: `rate` replies per second per source address after a burst; O(1) per
///    packet; at most `capacity` sources tracked, the least recently used forgotten to make room (a
///    new source is never refused because a flood filled the table).
/// 2. `ResponderCeiling`: replies and reply bytes per second over all sources, so a flood from
///    any number of (spoofed) addresses cannot make the responder send more than that.
/// 3. Only then the work that costs: the route lookup for the reply, the reply, the log line
///    (`LogBudget`: a few lines per second, the rest counted).

/// A token bucket: `rate` units per second, at most `burst` saved up. Time saturates (a rate of
/// 1e-300 or a clock that goes backwards never traps).
public struct RateBucket: Sendable {
    public let rate: Double
    public let burst: Double
    public private(set) var tokens: Double
    private var last: Nanoseconds

    /// `rate` must be positive and finite (the options are checked: `OptionLimit`); anything else
    /// gives a bucket that never refills.
    public init(rate: Double, burst: Double, now: Nanoseconds) {
        self.rate = rate.isFinite && rate > 0 ? rate : 0
        self.burst = burst.isFinite ? max(1, burst) : 1
        tokens = self.burst
        last = now
    }

    public mutating func refill(_ now: Nanoseconds) {
        guard now > last else { return }
        tokens = min(burst, tokens + Double(now - last) / 1e9 * rate)
        last = now
    }

    /// Takes `amount` if the bucket holds it.
    public mutating func take(_ amount: Double = 1, now: Nanoseconds) -> Bool {
        refill(now)
        guard tokens >= amount else { return false }
        tokens -= amount
        return true
    }
}

/// Per-source token buckets for the responder: `rate` replies per second after a `burst`, per source
/// address. O(1) per packet; at most `capacity` sources are tracked, and the least recently seen one
/// is forgotten to make room for a new one (which starts with a full bucket).
public struct SourceRateLimiter: Sendable {
    public let rate: Double
    public let burst: Double
    public let capacity: Int
    private var buckets: LRUTable<IPAddress, RateBucket>

    public init(rate: Double = 200, burst: Double = 100, capacity: Int = 65536) {
        self.rate = rate
        self.burst = max(1, burst)
        self.capacity = max(1, capacity)
        buckets = LRUTable(capacity: self.capacity)
    }

    public var trackedSources: Int { buckets.count }
    /// Sources forgotten to make room for new ones.
    public var evictions: Int { buckets.evictions }

    public mutating func allow(_ source: IPAddress, now: Nanoseconds) -> Bool {
        let (rate, burst) = (self.rate, self.burst)
        let s = buckets.slot(for: source) { RateBucket(rate: rate, burst: burst, now: now) }.slot
        return buckets[slot: s].take(now: now)
    }
}

/// The responder's global ceiling: replies per second and reply bytes per second over all sources
/// (0: no ceiling), each with a tenth of a second saved up as burst.
public struct ResponderCeiling: Sendable {
    private var packets: RateBucket?
    private var bytes: RateBucket?
    /// Replies the ceiling held back.
    public private(set) var refused = 0

    public init(packetsPerSecond: Double, bytesPerSecond: Double, now: Nanoseconds = 0) {
        if packetsPerSecond > 0 {
            packets = RateBucket(rate: packetsPerSecond, burst: max(1, packetsPerSecond / 10), now: now)
        }
        if bytesPerSecond > 0 {
            bytes = RateBucket(rate: bytesPerSecond, burst: max(65_536, bytesPerSecond / 10), now: now)
        }
    }

    /// May a reply of `size` bytes leave now? (A reply is never larger than its request, so the
    /// request's size is a safe bound to ask with.)
    public mutating func allow(size: Int, now: Nanoseconds) -> Bool {
        if var p = packets {
            p.refill(now)
            guard p.tokens >= 1 else { refused += 1; return false }
        }
        if var b = bytes {
            b.refill(now)
            guard b.tokens >= Double(size) else { refused += 1; return false }
        }
        _ = packets?.take(now: now)
        _ = bytes?.take(Double(size), now: now)
        return true
    }
}

/// A few log lines per second, the rest counted: a flood of new sources cannot turn the log into
/// the bottleneck (or fill the disk).
public struct LogBudget: Sendable {
    private var bucket: RateBucket
    /// Lines not written since the last one that was.
    public private(set) var suppressed = 0

    public init(linesPerSecond: Double = 5, burst: Double = 20, now: Nanoseconds = 0) {
        bucket = RateBucket(rate: linesPerSecond, burst: burst, now: now)
    }

    /// nil: do not log this one (it is counted). Otherwise log it, after the returned number of
    /// lines that were held back (0: none), which the caller reports in one line.
    public mutating func allow(now: Nanoseconds) -> Int? {
        guard bucket.take(now: now) else {
            suppressed += 1
            return nil
        }
        defer { suppressed = 0 }
        return suppressed
    }
}
