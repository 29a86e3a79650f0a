import PathProbeCore

/// A binary min-heap of (deadline, id, generation, token) in one preallocated array: no allocation
/// per timer once warm. Timers are never cancelled: stale entries (the generation no longer
/// matches) are skipped by whoever set them.
struct TimerHeap {
    struct Entry {
        var deadline: Nanoseconds
        var id: Int32
        var generation: UInt32
        /// The owner's own label (the event loop passes it back to the handler).
        var token: UInt32 = 0
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
