/// `pathprobe mtu` as a state machine: reachability check, then the per-hop trace and the size search
/// side by side, then (for a black hole) localisation of the hop that drops large packets.
///
/// Everything here is driven by `ProbeResult`s, so the same code runs on the real engine and on the
/// simulated paths of the unit tests.
public struct PathMTUOptions: Sendable {
    public var destination: IPAddress
    public var kind: ProbeKind = .icmpEcho
    /// Search range, whole IP packet sizes. `maxSize` defaults (in the CLI) to the egress interface MTU.
    public var minSize: Int
    public var maxSize: Int
    /// Longest wait for one answer (--timeout), also the reachability check's wait.
    public var timeoutMs: Double = 1000
    /// Shortest per-probe timeout once RTTs are known.
    public var minimumTimeoutMs: Double = 25
    /// Attempts for a probe before its silence counts (--retries): reachability rounds, silent
    /// confirmations in the size search, attempts per hop.
    public var retries: Int = 3
    /// Sizes in flight per search round (fewer in UDP mode, where each answer spends the target's ICMP budget).
    public var parallelSizes: Int
    /// Per-hop view and black-hole localisation (TTL-limited probes).
    public var traceHops: Bool = true
    public var maxTTL: Int = 30
    /// Pause after controls go unanswered twice: ICMP errors are limited to ~1/s per destination.
    public var rateLimitPauseMs: Double = 1000
    /// ICMP mode: the closed UDP port of the forward check (is a silent size dropped on the way
    /// there, or is the echo reply lost on the way back?).
    public var forwardCheckPort: UInt16 = 33434
    /// ICMP mode, after a silent limit: run that forward check (black-hole localisation). It only
    /// ever names a hop or clears one, so without the per-hop view (bulk, `--no-hops`) it is
    /// skipped: it waits on the target's rate-limited port unreachables, seconds per black hole.
    public var forwardCheck = true
    /// Bulk: the fewest probes per target, at the cost of a round trip or two - thousands of targets
    /// share the machine's packet rate, so probes, not round trips, set the run's time. One
    /// reachability probe; the first round probes the top of the range alone (a clean path is then
    /// settled with three probes); after a packet-too-big only its hint and the byte above; a round's
    /// small control only where no size of the round may answer (any answered size proves the path
    /// carried the round); the lowest suspicion re-probed once the gap is closed, all its
    /// confirmations at once.
    public var lean = false
    /// Rounds of black-hole localisation before the hop is left unnamed (null), and the rounds
    /// that must each show "the next hop answered the small control but not the large probes"
    /// (at least; more on a lossy path), and the large probes per TTL and round.
    public var locateRounds = 6
    public var locateConfirmations = 2
    public var locateLargeCopies = 2

    public init(destination: IPAddress, kind: ProbeKind = .icmpEcho, minSize: Int? = nil, maxSize: Int) {
        self.destination = destination
        self.kind = kind
        self.minSize = minSize ?? destination.family.minimumMTU
        self.maxSize = maxSize
        if case .udp = kind { parallelSizes = 3 } else { parallelSizes = 16 }
    }

    /// Smallest packet the probe kind can carry (headers plus pathprobe's 12-byte probe header).
    public static func smallestProbe(_ family: AddressFamily) -> Int { family.ipHeaderSize + 8 + 12 }
}

public final class PathMTUMeasurement: Measurement {
    public let options: PathMTUOptions
    public private(set) var isFinished = false
    public private(set) var probesSent = 0
    public private(set) var startedAt: Nanoseconds? = nil
    public private(set) var finishedAt: Nanoseconds? = nil

    // Probe purposes, in the top 4 bits of a tag; the next 12 bits hold a round or attempt number.
    enum Purpose: UInt32 { case reach = 1, trace, size, control, locate }
    static func tag(_ p: Purpose, _ n: Int) -> UInt32 { p.rawValue << 28 | (UInt32(n) & 0xfff) << 16 }
    static func purpose(of tag: UInt32) -> Purpose? { Purpose(rawValue: tag >> 28) }
    static func number(of tag: UInt32) -> Int { Int(tag >> 16 & 0xfff) }

    enum Phase { case reach, measuring, done }
    private var phase = Phase.reach
    private var rtt: RTTEstimator
    private var timeoutScale = 1.0

