/// `pathprobe mtu -P tcp` as a state machine over stream probes (Connection.swift): the path MTU in
/// each direction, to the byte, with ordinary unprivileged TCP connections to a service port.
///
/// - Reference: one connection advertising the smallest size's MSS; the service's flight (a TLS
///   certificate flight, a page, the responder's data) arrives in small segments and gives its size,
///   its timing and the RTT. Connection refused, or no handshake after `retries`: unreachable.
/// - Down (server to us): a connection per size s advertises MSS s - 40 (IPv4) / s - 60 (IPv6), so
///   the server's full segments are packets of exactly s. s passes when the kernel saw a segment of
///   that size arrive (tcpi_rcv_mss reaching the segment's data size). Smaller segments that arrive
///   instead prove their own size, never s: promptly and with the whole flight, the server (or a PTB
///   that reached it) limits it; late, the server shrank them after a timeout (a black hole above).
///   Each round has a control connection at a size known to pass: a size is silent only when the
///   control's flight came and its own did not within the control's delay (servers slow down under
///   parallel handshakes). Sizes whose full segment the flight cannot fill are not tested.
/// - Up (us to server): a connection per size s with MSS s - 40 / s - 60 and DF (`probeMTU`) writes
///   the service's request sized so its first segment is exactly s bytes on the wire; s passes when
///   that segment is acknowledged at that size. A PTB shows as the connection's path MTU falling
///   below s (the kernel then resegments: such an acknowledgement does not count).
/// Both searches run side by side over `SizeSearch` (the ICMP mode's byte-exact bookkeeping): silences
/// count only after `retries` confirmations, so a lost segment is not a limit.
public final class TCPPathMTUMeasurement: Measurement {
    public let options: TCPPathMTUOptions
    public private(set) var isFinished = false
    /// Connections opened so far.
    public private(set) var connections = 0
    public private(set) var startedAt: Nanoseconds? = nil
    public private(set) var finishedAt: Nanoseconds? = nil

    let service: TCPService
    private var rng: SplitMix64
    private var rtt: RTTEstimator
    /// Bytes added behind an upload probe's first segment: a second, small segment, so the server's
    /// acknowledgement comes at once (two segments are acknowledged without delay) and does not ride
    /// on an answer that a download black hole would swallow.
    static let uploadTail = 64
    /// tcpi_rcv_mss starts at min(advmss, 536) before any data: only values above it prove a segment.
    static let initialReceiveMSS = 536
    /// Slack between the reference flight and a probe's (TLS flights differ by a few bytes).
    static let flightSlack = 64
    static let econnrefused: Int32 = 111

    // Reference connection.
    private var referenceAttempts = 0
    private var referenceDone = false
    public private(set) var reachable = false
    public private(set) var unreachableReason: String? = nil
    /// The reference flight: bytes, and delays of its first and last byte after the request left.
    struct Flight {
        var bytes: Int
        var firstDelay: Nanoseconds
        var lastDelay: Nanoseconds
    }
    private var flight: Flight? = nil
    private var timestamps: Bool? = nil
    private var serviceAnswered: Bool? = nil
    private var serviceFailure: String? = nil

    enum Role { case reference, up, down, control }

    /// One connection and what it has shown.
    struct Probe {
        var role: Role
        /// Whole IP packet size under test (the reference: `minSize`; a control: a size known to pass).
        var size: Int
        var round: Int
        var dialogue: ServiceDialogue
        var openedAt: Nanoseconds
        var math: SegmentMath
        var handshaking = true
        /// Data bytes of a full segment of `size`.
        var expected = 0
        var payloadAt: Nanoseconds? = nil
        /// Before the payload: the end of the service's negotiation; after: the probe's own deadline.
        var deadline: Nanoseconds? = nil
        var ackBase: UInt64 = 0
        var ackTarget: UInt64 = .max
        var maxReceiveMSS = 0
        var firstFlightByteAt: Nanoseconds? = nil
        var lastFlightByteAt: Nanoseconds? = nil
        var nextPoll: Nanoseconds? = nil
        var pollInterval: Nanoseconds = 1_000_000
        var finalCheck = false
        /// The server closed before the probe could be judged (the first download round waits for the reference).
        var closedByPeer = false
    }
    private var probes: [ConnectionID: Probe] = [:]
    /// Connections waiting for a slot (`maxHandshakes`): a slot is held from connect until the server
    /// has surely accepted the connection (RDP: its Connection Confirm; others: the handshake).
    private var queued: [(role: Role, size: Int, round: Int)] = []
    private var handshaking = 0
    /// Halved whenever a probe's handshake goes unanswered: a server whose listen backlog overflows
    /// drops SYNs (xrdp listens with a backlog of 2, socat and python's http.server with 5).
    private var maxHandshakes: Int
    /// Time between connects, from 0; doubled (from 2 ms, up to 32 ms) whenever a probe's SYN goes
    /// unanswered: a listener whose accept queue is full drops SYNs (socat listens with a backlog of
    /// 5), however few handshakes are in progress.
    private var connectSpacing: Nanoseconds = 0
    private var lastConnectAt: Nanoseconds = 0

