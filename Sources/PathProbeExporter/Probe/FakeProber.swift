import NIOConcurrencyHelpers

/// A prober that sends nothing: outcomes and delays chosen by the target's name. Used by the unit
/// tests and, through `pathprobe-exporter --fake-prober`, by the Prometheus lab test until the real
/// measurements are plugged in (phase 2). It keeps the execution contract of `ProbeExecutor`
/// (deadline, cancellation, hop pacing), except where a behaviour is made to break it on purpose.
public final class FakeProber: ProbeExecutor {
    public struct Behaviour: Sendable {
        public var delay: Duration
        public var outcome: ProbeOutcome
        /// Runs past the deadline and ignores cancellation: a misbehaving prober, which the
        /// exporter's backstop must survive.
        public var ignoresDeadline: Bool

        public init(delay: Duration = .milliseconds(20), outcome: ProbeOutcome, ignoresDeadline: Bool = false) {
            self.delay = delay
            self.outcome = outcome
            self.ignoresDeadline = ignoresDeadline
        }
    }

    /// First match wins: a rule matches a target that starts with its prefix (case-insensitively).
    public let rules: [(prefix: String, behaviour: Behaviour)]
    public let fallback: Behaviour
    private let recorded = NIOLockedValueBox<[ProbeJob]>([])

    public init(rules: [(prefix: String, behaviour: Behaviour)] = FakeProber.scenarios, fallback: Behaviour = FakeProber.clean) {
        self.rules = rules
        self.fallback = fallback
    }

    /// The jobs run so far, oldest first.
    public var jobs: [ProbeJob] { recorded.withLockedValue { $0 } }

    public func behaviour(for target: String) -> Behaviour {
        let t = target.lowercased()
        return rules.first { t.hasPrefix($0.prefix) }?.behaviour ?? fallback
    }

    public func run(_ job: ProbeJob) async -> ProbeOutcome {
        recorded.withLockedValue { $0.append(job) }
        let b = behaviour(for: job.target)
        job.log.add("fake prober: \(job.module.prober.rawValue) \(job.target) \(job.module.arguments.joined(separator: " "))")
        let finish = ContinuousClock.now + b.delay
        if b.ignoresDeadline {
            // A detached task does not see this task's cancellation.
            await Task.detached { try? await Task.sleep(until: finish) }.value
        } else if finish > job.deadline {
            try? await Task.sleep(until: job.deadline)
            job.log.add("deadline reached before the measurement finished")
            return .failed("cut short at the deadline", cutShort: true)
        } else {
            do {
                try await Task.sleep(until: finish)
            } catch {
                job.log.add("cancelled")
                return .failed("cancelled", cutShort: true)
            }
        }
        var outcome = b.outcome
        if job.target.contains(":") && outcome.address != nil {  // an IPv6 literal
            outcome.address = job.target
            outcome.ipVersion = 6
        }
        if job.hopProbes == .skip && !outcome.hops.isEmpty {
            job.log.add("hop probes skipped: this target's routers were asked recently")
            outcome.hops = []
            outcome.blackHoleHop = nil
        }
        job.log.add(outcome.success ? "done" : "failed: \(outcome.failure ?? "?")")
        return outcome
    }
}

extension FakeProber {
    static func hops(_ count: Int, stoppingAfter lastAnswering: Int? = nil) -> [ProbeOutcome.Hop] {
        (1...count).map { ttl in
            let answers = lastAnswering.map { ttl <= $0 } ?? true
            return .init(ttl: ttl, address: "192.0.2.\(ttl)", rtt: answers ? .microseconds(800 * ttl) : nil)
        }
    }

    static func path(mtu: Int, blackHole: Bool, hop: Int?) -> ProbeOutcome {
        var o = ProbeOutcome(success: true)
        o.address = "192.0.2.100"
        o.ipVersion = 4
        o.pathMTU = [.init(.both, mtu)]
        o.blackHole = blackHole
        o.blackHoleHop = hop
        o.hops = hops(3)
        o.resultText = "path MTU \(mtu)\(blackHole ? ", black hole after hop \(hop.map(String.init) ?? "?")" : "")"
        return o
    }

    /// A clean path: MTU 1500, three hops.
    public static let clean = Behaviour(outcome: {
        var o = path(mtu: 1500, blackHole: false, hop: nil)
        o.mss = 1460
        o.ports = [.init(.tcp, 443, .open), .init(.udp, 3391, .open)]
        return o
    }())

    /// The built-in scenarios, by target name prefix (`blackhole.lab`, `ptb-2.lab`, `bad.invalid`...).
    public static let scenarios: [(prefix: String, behaviour: Behaviour)] = [
        ("clean", clean),
        ("ptb", Behaviour(outcome: {
            var o = path(mtu: 1400, blackHole: false, hop: nil)
            o.findings = [.init(id: "path_mtu_below_interface", severity: .warning, message: "the path MTU 1400 is below the interface MTU 1500")]
            return o
        }())),
        ("blackhole", Behaviour(outcome: {
            var o = path(mtu: 1400, blackHole: true, hop: 2)
            o.findings = [.init(id: "pmtu_black_hole", severity: .critical, message: "packets above 1400 bytes vanish after hop 2 without a packet-too-big")]
            return o
        }())),
        ("tcp", Behaviour(outcome: {
            var o = path(mtu: 1500, blackHole: false, hop: nil)
            o.pathMTU = [.init(.up, 1500), .init(.down, 1452)]
            o.mss = 1412
            return o
        }())),
        ("udplost", Behaviour(outcome: {
            var o = path(mtu: 1500, blackHole: false, hop: nil)
            o.ports = [.init(.tcp, 443, .open), .init(.tcp, 3389, .open), .init(.udp, 3391, .filtered), .init(.udp, 3389, .openFiltered)]
            o.findings = [.init(id: "udp_transport_blocked", severity: .warning, message: "UDP 3391 is filtered: RDP falls back to TCP")]
            return o
        }())),
        ("bad", Behaviour(delay: .milliseconds(5), outcome: .failed("unknown host"))),
        ("slow", Behaviour(delay: .seconds(3600), outcome: clean.outcome)),
        ("stuck", Behaviour(delay: .seconds(3600), outcome: clean.outcome, ignoresDeadline: true)),
    ]
}
