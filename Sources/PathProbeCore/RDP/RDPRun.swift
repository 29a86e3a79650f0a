/// The RDP check and the TCP path MTU of the port whose service answered it, as one measurement:
/// the path MTU starts once the check shows that port (`RDPCheck.servicePort`: the RDP host that
/// selected TLS, else the gateway's TLS port), so its connections follow the check's handshake
/// (RDP servers listen with tiny backlogs: xrdp's is 2, and a burst of SYNs loses some and costs a
/// one-second retransmission) and a port that only accepts and closes is not measured.
/// `pathprobe rdp`, `profile --rdp`, `bulk --mode rdp` and the exporter all run this one
/// measurement. With a `budget` it ends when the budget is spent, whatever is still open (the
/// exporter's scrape deadline). `icmp`, when given (the ICMP path MTU and its per-hop view, where
/// echo is answered), starts once the TCP path MTU is done: a packet-too-big it draws teaches the
/// kernel a path MTU for the host, and a cached path MTU caps the MSS the TCP measurement's download
/// probes can advertise (seen in the lab: "at least 1400" instead of 1400). It is waited for
/// `icmpWait` at most (a host that answers no echo would hold the check up for seconds).
///
/// The path MTU's connections and the ICMP search's probes carry MeasurementPair's mark (bit 31 of
/// the tag): a marked connection event is the path MTU's (the ICMP search opens none), a marked
/// probe result the ICMP search's (the path MTU sends no datagrams).
public final class RDPRun: Measurement {
    public let check: RDPCheck
    public private(set) var pathMTU: TCPPathMTUMeasurement?
    public let icmp: PathMTUMeasurement?
    /// Makes the path MTU measurement for the port that answered (nil: not wanted).
    private let makePathMTU: (_ port: UInt16, _ service: TCPService) -> TCPPathMTUMeasurement?
    private let budget: Nanoseconds?
    private var start: Nanoseconds?
    private var decided = false
    private var expired = false
    private var icmpStart: Nanoseconds?
    private var icmpAbandoned = false
    /// How long the ICMP search may keep the run going, from its start.
    public static let icmpWait: Nanoseconds = .fromMs(1000)

    public init(check: RDPCheck, icmp: PathMTUMeasurement? = nil, budget: Nanoseconds? = nil,
                pathMTU: @escaping (_ port: UInt16, _ service: TCPService) -> TCPPathMTUMeasurement?) {
        self.check = check
        self.icmp = icmp
        self.budget = budget
        makePathMTU = pathMTU
    }

    public var isFinished: Bool {
        expired || (check.isFinished && pathDone && (icmp == nil || icmp!.isFinished || icmpAbandoned))
    }

    /// The path MTU is measured, or will not be.
    private var pathDone: Bool { decided && (pathMTU?.isFinished ?? true) }

    /// The ICMP search, once the path MTU is done; abandoned `icmpWait` after it started.
    private func runICMP<S: ProbeScheduler>(_ s: inout S) {
        guard let icmp, pathDone, !icmp.isFinished, !icmpAbandoned else { return }
        guard let started = icmpStart else {
            icmpStart = s.now
            asSecond(&s) { icmp.advance(&$0) }
            s.wake(at: s.now + Self.icmpWait)
            return
        }
        if s.now >= started + Self.icmpWait { icmpAbandoned = true } else { asSecond(&s) { icmp.advance(&$0) } }
    }

    public func advance<S: ProbeScheduler>(_ s: inout S) {
        if start == nil { start = s.now }
        if let budget, let start, s.now >= start + budget {
            expired = true
            return
        }
        if !check.isFinished { check.advance(&s) }
        decide(&s)
        if let p = pathMTU, !p.isFinished { asSecond(&s) { p.advance(&$0) } }
        runICMP(&s)
        if let budget, let start { s.wake(at: start + budget) }
    }

    public func handle<S: ProbeScheduler>(_ r: ProbeResult, _ s: inout S) {
        if r.tag & MeasurementPair.secondBit != 0 {
            var result = r
            result.tag &= ~MeasurementPair.secondBit
            result.request.tag &= ~MeasurementPair.secondBit
            if let icmp, !icmp.isFinished { asSecond(&s) { icmp.handle(result, &$0) } }
        } else if !check.isFinished {
            check.handle(r, &s)
        }
    }

    public func handle<S: ProbeScheduler>(_ e: ConnectionResult, _ s: inout S) {
        if e.tag & MeasurementPair.secondBit != 0 {
            var event = e
            event.tag &= ~MeasurementPair.secondBit
            event.request.tag &= ~MeasurementPair.secondBit
            if let p = pathMTU, !p.isFinished { asSecond(&s) { p.handle(event, &$0) } }
        } else if !check.isFinished {
            check.handle(e, &s)
            decide(&s)
        }
        runICMP(&s)
    }

    /// Once the check shows which port speaks its service: the path MTU there (RDP with TLS, or
    /// the gateway's TLS); until then, a look every 10 ms.
    private func decide<S: ProbeScheduler>(_ s: inout S) {
        guard !decided else { return }
        switch check.servicePort(now: s.now) {
        case .pending:
            if check.isFinished { decided = true } else { s.wake(at: s.now + Self.poll) }
        case .none:
            decided = true
        case .port(let port, let gateway):
            decided = true
            guard let p = makePathMTU(port, gateway ? .tls : .rdp) else { return }
            pathMTU = p
            asSecond(&s) { p.advance(&$0) }
        }
    }

    static let poll: Nanoseconds = .fromMs(10)

    /// Runs the path MTU or the ICMP search with the mark on what it sends.
    private func asSecond<S: ProbeScheduler>(_ s: inout S, _ body: (inout MeasurementPair.Marking<S>) -> Void) {
        var m = MeasurementPair.Marking(base: s, mark: true)
        body(&m)
        s = m.base
    }
}