    // Reachability
    private var reachAttempt = 0
    private var reachOutstanding = 0
    private var replyTTL: Int? = nil
    public private(set) var unreachableReason: String? = nil
    public private(set) var reachable = false

    // Size search
    public private(set) var search: SizeSearch
    private let controlSize: Int
    private var round = 0
    private var roundOutstanding = 0
    private var roundControlPassed = false
    private var roundSilent: [Int] = []
    private var controlFailuresInARow = 0
    /// Lean: the last round ended with silences and no proof (no control sent, no size answered).
    private var lastRoundUnproven = false
    /// The search's small controls, sent and answered: how lossy the path is (`requiredProof`).
    private var controlsSent = 0
    private var controlsAnswered = 0
    private var sizesPerRound: Int
    private var pausedUntil: Nanoseconds? = nil
    public private(set) var packetTooBigs: [PacketTooBig] = []

    // Trace
    public private(set) var hops: [Int: HopObservation] = [:]
    private var traceAttempts: [Int: Int] = [:]
    private var traceOutstanding: [Int: Int] = [:]
    private var traceSentUpTo = 0
    public private(set) var destinationTTL: Int? = nil
    private var traceDone = false

    // Localisation (see "black-hole localisation" below)
    private var locateState: LocateState = .notStarted
    private var locateRound = 0
    private var locateOutstanding = 0
    /// The hop each TTL's large probe reached (its time-exceeded came back), in any round.
    private var largeReached: [Int: IPAddress] = [:]
    /// Per TTL, rounds in which the small control was answered and the large probe sent just
    /// before it was not; the destination's entry (`destinationSlot`) counts the forward UDP check.
    private var largeStopped: [Int: Int] = [:]
    private var roundLarge: Set<Int> = []
    private var roundSmall: Set<Int> = []
    public private(set) var blackHoleHop: (ttl: Int, address: IPAddress)? = nil
    /// ICMP mode: the echo search found a limit, but a UDP probe of the silent size reached the
    /// target: the forward path carries it and the echo replies are lost on the way back.
    public private(set) var returnPathLimit = false
    /// The largest size a forward probe (the UDP check) proved to reach the target; nil: none.
    public private(set) var forwardCarries: Int? = nil
    enum LocateState { case notStarted, running, waiting, done }
    /// Tag bits of a localisation probe: the small control, and the UDP check of the destination.
    static let smallBit: UInt32 = 1, destinationBit: UInt32 = 2, topBit: UInt32 = 4

    public struct PacketTooBig: Codable, Sendable, Equatable {
        public var from: IPAddress
        public var mtu: Int
        public var probeSize: Int

        enum CodingKeys: String, CodingKey {
            case from, mtu
            case probeSize = "probe_size"
        }
    }

    public struct HopObservation: Sendable {
        public var address: IPAddress?
        public var rttMs: Double?
        public var isDestination: Bool
        /// ICMP unreachable from this hop (e.g. "!N"), if any.
        public var note: String?
    }

    public init(options: PathMTUOptions) {
        self.options = options
        let family = options.destination.family
        controlSize = max(PathMTUOptions.smallestProbe(family), min(family.minimumMTU, options.minSize))
        search = SizeSearch(minSize: options.minSize, maxSize: options.maxSize, knownGood: options.minSize - 1,
                            confirmations: options.retries)
        // Not over UDP: a round of eight answers would spend the target's port-unreachable budget.
        if options.lean && options.kind == .icmpEcho { search.ladder = SizeSearch.commonPathMTUs }
        search.moreConfirmationsOnLoss = true
        rtt = RTTEstimator(floorMs: options.minimumTimeoutMs, ceilingMs: options.timeoutMs)
        sizesPerRound = max(1, options.parallelSizes)
    }

    // MARK: Measurement

    public func advance<S: ProbeScheduler>(_ s: inout S) {
        if startedAt == nil { startedAt = s.now }
        switch phase {
        case .reach:
            if reachOutstanding == 0 { sendReachability(&s) }
        case .measuring:
            if let until = pausedUntil, s.now < until { s.wake(at: until); return }
            pausedUntil = nil
            if roundOutstanding == 0 && !search.isDone { startRound(&s) }
            if locateState == .waiting { startLocateRound(&s) }
        case .done:
            break
        }
    }