    /// One direction's search.
    struct DirectionState {
        var search: SizeSearch
        var round = 0
        /// Sizes of the current round not judged yet (queued ones included; not the control).
        var outstanding = 0
        var done = false
        var connectionFailures = 0
        /// Down: the round's control got its flight.
        var controlAnswered = false
        /// Down: the longest delay from request to first flight byte among this round's connections
        /// that got full segments (the control, the sizes that passed): how slow the server is now.
        var roundDelay: Nanoseconds = 0
        /// Down: the round's control failed: the round's silences prove nothing.
        var controlFailed = false
        /// Smaller segments arrived late: the server shrank them after a timeout.
        var shrinkSeen = false
        /// Sizes above this could not be sent or elicited (server MSS, local route, flight size).
        var limit: Int? = nil
        var limitReason: String? = nil
        /// The smallest size whose failure the path itself showed (silence, PTB, smaller segments),
        /// not an MSS cap.
        var smallestProvenFailure: Int? = nil
        var note: String? = nil
    }
    private var up: DirectionState? = nil
    private var down: DirectionState? = nil
    /// Largest packet seen to arrive (from any connection's tcpi_rcv_mss) before the down search began.
    private var downEvidence = 0
    public private(set) var packetTooBigs: [TCPPathMTUResult.PacketTooBig] = []

    public init(options: TCPPathMTUOptions) {
        self.options = options
        service = options.resolvedService
        rng = SplitMix64(seed: options.seed)
        rtt = RTTEstimator(floorMs: options.minimumTimeoutMs, ceilingMs: options.timeoutMs)
        maxHandshakes = max(1, options.handshakes ?? (service == .rdp ? 2 : options.parallel + 1))
    }

    private var family: AddressFamily { options.destination.family }
    private var defaultMath: SegmentMath { SegmentMath(family: family, timestamps: timestamps ?? true) }

    // MARK: Measurement

    public func advance<S: ProbeScheduler>(_ s: inout S) {
        guard !isFinished else { return }
        if startedAt == nil {
            startedAt = s.now
            openReference(&s)
            return
        }
        let now = s.now
        openQueued(&s)
        for id in probes.keys.sorted(by: { $0.raw < $1.raw }) {
            guard let p = probes[id], !p.handshaking else { continue }
            if p.payloadAt == nil {
                // Connected, but the service's negotiation (RDP) never got to the payload.
                if let d = p.deadline, now >= d { negotiationTimedOut(id, &s) }
                continue
            }
            switch p.role {
            case .reference:
                if now >= referenceEnd(p) { completeReference(id, &s) }
            case .control:
                if let d = p.deadline, now >= d { controlFailed(id, &s) }
            case .down:
                judgeDown(id, now: now, &s)
            case .up:
                if let d = p.deadline, now >= d, !p.finalCheck {
                    probes[id]?.finalCheck = true
                    s.requestInfo(id)
                } else if let poll = p.nextPoll, now >= poll, !p.finalCheck {
                    probes[id]?.nextPoll = now + p.pollInterval
                    probes[id]?.pollInterval = p.pollInterval * 2
                    s.requestInfo(id)
                }
            }
        }
        if !isFinished { scheduleWake(&s) }
    }

    public func handle<S: ProbeScheduler>(_ result: ProbeResult, _ s: inout S) {}

    public func handle<S: ProbeScheduler>(_ r: ConnectionResult, _ s: inout S) {
        guard !isFinished, probes[r.id] != nil else { return }
        switch r.event {
        case let .connected(info): connected(r.id, info, r.time, &s)
        case let .received(bytes, info): received(r.id, bytes, info, r.time, &s)
        case let .info(info): checked(r.id, info, &s)
        case let .peerClosed(info): peerClosed(r.id, info, r.time, &s)
        case let .failed(errno):
            failed(r.id, reason: errno == Self.econnrefused ? nil : "connection failed: \(ICMPNames.errnoName(errno))", &s)
        case .timedOut:
            if probes[r.id]?.role != .reference {
                maxHandshakes = max(1, min(maxHandshakes, options.parallel) / 2)
                connectSpacing = min(32_000_000, max(2_000_000, 2 * connectSpacing))
            }
            failed(r.id, reason: "no answer to the handshake", &s)
        }
        if !isFinished { scheduleWake(&s) }
    }

    // MARK: timing

    /// No new bytes for this long ends the reference flight.
    private var quietTime: Nanoseconds { .fromMs(max(options.minimumTimeoutMs, 4 * (rtt.smoothed ?? 0))) }
    private var margin: Nanoseconds { .fromMs(rtt.timeoutMs) }

    /// The reference flight ends after a quiet time once it started; the server may take up to the
    /// timeout to start it (a loaded TLS server signs first).
    private func referenceEnd(_ p: Probe) -> Nanoseconds {
        if let last = p.lastFlightByteAt { return last + quietTime }
        return p.payloadAt! + .fromMs(options.timeoutMs)
    }

