@testable import PathProbeCore

/// A path that exists only in memory: routers with per-link MTUs, routers that send packet-too-big
/// (true, zero or lying values) or swallow it (a black hole), random loss, and Linux-style ICMP error
/// rate limiting (a burst of 6, then 1 per second per source). Measurements run against it in
/// virtual time through `SimulatedRunner`, with no sockets.
struct SimulatedPath {
    struct Router {
        var address: IPAddress
        /// MTU of the link this router forwards onto (towards the destination).
        var egressMTU: Int = 1500
        /// What it does with a packet larger than `egressMTU`.
        var tooBig: TooBig = .sendsPTB
        var answersTTL = true
    }

    enum TooBig {
        case sendsPTB          // the true next-hop MTU
        case sendsPTBValue(Int) // a fixed value: 0 (pre-RFC 1191) or a lie
        case blackHole          // drops it, tells nobody
    }

    var source: IPAddress
    var destination: IPAddress
    var firstLinkMTU = 1500
    var routers: [Router]
    var destinationAnswers = true
    /// Probability that a packet is lost, per direction.
    var loss = 0.0
    /// One-way delay per link, ms.
    var linkDelayMs = 0.1
    /// Linux-like limit on ICMP errors per sender (time exceeded, unreachable); 0 = unlimited.
    var errorBurst = 6
    var errorIntervalMs = 1000.0
    /// A one-way bottleneck on the way back (target -> us) whose router tells nobody: the target's
    /// answers larger than this are lost. ICMP errors are small and pass; echo replies are as large
    /// as the request: IPv4 sends them without DF (the router fragments them: they pass), IPv6
    /// routers never fragment (they are lost).
    var returnMTU: Int? = nil
    /// Whether the target answers UDP to a closed port (port unreachable); Windows' firewall does not.
    var destinationAnswersUDP = true

    /// The address the target's port unreachable comes from when not the target's own (Linux, for
    /// an address on a `local` route: the source of its route back).
    var portUnreachableSource: IPAddress? = nil
    var family: AddressFamily { destination.family }

    static func lab(_ family: AddressFamily = .ipv4, mtus: [Int] = [1500, 1500, 1500]) -> SimulatedPath {
        let v4 = family == .ipv4
        let addr: (Int, Int) -> IPAddress = { link, host in
            v4 ? IPAddress("10.0.\(link).\(host)")! : IPAddress("fd00:\(link)::\(host)")!
        }
        return SimulatedPath(
            source: addr(1, 1), destination: addr(3, 2), firstLinkMTU: mtus[0],
            routers: [Router(address: addr(1, 2), egressMTU: mtus[1]), Router(address: addr(2, 2), egressMTU: mtus[2])])
    }
}

/// Runs one measurement against a `SimulatedPath` in virtual time.
struct SimulatedRunner: ProbeScheduler {
    var path: SimulatedPath
    var now: Nanoseconds = 0
    private var events: [(time: Nanoseconds, seq: Int, event: Event)] = []
    private var seq = 0
    private var rng: SplitMix64
    private var errorTokens: [IPAddress: (tokens: Double, last: Nanoseconds)] = [:]
    private(set) var probesSent = 0
    /// Another tool keeps spending the routers' ICMP budgets: every this many ms (nil: never).
    var drainEveryMs: Double? = nil
    private var lastDrain: Nanoseconds = 0

    enum Event {
        case result(ProbeResult)
        case wake
    }

    init(path: SimulatedPath, seed: UInt64 = 1) {
        self.path = path
        rng = SplitMix64(seed: seed)
    }

    mutating func send(_ p: ProbeRequest) {
        probesSent += 1
        let (outcome, hopsTravelled, ttl) = fate(p)
        let delay = outcome == .timeout ? p.timeout : Nanoseconds.fromMs(Double(2 * hopsTravelled) * path.linkDelayMs)
        let result = ProbeResult(tag: p.tag, request: p, outcome: outcome, rtt: outcome == .timeout ? 0 : delay, answerTTL: ttl)
        schedule(now + delay, .result(result))
    }

