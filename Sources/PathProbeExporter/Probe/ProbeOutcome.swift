/// What one probe found, in the plain shape the metrics are made from. The probers' typed results
/// (mtu, reach, profile, rdp) are mapped into it (phase 2); the fake prober fills it directly.
/// Unknown stays nil or empty: a metric is written only for what was measured.
public struct ProbeOutcome: Sendable, Equatable {
    /// The probe did what its module asks (the target answered and the measurement completed).
    /// A black hole or a closed port is a finding, not a failure.
    public var success: Bool
    /// Why `success` is false, for the debug output ("unknown host", "no route", ...).
    public var failure: String?
    /// The measurement was stopped at its deadline; what it had by then is here.
    public var cutShort = false
    /// The address probed (after name resolution), as text.
    public var address: String?
    /// 4 or 6, once the address is known.
    public var ipVersion: Int?

    /// Path MTU, one value per direction measured.
    public var pathMTU: [PathMTU] = []
    /// Whether large packets vanish without a packet-too-big (nil: not measured).
    public var blackHole: Bool?
    /// The TTL of the hop after which large packets vanish (nil: not localised).
    public var blackHoleHop: Int?
    /// The TCP maximum segment size the target announced (nil: no TCP connection measured).
    public var mss: Int?
    /// Per-hop round-trip times (TTL-limited probes).
    public var hops: [Hop] = []
    /// Port states (reach, profile, rdp).
    public var ports: [Port] = []
    /// Findings of the advisor / checks.
    public var findings: [Finding] = []
    /// The measurement's result rendered as text (its own text renderer), for the debug output.
    public var resultText: String?

    public init(success: Bool, failure: String? = nil) {
        (self.success, self.failure) = (success, failure)
    }

    /// A failed probe with its reason.
    public static func failed(_ reason: String, cutShort: Bool = false) -> ProbeOutcome {
        var o = ProbeOutcome(success: false, failure: reason)
        o.cutShort = cutShort
        return o
    }

    /// `up`: towards the target (TCP: what the client can send); `down`: from the target back (TCP:
    /// what the server can send); `both`: a round trip that bounds both ways at once (an ICMP echo
    /// answered at the probe's size).
    public enum Direction: String, Sendable, CaseIterable { case up, down, both }

    public struct PathMTU: Sendable, Equatable {
        public var direction: Direction
        public var bytes: Int
        public init(_ direction: Direction, _ bytes: Int) {
            (self.direction, self.bytes) = (direction, bytes)
        }
    }

    public struct Hop: Sendable, Equatable {
        public var ttl: Int
        public var address: String?
        /// Nil when the hop did not answer.
        public var rtt: Duration?
        public init(ttl: Int, address: String? = nil, rtt: Duration?) {
            (self.ttl, self.address, self.rtt) = (ttl, address, rtt)
        }
    }

    public enum Transport: String, Sendable, CaseIterable { case tcp, udp }

    /// The states reach reports (`TCPPortState`, `UDPPortState` in PathProbeCore).
    public enum PortState: String, Sendable, CaseIterable {
        case open, closed, filtered
        case openFiltered = "open|filtered"

        /// The states a transport can report: every one is written (1 for the current state, 0 for
        /// the others), so a change of state is a change of value, not a series that vanishes.
        public static func states(of transport: Transport) -> [PortState] {
            transport == .tcp ? [.open, .closed, .filtered] : [.open, .closed, .openFiltered, .filtered]
        }
    }

    public struct Port: Sendable, Equatable {
        public var transport: Transport
        public var port: UInt16
        public var state: PortState
        public init(_ transport: Transport, _ port: UInt16, _ state: PortState) {
            (self.transport, self.port, self.state) = (transport, port, state)
        }
    }

    public enum Severity: String, Sendable, CaseIterable { case info, warning, critical }

    public struct Finding: Sendable, Equatable {
        public var id: String
        public var severity: Severity
        public var message: String
        public init(id: String, severity: Severity, message: String) {
            (self.id, self.severity, self.message) = (id, severity, message)
        }
    }
}
