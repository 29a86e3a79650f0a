/// `pathprobe reach` as a state machine: every TCP port and every UDP port of one host probed at
/// once, retried while silent, each ending in one state.
///
/// TCP: one SYN per port right away (the first pass, at the engine's --rate), a second pass for
/// ports still silent after `timeout / attempts`, and a verdict for each port within about one
/// `timeout` however many ports there are. Answers can be lost on our own side (a first pass of
/// 65535 SYNs at --rate 0 overruns the socket's queue): when a retry pass is answered where the
/// pass before was silent, the silent ports get another pass at a quarter of the pace, up to
/// `tcpExtraAttempts` more; a port still silent while passes were still recovering answers is
/// `filtered` and `uncertain`.
///
/// UDP: closed ports answer with ICMP port unreachable, and Linux sends those at ~1 per second per
/// source after a burst of 6 (IPv6: faster on shorter prefixes). The measurement keeps an estimate
/// of the target's ICMP budget (`ICMPBudget`): the first pass goes out at once; silent ports are
/// retried only when the budget covers them, so a rate-limited port unreachable cannot pass for
/// silence. The estimate starts full (Linux's burst) and every ICMP error from the target spends a
/// token. The first doubt (a silence from a host that does send ICMP errors: the budget may have
/// been spent by someone else, another scan) calibrates it: taken as empty, it refills from there
/// and paces every later retry. A silence is trusted when its probe went out under budget, and
/// after calibration if the host sends ICMP errors at all; an untrusted silence earns up to
/// `extraAttempts` more tries, and a port still without a trusted silence is `uncertain`.
public struct ReachOptions: Sendable {
    public var destination: IPAddress
    public var tcpPorts: [UInt16]
    public var udpPorts: [UInt16]
    /// Longest wait for one port's answer, ms (--timeout).
    public var timeoutMs: Double = 1000
    /// SYNs per silent TCP port, spread over `timeoutMs`.
    public var tcpAttempts = 2
    /// Retry passes that keep recovering answers earn up to this many more, each slower.
    public var tcpExtraAttempts = 3
    /// Pace of the first retry pass, SYNs per second (each further pass a quarter of it).
    public var tcpRetryRate: Double = 20_000
    /// Probes per silent UDP port; each retry waits 1.5 times longer (backoff, at most 3 timeouts).
    public var udpAttempts = 2
    /// More tries for a UDP port whose silence cannot be trusted (the ICMP budget may have been spent).
    public var extraAttempts = 3
    /// The target's ICMP error budget: `icmpBurst` at once, then one per `icmpIntervalMs`.
    public var icmpBurst = 6
    public var icmpIntervalMs: Double
    /// The responder's port: UDP probes to it speak pathprobe's protocol.
    public var responderPort: UInt16 = ResponderWire.defaultPort
    /// Seed for the identifiers inside service payloads.
    public var seed: UInt64 = 0x5eed

    public init(destination: IPAddress, tcpPorts: [UInt16], udpPorts: [UInt16]) {
        self.destination = destination
        self.tcpPorts = tcpPorts
        self.udpPorts = udpPorts
        icmpIntervalMs = destination.family == .ipv4 ? 1000 : 250
    }
}

/// An estimate of how many ICMP errors the target may still send us right now: Linux's per-peer
/// token bucket (`icmp_ratelimit`), charged by every error that arrives from it.
public struct ICMPBudget: Sendable {
    public let burst: Double
    public let intervalMs: Double
    public private(set) var tokens: Double
    private var last: Nanoseconds

    public init(burst: Int, intervalMs: Double, now: Nanoseconds = 0) {
        self.burst = Double(max(1, burst))
        self.intervalMs = max(1, intervalMs)
        tokens = self.burst
        last = now
    }

    public mutating func refill(_ now: Nanoseconds) {
        guard now > last else { return }
        tokens = min(burst, tokens + (now - last).inMs / intervalMs)
        last = now
    }

    /// An ICMP error from the target arrived.
    public mutating func charge(_ now: Nanoseconds) {
        refill(now)
        tokens -= 1
    }

    /// A probe the budget covered went unanswered by a host that sends ICMP errors: the budget may
    /// be spent (by other traffic); assume it is empty now.
    public mutating func assumeSpent(_ now: Nanoseconds) {
        refill(now)
        tokens = min(tokens, 0)
    }

    /// Could one more error come back, with `inFlight` probes already possibly drawing on it?
    public func covers(inFlight: Int) -> Bool { tokens - Double(inFlight) >= 1 - 1e-9 }

    /// When the budget will cover one more probe (now if it already does); never sooner than 1 ms
    /// from now when it does not, so rounding cannot make a busy loop.
    public func nextCoverage(inFlight: Int, now: Nanoseconds) -> Nanoseconds {
        if covers(inFlight: inFlight) { return now }
        let missing = Double(inFlight) + 1 - tokens
        return now + .fromMs(max(1, missing * intervalMs))
    }
}