    /// When a download probe that got nothing may be judged: once the round's control got its flight,
    /// the round's longest first-byte delay (or the reference's) and a quarter again, plus the flight's
    /// own length and an RTT-based margin.
    private func downJudgeTime(_ p: Probe) -> Nanoseconds? {
        guard referenceDone, let written = p.payloadAt, let st = down else { return nil }
        let ceiling = written + .fromMs(options.timeoutMs)
        let f = flight ?? Flight(bytes: 0, firstDelay: 0, lastDelay: 0)
        if st.controlFailed { return min(ceiling, written + 2 * f.lastDelay + margin) }
        guard st.controlAnswered else { return ceiling }
        let delay = max(st.roundDelay, f.firstDelay)
        return min(ceiling, written + delay + delay / 4 + (f.lastDelay - f.firstDelay) + margin)
    }

    private func scheduleWake<S: ProbeScheduler>(_ s: inout S) {
        var next: Nanoseconds? = nil
        func consider(_ t: Nanoseconds?) { if let t { next = min(next ?? t, t) } }
        if !queued.isEmpty, connectSpacing > 0, handshaking < maxHandshakes { consider(lastConnectAt + connectSpacing) }
        for p in probes.values where !p.handshaking {
            if p.payloadAt == nil { consider(p.deadline); continue }
            switch p.role {
            case .reference: consider(referenceEnd(p))
            case .control: consider(p.deadline)
            case .down: consider(downJudgeTime(p))
            case .up: if !p.finalCheck { consider(p.nextPoll); consider(p.deadline) }
            }
        }
        if let next { s.wake(at: max(next, s.now)) }
    }

    // MARK: connections

    /// Queues a connection; it opens as soon as a slot and the spacing allow.
    private func open<S: ProbeScheduler>(_ role: Role, size: Int, round: Int, _ s: inout S) {
        queued.append((role, size, round))
        openQueued(&s)
    }

    private func connect<S: ProbeScheduler>(_ role: Role, size: Int, round: Int, _ s: inout S) {
        lastConnectAt = s.now
        let math = defaultMath
        var length: Int? = nil
        if role == .up {
            // Exact size: the first segment carries a full segment's data, a small second one the rest.
            let payload = math.payload(forPacket: size)
            length = max(payload + Self.uploadTail, ServiceDialogue.minimumPayload(service, host: options.host))
        }
        let request = ConnectionRequest(destination: options.destination, port: options.port,
                                        maxSegment: math.mss(forPacket: size), probeMTU: role == .up,
                                        timeout: handshakeTimeout(role), tag: UInt32(connections))
        let id = s.connect(request)
        connections += 1
        handshaking += 1
        var p = Probe(role: role, size: size, round: round,
                      dialogue: ServiceDialogue(service: service, host: options.host, length: length),
                      openedAt: s.now, math: math)
        p.expected = math.payload(forPacket: size)
        probes[id] = p
    }

    /// The reference waits the whole timeout for its handshake; once the RTT is known a probe does not
    /// wait for a lost SYN's retransmission (1 s): after 100 ms (or 8 RTTs) it gives up and the size
    /// is asked again.
    private func handshakeTimeout(_ role: Role) -> Nanoseconds {
        guard role != .reference, let srtt = rtt.smoothed else { return .fromMs(options.timeoutMs) }
        return .fromMs(min(options.timeoutMs, max(100, 8 * srtt, 2 * rtt.timeoutMs)))
    }

    /// A connection no longer holds a handshake slot: the next queued connection may start.
    private func handshakeEnded<S: ProbeScheduler>(_ id: ConnectionID, _ s: inout S) {
        guard probes[id]?.handshaking == true else { return }
        probes[id]?.handshaking = false
        handshaking -= 1
        openQueued(&s)
    }

    /// Opens queued connections while slots and the spacing allow.
    private func openQueued<S: ProbeScheduler>(_ s: inout S) {
        while let next = queued.first, handshaking < maxHandshakes, !isFinished,
              connectSpacing == 0 || s.now >= lastConnectAt + connectSpacing {
            queued.removeFirst()
            connect(next.role, size: next.size, round: next.round, &s)
        }
    }

    private func close<S: ProbeScheduler>(_ id: ConnectionID, _ s: inout S) {
        guard let p = probes[id] else { return }
        if p.handshaking { handshakeEnded(id, &s) }
        probes[id] = nil
        s.close(id)
    }

    private func openReference<S: ProbeScheduler>(_ s: inout S) {
        referenceAttempts += 1
        open(.reference, size: options.minSize, round: 0, &s)
    }

