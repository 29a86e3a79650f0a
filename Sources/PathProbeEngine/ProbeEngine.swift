import CPathProbe
import PathProbeCore

#if canImport(Glibc)
import Glibc
#endif

public struct EngineOptions: Sendable {
    /// Global probe budget in packets per second (--rate); 0 = as fast as the sockets take them.
    public var rate: Double = 0
    public var icmpSocket: ICMPSocketPreference = .auto
    /// Send through this interface only (SO_BINDTODEVICE), e.g. a VPN tunnel.
    public var interface: String? = nil

    public init(rate: Double = 0, icmpSocket: ICMPSocketPreference = .auto, interface: String? = nil) {
        self.rate = rate
        self.icmpSocket = icmpSocket
        self.interface = interface
    }
}

/// Runs measurements (PathProbeCore's state machines) on an `EventLoop`. Many measurements at once
/// over a handful of sockets (one per probe kind and family, see `ProbeKinds`): probes from all
/// measurements share sendmmsg batches and the global token bucket; answers are read in recvmmsg
/// batches and matched back to their probe through a fixed slot table (the slot number is the ICMP
/// sequence and, with a generation, the token in the probe). No thread or socket per probe, and no
/// allocation per probe once the tables are warm. Stream probes (TCP connections) run on the same
/// loop (`StreamProbes`).
///
/// Three ways to run: `run(_:)` one measurement; `run(concurrency:next:finished:)` many pulled
/// from a source (bulk); `submit(_:completion:)` from any thread while `runUntilStopped()` runs
/// (the exporter). Only `submit` and `stop` may be called from other threads.
public final class ProbeEngine: EventLoopHandler, @unchecked Sendable {
    public let options: EngineOptions
    public let loop: EventLoop
    private var handlerID: EventLoop.HandlerID = -1
    public private(set) var probesSent = 0
    /// TCP connections opened by stream probes.
    public var connectionsOpened: Int { streams?.opened ?? 0 }

    // Sockets, created on first use: index = kind index in `ProbeKinds.all` * 2 + family index.
    private var sockets: [ProbeSocket?]
    private var socketErrors: [PathProbeError?]

    // In-flight probes. Slot index = ICMP sequence; token = generation << 16 | slot.
    static let slotCount = 65536
    private struct Slot {
        var generation: UInt16 = 0
        var inFlight = false
        var measurement: Int32 = -1
        var measurementGeneration: UInt32 = 0
        var socket: Int16 = -1
        var sentAt: Nanoseconds = 0
        var request = ProbeRequest(destination: IPAddress(ipv4: 0), kind: .icmpEcho, size: 0, timeout: 0, tag: 0)
    }
    private var slots: [Slot]
    private var freeSlots: [Int32]
    private var timeouts = TimerHeap(capacity: 1 << 16)
    private var bucket: TokenBucket

    // Measurements.
    private struct Entry {
        var measurement: (any Measurement)?
        var generation: UInt32
        /// Called when it finishes (submitted measurements); else the run's `finished`.
        var completion: (@Sendable (any Measurement) -> Void)? = nil
    }
    private var entries: [Entry] = []
    private var freeEntries: [Int32] = []
    private var active = 0
    private var wakes = TimerHeap(capacity: 1024)
    private var finishedHandler: ((any Measurement) -> Void)? = nil
    /// `run(concurrency:next:...)`: where more measurements come from, and how many at once.
    private var source: (() -> (any Measurement)?)? = nil
    private var concurrency = 0
    private var exhausted = true

    // Probes asked for but not yet sent (waiting for the token bucket or a free slot).
    private struct Pending {
        var measurement: Int32
        var generation: UInt32
        var request: ProbeRequest
    }
    private var pending: [Pending] = []
    private var pendingHead = 0

    /// TCP connections, created on the first `connect`.
    private var streams: StreamProbes? = nil

    /// PATHPROBE_DEBUG=1 logs every probe's fate on stderr (tags raw: their layout is the measurement's).
    static let debug = getenv("PATHPROBE_DEBUG") != nil
    static let debugStart = MonotonicClock.now()

    /// An engine on `loop`, or on a loop of its own.
    public init(options: EngineOptions = EngineOptions(), loop: EventLoop? = nil) throws(PathProbeError) {
        self.options = options
        if let loop {
            self.loop = loop
        } else {
            do { self.loop = try EventLoop() } catch { throw error.pathProbeError }
        }
        let socketCount = ProbeKinds.all.count * 2
        sockets = [ProbeSocket?](repeating: nil, count: socketCount)
        socketErrors = [PathProbeError?](repeating: nil, count: socketCount)
        // Slots are made as probes need them (up to `slotCount`): a run with few in flight does not
        // pay for 65,536 of them (8 MB).
        slots = []
        freeSlots = []
        bucket = TokenBucket(rate: options.rate, now: MonotonicClock.now())
        pending.reserveCapacity(4096)
        handlerID = self.loop.add(self, participant: true)
    }