public final class ReachMeasurement: Measurement {
    public let options: ReachOptions
    public private(set) var isFinished = false
    public private(set) var probesSent = 0
    public private(set) var startedAt: Nanoseconds? = nil
    public private(set) var finishedAt: Nanoseconds? = nil

    // Tags: purpose in the top 4 bits, attempt in the next 8, port index in the low 20.
    enum Purpose: UInt32 { case tcp = 1, udp }
    static func tag(_ p: Purpose, attempt: Int, index: Int) -> UInt32 {
        p.rawValue << 28 | (UInt32(attempt) & 0xff) << 20 | UInt32(index) & 0xfffff
    }

    private struct TCPPort {
        var result: TCPPortResult
        var decided = false
        var outstanding = 0
    }

    private struct UDPPort {
        var result: UDPPortResult
        var payload: [UInt8]
        var decided = false
        var outstanding = false
        /// Whether the last try went out under budget, and whether the estimate was calibrated then.
        var lastCovered = false
        var lastCalibrated = false
        var silentBefore = false
    }

    private var tcp: [TCPPort]
    private var udp: [UDPPort]
    private var tcpUndecided: Int
    private var udpUndecided: Int
    private var budget: ICMPBudget
    private var udpInFlight = 0
    /// UDP ports waiting for a retry, in order.
    private var udpQueue: [Int] = []
    private var tcpNextRetry: Nanoseconds? = nil
    /// The TCP pass under way (1: the first SYN of every port), its ports still to send, its pace.
    private var tcpPass = 0
    private var tcpQueue: [Int] = []
    private var tcpQueued = 0
    private var tcpPassStart: Nanoseconds = 0
    private var tcpPassRate: Double = 0
    private var tcpPaceWake: Nanoseconds? = nil
    private var tcpInFlight = 0
    /// Per attempt: ports whose first answer came from that attempt (the ones before were lost).
    private var tcpRecovered: [Int: Int] = [:]
    private var udpWakeAt: Nanoseconds? = nil
    public private(set) var icmpRateLimited = false
    /// The target (or its firewall) has answered some probe with an ICMP error.
    private var icmpSeen = false
    /// The budget estimate was taken as empty at the first doubt and paces retries from there.
    private var calibrated = false
    private var silenceSeen = false

    public init(options: ReachOptions) {
        self.options = options
        tcp = options.tcpPorts.map { TCPPort(result: TCPPortResult(port: $0, state: .filtered, attempts: 0)) }
        udp = options.udpPorts.enumerated().map { i, port in
            let service = UDPService.forPort(port, responderPort: options.responderPort)
            return UDPPort(result: UDPPortResult(port: port, state: .openFiltered, service: service, attempts: 0),
                           payload: service.payload(seed: options.seed &+ UInt64(i)))
        }
        tcpUndecided = tcp.count
        udpUndecided = udp.count
        budget = ICMPBudget(burst: options.icmpBurst, intervalMs: options.icmpIntervalMs)
    }

    private var timeout: Nanoseconds { .fromMs(options.timeoutMs) }
    private var tcpSpacing: Nanoseconds { .fromMs(options.timeoutMs / Double(max(1, options.tcpAttempts))) }

    // MARK: Measurement

    public func advance<S: ProbeScheduler>(_ s: inout S) {
        if startedAt == nil {
            startedAt = s.now
            budget = ICMPBudget(burst: options.icmpBurst, intervalMs: options.icmpIntervalMs, now: s.now)
            tcpPass = 1
            tcpPassRate = options.tcpRetryRate
            for i in tcp.indices { sendTCP(i, &s) }
            if !tcp.isEmpty && options.tcpAttempts > 1 { scheduleTCPRetry(s.now + tcpSpacing, &s) }
            // The first UDP pass goes out at once: open ports and the first closed ones answer fast.
            for i in udp.indices { sendUDP(i, &s) }
            finishIfDone(&s)
            return
        }
        if let t = tcpNextRetry, s.now >= t {
            tcpNextRetry = nil
            startTCPPass(&s)
        }
        pumpTCP(&s)
        evaluateTCPPass(&s)
        pumpUDP(&s)
        finishIfDone(&s)
    }

    public func handle<S: ProbeScheduler>(_ r: ProbeResult, _ s: inout S) {
        guard !isFinished, let purpose = Purpose(rawValue: r.tag >> 28) else { return }
        let index = Int(r.tag & 0xfffff)
        if case let .unreachable(_, _, from) = r.outcome, from == options.destination {
            budget.charge(s.now)
            icmpSeen = true
            // The host sends ICMP errors: earlier silences may have been suppressed ones.
            if silenceSeen { calibrate(s.now) }
        }
        switch purpose {
        case .tcp where index < tcp.count: handleTCP(index, r, &s)
        case .udp where index < udp.count: handleUDP(index, r, &s)
        default: break
        }
        pumpUDP(&s)
        finishIfDone(&s)
    }