    public func handle<S: ProbeScheduler>(_ r: ProbeResult, _ s: inout S) {
        guard let purpose = Self.purpose(of: r.tag), !isFinished else { return }
        if r.rtt > 0, answeredByTarget(r.outcome) { rtt.add(sampleMs: r.rtt.inMs) }
        switch purpose {
        case .reach: handleReach(r, &s)
        case .size, .control: handleSize(r, purpose, &s)
        case .trace: handleTrace(r, &s)
        case .locate: handleLocate(r, &s)
        }
        finishIfComplete(&s)
    }

    // MARK: helpers

    private var probeTimeout: Nanoseconds { .fromMs(min(options.timeoutMs, rtt.timeoutMs * timeoutScale)) }
    /// Routers answer from their slow path; give TTL-limited probes more time than echo replies.
    private var hopTimeout: Nanoseconds { .fromMs(min(options.timeoutMs, max(3 * rtt.timeoutMs * timeoutScale, 50))) }

    private func send<S: ProbeScheduler>(_ s: inout S, size: Int, ttl: Int = 0, timeout: Nanoseconds, tag: UInt32) {
        probesSent += 1
        s.send(ProbeRequest(destination: options.destination, kind: options.kind, size: size, ttl: ttl,
                            timeout: timeout, tag: tag))
    }

    /// An answer that proves the probe reached the destination.
    private func answeredByTarget(_ o: ProbeOutcome) -> Bool {
        switch o {
        case let .echoReply(from, _): return from == options.destination
        case let .udpReply(from, _): return from == options.destination
        case let .tcpReply(from, _, _): return from == options.destination
        case let .unreachable(_, _, from):
            // In UDP mode the destination's port unreachable (or its firewall's reject) is the answer.
            if case .udp = options.kind { return from == options.destination }
            return false
        default: return false
        }
    }

    // MARK: reachability

    private var isUDP: Bool { if case .udp = options.kind { return true } else { return false } }

    private func sendReachability<S: ProbeScheduler>(_ s: inout S) {
        reachAttempt += 1
        // UDP answers come out of the target's ICMP error budget: spend one, not two.
        let copies = isUDP || options.lean ? 1 : 2
        reachOutstanding = copies
        for _ in 0..<copies {
            send(&s, size: controlSize, timeout: .fromMs(options.timeoutMs), tag: Self.tag(.reach, reachAttempt))
        }
    }

    private func handleReach<S: ProbeScheduler>(_ r: ProbeResult, _ s: inout S) {
        reachOutstanding -= 1
        guard phase == .reach else { return }
        if answeredByTarget(r.outcome) {
            reachable = true
            if r.answerTTL > 0 { replyTTL = r.answerTTL }
            search.record(size: controlSize, .passed)
            phase = .measuring
            if options.traceHops { startTrace(&s) } else { traceDone = true }
            startRound(&s)
            return
        }
        switch r.outcome {
        case let .unreachable(type, code, from):
            unreachableReason = "\(ICMPNames.unreachable(family: options.destination.family, type: type, code: code)) from \(from)"
        case let .localError(errno, _):
            unreachableReason = "send failed: \(ICMPNames.errnoName(errno))"
        case .timeExceeded(let from):
            unreachableReason = "time exceeded at \(from)"
        default: break
        }
        if reachOutstanding == 0 {
            if reachAttempt >= max(1, options.retries) {
                phase = .done
                if unreachableReason == nil { unreachableReason = "no answer to \(probesSent) probes" }
                finish(s.now)
            } else {
                sendReachability(&s)
            }
        }
    }

    // MARK: size search

    private func startRound<S: ProbeScheduler>(_ s: inout S) {
        let sizes = search.nextSizes(count: sizesPerRound, lean: options.lean, ladder: !lastRoundUnproven)
        guard !sizes.isEmpty else { return }
        round += 1
        // Lean: the control only when every size of the round may go unanswered; the first round's
        // is the reachability answer that just came back.
        let first = options.lean && round == 1 && reachable
        let control = !first && (!options.lean || lastRoundUnproven || Set(sizes).count == 1 || sizes.allSatisfy { $0 >= search.upperCandidate })
        roundOutstanding = sizes.count + (control ? 1 : 0)
        roundControlPassed = first
        roundSilent.removeAll(keepingCapacity: true)
        let timeout = probeTimeout
        // Largest first: if the target's answer budget runs out mid-round, it is spent on the sizes
        // nearest the top of the range, which say the most.
        for size in sizes.reversed() { send(&s, size: size, timeout: timeout, tag: Self.tag(.size, round)) }
        // The control goes last: if the target's ICMP budget ran out during this round, it is the
        // control that goes unanswered, and the round's silences are not held against those sizes.
        if control { send(&s, size: controlSize, timeout: timeout, tag: Self.tag(.control, round)) }
    }

