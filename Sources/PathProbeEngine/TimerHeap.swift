import PathProbeCore

/// A binary min-heap of (deadline, id, generation) in one preallocated array: no allocation per
/// timer once warm. Stale entries (the generation no longer matches) are skipped by the caller.
struct TimerHeap {
    struct Entry {
        var deadline: Nanoseconds
        var id: Int32
        var generation: UInt32
    }

    private(set) var entries: [Entry] = []

    init(capacity: Int) { entries.reserveCapacity(capacity) }

    var isEmpty: Bool { entries.isEmpty }
    var count: Int { entries.count }
    var first: Entry? { entries.first }

    mutating func push(_ e: Entry) {
        entries.append(e)
        var i = entries.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if entries[parent].deadline <= entries[i].deadline { break }
            entries.swapAt(parent, i)
            i = parent
        }
    }

    @discardableResult
    mutating func pop() -> Entry? {
        guard !entries.isEmpty else { return nil }
        let top = entries[0]
        let last = entries.removeLast()
        if !entries.isEmpty {
            entries[0] = last
            var i = 0
            let n = entries.count
            while true {
                let l = 2 * i + 1
                let r = l + 1
                var m = i
                if l < n && entries[l].deadline < entries[m].deadline { m = l }
                if r < n && entries[r].deadline < entries[m].deadline { m = r }
                if m == i { break }
                entries.swapAt(i, m)
                i = m
            }
        }
        return top
    }
}

/// The global probe budget (--rate): tokens refill continuously; a small burst keeps batches full.
struct TokenBucket {
    let rate: Double  // probes per second; 0 = unlimited
    let burst: Double
    private var tokens: Double
    private var last: Nanoseconds

    init(rate: Double, now: Nanoseconds) {
        self.rate = rate
        burst = rate > 0 ? max(1, min(Double(ProbeSocket.batchSize), rate / 50)) : 0
        tokens = burst
        last = now
    }

    var unlimited: Bool { rate <= 0 }

    mutating func refill(_ now: Nanoseconds) {
        guard !unlimited, now > last else { return }
        tokens = min(burst, tokens + Double(now - last) * rate / 1e9)
        last = now
    }

    mutating func take() -> Bool {
        if unlimited { return true }
        if tokens >= 1 { tokens -= 1; return true }
        return false
    }

    /// When the next token will be there.
    func nextTokenAt(_ now: Nanoseconds) -> Nanoseconds {
        if unlimited || tokens >= 1 { return now }
        return now + Nanoseconds((1 - tokens) / rate * 1e9) + 1
    }
}