    // MARK: TCP

    private func sendTCP<S: ProbeScheduler>(_ i: Int, _ s: inout S) {
        tcp[i].result.attempts += 1
        tcp[i].outstanding += 1
        tcpInFlight += 1
        probesSent += 1
        // Every try may still be answered until the port's overall deadline.
        let elapsed = Nanoseconds(tcp[i].result.attempts - 1) * tcpSpacing
        let wait = timeout > elapsed ? timeout - elapsed : tcpSpacing
        s.send(ProbeRequest(destination: options.destination, kind: .tcpSyn(port: tcp[i].result.port), size: 0,
                            timeout: max(wait, tcpSpacing), tag: Self.tag(.tcp, attempt: tcp[i].result.attempts, index: i)))
    }

    private func scheduleTCPRetry<S: ProbeScheduler>(_ at: Nanoseconds, _ s: inout S) {
        tcpNextRetry = at
        s.wake(at: at)
    }

    /// The next pass over the ports still silent, sent at `tcpPassRate` by `pumpTCP`.
    private func startTCPPass<S: ProbeScheduler>(_ s: inout S) {
        tcpPass += 1
        tcpQueue = tcp.indices.filter { !tcp[$0].decided }
        tcpQueued = 0
        tcpPassStart = s.now
        pumpTCP(&s)
    }

    /// Sends what the pass's pace allows by now; wakes up for the rest.
    private func pumpTCP<S: ProbeScheduler>(_ s: inout S) {
        guard tcpQueued < tcpQueue.count else { return }
        let elapsed = Double(s.now.since(tcpPassStart)) / 1e9
        // The first retry pass sends a twentieth of a second's worth at once (a small one is not
        // slowed down at all); passes after losses send none ahead of their pace.
        let burst = tcpPass == 2 ? max(1, Int(tcpPassRate / 20)) : 1
        let due = min(tcpQueue.count, Int(elapsed * tcpPassRate) + burst)
        while tcpQueued < due {
            let i = tcpQueue[tcpQueued]
            tcpQueued += 1
            if !tcp[i].decided { sendTCP(i, &s) }
        }
        if tcpQueued < tcpQueue.count {
            let next = tcpPassStart.adding(.fromSeconds(Double(tcpQueued - burst + 1) / tcpPassRate))
            let at = max(next, s.now + 1_000_000)
            if tcpPaceWake == nil || tcpPaceWake! <= s.now || at < tcpPaceWake! {
                tcpPaceWake = at
                s.wake(at: at)
            }
        }
    }

    /// When a pass is over (all sent, nothing in flight): another one, or the verdict for the
    /// ports still silent.
    private func evaluateTCPPass<S: ProbeScheduler>(_ s: inout S) {
        guard tcpPass > 0, tcpUndecided > 0, tcpNextRetry == nil, tcpQueued >= tcpQueue.count, tcpInFlight == 0 else { return }
        let recovered = tcpRecovered[tcpPass, default: 0]
        if tcpPass < options.tcpAttempts {
            startTCPPass(&s)
        } else if recovered > 0 && tcpPass < options.tcpAttempts + options.tcpExtraAttempts {
            tcpPassRate = max(1, tcpPassRate / 4)
            startTCPPass(&s)
        } else {
            for i in tcp.indices where !tcp[i].decided {
                tcp[i].result.state = .filtered
                tcp[i].result.uncertain = recovered > 0
                tcp[i].decided = true
                tcpUndecided -= 1
            }
        }
    }

    private func handleTCP<S: ProbeScheduler>(_ i: Int, _ r: ProbeResult, _ s: inout S) {
        tcp[i].outstanding -= 1
        tcpInFlight -= 1
        defer { evaluateTCPPass(&s) }
        guard !tcp[i].decided else { return }
        var p = tcp[i].result
        switch r.outcome {
        case let .tcpReply(_, synAck, mss):
            p.state = synAck ? .open : .closed
            p.rttMs = r.rtt.inMs
            if synAck {
                p.mss = mss
                p.mssSource = .synAck
            }
        case let .unreachable(type, code, from):
            p.state = .filtered
            p.icmp = ICMPReport(type: type, code: code, from: from)
            p.rttMs = r.rtt.inMs
        case let .timeExceeded(from):
            p.state = .filtered
            p.icmp = ICMPReport(type: options.destination.family == .ipv4 ? 11 : 3, code: 0, from: from)
        case let .localError(errno, _):
            p.state = .filtered
            p.error = "send failed: \(ICMPNames.errnoName(errno))"
        case .timeout, .echoReply, .udpReply, .packetTooBig:
            // Silent: decided when its pass is over (`evaluateTCPPass`).
            return
        }
        let attempt = Int(r.tag >> 20 & 0xff)
        if attempt > 1 { tcpRecovered[attempt, default: 0] += 1 }
        tcp[i].result = p
        tcp[i].decided = true
        tcpUndecided -= 1
    }