    private func connected<S: ProbeScheduler>(_ id: ConnectionID, _ info: TCPInfo, _ time: Nanoseconds, _ s: inout S) {
        guard var p = probes[id] else { return }
        if time > p.openedAt { rtt.add(sampleMs: (time - p.openedAt).inMs) }
        p.math = SegmentMath(family: family, timestamps: info.timestamps)
        p.expected = p.math.payload(forPacket: p.size)
        p.ackBase = info.bytesAcked
        // Until the payload leaves (RDP negotiates first): the longest wait for the service.
        p.deadline = time + .fromMs(options.timeoutMs)
        probes[id] = p
        // RDP: xrdp accepts slowly; the slot is held until its Connection Confirm.
        if service != .rdp { handshakeEnded(id, &s) }
        switch p.role {
        case .reference:
            reachable = true
            timestamps = info.timestamps
            startPayload(id, &s)
            // Upload alone starts at once; with both, it waits for the download search (startUp).
            // The first download round overlaps the reference's flight (payloadSent starts it).
            if !options.directions.down { startUp(&s) }
        case .down, .control:
            if p.role == .down, info.advertisedMSS > 0, info.advertisedMSS < p.expected {
                let limit = p.math.packet(forPayload: info.advertisedMSS)
                if info.pathMTU > 0 && info.pathMTU < p.size {
                    // Linux advertises no more than a PMTU it has cached for the destination (an earlier
                    // PTB on the way out, kept ~10 minutes): larger download packets cannot be asked for.
                    setLimit(.down, limit, "the kernel's cached path MTU towards the server (\(info.pathMTU), from an earlier packet-too-big) caps the MSS it advertises: larger download packets cannot be asked for (ip route flush cache)")
                    conclude(id, .down, .tooBig(mtu: limit), capped: true, &s)
                } else {
                    // Our own interface or route towards the target is smaller: part of the path.
                    setLimit(.down, limit, "the local route or interface allows no larger packets")
                    conclude(id, .down, .tooBig(mtu: limit), &s)
                }
                return
            }
            startPayload(id, &s)
        case .up:
            if info.sendMSS > 0 && info.sendMSS < p.expected {
                if info.pathMTU > 0 && info.pathMTU < p.size {
                    // The kernel already knows a smaller path MTU for this destination (an earlier PTB).
                    packetTooBigs.append(.init(mtu: info.pathMTU, probeSize: p.size, cached: true))
                    conclude(id, .up, .tooBig(mtu: info.pathMTU), &s)
                } else {
                    // The server's MSS: its interface, a PMTU it cached towards us, or a clamp on the path.
                    let limit = p.math.packet(forPayload: info.sendMSS)
                    setLimit(.up, limit, "the server's MSS (its interface, a path MTU it learned, or an MSS clamp on the path) allows no larger segments")
                    conclude(id, .up, .tooBig(mtu: limit), capped: true, &s)
                }
                return
            }
            startPayload(id, &s)
        }
    }

    /// Writes what the dialogue sends first; for all but RDP that is the payload itself.
    private func startPayload<S: ProbeScheduler>(_ id: ConnectionID, _ s: inout S) {
        guard var p = probes[id] else { return }
        let bytes = p.dialogue.start(&rng)
        probes[id] = p
        s.write(bytes, to: id)
        if p.dialogue.payloadWritten { payloadSent(id, &s) }
    }

    private func payloadSent<S: ProbeScheduler>(_ id: ConnectionID, _ s: inout S) {
        guard var p = probes[id] else { return }
        let now = s.now
        p.payloadAt = now
        switch p.role {
        case .reference, .down:
            p.deadline = nil
        case .control:
            p.deadline = now + .fromMs(options.timeoutMs)
        case .up:
            p.ackTarget = p.ackBase + UInt64(p.dialogue.writtenBefore + p.expected)
            p.pollInterval = max(1_000_000, Nanoseconds.fromMs(1.25 * (rtt.smoothed ?? 1)))
            p.nextPoll = now + p.pollInterval
            p.deadline = now + margin
        }
        probes[id] = p
        // Once the reference's request is out (RDP: after its negotiation selected TLS), the first
        // download round starts; the reference is its control.
        if p.role == .reference, options.directions.down { startDown(&s) }
    }

    private func received<S: ProbeScheduler>(_ id: ConnectionID, _ bytes: [UInt8], _ info: TCPInfo, _ time: Nanoseconds, _ s: inout S) {
        guard var p = probes[id] else { return }
        observe(p, info)
        let before = p.dialogue.flightBytes
        let step = p.dialogue.received(bytes, &rng)
        if p.dialogue.flightBytes > before {
            if p.firstFlightByteAt == nil { p.firstFlightByteAt = time }
            p.lastFlightByteAt = time
        }
        p.maxReceiveMSS = max(p.maxReceiveMSS, info.receiveMSS)
        probes[id] = p
        switch step {
        case .wait:
            break
        case let .write(payload):
            s.write(payload, to: id)
            payloadSent(id, &s)
            handshakeEnded(id, &s)
        case let .failed(why):
            if p.role == .reference {
                serviceFailure = why
                completeReference(id, &s)
                return
            }
            if !p.dialogue.payloadWritten {
                // The service's negotiation refuses the probe (RDP without TLS): no size can be tried.
                giveUp(id, why, &s)
                return
            }
            if p.role == .down {
                // This connection shows nothing about its size; the next round asks again.
                discard(id, &s)
                return
            }
        }
        guard let q = probes[id] else { return }
        switch q.role {
        case .reference:
            if q.dialogue.recognised != nil { serviceAnswered = q.dialogue.recognised }
            if let first = q.firstFlightByteAt, let written = q.payloadAt, let d = down, d.round == 1, !d.controlAnswered {
                down?.controlAnswered = true
                noteRoundDelay(first - written)
            }
            if service == .pathprobe, q.dialogue.flightBytes >= StreamResponderWire.answerHeader + ServiceDialogue.responderFlight {
                completeReference(id, &s)
            }
        case .control:
            if let first = q.firstFlightByteAt, let written = q.payloadAt {
                let delay = first - written
                down?.controlAnswered = true
                noteRoundDelay(delay)
                close(id, &s)
            }
        case .down:
            if serviceAnswered == nil, let r = q.dialogue.recognised { serviceAnswered = r }
            if q.maxReceiveMSS >= q.expected && q.expected > 0 {
                // A size that passed came at the server's pace: a sample of its delay under this load
                // (smaller segments are no sample: they may be a shrinking server's, late).
                if let first = q.firstFlightByteAt, let written = q.payloadAt, first > written { noteRoundDelay(first - written) }
                conclude(id, .down, .passed, &s)
            }
        case .up:
            checked(id, info, &s)
        }
    }