    private func handleSize<S: ProbeScheduler>(_ r: ProbeResult, _ purpose: Purpose, _ s: inout S) {
        guard Self.number(of: r.tag) == round & 0xfff, roundOutstanding > 0 else { return }
        roundOutstanding -= 1
        let size = r.request.size
        if purpose == .control {
            controlsSent += 1
            if answeredByTarget(r.outcome) {
                roundControlPassed = true
                controlsAnswered += 1
            } else if !isUDP {
                // A small echo lost: the path drops packets (UDP's silences may be the target's budget).
                search.noteLoss()
            }
        } else if answeredByTarget(r.outcome) {
            search.record(size: size, .passed)
            // Lean: an answered size proves the path carried this round as well as the control would.
            if options.lean && size >= controlSize { roundControlPassed = true }
        } else {
            switch r.outcome {
            case let .packetTooBig(mtu, from):
                packetTooBigs.append(PacketTooBig(from: from, mtu: mtu, probeSize: size))
                search.record(size: size, .tooBig(mtu: mtu))
            case let .localError(_, mtu) where mtu > 0:
                // The local interface is smaller than --max: that is the local limit, not the path's.
                search.record(size: size, .tooBig(mtu: mtu))
            default:
                roundSilent.append(size)
            }
        }
        if roundOutstanding == 0 { endRound(&s) }
    }

    private func endRound<S: ProbeScheduler>(_ s: inout S) {
        lastRoundUnproven = !roundControlPassed && !roundSilent.isEmpty
        if roundControlPassed {
            for size in roundSilent { search.record(size: size, .silent) }
            controlFailuresInARow = 0
            timeoutScale = max(1, timeoutScale / 2)
        } else if !roundSilent.isEmpty {
            controlFailuresInARow += 1
            // Small probes keep going unanswered: the path is lossy or slow (wait longer), or the target
            // rate-limits its answers (UDP: port unreachable, ~1/s per source after a burst of ~6):
            // send fewer probes per round and let its budget refill.
            if controlFailuresInARow >= (isUDP ? 2 : 3) {
                timeoutScale = min(timeoutScale * 2, 4)
                sizesPerRound = max(1, sizesPerRound / 2)
                if isUDP { pausedUntil = s.now + .fromMs(options.rateLimitPauseMs) }
            }
        }
        if search.isDone {
            startLocateIfReady(&s)
        } else if let until = pausedUntil {
            s.wake(at: until)
        } else {
            startRound(&s)
        }
    }

    // MARK: trace

    private func startTrace<S: ProbeScheduler>(_ s: inout S) {
        var guess = 6
        if let t = replyTTL {
            let initial = t <= 64 ? 64 : (t <= 128 ? 128 : 255)
            guess = initial - t + 1
        }
        extendTrace(to: min(options.maxTTL, max(1, guess)), &s)
    }

    private func extendTrace<S: ProbeScheduler>(to last: Int, _ s: inout S) {
        guard last > traceSentUpTo else { return }
        for ttl in (traceSentUpTo + 1)...last { sendTrace(ttl: ttl, &s) }
        traceSentUpTo = last
    }

    private func sendTrace<S: ProbeScheduler>(ttl: Int, _ s: inout S) {
        traceAttempts[ttl, default: 0] += 1
        traceOutstanding[ttl, default: 0] += 1
        send(&s, size: controlSize, ttl: ttl, timeout: hopTimeout, tag: Self.tag(.trace, ttl))
    }

