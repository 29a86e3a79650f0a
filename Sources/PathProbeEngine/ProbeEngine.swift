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

/// The one event loop. It runs many measurements at once over a handful of sockets (one per family
/// and probe kind): probes from all measurements share sendmmsg batches and the global token bucket;
/// answers are read in recvmmsg batches and matched back to their probe through a fixed slot table
/// (the slot number is the ICMP sequence and, with a generation, the token in the probe header).
/// No thread or socket per probe, and no allocation per probe once the tables are warm.
public final class ProbeEngine {
    public let options: EngineOptions
    public private(set) var probesSent = 0

    // Sockets, created on first use.
    // udpFrag: UDP without DF (ProbeRequest.fragmentable); tcp: raw sockets for TCP SYN probes.
    private enum SocketKey: Int, CaseIterable { case icmp4 = 0, icmp6, udp4, udp6, udpFrag4, udpFrag6, tcp4, tcp6 }
    private var sockets = [ProbeSocket?](repeating: nil, count: SocketKey.allCases.count)
    private var socketErrors = [Error?](repeating: nil, count: SocketKey.allCases.count)
    private let epollFD: Int32

    // In-flight probes. Slot index = ICMP sequence; token = generation << 16 | slot.
    static let slotCount = 65536
    private struct Slot {
        var generation: UInt16 = 0
        var inFlight = false
        var measurement: Int32 = -1
        var measurementGeneration: UInt32 = 0
        var socket: Int8 = -1
        var sentAt: Nanoseconds = 0
        var request = ProbeRequest(destination: IPAddress(ipv4: 0), kind: .icmpEcho, size: 0, timeout: 0, tag: 0)
    }
    private var slots: [Slot]
    private var freeSlots: [Int32]
    private var timeouts = TimerHeap(capacity: 1 << 16)
    private var bucket: TokenBucket

    // UDP answers carry no token (a service's reply): match them by the probed address and port.
    private struct UDPKey: Hashable {
        let address: IPAddress
        let port: UInt16
    }
    private var udpSlots: [UDPKey: Int32] = [:]

    // Measurements.
    private struct Entry {
        var measurement: (any Measurement)?
        var generation: UInt32
    }
    private var entries: [Entry] = []
    private var freeEntries: [Int32] = []
    private var active = 0
    private var wakes = TimerHeap(capacity: 1024)
    private var finishedHandler: ((any Measurement) -> Void)? = nil

    // Probes asked for but not yet sent (waiting for the token bucket or a free slot).
    private struct Pending {
        var measurement: Int32
        var generation: UInt32
        var request: ProbeRequest
    }
    private var pending: [Pending] = []
    private var pendingHead = 0

    /// PATHPROBE_DEBUG=1 logs every probe's fate on stderr.
    static let debug = getenv("PATHPROBE_DEBUG") != nil
    static let debugStart = System.now()

    public init(options: EngineOptions = EngineOptions()) throws {
        self.options = options
        epollFD = cpp_epoll_create()
        guard epollFD >= 0 else { throw SystemError("epoll_create1", errno) }
        slots = [Slot](repeating: Slot(), count: Self.slotCount)
        freeSlots = (0..<Int32(Self.slotCount)).reversed()
        bucket = TokenBucket(rate: options.rate, now: System.now())
        pending.reserveCapacity(4096)
    }

    deinit { close(epollFD) }

    // MARK: sockets

    private static func key(_ family: AddressFamily, _ kind: ProbeKind, fragmentable: Bool = false) -> SocketKey {
        switch kind {
        case .icmpEcho: return family == .ipv4 ? .icmp4 : .icmp6
        case .udp where fragmentable: return family == .ipv4 ? .udpFrag4 : .udpFrag6
        case .udp: return family == .ipv4 ? .udp4 : .udp6
        case .tcpSyn: return family == .ipv4 ? .tcp4 : .tcp6
        }
    }

    /// Opens the socket for this family and probe kind now, so a missing privilege is reported
    /// before any measurement starts (the error says exactly what is missing).
    public func prepare(family: AddressFamily, kind: ProbeKind) throws {
        _ = try socket(Self.key(family, kind), family: family)
    }

    /// "ping" or "raw" for ICMP, "udp" for UDP: which socket kind a prepared family/kind uses.
    public func socketDescription(family: AddressFamily, kind: ProbeKind) -> String? {
        guard let s = sockets[Self.key(family, kind).rawValue] else { return nil }
        switch s.mode {
        case .icmpPing: return "ping"
        case .icmpRaw: return "raw"
        case .udp: return "udp"
        case .tcpSyn: return "raw-tcp"
        }
    }