    /// Any segment that arrived proves its size in the down direction (tcpi_rcv_mss never exceeds
    /// what arrived), whatever the connection was for.
    private func observe(_ p: Probe, _ info: TCPInfo) {
        guard info.receiveMSS > Self.initialReceiveMSS else { return }
        let size = p.math.packet(forPayload: info.receiveMSS)
        if down != nil, !down!.done {
            down!.search.record(size: min(size, down!.search.maxSize), .passed)
        } else {
            downEvidence = max(downEvidence, size)
        }
    }

    /// Upload probes: the latest TCP_INFO decides.
    private func checked<S: ProbeScheduler>(_ id: ConnectionID, _ info: TCPInfo, _ s: inout S) {
        guard let p = probes[id] else { return }
        observe(p, info)
        guard p.role == .up, p.payloadAt != nil else { return }
        if info.pathMTU > 0 && info.pathMTU < p.size {
            packetTooBigs.append(.init(mtu: info.pathMTU, probeSize: p.size, cached: false))
            conclude(id, .up, .tooBig(mtu: info.pathMTU), &s)
        } else if info.sendMSS > 0 && info.sendMSS < p.expected {
            // Our kernel cut its segments without a PTB (tcp_mtu_probing after timeouts): the size was dropped.
            conclude(id, .up, .silent, &s)
        } else if info.bytesAcked >= p.ackTarget {
            conclude(id, .up, .passed, &s)
        } else if p.finalCheck {
            conclude(id, .up, .silent, &s)
        }
    }

    private func peerClosed<S: ProbeScheduler>(_ id: ConnectionID, _ info: TCPInfo, _ time: Nanoseconds, _ s: inout S) {
        guard let p = probes[id] else { return }
        observe(p, info)
        switch p.role {
        case .reference:
            completeReference(id, &s)
        case .control:
            if p.firstFlightByteAt == nil { controlFailed(id, &s) }
        case .down:
            probes[id]?.maxReceiveMSS = max(p.maxReceiveMSS, info.receiveMSS)
            probes[id]?.closedByPeer = true
            judgeDown(id, now: time, force: true, &s)
        case .up:
            probes[id]?.finalCheck = true
            checked(id, info, &s)
        }
    }

    private func failed<S: ProbeScheduler>(_ id: ConnectionID, reason: String?, _ s: inout S) {
        guard let p = probes[id] else { return }
        close(id, &s)
        switch p.role {
        case .reference:
            if let reason, referenceAttempts < max(1, options.retries + 1) {
                unreachableReason = reason
                openReference(&s)
            } else {
                unreachableReason = reason.map { "\($0) (\(referenceAttempts) attempts)" }
                    ?? "connection refused: port \(options.port) is closed"
                finish(s.now, &s)
            }
        case .control:
            down?.controlFailed = true
        case .up, .down:
            connectionFailed(p.role, &s)
        }
    }

    /// A connection that got as far as the handshake but no further in the service's negotiation.
    private func negotiationTimedOut<S: ProbeScheduler>(_ id: ConnectionID, _ s: inout S) {
        guard let p = probes[id] else { return }
        switch p.role {
        case .reference:
            serviceFailure = "no answer to the \(service.rawValue) negotiation within \(Int(options.timeoutMs)) ms"
            completeReference(id, &s)
        case .control: controlFailed(id, &s)
        case .up, .down: discard(id, &s)
        }
    }

    private func controlFailed<S: ProbeScheduler>(_ id: ConnectionID, _ s: inout S) {
        close(id, &s)
        down?.controlFailed = true
    }

    /// The service will not take a probe: the direction ends with that reason.
    private func giveUp<S: ProbeScheduler>(_ id: ConnectionID, _ why: String, _ s: inout S) {
        guard let p = probes[id] else { return }
        close(id, &s)
        if p.role == .control {
            down?.controlFailed = true
            return
        }
        update(p.role) { state in
            state.done = true
            if state.note == nil { state.note = why }
            state.outstanding -= 1
        }
        afterJudgement(p.role, &s)
    }

    /// Closes a probe connection that gave no evidence about its size.
    private func discard<S: ProbeScheduler>(_ id: ConnectionID, _ s: inout S) {
        guard let p = probes[id] else { return }
        close(id, &s)
        connectionFailed(p.role, &s)
    }