    private func handleTrace<S: ProbeScheduler>(_ r: ProbeResult, _ s: inout S) {
        let ttl = r.request.ttl
        traceOutstanding[ttl, default: 1] -= 1
        let ms = r.rtt > 0 ? r.rtt.inMs : nil
        if answeredByTarget(r.outcome) {
            if hops[ttl]?.address == nil { hops[ttl] = HopObservation(address: options.destination, rttMs: ms, isDestination: true) }
            if destinationTTL == nil || ttl < destinationTTL! { destinationTTL = ttl }
        } else {
            switch r.outcome {
            case let .timeExceeded(from):
                if hops[ttl]?.address == nil { hops[ttl] = HopObservation(address: from, rttMs: ms, isDestination: false) }
            case let .unreachable(type, code, from):
                hops[ttl] = HopObservation(address: from, rttMs: ms, isDestination: false,
                                           note: ICMPNames.unreachableShort(family: options.destination.family, type: type, code: code))
                if from == options.destination, destinationTTL == nil || ttl < destinationTTL! { destinationTTL = ttl }
            case .timeout:
                let limit = destinationTTL ?? Int.max
                if hops[ttl]?.address == nil, ttl < limit, (traceAttempts[ttl] ?? 0) < max(2, options.retries) {
                    sendTrace(ttl: ttl, &s)
                }
            default: break
            }
        }
        advanceTrace(&s)
    }

    private func advanceTrace<S: ProbeScheduler>(_ s: inout S) {
        guard !traceDone else { return }
        // Wait for every hop before the destination (all hops sent, while it is unknown).
        let limit = min(destinationTTL ?? Int.max, traceSentUpTo + 1)
        if (1..<limit).contains(where: { (traceOutstanding[$0] ?? 0) > 0 }) { return }
        if destinationTTL == nil && traceSentUpTo < options.maxTTL {
            extendTrace(to: min(options.maxTTL, traceSentUpTo + 4), &s)
            return
        }
        traceDone = true
        startLocateIfReady(&s)
    }

    // MARK: black-hole localisation
    //
    // The rule: a hop is named only on proof. Each round sends, for every TTL from the first hop
    // not yet known to pass the large size up to the last router, the large probe (the smallest
    // silent size) and right after it a small control with the same TTL. A hop K is named when
    // K's large probe drew a time-exceeded (it got there) and, in `locateConfirmations` rounds,
    // hop K+1 answered the small control but not the large probe sent just before it. Routers
    // limit their ICMP errors per destination (a burst of ~6, then 1/s): a hop that is silent
    // because its budget is spent answers neither, which proves nothing; the next round then
    // waits for the budget. A large probe is sent first, so a budget of one token goes to it.
    //
    // When the next hop is the target, "answered the small but not the large" needs a forward
    // answer that does not travel back at the probe's size: in UDP mode the search's own rounds
    // are that proof (port unreachable is small); in ICMP mode a UDP check of the target's closed
    // port (large, then small) is. A large UDP probe that is answered proves the forward path
    // carries the size: the echo limit is then on the return path, and no forward hop is named.
    // Without proof within `locateRounds` rounds the hop stays null: never a wrong hop.

    /// The forward check (ICMP mode only): its entry in `largeStopped`.
    private var destinationSlot: Int { options.maxTTL + 1 }
    /// The TTLs of routers a round looks at: from the first not known to pass, to the last router.
    private var locateTTLs: Range<Int> {
        guard options.traceHops, let dest = destinationTTL, dest > 1 else { return 1..<1 }
        let from = min(dest, (largeReached.keys.max() ?? 0) + 1)
        return from..<dest
    }

    private func startLocateIfReady<S: ProbeScheduler>(_ s: inout S) {
        guard search.isDone, locateState == .notStarted else { return }
        guard search.failureWasSilent, search.smallestFailed <= options.maxSize, options.traceHops || (!isUDP && options.forwardCheck) else {
            locateState = .done
            return
        }
        guard traceDone else { return }
        if locateTTLs.isEmpty && isUDP { locateState = .done; return }
        startLocateRound(&s)
    }