    deinit {
        streams?.closeAll()
        for s in sockets { if let s { loop.unwatch(s.fd) } }
        loop.remove(handlerID)
    }

    // MARK: sockets

    private static func socketIndex(kind: Int, family: AddressFamily) -> Int { kind * 2 + (family == .ipv4 ? 0 : 1) }

    private static func kindIndex(family: AddressFamily, kind: ProbeKind) -> Int? {
        let zero = family == .ipv4 ? IPAddress(ipv4: 0) : IPAddress(ipv6High: 0, low: 0)
        return ProbeKinds.index(for: ProbeRequest(destination: zero, kind: kind, size: 0, timeout: 0, tag: 0))
    }

    /// Opens the socket for this family and probe kind now, so a missing privilege is reported
    /// before any measurement starts (a `PathProbeError.environment` that says exactly what is missing).
    public func prepare(family: AddressFamily, kind: ProbeKind) throws(PathProbeError) {
        guard let k = Self.kindIndex(family: family, kind: kind) else { throw .environment("no probe kind carries \(kind)") }
        _ = try socket(Self.socketIndex(kind: k, family: family), kind: k, family: family)
    }

    /// "ping" or "raw" for ICMP, "udp" for UDP, "raw-tcp" for TCP SYNs: the socket a prepared
    /// family/kind uses.
    public func socketDescription(family: AddressFamily, kind: ProbeKind) -> String? {
        guard let k = Self.kindIndex(family: family, kind: kind) else { return nil }
        return sockets[Self.socketIndex(kind: k, family: family)]?.kind.socketName
    }

    private func socket(_ index: Int, kind: Int, family: AddressFamily) throws(PathProbeError) -> ProbeSocket {
        if let s = sockets[index] { return s }
        if let e = socketErrors[index] { throw e }
        do throws(PathProbeError) {
            let s = ProbeSocket(kind: try ProbeKinds.all[kind].open(family, options: options))
            do throws(SystemError) {
                if let name = options.interface { try Sockets.bind(s.fd, toDevice: name) }
                try loop.watch(s.fd, [.readable, .error], handler: handlerID, token: UInt32(index))
            } catch { throw error.pathProbeError }
            sockets[index] = s
            return s
        } catch {
            socketErrors[index] = error
            throw error
        }
    }

    // MARK: running

    /// Runs one measurement to completion.
    public func run(_ measurement: any Measurement, shouldStop: () -> Bool = { false }) {
        var given = false
        run(concurrency: 1, next: {
            if given { return nil }
            given = true
            return measurement
        }, finished: { _ in }, shouldStop: shouldStop)
    }

    /// Runs measurements pulled from `next` (nil: no more), at most `concurrency` at a time, until all
    /// are finished or `shouldStop` returns true. `finished` is called as each one completes.
    public func run(concurrency: Int, next: () -> (any Measurement)?, finished: @escaping (any Measurement) -> Void,
                    shouldStop: () -> Bool = { false }) {
        withoutActuallyEscaping(next) { next in
            finishedHandler = finished
            source = next
            self.concurrency = concurrency
            exhausted = false
            defer {
                finishedHandler = nil
                source = nil
                exhausted = true
            }
            refill()
            loop.run(until: { shouldStop() || (active == 0 && exhausted) })
        }
    }

    /// Starts `measurement` on the loop's thread; `completion` is called there when it finishes.
    /// Thread-safe: the exporter's threads submit while `runUntilStopped()` runs the loop.
    public func submit(_ measurement: sending any Measurement, completion: @escaping @Sendable (any Measurement) -> Void) {
        let box = UnsafeTransfer(measurement)
        loop.execute { self.start(box.value, completion: completion) }
    }

    /// Runs the loop until `stop()` (or a signal the loop watches): the long-running mode.
    public func runUntilStopped() { loop.run() }

    /// Ends `runUntilStopped()`. Thread-safe.
    public func stop() { loop.stop() }

    /// Ends a measurement given to `submit` before it finishes: its queued probes and connections
    /// are dropped and its completion is called (on the loop's thread) with the measurement as it
    /// stands. Thread-safe; nothing happens when it has finished already.
    public func cancel(_ measurement: any Measurement) {
        let box = UnsafeTransfer(measurement)
        loop.execute {
            guard let i = self.entries.firstIndex(where: { $0.measurement === box.value }) else { return }
            self.finish(Int32(i))
        }
    }

