import Foundation
import Testing
@testable import PathProbeExporter

/// A coordinator over a fake prober and a config given as text.
struct CoordinatorHarness {
    static let config = """
        modules:
          mtu:
            prober: mtu
            timeout: 60s
          mtu_nohops:
            prober: mtu
            timeout: 60s
            no-hops: true
          reach:
            prober: reach
            timeout: 60s
            tcp: 443
            udp: 3391
        """

    let prober: FakeProber
    let metrics: ExporterMetrics
    let coordinator: ProbeCoordinator

    init(prober: FakeProber = FakeProber(), settings: CoordinatorSettings = CoordinatorSettings(), config: String = Self.config) throws {
        self.prober = prober
        metrics = ExporterMetrics(maxConcurrent: settings.maxConcurrent)
        let store = ConfigStore(initial: try ConfigLoader.parse(config, path: "test.yml"), metrics: metrics, logger: .init(label: "test"))
        coordinator = ProbeCoordinator(executor: prober, config: store, metrics: metrics, settings: settings)
    }

    func probe(_ target: String?, _ module: String? = "mtu", scrapeTimeout: String? = nil, debug: Bool = false) async -> ProbeReply {
        await coordinator.probe(target: target, module: module, scrapeTimeout: scrapeTimeout, debug: debug)
    }

    /// The metrics of a probe that answered with metrics.
    func metricsOf(_ target: String, _ module: String = "mtu", scrapeTimeout: String? = nil) async throws -> [String: Double] {
        guard case .metrics(let text) = await probe(target, module, scrapeTimeout: scrapeTimeout) else {
            throw LabError("\(target): no metrics")
        }
        return samples(text)
    }
}

@Suite("Probe coordinator")
struct CoordinatorTests {
    @Test func scenariosBecomeMetrics() async throws {
        let h = try CoordinatorHarness()
        let clean = try await h.metricsOf("clean.lab")
        #expect(clean["pathprobe_probe_success"] == 1 && clean["pathprobe_path_mtu_bytes{direction=\"both\"}"] == 1500)
        #expect(clean["pathprobe_black_hole"] == 0)
        let hole = try await h.metricsOf("blackhole.lab")
        #expect(hole["pathprobe_black_hole"] == 1 && hole["pathprobe_black_hole_hop"] == 2)
        #expect(hole["pathprobe_path_mtu_bytes{direction=\"both\"}"] == 1400)
        let v6 = try await h.metricsOf("fd00:3::2")
        #expect(v6["pathprobe_probe_success"] == 1)
    }

    @Test func badTargetsAreFailuresNotErrors() async throws {
        let h = try CoordinatorHarness()
        let unknown = try await h.metricsOf("bad.invalid")
        #expect(unknown["pathprobe_probe_success"] == 0)
        // Not even handed to the prober: spaces, control characters, absurd length.
        for target in ["two words", "tab\there", String(repeating: "a", count: 300), "nul\u{0}"] {
            guard case .debug(let text) = await h.probe(target, debug: true) else { Issue.record("no answer for \(target.debugDescription)"); continue }
            #expect(text.contains("Result: failure: not a host name or address"))
            #expect(text.contains("pathprobe_probe_success 0"))
        }
        #expect(h.prober.jobs.map(\.target) == ["bad.invalid"])
    }

    @Test func requestErrors() async throws {
        let h = try CoordinatorHarness()
        #expect(await h.probe(nil) == .rejected(status: 400, message: "Target parameter is missing"))
        #expect(await h.probe("  ") == .rejected(status: 400, message: "Target parameter is missing"))
        #expect(await h.probe("clean.lab", "nope") == .rejected(status: 400, message: "Unknown module \"nope\""))
        #expect(await h.probe("clean.lab", nil) == .rejected(status: 400, message: "Module parameter is missing"))
        let s = samples(h.metrics.render())
        #expect(s["pathprobe_exporter_errors_total{kind=\"missing_target\"}"] == 2)
        #expect(s["pathprobe_exporter_errors_total{kind=\"unknown_module\"}"] == 2)
    }