    private func startLocateRound<S: ProbeScheduler>(_ s: inout S) {
        locateState = .running
        locateRound += 1
        roundLarge.removeAll(keepingCapacity: true)
        roundSmall.removeAll(keepingCapacity: true)
        let large = search.smallestFailed
        for ttl in locateTTLs {
            for _ in 0..<max(1, options.locateLargeCopies) { sendLocate(size: large, ttl: ttl, bits: 0, &s) }
            sendLocate(size: controlSize, ttl: ttl, bits: Self.smallBit, &s)
        }
        if !isUDP {
            // The target's closed UDP port: the top of the range (how much the forward path
            // carries), the silent size, then the small control.
            if options.maxSize > large { sendLocate(size: options.maxSize, ttl: 0, bits: Self.destinationBit | Self.topBit, &s) }
            sendLocate(size: large, ttl: 0, bits: Self.destinationBit, &s)
            sendLocate(size: udpControlSize, ttl: 0, bits: Self.destinationBit | Self.smallBit, &s)
        }
        if locateOutstanding == 0 { locateState = .done }
    }

    /// Rounds of proof a hop needs: enough that random loss of every large probe in all of them
    /// (while the small controls got through) has odds below 1 in 1000, at the loss the search's
    /// echo controls saw (echo replies are not rate-limited). In UDP mode every answer comes out
    /// of an ICMP budget, so silence there says nothing about loss: the minimum applies.
    private func requiredProof(copies: Int) -> Int {
        let loss = controlsSent == 0 || isUDP ? 0 : 1 - Double(controlsAnswered) / Double(controlsSent)
        let p = min(0.9, max(0.01, loss))
        var rounds = 1
        var odds = p
        for _ in 1..<max(1, copies) { odds *= p }
        var all = odds
        while all >= 1e-3 && rounds < 100 {
            all *= odds
            rounds += 1
        }
        return max(options.locateConfirmations, rounds)
    }

    /// The smallest UDP probe: IP and UDP headers and pathprobe's probe header.
    private var udpControlSize: Int { max(controlSize, PathMTUOptions.smallestProbe(options.destination.family)) }

    private func sendLocate<S: ProbeScheduler>(size: Int, ttl: Int, bits: UInt32, _ s: inout S) {
        locateOutstanding += 1
        probesSent += 1
        let kind: ProbeKind = bits & Self.destinationBit != 0 ? .udp(port: options.forwardCheckPort) : options.kind
        s.send(ProbeRequest(destination: options.destination, kind: kind, size: size, ttl: ttl, timeout: hopTimeout,
                            tag: Self.tag(.locate, locateRound) | bits))
    }

    private func handleLocate<S: ProbeScheduler>(_ r: ProbeResult, _ s: inout S) {
        guard Self.number(of: r.tag) == locateRound & 0xfff, locateOutstanding > 0 else { return }
        locateOutstanding -= 1
        let small = r.tag & Self.smallBit != 0
        if r.tag & Self.destinationBit != 0 {
            var reached = false
            switch r.outcome {
            case let .udpReply(from, _): reached = from == options.destination
            case let .unreachable(type, code, from):
                // A port unreachable is only ever sent by the host the port is closed on; Linux sends
                // it from the address of its route back when the target address is not on an
                // interface (a `local` route, an anycast address): it counts as the target's.
                reached = from == options.destination || ICMPNames.isPortUnreachable(family: options.destination.family, type: type, code: code)
            case let .packetTooBig(mtu, from): packetTooBigs.append(PacketTooBig(from: from, mtu: mtu, probeSize: r.request.size))
            default: break
            }
            if reached {
                if small {
                    roundSmall.insert(destinationSlot)
                } else {
                    forwardCarries = max(forwardCarries ?? 0, r.request.size)
                    if r.tag & Self.topBit == 0 { roundLarge.insert(destinationSlot) }
                }
            }
        } else {
            let ttl = r.request.ttl
            switch r.outcome {
            case let .timeExceeded(from):
                if small { roundSmall.insert(ttl) } else { largeReached[ttl] = from; roundLarge.insert(ttl) }
            case let .packetTooBig(mtu, from):
                packetTooBigs.append(PacketTooBig(from: from, mtu: mtu, probeSize: r.request.size))
            default: break
            }
        }
        if locateOutstanding == 0 { endLocateRound(&s) }
    }

