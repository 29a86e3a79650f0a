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
    /// Lean search only: path MTUs common in the field (`commonPathMTUs`), tried as one round when
    /// the top of the range went unanswered and no packet-too-big said why (a black hole). Empty:
    /// an even spread, as in the full search.
    public var ladder: [Int] = []
    /// Silences that turned out to be loss (that size, or a larger one, passed after all), and lost
    /// controls the caller reported (`noteLoss`).
    public private(set) var lossesSeen = 0
    /// Each loss seen asks one more silence of a failure (up to 4 more): on a path that loses a
    /// tenth of its packets, three silences of one size happen by chance once in a thousand, and a
    /// search weighs dozens of sizes. PathMTUMeasurement sets it; TCP's silences mean something else.
    public var moreConfirmationsOnLoss = false
    /// Silences that make a failure certain, now.
    public var requiredConfirmations: Int { moreConfirmationsOnLoss ? confirmations + min(lossesSeen, 4) : confirmations }

    /// `knownGood` is a size already seen to pass (the reachability probe), or `minSize - 1`.
    public init(minSize: Int, maxSize: Int, knownGood: Int, confirmations: Int = 3) {
        self.minSize = minSize
        self.maxSize = maxSize
        self.confirmations = max(1, confirmations)
        largestPassed = max(knownGood, minSize - 1)
        smallestFailed = maxSize + 1
    }

    /// A probe known to be lost (a control that went unanswered).
    public mutating func noteLoss() { lossesSeen += 1 }

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
            for (s, n) in suspicions where s <= size { lossesSeen += n }
            if size > largestPassed { largestPassed = size }
            if largestPassed >= smallestFailed {
                lossesSeen += 1
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
            if size <= largestPassed { lossesSeen += 1; return }
            if size >= smallestFailed { return }
            let n = (suspicions[size] ?? 0) + 1
            if n >= requiredConfirmations {
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
    /// `ladder: false` skips the ladder (its last round went unanswered as a whole: below 1280, or
    /// nothing came back; the round after it brings a control).
    public func nextSizes(count: Int, lean: Bool = false, ladder useLadder: Bool = true) -> [Int] {
        if isDone { return [] }
        let lowest = max(largestPassed + 1, minSize)
        let top = upperCandidate  // exclusive, unless it is only a suspicion
        if lean && smallestFailed > maxSize && suspicions.isEmpty && hints.isEmpty && lowest <= maxSize { return [maxSize] }
        if lean && useLadder && hints.isEmpty, let guess = ladderRound(lowest: lowest, top: top) { return guess }
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
                return [Int](repeating: lowest, count: requiredConfirmations)
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
            let needed = requiredConfirmations - seen
            if highest < lowest {
                // The gap is closed: all that is left is to confirm the boundary.
                return [Int](repeating: top, count: max(1, needed))
            }
            if !lean { sizes.insert(top) }
        }
        return sizes.sorted()
    }

    /// Lean, no packet-too-big: (a) the top alone went silent: the ladder's sizes below it, in one
    /// round (one of them usually passes and the next one up fails); (b) a ladder size passed and the
    /// ladder size above it did not: the byte above the one that passed, all its confirmations at
    /// once - on a tunnel of a common size that settles a black hole in ~13 probes instead of ~22.
    func ladderRound(lowest: Int, top: Int) -> [Int]? {
        guard !ladder.isEmpty, smallestFailed > maxSize else { return nil }
        if suspicions.keys.allSatisfy({ $0 == maxSize }) {
            var rungs = ladder.filter { $0 >= lowest && $0 < top }
            // A size that should pass proves the round (lean rounds carry no control): the lowest
            // rung, or where that is out of range (IPv6 starts at 1280), the smallest size left.
            if let low = rungs.min(), low > ladder.min()! { rungs.append(lowest) }
            if !rungs.isEmpty { return rungs.sorted() }
        }
        let above = largestPassed + 1
        if ladder.contains(largestPassed), above < top, suspicions[above] == nil {
            return [Int](repeating: above, count: requiredConfirmations)
        }
        return nil
    }

    /// Path MTUs common in the field, largest first (docs/field facts): Ethernet less PPPoE 1492,
    /// GRE 1476, DS-Lite / L2TP 1460, VXLAN / GENEVE 1450, WireGuard 1440 / 1420, the usual VPN
    /// and cloud 1400, IPv6's minimum and Tailscale 1280.
    public static let commonPathMTUs = [1492, 1476, 1460, 1450, 1440, 1420, 1400, 1280]

    /// RFC 1191 plateau table, for frag-needed messages that carry no next-hop MTU.
    public static let plateaus = [65535, 32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68]

    public static func plateauBelow(_ size: Int) -> Int? { plateaus.first(where: { $0 < size }) }
}