    @Test func budgetFromModuleAndScrapeTimeout() {
        let offset = Duration.milliseconds(500)
        #expect(ProbeCoordinator.budget(module: .seconds(5), scrapeTimeout: nil, offset: offset).duration == .seconds(5))
        #expect(ProbeCoordinator.budget(module: .seconds(5), scrapeTimeout: "10", offset: offset).duration == .seconds(5))
        #expect(ProbeCoordinator.budget(module: .seconds(5), scrapeTimeout: "3", offset: offset).duration == .milliseconds(2500))
        #expect(ProbeCoordinator.budget(module: .seconds(5), scrapeTimeout: "0.6", offset: offset).duration == .milliseconds(300))
        #expect(ProbeCoordinator.budget(module: .seconds(5), scrapeTimeout: "junk", offset: offset).duration == .seconds(5))
        #expect(ProbeCoordinator.budget(module: .seconds(5), scrapeTimeout: "-1", offset: offset).duration == .seconds(5))
        #expect(ProbeCoordinator.budget(module: .seconds(5), scrapeTimeout: "junk", offset: offset).reason.contains("ignored"))
    }

    /// A probe that would finish after the scrape's deadline is cut short, says so, and the answer
    /// comes within the scrape's timeout.
    @Test func scrapeTimeoutCutsShort() async throws {
        let h = try CoordinatorHarness()
        let start = ContinuousClock.now
        guard case .debug(let text) = await h.probe("slow.lab", scrapeTimeout: "1", debug: true) else { Issue.record("no debug"); return }
        let elapsed = ContinuousClock.now - start
        // The slow prober would take an hour: that it answered at all is the cut. (No upper bound
        // in wall time: other tests start Prometheus and chromium on the same two cores.)
        #expect(elapsed >= .milliseconds(500), "\(elapsed)")
        #expect(text.contains("Budget: 500ms, the scrape timeout 1s less the 500ms margin"))
        #expect(text.contains("cut short"))
        #expect(text.contains("pathprobe_probe_cut_short 1"))
        #expect(samples(h.metrics.render())["pathprobe_exporter_probes_cut_short_total{module=\"mtu\"}"] == 1)
    }

    /// A prober that ignores its deadline and cancellation cannot hold the answer: the backstop answers.
    @Test func backstopAnswersForAStuckProber() async throws {
        var settings = CoordinatorSettings()
        settings.backstopGrace = .milliseconds(100)
        let h = try CoordinatorHarness(settings: settings)
        let m = try await h.metricsOf("stuck.lab", scrapeTimeout: "1")  // the stuck prober takes an hour
        #expect(m["pathprobe_probe_success"] == 0 && m["pathprobe_probe_cut_short"] == 1)
        #expect(samples(h.metrics.render())["pathprobe_exporter_errors_total{kind=\"abandoned\"}"] == 1)
        #expect(h.coordinator.inFlight == 0)
    }

    /// Beyond --max-concurrent, scrapes get 503 at once.
    @Test func excessScrapesGet503Quickly() async throws {
        var settings = CoordinatorSettings()
        settings.maxConcurrent = 2
        let prober = FakeProber(rules: [("hold", .init(delay: .seconds(3600), outcome: FakeProber.clean.outcome))])
        let h = try CoordinatorHarness(prober: prober, settings: settings)
        async let a = h.probe("hold-1", scrapeTimeout: "3")
        async let b = h.probe("hold-2", scrapeTimeout: "3")
        _ = try await ExporterLab.eventually("two probes in flight", timeout: .seconds(60)) { h.coordinator.inFlight == 2 ? true : nil }
        let third = await h.probe("hold-3")
        #expect(h.coordinator.inFlight == 2)  // answered while the others still run
        #expect(third == .rejected(status: 503, message: "busy: 2 probes are running (--max-concurrent)"))
        let first = await a, second = await b
        for reply in [first, second] {
            guard case .metrics = reply else { Issue.record("\(reply)"); continue }
        }
        #expect(samples(h.metrics.render())["pathprobe_exporter_errors_total{kind=\"busy\"}"] == 1)
        #expect(h.coordinator.inFlight == 0)
    }