    private func endLocateRound<S: ProbeScheduler>(_ s: inout S) {
        for t in roundSmall where !roundLarge.contains(t) { largeStopped[t, default: 0] += 1 }
        if let carried = forwardCarries, carried >= search.smallestFailed {
            // A forward probe of the silent size got there: the echo replies are what is lost.
            returnPathLimit = true
            locateState = .done
            return
        }
        let last = largeReached.keys.max() ?? 0
        // Routers are looked at only with the trace (it found the target's distance).
        let routers = options.traceHops ? destinationTTL : nil
        let nextIsTarget = routers.map { last + 1 >= $0 } ?? true
        if nextIsTarget && isUDP {
            // The search's rounds were the proof: large silent, small control answered, each round.
            if routers != nil, last >= 1, let address = largeReached[last] { blackHoleHop = (last, address) }
            locateState = .done
            return
        }
        let deciding = nextIsTarget ? destinationSlot : last + 1
        if largeStopped[deciding, default: 0] >= requiredProof(copies: nextIsTarget ? 1 : options.locateLargeCopies) {
            if routers != nil, last >= 1, let address = largeReached[last] { blackHoleHop = (last, address) }
            locateState = .done
            return
        }
        if locateRound >= options.locateRounds {
            locateState = .done
            return
        }
        // No answer from the hop that decides: its ICMP budget may be spent. Wait for it to refill
        // before asking again; with an answer in hand, confirm at once.
        if roundSmall.contains(deciding) {
            startLocateRound(&s)
        } else {
            locateState = .waiting
            pausedUntil = s.now + .fromMs(options.rateLimitPauseMs)
            s.wake(at: pausedUntil!)
        }
    }

    // MARK: completion

    private func finishIfComplete<S: ProbeScheduler>(_ s: inout S) {
        guard phase == .measuring, search.isDone, roundOutstanding == 0, traceDone else { return }
        // The reachability probe alone can settle the search (--min = --max), with no round to end.
        if locateState == .notStarted { startLocateIfReady(&s) }
        guard locateState == .done else { return }
        phase = .done
        finish(s.now)
    }

    private func finish(_ now: Nanoseconds) {
        isFinished = true
        finishedAt = now
    }

    // MARK: result

    public var result: PathMTUResult {
        let family = options.destination.family
        var r = PathMTUResult(address: options.destination, family: family)
        if case let .udp(port) = options.kind { r.probeProtocol = .udp; r.port = Int(port) } else { r.probeProtocol = .icmp }
        r.reachable = reachable
        r.error = reachable ? nil : unreachableReason
        r.probesSent = probesSent
        if let a = startedAt, let b = finishedAt { r.durationMs = b.since(a).inMs }
        r.rttMs = rtt.minimum
        r.maxProbed = options.maxSize
        r.packetTooBigs = packetTooBigs
        guard reachable else { return r }
        r.pathMTU = search.isDone ? search.pathMTU : nil
        r.blackHole = search.isDone && search.failureWasSilent && search.smallestFailed <= options.maxSize
        if r.blackHole, !returnPathLimit, let bh = blackHoleHop { r.blackHoleHop = PathMTUResult.HopRef(ttl: bh.ttl, address: bh.address) }

        // Hop table: up to the destination, with the largest size known to reach each hop.
        let lastTTL = destinationTTL ?? hops.keys.max() ?? 0
        var bottlenecks: [(ttl: Int, mtu: Int)] = []
        for ptb in packetTooBigs {
            if let t = hops.first(where: { $0.value.address == ptb.from && !$0.value.isDestination })?.key {
                let valid = ptb.mtu >= options.minSize && ptb.mtu < ptb.probeSize
                bottlenecks.append((t, valid ? ptb.mtu : (r.pathMTU ?? ptb.mtu)))
            }
        }
        if let bh = r.blackHoleHop, let p = r.pathMTU { bottlenecks.append((bh.ttl, p)) }
        if lastTTL > 0 {
            for ttl in 1...lastTTL {
                let h = hops[ttl]
                var mtu = options.maxSize
                for b in bottlenecks where b.ttl < ttl { mtu = min(mtu, b.mtu) }
                if let p = r.pathMTU { mtu = max(mtu, p) }
                if ttl == lastTTL, h?.isDestination == true, let p = r.pathMTU { mtu = p }
                r.hops.append(PathMTUResult.Hop(ttl: ttl, address: h?.address, rttMs: h?.rttMs,
                                                mtu: h?.address == nil ? nil : mtu, note: h?.note))
            }
        }
        return r
    }
}
