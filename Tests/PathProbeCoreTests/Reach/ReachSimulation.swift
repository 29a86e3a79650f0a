@testable import PathProbeCore

/// One far-end host in memory, for `ReachMeasurement` and `ResponderMeasurement`: per-port TCP and
/// UDP behaviour, Linux's ICMP error rate limit (a burst of 6, then one per interval), and optionally
/// a `pathprobe serve` responder behind given up/down path MTUs (black holes: too-large DF packets
/// vanish) that answers through the real `ResponderWire.decide`.
struct SimulatedHost {
    enum TCP { case open(mss: Int), closed, dropped, rejected(type: UInt8, code: UInt8) }
    enum UDP { case answers([UInt8]), echoes, closed, dropped, rejected(type: UInt8, code: UInt8) }

    struct ResponderPath {
        var port: UInt16 = ResponderWire.defaultPort
        var upMTU = 1500
        var downMTU = 1500
        var fragmentsPass = true
        var seenAddress: IPAddress
        var seenPort: UInt16 = 61000
    }

    var address: IPAddress
    var tcp: [UInt16: TCP] = [:]
    var udp: [UInt16: UDP] = [:]
    var rttMs = 1.0
    var icmpBurst = 6
    var icmpIntervalMs = 1000.0
    /// Tokens in the target's ICMP bucket at the start (nil: full); 0 = just spent by another scan.
    var icmpInitialTokens: Int? = nil
    var responder: ResponderPath? = nil
    /// Answers our side can take in per millisecond (nil: all): more arriving in the same ms are
    /// lost before the measurement sees them, as a socket queue overruns at --rate 0.
    var answersPerMs: Int? = nil
    /// Bytes of UDP payload the responder received and sent.
    var responderBytesIn = 0
    var responderBytesOut = 0

    init(_ address: IPAddress) { self.address = address }
    var family: AddressFamily { address.family }
}

struct HostRunner: ProbeScheduler {
    var host: SimulatedHost
    var now: Nanoseconds = 0
    private var events: [(time: Nanoseconds, seq: Int, result: ProbeResult?)] = []
    private var head = 0
    private var seq = 0
    private var arrivals: [Int: Int] = [:]
    private var icmpTokens: Double
    private var icmpLast: Nanoseconds = 0
    private(set) var probesSent = 0

    init(host: SimulatedHost) {
        self.host = host
        icmpTokens = Double(host.icmpInitialTokens ?? host.icmpBurst) * host.icmpIntervalMs
    }

    mutating func send(_ p: ProbeRequest) {
        probesSent += 1
        var outcome = fate(p)
        if let cap = host.answersPerMs, outcome != .timeout {
            let ms = Int((now + .fromMs(host.rttMs)).inMs)
            arrivals[ms, default: 0] += 1
            if arrivals[ms]! > cap { outcome = .timeout }
        }
        let delay = outcome == .timeout ? p.timeout : .fromMs(host.rttMs)
        schedule(now + delay, ProbeResult(tag: p.tag, request: p, outcome: outcome, rtt: outcome == .timeout ? 0 : delay))
    }

    mutating func wake(at time: Nanoseconds) { schedule(max(time, now), nil) }

    /// Keeps `events[head...]` ordered by time, then by the order they were scheduled.
    private mutating func schedule(_ t: Nanoseconds, _ r: ProbeResult?) {
        seq += 1
        var lo = head, hi = events.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if (events[mid].time, events[mid].seq) > (t, seq) { hi = mid } else { lo = mid + 1 }
        }
        events.insert((t, seq, r), at: lo)
    }

    /// Runs `m` to completion (or `limitMs` of virtual time); returns the virtual time used, ms.
    @discardableResult
    mutating func run(_ m: some Measurement, limitMs: Double = 600_000) -> Double {
        m.advance(&self)
        while !m.isFinished, head < events.count, events[head].time.inMs <= limitMs {
            let next = events[head]
            head += 1
            if head > 4096 && head * 2 > events.count {
                events.removeFirst(head)
                head = 0
            }
            now = max(now, next.time)
            if let r = next.result { m.handle(r, &self) } else { m.advance(&self) }
        }
        return now.inMs
    }

    private mutating func icmpAllowed() -> Bool {
        let cap = Double(host.icmpBurst) * host.icmpIntervalMs
        icmpTokens = min(cap, icmpTokens + (now - icmpLast).inMs)
        icmpLast = now
        guard icmpTokens >= host.icmpIntervalMs else { return false }
        icmpTokens -= host.icmpIntervalMs
        return true
    }

    private var portUnreachable: (UInt8, UInt8) { host.family == .ipv4 ? (3, 3) : (1, 4) }

    private mutating func fate(_ p: ProbeRequest) -> ProbeOutcome {
        switch p.kind {
        case .icmpEcho:
            return .echoReply(from: host.address, ttl: 64)
        case let .tcpSyn(port):
            switch host.tcp[port] ?? .closed {
            case let .open(mss): return .tcpReply(from: host.address, synAck: true, mss: mss)
            case .closed: return .tcpReply(from: host.address, synAck: false, mss: nil)
            case .dropped: return .timeout
            case let .rejected(type, code):
                return icmpAllowed() ? .unreachable(type: type, code: code, from: host.address) : .timeout
            }
        case let .udp(port):
            if let r = host.responder, r.port == port { return responderFate(p, r) }
            switch host.udp[port] ?? .closed {
            case let .answers(bytes): return .udpReply(from: host.address, payload: bytes)
            case .echoes: return .udpReply(from: host.address, payload: p.payload ?? [])
            case .dropped: return .timeout
            case .closed:
                let (t, c) = portUnreachable
                return icmpAllowed() ? .unreachable(type: t, code: c, from: host.address) : .timeout
            case let .rejected(type, code):
                return icmpAllowed() ? .unreachable(type: type, code: code, from: host.address) : .timeout
            }
        }
    }

    private mutating func responderFate(_ p: ProbeRequest, _ r: SimulatedHost.ResponderPath) -> ProbeOutcome {
        let payload = p.payload ?? []
        let size = payload.count + host.family.ipHeaderSize + 8
        if size > r.upMTU && (!p.fragmentable || !r.fragmentsPass) { return .timeout }
        host.responderBytesIn += payload.count
        guard let d = ResponderWire.decide(payload, from: r.seenAddress, port: r.seenPort, interfaceMTU: 1500) else { return .timeout }
        let reply = d.reply.encode(length: d.payloadLength, ipSize: d.ipSize)
        host.responderBytesOut += reply.count
        if d.ipSize > r.downMTU && (d.dontFragment || !r.fragmentsPass) { return .timeout }
        return .udpReply(from: host.address, payload: Array(reply.prefix(512)))
    }
}
