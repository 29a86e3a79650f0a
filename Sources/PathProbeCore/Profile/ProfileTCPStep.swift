/// `profile`'s TCP path MTU step: ICMP echo cannot show a download black hole on IPv4 (Linux sends
/// echo replies without DF, so routers fragment them), and a host behind a Windows-like firewall
/// answers neither echo nor closed UDP ports. So after the ICMP (or UDP) search and the port probes,
/// `profile` measures both directions over TCP on one of its open ports:
/// - always when one speaks TLS, RDP, HTTP or `pathprobe serve` (by its well-known port);
/// - when the ICMP / UDP search got no answer, on the first open port (as TLS: any TCP server
///   acknowledges an upload probe; the download needs a flight, else it is null with a note).
/// The `mtu` object of the report is then the TCP measurement (`protocol` "tcp"), with the per-hop
/// view of the ICMP trace when there is one.
public enum ProfileTCPStep {
    /// The port and service to measure over, or nil: no TCP step.
    public static func choose(datagramReachable: Bool, tcp: [(port: UInt16, state: TCPPortState)]) -> (port: UInt16, service: TCPService)? {
        let open = tcp.filter { $0.state == .open }.map(\.port)
        if let port = open.first(where: { TCPService.known($0) != nil }), let service = TCPService.known(port) {
            return (port, service)
        }
        if !datagramReachable, let port = open.first { return (port, TCPService.forPort(port)) }
        return nil
    }

    /// The report's `mtu`: the TCP measurement when it measured (or when nothing else reached the
    /// host), else the ICMP / UDP one with a note about the TCP attempt.
    public static func combine(_ datagram: PathMTUResult, tcp: PathMTUResult) -> PathMTUResult {
        let probes = datagram.probesSent + tcp.probesSent
        guard tcp.reachable && (tcp.pathMTU != nil || !datagram.reachable) else {
            var r = datagram
            let what = "tcp port \(tcp.port.map(String.init) ?? "?")"
            if !tcp.reachable {
                r.notes.append("\(what): \(tcp.error ?? "unreachable")")
            } else {
                r.notes.append("\(what): no path MTU" + (tcp.notes.first.map { " (\($0))" } ?? ""))
            }
            r.probesSent = probes
            return r
        }
        var r = tcp
        let name = datagram.probeProtocol.rawValue
        if datagram.reachable {
            r.hops = datagram.hops
            if datagram.blackHole, let hop = datagram.blackHoleHop, r.pathMTUUp == datagram.pathMTU,
               r.blackHoleDirection == .up || r.blackHoleDirection == .both {
                r.blackHoleHop = hop
            }
            r.notes.append("\(name): path MTU " + (datagram.pathMTU.map(String.init) ?? "not measured")
                           + (datagram.blackHole ? ", black hole" : ""))
        } else {
            r.notes.append("\(name): no answer" + (datagram.error.map { " (\($0))" } ?? "") + ": measured over TCP")
        }
        r.probesSent = probes
        r.durationMs = max(datagram.durationMs, tcp.durationMs)  // both count from their prepare: the first spans the run
        return r
    }
}

/// A measurement, then another chosen when it has finished: `next` is asked after each of the first
/// one's calls once it is finished (and every 10 ms while it answers `.wait`: the choice may depend
/// on other measurements). Everything after the first one finished goes to the second, which must
/// ignore events of connections it did not open (TCPPathMTUMeasurement does). `profile` runs its
/// TCP step this way, in `profile` as in `bulk --mode profile` and the exporter.
public final class FollowUpMeasurement: Measurement {
    public enum Next {
        /// Not known yet: ask again soon.
        case wait
        /// Nothing follows.
        case none
        case start(any Measurement)
    }

    public let first: any Measurement
    public private(set) var second: (any Measurement)? = nil
    private let next: () -> Next
    private var decided = false
    static let pollInterval: Nanoseconds = 10_000_000

    public init(_ first: any Measurement, then next: @escaping () -> Next) {
        self.first = first
        self.next = next
    }

    public var isFinished: Bool { first.isFinished && decided && (second?.isFinished ?? true) }

    public func advance<S: ProbeScheduler>(_ s: inout S) {
        if let second { second.advance(&s); return }
        if !first.isFinished { first.advance(&s) }
        decide(&s)
    }

    public func handle<S: ProbeScheduler>(_ r: ProbeResult, _ s: inout S) {
        if let second { second.handle(r, &s); return }
        if !first.isFinished { first.handle(r, &s) }
        decide(&s)
    }

    public func handle<S: ProbeScheduler>(_ e: ConnectionResult, _ s: inout S) {
        if let second { second.handle(e, &s); return }
        if !first.isFinished { first.handle(e, &s) }
        decide(&s)
    }

    private func decide<S: ProbeScheduler>(_ s: inout S) {
        guard first.isFinished, !decided else { return }
        switch next() {
        case .wait:
            s.wake(at: s.now + Self.pollInterval)
        case .none:
            decided = true
        case let .start(m):
            decided = true
            second = m
            m.advance(&s)
        }
    }
}