    /// The loop's turn: fires measurement wake-ups and probe timeouts, sends what is queued, starts
    /// more measurements, and says when it needs the next turn.
    func turn(now start: Nanoseconds) -> Nanoseconds? {
        fireWakes(start)
        // Answers may have queued up while this turn was busy: read them before any probe
        // whose deadline has passed is declared lost.
        if let t = timeouts.first, t.deadline <= start { loop.poll(waitNs: 0) }
        fireTimeouts(MonotonicClock.now())
        flushPending(MonotonicClock.now())
        streams?.deliverDeferred()
        refill()

        let now = MonotonicClock.now()
        var next: Nanoseconds? = timeouts.first?.deadline
        if let w = wakes.first { next = min(next ?? w.deadline, w.deadline) }
        if pendingHead < pending.count {
            let d = hasFreeSlot ? bucket.nextTokenAt(now) : now + 1_000_000
            next = min(next ?? d, d)
        }
        if streams?.hasDeferred == true { next = now }
        return next
    }

    private func refill() {
        guard let source else { return }
        while !exhausted && active < concurrency {
            guard let m = source() else { exhausted = true; return }
            start(m, completion: nil)
        }
    }

    /// A probe socket is readable (or has errors queued): read everything it holds.
    func ready(token: UInt32, events: EventLoop.Events) {
        let k = Int(token)
        guard k < sockets.count, let s = sockets[k] else { return }
        s.drain { self.deliver($0, socket: Int16(k)) }
    }

    private func start(_ m: any Measurement, completion: (@Sendable (any Measurement) -> Void)?) {
        let index: Int32
        if let i = freeEntries.popLast() {
            index = i
            entries[Int(i)].measurement = m
            entries[Int(i)].generation &+= 1
            entries[Int(i)].completion = completion
        } else {
            index = Int32(entries.count)
            entries.append(Entry(measurement: m, generation: 0, completion: completion))
        }
        active += 1
        var s = Scheduler(engine: self, index: index, generation: entries[Int(index)].generation, now: MonotonicClock.now())
        m.advance(&s)
        checkFinished(index)
    }

    private func checkFinished(_ index: Int32) {
        guard let m = entries[Int(index)].measurement, m.isFinished else { return }
        finish(index)
    }

    private func finish(_ index: Int32) {
        guard let m = entries[Int(index)].measurement else { return }
        let completion = entries[Int(index)].completion
        entries[Int(index)].measurement = nil
        entries[Int(index)].completion = nil
        freeEntries.append(index)
        active -= 1
        streams?.closeAll(owner: index)
        if let completion { completion(m) } else { finishedHandler?(m) }
    }

    // MARK: what measurements call

    fileprivate func enqueue(_ index: Int32, _ generation: UInt32, _ request: ProbeRequest) {
        pending.append(Pending(measurement: index, generation: generation, request: request))
    }

    fileprivate func scheduleWake(_ index: Int32, _ generation: UInt32, at time: Nanoseconds) {
        wakes.push(.init(deadline: time, id: index, generation: generation))
    }

    fileprivate var streamProbes: StreamProbes {
        if let s = streams { return s }
        let s = StreamProbes(loop: loop, options: options) { [unowned self] result, owner, generation in
            self.deliver(result, to: owner, generation: generation)
        }
        streams = s
        return s
    }

    /// A connection event for a measurement that is still running.
    private func deliver(_ result: ConnectionResult, to index: Int32, generation: UInt32) {
        let i = Int(index)
        guard i < entries.count, entries[i].generation == generation, let m = entries[i].measurement else { return }
        var s = Scheduler(engine: self, index: index, generation: generation, now: result.time)
        m.handle(result, &s)
        checkFinished(index)
    }

    // MARK: timers

    private func fireWakes(_ now: Nanoseconds) {
        while let w = wakes.first, w.deadline <= now {
            wakes.pop()
            let i = Int(w.id)
            guard i < entries.count, entries[i].generation == w.generation, let m = entries[i].measurement else { continue }
            var s = Scheduler(engine: self, index: w.id, generation: w.generation, now: now)
            m.advance(&s)
            checkFinished(w.id)
        }
    }

    private func fireTimeouts(_ now: Nanoseconds) {
        while let t = timeouts.first, t.deadline <= now {
            timeouts.pop()
            let i = Int(t.id)
            guard slots[i].inFlight, UInt32(slots[i].generation) == t.generation else { continue }
            complete(slot: i, outcome: .timeout, at: now, ttl: -1)
        }
    }

