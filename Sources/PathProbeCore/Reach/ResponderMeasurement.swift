/// The UDP path measured in both directions with `pathprobe serve` on the far end:
///
/// 1. hello: an echo request; the reply says where our datagrams come from (NAT) and proves the
///    responder is there.
/// 2. up: DF echo requests of chosen sizes (a byte-exact `SizeSearch`, with a small control request
///    in every round so loss is not mistaken for a size limit); ICMP packet-too-big counts too.
///    At the same time a 3000-byte request without DF tests whether fragments reach the responder.
/// 3. down: requests that ask for a DF reply of a chosen size. The responder never sends more than
///    it received, so a request is as large as the reply it asks for: up to the up path MTU it goes
///    with DF, above it only as fragments (and only when fragments pass); otherwise the down result
///    is a lower bound. The responder reports replies its own interface cannot send (`tooBigHere`)
///    and packet-too-big errors its replies draw. Then a 3000-byte reply without DF tests fragments
///    on the way back.
public struct ResponderOptions: Sendable {
    public var destination: IPAddress
    public var port: UInt16 = ResponderWire.defaultPort
    /// Largest size to try in both directions: the local interface MTU.
    public var maxSize: Int
    public var minSize: Int
    public var timeoutMs: Double = 1000
    public var minimumTimeoutMs: Double = 25
    /// Tries for the hello and the fragment tests, and silent confirmations in the searches.
    public var retries = 3
    public var sizesPerRound = 6
    /// Size of the fragmented datagrams (about what IKE with certificates sends).
    public var fragmentTestSize = 3000

    public init(destination: IPAddress, port: UInt16 = ResponderWire.defaultPort, maxSize: Int) {
        self.destination = destination
        self.port = port
        self.maxSize = maxSize
        minSize = destination.family.minimumMTU
    }
}

public final class ResponderMeasurement: Measurement {
    public let options: ResponderOptions
    public private(set) var isFinished = false
    public private(set) var report: ResponderReport

    enum Purpose: UInt32 { case hello = 1, upSize, upControl, downSize, downControl, fragmentUp, fragmentDown }
    static func tag(_ p: Purpose, _ n: Int) -> UInt32 { p.rawValue << 28 | UInt32(n) & 0xfffffff }

    private enum Phase { case hello, up, down, done }
    private var phase = Phase.hello
    private var rtt: RTTEstimator
    private let overhead: Int
    private let helloSize: Int

    private var helloAttempts = 0
    private var search: RoundSearch? = nil
    private var fragmentAttempts = 0
    private var fragmentOutstanding = false
    private var fragmentDone = false

    public init(options: ResponderOptions) {
        self.options = options
        report = ResponderReport(port: options.port)
        rtt = RTTEstimator(floorMs: options.minimumTimeoutMs, ceilingMs: options.timeoutMs)
        overhead = options.destination.family.ipHeaderSize + 8
        helloSize = ResponderWire.minimumRequest + overhead
    }

    private var probeTimeout: Nanoseconds { .fromMs(rtt.timeoutMs) }

    // MARK: Measurement

    public func advance<S: ProbeScheduler>(_ s: inout S) {
        if phase == .hello && helloAttempts == 0 { sendHello(&s) }
    }

    public func handle<S: ProbeScheduler>(_ r: ProbeResult, _ s: inout S) {
        guard !isFinished, let purpose = Purpose(rawValue: r.tag >> 28) else { return }
        let reply: ResponderWire.Reply? = {
            if case let .udpReply(_, payload) = r.outcome { return ResponderWire.Reply(decoding: payload) }
            return nil
        }()
        if let reply, reply.status == .ok, r.rtt > 0 { rtt.add(sampleMs: r.rtt.inMs) }
        switch purpose {
        case .hello: handleHello(reply, r, &s)
        case .upSize, .upControl, .downSize, .downControl: handleSearch(purpose, reply, r, &s)
        case .fragmentUp, .fragmentDown: handleFragment(purpose, reply, &s)
        }
        advancePhase(&s)
    }

    // MARK: sending

