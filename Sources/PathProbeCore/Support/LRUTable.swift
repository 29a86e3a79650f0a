/// A table of at most `capacity` entries that forgets the least recently used one to make room:
/// every operation is O(1), whatever the traffic (the responder's per-source state under a flood
/// of spoofed addresses). Entries live in slots; a slot number stays valid until the next insertion.
public struct LRUTable<Key: Hashable, Value> {
    public let capacity: Int
    private var index: [Key: Int32] = [:]
    private var keys: [Key] = []
    private var values: [Value] = []
    /// Doubly linked recency list over slots: `head` most recent, `tail` least recent.
    private var newer: [Int32] = []
    private var older: [Int32] = []
    private var head: Int32 = -1
    private var tail: Int32 = -1
    public private(set) var evictions = 0

    public init(capacity: Int) {
        self.capacity = max(1, min(capacity, Int(Int32.max)))
        index.reserveCapacity(Swift.min(self.capacity, 1 << 16))
    }

    public var count: Int { index.count }

    /// The value for `key` without touching its recency.
    public func peek(_ key: Key) -> Value? { index[key].map { values[Int($0)] } }

    /// The slot of `key`, now the most recent; a new entry (`make()`) when absent, in place of the
    /// least recently used one when the table is full. `inserted` says whether it is new.
    public mutating func slot(for key: Key, orInsert make: () -> Value) -> (slot: Int, inserted: Bool) {
        if let s = index[key] {
            touch(s)
            return (Int(s), false)
        }
        let s: Int32
        if keys.count < capacity {
            s = Int32(keys.count)
            keys.append(key)
            values.append(make())
            newer.append(-1)
            older.append(-1)
        } else {
            s = tail
            unlink(s)
            index[keys[Int(s)]] = nil
            evictions += 1
            keys[Int(s)] = key
            values[Int(s)] = make()
        }
        index[key] = s
        pushFront(s)
        return (Int(s), true)
    }

    public subscript(slot slot: Int) -> Value {
        get { values[slot] }
        set { values[slot] = newValue }
    }

    /// Keys from the most to the least recently used.
    public var keysByRecency: [Key] {
        var out: [Key] = []
        out.reserveCapacity(count)
        var s = head
        while s >= 0 {
            out.append(keys[Int(s)])
            s = older[Int(s)]
        }
        return out
    }

    private mutating func touch(_ s: Int32) {
        guard s != head else { return }
        unlink(s)
        pushFront(s)
    }

    private mutating func unlink(_ s: Int32) {
        let n = newer[Int(s)], o = older[Int(s)]
        if n >= 0 { older[Int(n)] = o } else { head = o }
        if o >= 0 { newer[Int(o)] = n } else { tail = n }
        newer[Int(s)] = -1
        older[Int(s)] = -1
    }

    private mutating func pushFront(_ s: Int32) {
        older[Int(s)] = head
        newer[Int(s)] = -1
        if head >= 0 { newer[Int(head)] = s }
        head = s
        if tail < 0 { tail = s }
    }
}

extension LRUTable: Sendable where Key: Sendable, Value: Sendable {}