    // MARK: sending

    private var hasFreeSlot: Bool { !freeSlots.isEmpty || slots.count < Self.slotCount }

    private func takeSlot() -> Int32 {
        if let free = freeSlots.popLast() { return free }
        slots.append(Slot())
        return Int32(slots.count - 1)
    }

    private func flushPending(_ now: Nanoseconds) {
        bucket.refill(now)
        defer { dropSentFromQueue() }
        var staged = false
        while pendingHead < pending.count {
            guard hasFreeSlot, bucket.take() else { break }
            let p = pending[pendingHead]
            pendingHead += 1
            guard Int(p.measurement) < entries.count, entries[Int(p.measurement)].generation == p.generation,
                  entries[Int(p.measurement)].measurement != nil else { continue }
            let family = p.request.destination.family
            guard let kind = ProbeKinds.index(for: p.request) else {
                deliverImmediately(p, outcome: .localError(errno: EPROTONOSUPPORT, mtu: 0), now: now)
                continue
            }
            let k = Self.socketIndex(kind: kind, family: family)
            let sock: ProbeSocket
            do { sock = try socket(k, kind: kind, family: family) } catch {
                deliverImmediately(p, outcome: .localError(errno: EACCES, mtu: 0), now: now)
                continue
            }
            let slot = takeSlot()
            let i = Int(slot)
            slots[i].inFlight = true
            slots[i].measurement = p.measurement
            slots[i].measurementGeneration = p.generation
            slots[i].socket = Int16(k)
            slots[i].sentAt = now
            slots[i].request = p.request
            let token = UInt32(slots[i].generation) << 16 | UInt32(slot)
            sock.kind.didSend(p.request, slot: slot)
            if !sock.stage(slot: slot, token: token, request: p.request) {
                flush(sock, socketIndex: k)
                _ = sock.stage(slot: slot, token: token, request: p.request)
            }
            timeouts.push(.init(deadline: now + p.request.timeout, id: slot, generation: UInt32(slots[i].generation)))
            staged = true
        }
        if staged {
            for (k, s) in sockets.enumerated() where s != nil && s!.stagedCount > 0 { flush(s!, socketIndex: k) }
        }
    }

    /// Forgets the queue's sent entries: all of them once it ran dry, and under a rate limit (when it
    /// never runs dry) the sent part once it is most of the queue, so it does not grow with every probe.
    private func dropSentFromQueue() {
        if pendingHead == pending.count {
            pending.removeAll(keepingCapacity: true)
            pendingHead = 0
        } else if pendingHead >= 1024 && pendingHead * 2 >= pending.count {
            pending.removeFirst(pendingHead)
            pendingHead = 0
        }
    }

    /// Sends a socket's batch. A send can fail because of an error the kernel queued for an earlier
    /// packet (IP_RECVERR): drain the error queue and try that packet once more before blaming it.
    private func flush(_ s: ProbeSocket, socketIndex: Int) {
        var from = 0
        var retried = -1
        var pauses = 0
        while true {
            switch s.flush(from: from) {
            case .sent:
                probesSent += s.stagedCount
                s.clearStaged()
                return
            case let .failed(sent, e):
                if e == EAGAIN || e == ENOBUFS, pauses < 20 {
                    pauses += 1
                    var pfd = pollfd(fd: s.fd, events: Int16(POLLOUT), revents: 0)
                    _ = poll(&pfd, 1, 5)
                    from = sent
                    continue
                }
                if retried != sent {
                    retried = sent
                    s.drainErrors { self.deliver($0, socket: Int16(socketIndex)) }
                    from = sent
                    continue
                }
                // This probe cannot be sent (EMSGSIZE above the interface MTU, no route, a firewall...).
                let slot = Int(s.stagedSlots[sent])
                probesSent -= 1  // counted below with the batch, but it never left
                var mtu = 0
                if e == EMSGSIZE { mtu = localMTU(for: slots[slot].request.destination) ?? 0 }
                complete(slot: slot, outcome: .localError(errno: e, mtu: mtu), at: MonotonicClock.now(), ttl: -1)
                from = sent + 1
            }
        }
    }

    private func deliverImmediately(_ p: Pending, outcome: ProbeOutcome, now: Nanoseconds) {
        guard let m = entries[Int(p.measurement)].measurement else { return }
        var s = Scheduler(engine: self, index: p.measurement, generation: p.generation, now: now)
        m.handle(ProbeResult(tag: p.request.tag, request: p.request, outcome: outcome, rtt: 0), &s)
        checkFinished(p.measurement)
    }