    mutating func wake(at time: Nanoseconds) { schedule(max(time, now), .wake) }

    /// Another tool (tracepath, a burst of TTL-limited pings) has just spent every router's ICMP
    /// error budget for our address.
    mutating func drainRouterBudgets() {
        for r in path.routers { errorTokens[r.address] = (0, now) }
    }

    private mutating func schedule(_ t: Nanoseconds, _ e: Event) {
        seq += 1
        events.append((t, seq, e))
    }

    /// Drives `m` until it finishes or `limit` of virtual time passes. Returns the virtual time used.
    @discardableResult
    mutating func run(_ m: some Measurement, limitMs: Double = 600_000) -> Double {
        m.advance(&self)
        while !m.isFinished {
            guard let i = events.indices.min(by: { (events[$0].time, events[$0].seq) < (events[$1].time, events[$1].seq) }) else { break }
            let e = events.remove(at: i)
            now = max(now, e.time)
            if now.inMs > limitMs { break }
            if let every = drainEveryMs, (now - lastDrain).inMs >= every {
                drainRouterBudgets()
                lastDrain = now
            }
            switch e.event {
            case let .result(r): m.handle(r, &self)
            case .wake: m.advance(&self)
            }
        }
        return now.inMs
    }

    private mutating func lost() -> Bool { path.loss > 0 && rng.nextDouble() < path.loss }

    /// Linux's per-destination ICMP error budget at `node` (frag-needed / PTB are exempt).
    private mutating func errorAllowed(from node: IPAddress) -> Bool {
        guard path.errorBurst > 0 else { return true }
        let cap = Double(path.errorBurst) * path.errorIntervalMs
        var state = errorTokens[node] ?? (cap, now)
        state.tokens = min(cap, state.tokens + (now - state.last).inMs)
        state.last = now
        defer { errorTokens[node] = state }
        if state.tokens >= path.errorIntervalMs {
            state.tokens -= path.errorIntervalMs
            return true
        }
        return false
    }

    /// What happens to one probe: the outcome, how many links the answer travelled, and the answer's TTL.
    private mutating func fate(_ p: ProbeRequest) -> (ProbeOutcome, Int, Int) {
        if p.size > path.firstLinkMTU { return (.localError(errno: 90, mtu: path.firstLinkMTU), 0, -1) }
        let ttl = p.ttl == 0 ? 64 : p.ttl
        for (i, router) in path.routers.enumerated() {
            let hop = i + 1
            if lost() { return (.timeout, 0, -1) }
            if ttl == hop {
                guard router.answersTTL, errorAllowed(from: router.address), !lost() else { return (.timeout, 0, -1) }
                return (.timeExceeded(from: router.address), hop, 64 - hop + 1)
            }
            if p.size > router.egressMTU {
                switch router.tooBig {
                case .blackHole: return (.timeout, 0, -1)
                case .sendsPTB: return lost() ? (.timeout, 0, -1) : (.packetTooBig(mtu: router.egressMTU, from: router.address), hop, 64 - hop + 1)
                case let .sendsPTBValue(v): return lost() ? (.timeout, 0, -1) : (.packetTooBig(mtu: v, from: router.address), hop, 64 - hop + 1)
                }
            }
        }
        let hops = path.routers.count + 1
        if lost() || !path.destinationAnswers { return (.timeout, 0, -1) }
        let replyTTL = 64 - hops + 1
        switch p.kind {
        case .icmpEcho:
            if let back = path.returnMTU, p.size > back, path.family == .ipv6 { return (.timeout, 0, -1) }
            return lost() ? (.timeout, 0, -1) : (.echoReply(from: path.destination, ttl: replyTTL), hops, replyTTL)
        case .udp:
            guard path.destinationAnswersUDP, errorAllowed(from: path.destination), !lost() else { return (.timeout, 0, -1) }
            let (t, c): (UInt8, UInt8) = path.family == .ipv4 ? (3, 3) : (1, 4)
            return (.unreachable(type: t, code: c, from: path.portUnreachableSource ?? path.destination), hops, replyTTL)
        case .tcpSyn:
            return (.timeout, 0, -1)
        }
    }
}