    /// No evidence about the size: the next round asks again. A direction whose connections keep
    /// failing (a server that stops accepting, a rate limit) is given up.
    private func connectionFailed<S: ProbeScheduler>(_ role: Role, _ s: inout S) {
        update(role) { state in
            state.connectionFailures += 1
            state.outstanding -= 1
            if state.connectionFailures > 4 * max(1, options.parallel) {
                state.done = true
                state.note = "connections kept failing (\(state.connectionFailures) failures)"
            }
        }
        afterJudgement(role, &s)
    }

    // MARK: reference

    private func completeReference<S: ProbeScheduler>(_ id: ConnectionID, _ s: inout S) {
        guard let p = probes[id], p.role == .reference, !referenceDone else { return }
        referenceDone = true
        if let written = p.payloadAt, let first = p.firstFlightByteAt, let last = p.lastFlightByteAt, p.dialogue.flightBytes > 0 {
            flight = Flight(bytes: p.dialogue.flightBytes, firstDelay: first - written, lastDelay: last - written)
        }
        close(id, &s)
        if let why = serviceFailure, !p.dialogue.payloadWritten, options.directions.up, up == nil {
            // The negotiation never let a payload through: the upload cannot be tried either.
            up = DirectionState(search: SizeSearch(minSize: options.minSize, maxSize: options.maxSize,
                                                   knownGood: options.minSize - 1), done: true, note: why)
        }
        guard options.directions.down else { finishIfDone(&s); return }
        if !reachable { finishIfDone(&s); return }
        // The first round, opened when the reference connected, may already hold passes.
        var state = down ?? DirectionState(search: SizeSearch(minSize: options.minSize, maxSize: options.maxSize,
                                                              knownGood: options.minSize, confirmations: options.retries))
        let passed = state.search.largestPassed
        let evidence = max(downEvidence, passed)
        let math = defaultMath
        // The reference may have ended early (the search was done without it): its flight so far.
        let flightBytes = flight?.bytes ?? 0
        if flightBytes >= math.payload(forPacket: options.minSize + 1) || evidence > options.minSize {
            // The largest size whose full segment the flight fills.
            let testable = max(math.packet(forPayload: flightBytes), evidence)
            if testable < state.search.maxSize {
                state.search = SizeSearch(minSize: options.minSize, maxSize: testable, knownGood: options.minSize,
                                          confirmations: options.retries)
                if passed > options.minSize { state.search.record(size: passed, .passed) }
                state.limit = testable
                state.limitReason = "the server's answer (\(flightBytes) bytes) is too small to test larger packets"
            }
        } else {
            state.done = true
            state.note = serviceFailure ?? flight.map {
                "the server's answer (\($0.bytes) bytes) is too small to test packets above \(options.minSize) bytes"
            } ?? "the server sent nothing after the \(service.rawValue) request: no flight to measure with"
        }
        if downEvidence > 0, !state.done { state.search.record(size: min(downEvidence, state.search.maxSize), .passed) }
        down = state
        // The first round is judged now that the flight is known. Sizes whose full segment the flight
        // cannot fill were no tests at all: withdrawn, not failures.
        let testable = state.done ? 0 : state.search.maxSize
        let unfit = queued.filter { $0.role == .down && $0.size > testable }.count
        queued.removeAll { $0.role == .down && $0.size > testable }
        down?.outstanding -= unfit
        for id in probes.keys.sorted(by: { $0.raw < $1.raw }) {
            guard let q = probes[id], q.role == .down else { continue }
            if q.size > testable { withdraw(id, &s) } else { judgeDown(id, now: s.now, force: q.closedByPeer, &s) }
        }
        afterJudgement(.down, &s)
    }

    /// The download search's first round, as soon as the reference is connected: it overlaps the
    /// reference's flight, and the reference (at the smallest size) is its control. Passes count at
    /// once; everything else is judged when the reference is complete (the flight's size decides
    /// which sizes were tests at all).
    private func startDown<S: ProbeScheduler>(_ s: inout S) {
        guard down == nil else { return }
        down = DirectionState(search: SizeSearch(minSize: options.minSize, maxSize: options.maxSize,
                                                 knownGood: options.minSize, confirmations: options.retries))
        startRound(.down, &s)
    }

    /// Closes a first-round download probe whose size the flight could not test.
    private func withdraw<S: ProbeScheduler>(_ id: ConnectionID, _ s: inout S) {
        close(id, &s)
        down?.outstanding -= 1
    }

    /// Ends the reference early once the download search is done without it (the largest size passed:
    /// the flight's size no longer matters).
    private func referenceNotNeeded<S: ProbeScheduler>(_ s: inout S) {
        guard !referenceDone, down?.search.isDone == true,
              let id = probes.first(where: { $0.value.role == .reference && $0.value.payloadAt != nil })?.key else { return }
        completeReference(id, &s)
    }

    // MARK: rounds

    private func update(_ role: Role, _ change: (inout DirectionState) -> Void) {
        if role == .up, up != nil { change(&up!) }
        if role == .down, down != nil { change(&down!) }
    }

    private func state(_ role: Role) -> DirectionState? { role == .up ? up : role == .down ? down : nil }