    /// The MTU of the interface a destination is routed through (for EMSGSIZE results).
    private func localMTU(for destination: IPAddress) -> Int? { LocalPath.egress(to: destination)?.mtu }

    // MARK: receiving

    private func deliver(_ a: ProbeArrival, socket k: Int16) {
        guard let sock = sockets[Int(k)] else { return }
        var index: Int? = nil
        if let token = a.token {
            let i = Int(token & 0xffff)
            if isInFlight(i), slots[i].generation == UInt16(truncatingIfNeeded: token >> 16) { index = i }
        } else if let seq = a.sequence {
            // The ICMP error quoted too little of our probe for the token: fall back to the sequence.
            let i = Int(seq)
            if isInFlight(i) { index = i }
        } else if let i = sock.kind.slot(forUntokened: a) {
            // A service's reply, or an ICMP error quoting a service payload (ProbeRequest.payload): no token.
            if isInFlight(Int(i)) { index = Int(i) }
        }
        guard let i = index, slots[i].socket == k else { return }
        // The answer must concern the address we probed (a quoted destination or the reply's source).
        guard slots[i].request.destination == a.probed, sock.kind.matches(slots[i].request, a) else { return }
        complete(slot: i, outcome: a.outcome, at: a.time, ttl: a.ttl)
    }

    /// Whether slot `i` holds a probe in flight; any number an answer carries is checked here first
    /// (slots are made as needed: a forged token may name one that does not exist).
    private func isInFlight(_ i: Int) -> Bool { i >= 0 && i < slots.count && slots[i].inFlight }

    private func complete(slot i: Int, outcome: ProbeOutcome, at arrival: Nanoseconds, ttl: Int) {
        let s = slots[i]
        // No answer comes before its probe: a kernel timestamp off by the clock conversion's error
        // must not take a measurement's time backwards (its durations are differences of these).
        let time = max(arrival, s.sentAt)
        slots[i].inFlight = false
        slots[i].generation &+= 1
        sockets[Int(s.socket)]?.kind.didComplete(s.request, slot: Int32(i))
        freeSlots.append(Int32(i))
        let mi = Int(s.measurement)
        guard mi >= 0, mi < entries.count, entries[mi].generation == s.measurementGeneration,
              let m = entries[mi].measurement else { return }
        let rtt: Nanoseconds
        if case .timeout = outcome { rtt = 0 } else if case .localError = outcome { rtt = 0 } else {
            rtt = max(1, time.since(s.sentAt))
        }
        if Self.debug {
            let tag = String(s.request.tag, radix: 16)
            debugLog("probe tag=0x\(tag) \(s.request.kind) size=\(s.request.size) ttl=\(s.request.ttl) "
                + "t=\(Double(Int64(bitPattern: time &- Self.debugStart)) / 1e6)ms -> \(outcome) rtt=\(rtt.inMs)ms")
        }
        var sched = Scheduler(engine: self, index: s.measurement, generation: s.measurementGeneration, now: time)
        m.handle(ProbeResult(tag: s.request.tag, request: s.request, outcome: outcome, rtt: rtt, answerTTL: ttl), &sched)
        checkFinished(s.measurement)
    }

    /// The scheduler handed to measurements: queues probes, wake-ups and connection work on the engine.
    private struct Scheduler: ProbeScheduler {
        unowned(unsafe) let engine: ProbeEngine
        let index: Int32
        let generation: UInt32
        let now: Nanoseconds

        mutating func send(_ probe: ProbeRequest) { engine.enqueue(index, generation, probe) }
        mutating func wake(at time: Nanoseconds) { engine.scheduleWake(index, generation, at: time) }
        mutating func connect(_ request: ConnectionRequest) -> ConnectionID {
            engine.streamProbes.connect(request, owner: index, generation: generation)
        }
        mutating func write(_ bytes: [UInt8], to connection: ConnectionID) { engine.streamProbes.write(bytes, to: connection) }
        mutating func requestInfo(_ connection: ConnectionID) { engine.streamProbes.requestInfo(connection) }
        mutating func close(_ connection: ConnectionID) { engine.streamProbes.close(connection) }
    }
}

/// One line on stderr (PATHPROBE_DEBUG=1).
func debugLog(_ line: String) {
    let text = line + "\n"
    text.withCString { p in _ = write(2, p, strlen(p)) }
}

/// Hands a value that is not Sendable to the loop's thread, which is its only user from then on.
struct UnsafeTransfer<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
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
        return now.adding(.fromSeconds((1 - tokens) / rate)).adding(1)
    }
}