    private func send<S: ProbeScheduler>(_ s: inout S, _ request: ResponderWire.Request, size: Int, tag: UInt32,
                                         fragmentable: Bool = false, timeout: Nanoseconds? = nil) {
        report.probesSent += 1
        let payload = request.encode(length: size - overhead)
        s.send(ProbeRequest(destination: options.destination, kind: .udp(port: options.port), size: payload.count + overhead,
                            timeout: timeout ?? probeTimeout, tag: tag, payload: payload, fragmentable: fragmentable))
    }

    // MARK: hello

    private func sendHello<S: ProbeScheduler>(_ s: inout S) {
        helloAttempts += 1
        send(&s, .init(op: .echo), size: helloSize, tag: Self.tag(.hello, helloAttempts), timeout: .fromMs(options.timeoutMs))
    }

    private func handleHello<S: ProbeScheduler>(_ reply: ResponderWire.Reply?, _ r: ProbeResult, _ s: inout S) {
        guard phase == .hello else { return }
        if let reply {
            report.reachable = true
            report.rttMs = r.rtt.inMs
            report.seenAddress = reply.seenAddress
            report.seenPort = reply.seenPort
            phase = .up
            startSearch(up: true, &s)
            startFragmentTest(&s)
        } else if helloAttempts < options.retries {
            sendHello(&s)
        } else {
            phase = .done
        }
    }

    // MARK: size searches

    private func startSearch<S: ProbeScheduler>(up: Bool, _ s: inout S) {
        var maxSize = options.maxSize
        if !up, let upMTU = report.pathMTUUp, report.fragmentsUp != true, upMTU < maxSize {
            maxSize = upMTU
            report.downLimitedByUp = true
        }
        let knownGood = up ? helloSize : ResponderWire.replyHeader + overhead
        search = RoundSearch(search: SizeSearch(minSize: max(options.minSize, knownGood), maxSize: maxSize,
                                                knownGood: knownGood, confirmations: options.retries),
                             sizesPerRound: options.sizesPerRound)
        startRound(up: up, &s)
    }

    private func startRound<S: ProbeScheduler>(up: Bool, _ s: inout S) {
        guard var rs = search, let sizes = rs.startRound() else { return }
        search = rs
        let n = rs.round
        for size in sizes {
            if up {
                send(&s, .init(op: .echo), size: size, tag: Self.tag(.upSize, n))
            } else {
                // The request is as large as the reply it asks for; above the up path MTU it can only travel as fragments.
                let fragment = size > (report.pathMTUUp ?? 0)
                send(&s, .init(op: .replyDF, replySize: size), size: size, tag: Self.tag(.downSize, n), fragmentable: fragment)
            }
        }
        // The control goes last: if it is lost too, the round's silences say nothing about sizes.
        send(&s, .init(op: .echo), size: helloSize, tag: Self.tag(up ? .upControl : .downControl, n))
    }

    private func handleSearch<S: ProbeScheduler>(_ purpose: Purpose, _ reply: ResponderWire.Reply?, _ r: ProbeResult,
                                                 _ s: inout S) {
        let up = purpose == .upSize || purpose == .upControl
        guard phase == (up ? .up : .down), var rs = search, Int(r.tag & 0xfffffff) == rs.round else { return }
        let size = r.request.size
        if purpose == .upControl || purpose == .downControl {
            rs.control(passed: reply != nil)
        } else if let reply {
            switch reply.status {
            case .ok: rs.record(size: size, .passed)
            case .tooBigHere, .packetTooBig: rs.record(size: size, .tooBig(mtu: reply.limit))
            case .refused: rs.record(size: size, nil)
            }
        } else {
            switch r.outcome {
            case let .packetTooBig(mtu, _): rs.record(size: size, .tooBig(mtu: mtu))
            case let .localError(_, mtu) where mtu > 0: rs.record(size: size, .tooBig(mtu: mtu))
            default: rs.record(size: size, .silent)
            }
        }
        search = rs
        if rs.roundComplete {
            search!.endRound()
            if search!.search.isDone || search!.abandoned {
                let mtu = search!.search.isDone ? search!.search.pathMTU : nil
                if up { report.pathMTUUp = mtu } else { report.pathMTUDown = mtu }
                search = nil
            } else {
                startRound(up: up, &s)
            }
        }
    }