    private func startRound<S: ProbeScheduler>(_ role: Role, _ s: inout S) {
        guard let st = state(role), !st.done, st.outstanding == 0 else { return }
        // Down rounds keep one connection for the control, but the first (the reference is its control).
        let first = st.round == 0
        let count = role == .down && !first ? max(1, options.parallel - 1) : max(1, options.parallel)
        // The upload's first round looks at the download's answer first: paths are often symmetric.
        let hint = role == .up ? down.flatMap { $0.search.largestPassed > options.minSize ? $0.search.largestPassed : nil } : nil
        let sizes = Self.roundSizes(st.search, count: count, first: first, hint: hint)
        if sizes.isEmpty {
            update(role) { $0.done = true }
            finishIfDone(&s)
            return
        }
        update(role) { state in
            state.outstanding = sizes.count
            state.round += 1
            state.controlAnswered = false
            state.roundDelay = 0
            state.controlFailed = false
        }
        let round = state(role)!.round
        if role == .down && !first {
            open(.control, size: max(options.minSize, st.search.largestPassed), round: round, &s)
        }
        // Largest first: they take longest to judge.
        for size in sizes.reversed() { open(role, size: size, round: round, &s) }
    }

    /// Path MTUs common enough to try first, each with the byte above it: PPPoE's 1492 and the 1400 of
    /// many VPNs and MSS clamps. A direction whose limit is one of them is then done in two rounds.
    static let favouredSizes = [1492, 1400]

    /// A round's sizes: SizeSearch's spread; in a direction's first round, half of them spent on the
    /// `hint` (the other direction's answer) and the favoured sizes, each with the byte above; spare
    /// connections take a second look at the round's sizes, lowest first (a silence needs
    /// `retries` of them: two in one round settle a size).
    static func roundSizes(_ search: SizeSearch, count: Int, first: Bool, hint: Int?) -> [Int] {
        var sizes: [Int] = []
        func add(_ v: Int) { if v > search.largestPassed, v >= search.minSize, v <= search.maxSize, !sizes.contains(v) { sizes.append(v) } }
        if first {
            for v in (hint.map { [$0] } ?? []) + favouredSizes where sizes.count + 2 <= count / 2 {
                add(v)
                add(v + 1)
            }
        }
        for v in search.nextSizes(count: count - sizes.count) { add(v) }
        if sizes.count < count { for v in search.nextSizes(count: count) where sizes.count < count { add(v) } }
        sizes.sort()
        if search.confirmations > 1 {
            let once = Set(sizes).filter { v in sizes.filter { $0 == v }.count == 1 }
            for v in once.sorted() where sizes.count < count { sizes.append(v) }
        }
        return sizes.sorted()
    }

    /// Records a probe's verdict. `capped`: the size could not be tried at all (an MSS limit), so its
    /// failure bounds the search but proves nothing about the path.
    private func conclude<S: ProbeScheduler>(_ id: ConnectionID, _ role: Role, _ evidence: SizeSearch.Evidence,
                                             capped: Bool = false, _ s: inout S) {
        guard let p = probes[id] else { return }
        close(id, &s)
        update(role) { state in
            state.search.record(size: p.size, evidence)
            if evidence != .passed && !capped { state.smallestProvenFailure = min(state.smallestProvenFailure ?? p.size, p.size) }
            state.outstanding -= 1
        }
        afterJudgement(role, &s)
    }

    /// The upload search: at once when measured alone, after the download search otherwise. Linux
    /// advertises no MSS above a PMTU it has cached, so an upload PTB learned first would keep the
    /// download from being tested above it for ~10 minutes.
    private func startUp<S: ProbeScheduler>(_ s: inout S) {
        guard options.directions.up, up == nil, !isFinished else { return }
        up = DirectionState(search: SizeSearch(minSize: options.minSize, maxSize: options.maxSize,
                                               knownGood: options.minSize - 1, confirmations: options.retries))
        startRound(.up, &s)
    }

    private func afterJudgement<S: ProbeScheduler>(_ role: Role, _ s: inout S) {
        // The first download round waits for the reference (completeReference judges it).
        if role == .down && !referenceDone { referenceNotNeeded(&s); return }
        if let st = state(role), st.search.isDone, st.outstanding > 0 {
            // The answer is known: the round's other connections can show nothing new.
            for id in probes.keys.sorted(by: { $0.raw < $1.raw }) where probes[id]?.role == role { close(id, &s) }
            queued.removeAll { $0.role == role }
            update(role) { $0.outstanding = 0 }
        }
        guard let st = state(role), st.outstanding <= 0 else { return }
        if st.search.isDone || st.done {
            update(role) { $0.done = true }
            // Nothing left to try or to control in this direction.
            queued.removeAll { $0.role == role || ($0.role == .control && role == .down) }
            for (id, p) in probes where p.role == .control && role == .down { close(id, &s) }
            if role == .down { startUp(&s) }
            finishIfDone(&s)
        } else {
            startRound(role, &s)
        }
    }

    private func noteRoundDelay(_ delay: Nanoseconds) {
        if let d = down { down!.roundDelay = max(d.roundDelay, delay) }
    }

    private func setLimit(_ role: Role, _ limit: Int, _ reason: String) {
        update(role) { state in
            if state.limit == nil || limit < state.limit! {
                state.limit = limit
                state.limitReason = reason
            }
        }
    }