    // MARK: UDP

    private func sendUDP<S: ProbeScheduler>(_ i: Int, _ s: inout S) {
        budget.refill(s.now)
        udp[i].lastCovered = budget.covers(inFlight: udpInFlight)
        udp[i].lastCalibrated = calibrated
        udp[i].result.attempts += 1
        udp[i].outstanding = true
        udpInFlight += 1
        probesSent += 1
        // Backoff: each retry waits 1.5 times longer, up to 3 times the timeout.
        var wait = options.timeoutMs
        for _ in 1..<max(1, udp[i].result.attempts) { wait = min(wait * 1.5, 3 * options.timeoutMs) }
        let payload = udp[i].payload
        s.send(ProbeRequest(destination: options.destination, kind: .udp(port: udp[i].result.port),
                            size: payload.count + options.destination.family.ipHeaderSize + 8,
                            timeout: .fromMs(wait), tag: Self.tag(.udp, attempt: udp[i].result.attempts, index: i),
                            payload: payload))
    }

    private func calibrate(_ now: Nanoseconds) {
        guard !calibrated else { return }
        calibrated = true
        budget.assumeSpent(now)
    }

    /// Sends queued UDP retries while the target's ICMP budget covers them; otherwise wakes up when it will.
    private func pumpUDP<S: ProbeScheduler>(_ s: inout S) {
        budget.refill(s.now)
        while let i = udpQueue.first, budget.covers(inFlight: udpInFlight) {
            udpQueue.removeFirst()
            if !udp[i].decided { sendUDP(i, &s) }
        }
        if let w = udpWakeAt, w <= s.now { udpWakeAt = nil }
        guard !udpQueue.isEmpty else { return }
        let at = budget.nextCoverage(inFlight: udpInFlight, now: s.now)
        // One pending wake-up is enough; an answer arriving before it pumps the queue anyway.
        if udpWakeAt == nil || at < udpWakeAt! {
            udpWakeAt = at
            s.wake(at: at)
        }
    }

    private func handleUDP<S: ProbeScheduler>(_ i: Int, _ r: ProbeResult, _ s: inout S) {
        if udp[i].outstanding {
            udp[i].outstanding = false
            udpInFlight -= 1
        }
        guard !udp[i].decided else { return }
        var p = udp[i].result
        let family = options.destination.family
        switch r.outcome {
        case let .udpReply(_, payload):
            p.state = .open
            p.recognized = p.service.recognizes(answer: payload, to: udp[i].payload)
            p.rttMs = r.rtt.inMs
        case let .unreachable(type, code, from):
            p.state = ICMPNames.isPortUnreachable(family: family, type: type, code: code) ? .closed : .filtered
            p.icmp = ICMPReport(type: type, code: code, from: from)
            p.rttMs = r.rtt.inMs
            if udp[i].silentBefore && from == options.destination { icmpRateLimited = true }
        case let .timeExceeded(from):
            p.state = .filtered
            p.icmp = ICMPReport(type: family == .ipv4 ? 11 : 3, code: 0, from: from)
        case let .localError(errno, _):
            p.state = .filtered
            p.error = "send failed: \(ICMPNames.errnoName(errno))"
        case .timeout, .echoReply, .tcpReply, .packetTooBig:
            udp[i].silentBefore = true
            silenceSeen = true
            if icmpSeen { calibrate(s.now) }
            let trusted = udp[i].lastCovered && (udp[i].lastCalibrated || !icmpSeen)
            if p.attempts < options.udpAttempts || (!trusted && p.attempts < options.udpAttempts + options.extraAttempts) {
                udpQueue.append(i)
                return
            }
            p.state = .openFiltered
            p.uncertain = !trusted
        }
        udp[i].result = p
        udp[i].decided = true
        udpUndecided -= 1
    }

    // MARK: completion

    private func finishIfDone<S: ProbeScheduler>(_ s: inout S) {
        guard !isFinished, tcpUndecided == 0, udpUndecided == 0 else { return }
        isFinished = true
        finishedAt = s.now
    }

    public var result: ReachResult {
        var r = ReachResult(address: options.destination, family: options.destination.family)
        r.tcp = tcp.map(\.result)
        r.udp = udp.map(\.result)
        r.icmpRateLimited = icmpRateLimited
        r.probesSent = probesSent
        if let a = startedAt, let b = finishedAt { r.durationMs = b.since(a).inMs }
        return r
    }
}