    // MARK: fragments

    private func startFragmentTest<S: ProbeScheduler>(_ s: inout S) {
        fragmentAttempts = 0
        fragmentDone = false
        sendFragment(&s)
    }

    private func sendFragment<S: ProbeScheduler>(_ s: inout S) {
        fragmentAttempts += 1
        fragmentOutstanding = true
        let size = options.fragmentTestSize
        if phase == .up {
            send(&s, .init(op: .echo), size: size, tag: Self.tag(.fragmentUp, fragmentAttempts), fragmentable: true,
                 timeout: .fromMs(max(rtt.timeoutMs * 2, 100)))
        } else {
            send(&s, .init(op: .replyFragmentable, replySize: size), size: size, tag: Self.tag(.fragmentDown, fragmentAttempts),
                 fragmentable: true, timeout: .fromMs(max(rtt.timeoutMs * 2, 100)))
        }
    }

    private func handleFragment<S: ProbeScheduler>(_ purpose: Purpose, _ reply: ResponderWire.Reply?, _ s: inout S) {
        guard (purpose == .fragmentUp) == (phase == .up), fragmentOutstanding else { return }
        fragmentOutstanding = false
        let passed = reply?.status == .ok
        if passed || fragmentAttempts >= options.retries {
            if purpose == .fragmentUp { report.fragmentsUp = passed } else { report.fragmentsDown = passed }
            fragmentDone = true
        } else {
            sendFragment(&s)
        }
    }

    // MARK: phases

    private func advancePhase<S: ProbeScheduler>(_ s: inout S) {
        switch phase {
        case .up where search == nil && fragmentDone:
            phase = .down
            startSearch(up: false, &s)
            if report.fragmentsUp == true {
                startFragmentTest(&s)
            } else {
                fragmentDone = true
            }
        case .down where search == nil && fragmentDone:
            phase = .done
        default:
            break
        }
        if phase == .done && !isFinished {
            if let u = report.fragmentsUp { report.fragmentsPass = u && (report.fragmentsDown ?? false) }
            isFinished = true
        }
    }
}

/// One direction's size search in rounds: a few sizes and a control per round; silences count only
/// in rounds whose control came back.
struct RoundSearch {
    var search: SizeSearch
    var sizesPerRound: Int
    private(set) var round = 0
    private var outstanding = 0
    private var controlPassed = false
    private var silent: [Int] = []
    private var controlFailures = 0
    /// The control went unanswered round after round: the responder or the path is gone.
    private(set) var abandoned = false

    init(search: SizeSearch, sizesPerRound: Int) {
        self.search = search
        self.sizesPerRound = max(1, sizesPerRound)
    }

    /// The sizes of a new round (the caller adds the control), or nil when the search is done.
    mutating func startRound() -> [Int]? {
        let sizes = search.nextSizes(count: sizesPerRound)
        guard !sizes.isEmpty else { return nil }
        round += 1
        outstanding = sizes.count + 1
        controlPassed = false
        silent.removeAll()
        return sizes
    }

    var roundComplete: Bool { outstanding == 0 }

    mutating func control(passed: Bool) {
        outstanding -= 1
        if passed { controlPassed = true }
    }

    /// A size's outcome; nil evidence: nothing learned (the responder refused).
    mutating func record(size: Int, _ evidence: SizeSearch.Evidence?) {
        outstanding -= 1
        switch evidence {
        case .silent?: silent.append(size)
        case let e?: search.record(size: size, e)
        case nil: break
        }
    }

    mutating func endRound() {
        if controlPassed {
            for size in silent { search.record(size: size, .silent) }
            controlFailures = 0
        } else if !silent.isEmpty {
            controlFailures += 1
            if controlFailures >= 3 { sizesPerRound = max(1, sizesPerRound / 2) }
            if controlFailures >= 8 { abandoned = true }
        }
    }
}