    /// A download probe that has not passed: judged once its wait is over (or the server closed).
    private func judgeDown<S: ProbeScheduler>(_ id: ConnectionID, now: Nanoseconds, force: Bool = false, _ s: inout S) {
        guard let p = probes[id], let st = down else { return }
        if p.expected > 0 && p.maxReceiveMSS >= p.expected {
            conclude(id, .down, .passed, &s)
            return
        }
        guard referenceDone else { return }
        if !force {
            guard let at = downJudgeTime(p), now >= at else { return }
        }
        let r = p.maxReceiveMSS > Self.initialReceiveMSS ? p.maxReceiveMSS : 0
        let f = flight ?? Flight(bytes: .max, firstDelay: 0, lastDelay: 0)
        let complete = p.dialogue.flightBytes + Self.flightSlack >= f.bytes
        var prompt = false
        if let first = p.firstFlightByteAt, let written = p.payloadAt {
            let allowed = max(f.firstDelay, st.roundDelay) + .fromMs(2 * (rtt.smoothed ?? 0) + 100)
            prompt = first - written <= allowed
        }
        if r > 0 && complete && prompt {
            // The whole flight came at once in smaller segments: the server (its MSS, or a PTB that
            // reached it) sends no larger. Exact, and no black hole.
            let limit = p.math.packet(forPayload: r)
            setLimit(.down, limit, "the server sent segments of at most \(limit) bytes (a packet-too-big reached it, or it sends no larger)")
            conclude(id, .down, .tooBig(mtu: limit), &s)
        } else if !st.controlAnswered || st.controlFailed, p.dialogue.flightBytes == 0 {
            // The control got nothing either: the server is slow or stopped answering, not this size.
            discard(id, &s)
        } else {
            if r > 0 { update(.down) { $0.shrinkSeen = true } }
            conclude(id, .down, .silent, &s)
        }
    }

    // MARK: completion

    private func finishIfDone<S: ProbeScheduler>(_ s: inout S) {
        guard referenceDone else { return }
        if options.directions.up, !(up?.done ?? false) { return }
        if options.directions.down, !(down?.done ?? false) { return }
        finish(s.now, &s)
    }

    private func finish<S: ProbeScheduler>(_ now: Nanoseconds, _ s: inout S) {
        queued.removeAll()
        for id in probes.keys.sorted(by: { $0.raw < $1.raw }) { close(id, &s) }
        isFinished = true
        finishedAt = now
    }

    // MARK: result

    public var result: TCPPathMTUResult {
        var r = TCPPathMTUResult(address: options.destination, port: Int(options.port))
        r.directions = options.directions
        r.maxProbed = options.maxSize
        r.reachable = reachable
        r.unreachableReason = reachable ? nil : unreachableReason
        r.service = reachable ? service : nil
        r.connections = connections
        r.flightBytes = flight?.bytes
        r.serviceAnswered = serviceAnswered
        r.timestamps = timestamps
        r.rttMs = rtt.minimum
        r.packetTooBigs = packetTooBigs
        if let a = startedAt, let b = finishedAt { r.durationMs = b.since(a).inMs }
        var notes: [String] = []
        if let why = serviceFailure { notes.append(why) }
        if serviceAnswered == false {
            notes.append("the answer on port \(options.port) is not \(service.rawValue); sizes were measured with it all the same")
        }
        if reachable {
            r.up = options.directions.up ? direction(up) : direction(nil)
            r.down = options.directions.down ? direction(down) : direction(nil)
            if down?.shrinkSeen == true {
                notes.append("the server sent smaller segments after a timeout (RFC 4821 probing or black-hole detection): only sizes that arrived count")
            }
        }
        r.notes = notes
        return r
    }

    private func direction(_ st: DirectionState?) -> TCPPathMTUResult.DirectionResult {
        var d = TCPPathMTUResult.DirectionResult()
        guard let st else { d.note = "not measured"; return d }
        let search = st.search
        d.largestPassed = search.largestPassed >= search.minSize ? search.largestPassed : nil
        d.smallestFailed = search.smallestFailed <= search.maxSize ? search.smallestFailed : nil
        d.note = st.note
        guard search.isDone, let mtu = search.pathMTU, st.note == nil else {
            if d.note == nil { d.note = search.isDone ? "even \(search.minSize) bytes did not pass" : "the search could not finish" }
            d.atLeast = d.largestPassed
            return d
        }
        let cappedByFlight = search.maxSize < options.maxSize && search.smallestFailed > search.maxSize
        let cappedByMSS = search.smallestFailed <= search.maxSize
            && (st.smallestProvenFailure.map { $0 > search.smallestFailed } ?? true)
        if (cappedByFlight || cappedByMSS), let why = st.limitReason {
            // Larger sizes could not be tried (a small flight, an MSS): a lower bound, not a measurement.
            d.atLeast = mtu
            d.note = "at least \(mtu): " + why
            return d
        }
        d.pathMTU = mtu
        d.atLeast = mtu
        d.blackHole = search.failureWasSilent && search.smallestFailed <= search.maxSize
        if let limit = st.limit, limit == mtu, let why = st.limitReason { d.note = why }
        return d
    }
}