    private func socket(_ k: SocketKey, family: AddressFamily) throws -> ProbeSocket {
        if let s = sockets[k.rawValue] { return s }
        if let e = socketErrors[k.rawValue] { throw e }
        do {
            let s: ProbeSocket
            switch k {
            case .icmp4, .icmp6: s = try ProbeSocket.openICMP(family, preference: options.icmpSocket)
            case .udp4, .udp6: s = try ProbeSocket.openUDP(family)
            case .udpFrag4, .udpFrag6: s = try ProbeSocket.openUDP(family, fragmentable: true)
            case .tcp4, .tcp6: s = try ProbeSocket.openTCPSyn(family)
            }
            if let name = options.interface { try s.bind(toDevice: name) }
            guard cpp_epoll_add(epollFD, s.fd, cpp_EPOLLIN | cpp_EPOLLERR, UInt64(k.rawValue)) == 0 else {
                throw SystemError("epoll_ctl", errno)
            }
            sockets[k.rawValue] = s
            return s
        } catch {
            socketErrors[k.rawValue] = error
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
        finishedHandler = finished
        defer { finishedHandler = nil }
        var exhausted = false
        func refill() {
            while !exhausted && active < concurrency {
                guard let m = next() else { exhausted = true; return }
                start(m)
            }
        }
        refill()
        var events = [cpp_epoll_event](repeating: cpp_epoll_event(), count: 8)
        while active > 0 || (!exhausted && active < concurrency) {
            if shouldStop() { break }
            var now = System.now()
            fireWakes(now)
            // Answers may have queued up while this turn was busy: read them before any probe
            // whose deadline has passed is declared lost.
            if let t = timeouts.first, t.deadline <= now { pollSockets(&events, waitNs: 0) }
            fireTimeouts(System.now())
            flushPending(System.now())
            refill()
            if active == 0 && exhausted { break }

            now = System.now()
            var wait: Int64 = -1
            if let t = timeouts.first { wait = Int64(t.deadline > now ? t.deadline - now : 0) }
            if let w = wakes.first {
                let d = Int64(w.deadline > now ? w.deadline - now : 0)
                wait = wait < 0 ? d : min(wait, d)
            }
            if pendingHead < pending.count {
                let d = freeSlots.isEmpty ? Int64(1_000_000) : Int64(bucket.nextTokenAt(now) - now)
                wait = wait < 0 ? d : min(wait, d)
            }
            // Wake at least every 100 ms so shouldStop (Ctrl-C) is noticed.
            wait = wait < 0 ? 100_000_000 : min(wait, 100_000_000)
            pollSockets(&events, waitNs: wait)
        }
    }

    /// Waits up to `waitNs` for readable sockets and reads everything they hold.
    private func pollSockets(_ events: inout [cpp_epoll_event], waitNs: Int64) {
        let n = events.withUnsafeMutableBufferPointer { cpp_epoll_wait_ns(epollFD, $0.baseAddress, Int32($0.count), waitNs) }
        guard n > 0 else { return }
        for i in 0..<Int(n) {
            let k = Int(events[i].data)
            guard k < sockets.count, let s = sockets[k] else { continue }
            s.drain(now: System.now) { self.deliver($0, socket: Int8(k)) }
        }
    }

    private func start(_ m: any Measurement) {
        let index: Int32
        if let i = freeEntries.popLast() {
            index = i
            entries[Int(i)].measurement = m
            entries[Int(i)].generation &+= 1
        } else {
            index = Int32(entries.count)
            entries.append(Entry(measurement: m, generation: 0))
        }
        active += 1
        var s = Scheduler(engine: self, index: index, generation: entries[Int(index)].generation, now: System.now())
        m.advance(&s)
        checkFinished(index)
    }

    private func checkFinished(_ index: Int32) {
        guard let m = entries[Int(index)].measurement, m.isFinished else { return }
        entries[Int(index)].measurement = nil
        freeEntries.append(index)
        active -= 1
        finishedHandler?(m)
    }

    // MARK: what measurements call

    fileprivate func enqueue(_ index: Int32, _ generation: UInt32, _ request: ProbeRequest) {
        pending.append(Pending(measurement: index, generation: generation, request: request))
    }

    fileprivate func scheduleWake(_ index: Int32, _ generation: UInt32, at time: Nanoseconds) {
        wakes.push(.init(deadline: time, id: index, generation: generation))
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

    private func flushPending(_ now: Nanoseconds) {
        bucket.refill(now)
        defer { dropSentFromQueue() }
        var staged = false
        while pendingHead < pending.count {
            guard !freeSlots.isEmpty, bucket.take() else { break }
            let p = pending[pendingHead]
            pendingHead += 1
            guard Int(p.measurement) < entries.count, entries[Int(p.measurement)].generation == p.generation,
                  entries[Int(p.measurement)].measurement != nil else { continue }
            let family = p.request.destination.family
            let k = Self.key(family, p.request.kind, fragmentable: p.request.fragmentable)
            let sock: ProbeSocket
            do { sock = try socket(k, family: family) } catch {
                deliverImmediately(p, outcome: .localError(errno: EACCES, mtu: 0), now: now)
                continue
            }
            let slot = freeSlots.removeLast()
            let i = Int(slot)
            slots[i].inFlight = true
            slots[i].measurement = p.measurement
            slots[i].measurementGeneration = p.generation
            slots[i].socket = Int8(k.rawValue)
            slots[i].sentAt = now
            slots[i].request = p.request
            let token = UInt32(slots[i].generation) << 16 | UInt32(slot)
            if case let .udp(port) = p.request.kind { udpSlots[UDPKey(address: p.request.destination, port: port)] = slot }
            if !sock.stage(slot: slot, token: token, request: p.request) {
                flush(sock, socketIndex: k.rawValue)
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
                    s.drainErrors(now: System.now) { self.deliver($0, socket: Int8(socketIndex)) }
                    from = sent
                    continue
                }
                // This probe cannot be sent (EMSGSIZE above the interface MTU, no route, a firewall...).
                let slot = Int(s.stagedSlots[sent])
                probesSent -= 1  // counted below with the batch, but it never left
                var mtu = 0
                if e == EMSGSIZE { mtu = localMTU(for: slots[slot].request.destination) ?? 0 }
                complete(slot: slot, outcome: .localError(errno: e, mtu: mtu), at: System.now(), ttl: -1)
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

    private func deliver(_ a: ProbeSocket.Arrival, socket k: Int8) {
        var index: Int? = nil
        if let token = a.token {
            let i = Int(token & 0xffff)
            if slots[i].inFlight, slots[i].generation == UInt16(token >> 16) { index = i }
        } else if let seq = a.sequence {
            // The ICMP error quoted too little of our probe for the token: fall back to the sequence.
            let i = Int(seq)
            if slots[i].inFlight { index = i }
        } else if sockets[Int(k)]?.mode == .udp, let i = udpSlots[UDPKey(address: a.probed, port: a.probedPort)] {
            // A service's reply, or an ICMP error quoting a service payload (ProbeRequest.payload): no token.
            if slots[Int(i)].inFlight { index = Int(i) }
        }
        guard let i = index, slots[i].socket == k else { return }
        // The answer must concern the address we probed (a quoted destination or the reply's source).
        guard slots[i].request.destination == a.probed else { return }
        switch slots[i].request.kind {
        case let .udp(port), let .tcpSyn(port): if port != a.probedPort { return }
        case .icmpEcho: break
        }
        complete(slot: i, outcome: a.outcome, at: a.time, ttl: a.ttl)
    }

    private func complete(slot i: Int, outcome: ProbeOutcome, at time: Nanoseconds, ttl: Int) {
        let s = slots[i]
        slots[i].inFlight = false
        slots[i].generation &+= 1
        if case let .udp(port) = s.request.kind {
            let key = UDPKey(address: s.request.destination, port: port)
            if udpSlots[key] == Int32(i) { udpSlots[key] = nil }
        }
        freeSlots.append(Int32(i))
        let mi = Int(s.measurement)
        guard mi >= 0, mi < entries.count, entries[mi].generation == s.measurementGeneration,
              let m = entries[mi].measurement else { return }
        let rtt: Nanoseconds
        if case .timeout = outcome { rtt = 0 } else if case .localError = outcome { rtt = 0 } else {
            rtt = time > s.sentAt ? time - s.sentAt : 1
        }
        if Self.debug {
            CPathProbeDebug.log("probe tag=\(String(s.request.tag >> 28))/\(s.request.tag >> 16 & 0xfff) size=\(s.request.size) ttl=\(s.request.ttl) "
                + "t=\(Double(Int64(bitPattern: time &- Self.debugStart)) / 1e6)ms -> \(outcome) rtt=\(rtt.inMs)ms")
        }
        var sched = Scheduler(engine: self, index: s.measurement, generation: s.measurementGeneration, now: time)
        m.handle(ProbeResult(tag: s.request.tag, request: s.request, outcome: outcome, rtt: rtt, answerTTL: ttl), &sched)
        checkFinished(s.measurement)
    }
}

/// The scheduler handed to measurements: queues probes and wake-ups on the engine.
private struct Scheduler: ProbeScheduler {
    unowned(unsafe) let engine: ProbeEngine
    let index: Int32
    let generation: UInt32
    let now: Nanoseconds

    mutating func send(_ probe: ProbeRequest) { engine.enqueue(index, generation, probe) }
    mutating func wake(at time: Nanoseconds) { engine.scheduleWake(index, generation, at: time) }
}

enum CPathProbeDebug {
    static func log(_ line: String) {
        let text = line + "\n"
        text.withCString { p in _ = write(2, p, strlen(p)) }
    }
}
