/// The byte-exact packet-size search behind `pathprobe mtu`: pure bookkeeping, no timing.
///
/// Invariant: `largestPassed` passed (an answer came back), `smallestFailed` failed for sure (a
/// packet-too-big named it, or it went unanswered `confirmations` times in rounds whose control
/// probe was answered). Single silent failures are only suspicions: loss must not look like a
/// size limit, so a suspicion narrows where we look next but never ends the search on its own.
public struct SizeSearch: Sendable {
    public enum Evidence: Sendable, Equatable {
        case passed
        /// A packet-too-big / frag-needed for this size; `mtu` as carried (0 or nonsense allowed).
        case tooBig(mtu: Int)
        /// No answer, in a round whose control probe was answered.
        case silent
    }

    public let minSize: Int
    public let maxSize: Int
    public let confirmations: Int
    public private(set) var largestPassed: Int
    /// maxSize + 1 until a failure is certain.
    public private(set) var smallestFailed: Int
    /// How the failure at `smallestFailed` was established.
    public private(set) var failureWasSilent = false
    /// Silent failures seen per size, above `largestPassed` and below `smallestFailed`.
    public private(set) var suspicions: [Int: Int] = [:]
    /// Sizes a packet-too-big pointed at, still worth probing.
    public private(set) var hints: Set<Int> = []

    /// `knownGood` is a size already seen to pass (the reachability probe), or `minSize - 1`.
    public init(minSize: Int, maxSize: Int, knownGood: Int, confirmations: Int = 3) {
        self.minSize = minSize
        self.maxSize = maxSize
        self.confirmations = max(1, confirmations)
        largestPassed = max(knownGood, minSize - 1)
        smallestFailed = maxSize + 1
    }

    /// True when the answer is exact: every size up to `largestPassed` passes, the next one fails.
    public var isDone: Bool { largestPassed + 1 >= smallestFailed }

    /// The path MTU once done; nil when even `minSize` failed.
    public var pathMTU: Int? { largestPassed >= minSize ? largestPassed : nil }

    /// The smallest size that may fail: a certain failure or the lowest suspicion.
    public var upperCandidate: Int {
        var h = smallestFailed
        for s in suspicions.keys where s < h { h = s }
        return h
    }

    public mutating func record(size: Int, _ evidence: Evidence) {
        switch evidence {
        case .passed:
            if size > largestPassed { largestPassed = size }
            if largestPassed >= smallestFailed {
                // A size we were sure about passed after all (the path changed, or a lying PTB):
                // forget certainties at or below it and keep searching above.
                smallestFailed = maxSize + 1
                failureWasSilent = false
            }
            suspicions = suspicions.filter { $0.key > largestPassed }
            hints = hints.filter { $0 > largestPassed }
        case let .tooBig(mtu):
            if size <= largestPassed { return }  // contradicts a pass: not for us, or stale
            if size < smallestFailed {
                smallestFailed = size
                failureWasSilent = false
            }
            if mtu > largestPassed && mtu < size && mtu >= minSize {
                hints.insert(mtu)
            } else if let plateau = SizeSearch.plateauBelow(size), plateau > largestPassed, plateau >= minSize {
                // Next-hop MTU 0 (pre-RFC 1191 router) or a value that cannot be right: use the plateau table as a hint only.
                hints.insert(plateau)
            }
            suspicions = suspicions.filter { $0.key < smallestFailed }
            hints = hints.filter { $0 < smallestFailed }
        case .silent:
            if size <= largestPassed || size >= smallestFailed { return }
            let n = (suspicions[size] ?? 0) + 1
            if n >= confirmations {
                smallestFailed = size
                failureWasSilent = true
                suspicions = suspicions.filter { $0.key < size }
                hints = hints.filter { $0 < size }
            } else {
                suspicions[size] = n
            }
        }
    }

    /// Sizes for the next round, ascending, at most `count` (plus re-probes of the boundary).
    /// `lean` (bulk: fewest probes): the first round is the top of the range alone, a packet-too-big's
    /// hint is checked without spread points beside it, and the lowest suspicion is re-probed only
    /// once the gap below it is closed.
    public func nextSizes(count: Int, lean: Bool = false) -> [Int] {
        if isDone { return [] }
        let lowest = max(largestPassed + 1, minSize)
        let top = upperCandidate  // exclusive, unless it is only a suspicion
        if lean && smallestFailed > maxSize && suspicions.isEmpty && hints.isEmpty && lowest <= maxSize { return [maxSize] }
        var sizes = Set<Int>()
        // 1. Check what a packet-too-big told us, and the byte above it.
        for h in hints.sorted(by: >) where h >= lowest && h < top && sizes.count < max(2, count) {
            sizes.insert(h)
            if h + 1 < top { sizes.insert(h + 1) }
        }
        // 2. Spread the rest evenly over the open range. With no failure seen yet the top of the range
        //    (maxSize) is one of the points: on a clean path that single probe settles it.
        let budget = lean && !sizes.isEmpty ? 0 : count - sizes.count
        let highest = top - 1
        if highest >= lowest && budget > 0 {
            let span = highest - lowest + 1
            if lean && span == 1 && top == highest + 1 {
                // One size left below the lowest suspicion: it is the boundary or the answer. Lean:
                // all its confirmations at once (a size that fails needs them; one that passes ends it).
                return [Int](repeating: lowest, count: confirmations)
            } else if span <= budget {
                for s in lowest...highest { sizes.insert(s) }
            } else if top > maxSize {
                for i in 1...budget { sizes.insert(lowest - 1 + (span * i + budget - 1) / budget) }
            } else {
                for i in 1...budget { sizes.insert(lowest - 1 + (span + 1) * i / (budget + 1)) }
            }
        }
        // 3. Re-probe the lowest suspicion until it is certain (or passes).
        if top < smallestFailed, top <= maxSize {
            let seen = suspicions[top] ?? 0
            let needed = confirmations - seen
            if highest < lowest {
                // The gap is closed: all that is left is to confirm the boundary.
                return [Int](repeating: top, count: max(1, needed))
            }
            if !lean { sizes.insert(top) }
        }
        return sizes.sorted()
    }

    /// RFC 1191 plateau table, for frag-needed messages that carry no next-hop MTU.
    public static let plateaus = [65535, 32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68]

    public static func plateauBelow(_ size: Int) -> Int? { plateaus.first(where: { $0 < size }) }
}