    /// Hop probes go to a target at most once per interval; in between they are skipped and the
    /// hops come from the cache.
    @Test func hopProbesArePacedPerTarget() async throws {
        let h = try CoordinatorHarness()
        let first = try await h.metricsOf("blackhole.lab")
        let second = try await h.metricsOf("BlackHole.lab")  // the same target
        let other = try await h.metricsOf("clean.lab")
        let noHopsModule = try await h.metricsOf("blackhole.lab", "mtu_nohops")
        #expect(h.prober.jobs.map(\.hopProbes) == [.send, .skip, .send, .send])
        #expect(first["pathprobe_hop_cache_age_seconds"] == nil)
        #expect(second["pathprobe_hop_cache_age_seconds"] != nil)
        #expect(second["pathprobe_hop_rtt_seconds{ttl=\"2\"}"] == first["pathprobe_hop_rtt_seconds{ttl=\"2\"}"])
        #expect(second["pathprobe_black_hole_hop"] == 2)
        #expect(other["pathprobe_hop_cache_age_seconds"] == nil)
        #expect(noHopsModule["pathprobe_hop_cache_age_seconds"] == nil)
        let s = samples(h.metrics.render())
        #expect(s["pathprobe_exporter_hop_probes_total{decision=\"sent\"}"] == 2)
        #expect(s["pathprobe_exporter_hop_probes_total{decision=\"cached\"}"] == 1)
    }

    @Test func pacerDecisions() {
        var pacer = HopPacer(interval: .seconds(60))
        let t0 = ContinuousClock.now
        #expect(pacer.decide(target: "a", now: t0) == .send)
        #expect(pacer.decide(target: "a", now: t0 + .seconds(1)) == .skip(nil, .recent))  // in flight, nothing cached yet
        pacer.store(target: "a", hops: [.init(ttl: 1, rtt: .milliseconds(1))], blackHoleHop: nil, now: t0 + .seconds(2))
        guard case .skip(let cached?, .recent) = pacer.decide(target: "A", now: t0 + .seconds(30)) else { Issue.record("not cached"); return }
        #expect(cached.hops.count == 1)
        #expect(pacer.decide(target: "a", now: t0 + .seconds(61)) == .send)
        var unpaced = HopPacer(interval: .zero)
        #expect(unpaced.decide(target: "a", now: t0) == .send && unpaced.decide(target: "a", now: t0) == .send)
    }

    /// At most `tracesPerSecond` targets get hop probes per second, after a burst of 3; the others
    /// are served their cached hops (kept for 6 hours).
    @Test func pacerBudget() {
        var pacer = HopPacer(interval: .seconds(60), tracesPerSecond: 0.5)
        let t0 = ContinuousClock.now
        let burst = (0..<10).map { pacer.decide(target: "t\($0)", now: t0) }
        #expect(burst.filter { $0 == .send }.count == 3)
        #expect(burst.last == .skip(nil, .budget))
        #expect(pacer.decide(target: "t9", now: t0 + .seconds(1)) == .skip(nil, .budget))
        #expect(pacer.decide(target: "t9", now: t0 + .seconds(2)) == .send)
        pacer.store(target: "t0", hops: [.init(ttl: 1, rtt: .milliseconds(1))], blackHoleHop: nil, now: t0)
        let later = t0 + .seconds(3000)
        #expect((10..<13).allSatisfy { pacer.decide(target: "t\($0)", now: later) == .send })  // the budget spent again
        guard case .skip(let cached?, .budget) = pacer.decide(target: "t0", now: later) else { Issue.record("not cached"); return }
        #expect(cached.measuredAt == t0 && pacer.cacheLifetime == .seconds(6 * 3600))
        #expect(pacer.decide(target: "t0", now: later + .seconds(2)) == .send)
    }

    @Test func recentProbesKeepTheirLogs() async throws {
        var settings = CoordinatorSettings()
        settings.recentCapacity = 3
        let h = try CoordinatorHarness(settings: settings)
        for target in ["clean.1", "clean.2", "bad.3", "clean.4"] { _ = await h.probe(target, "reach") }
        let recent = h.coordinator.recent
        #expect(recent.map(\.target) == ["clean.4", "bad.3", "clean.2"])
        let bad = try #require(h.coordinator.record(id: recent[1].id))
        #expect(bad.debugText.contains("Result: failure: unknown host"))
        #expect(bad.debugText.contains("Settings: --tcp=443 --udp=3391"))
        #expect(bad.debugText.contains("Hop probes: none"))
        #expect(bad.debugText.contains("fake prober: reach bad.3"))
        #expect(h.coordinator.record(id: 1) == nil)  // pushed out
    }
}
