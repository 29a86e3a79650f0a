import Foundation
import Testing
@testable import PathProbeExporter

/// The text format parsed back: `name{labels}` -> value (labels in the order written).
func samples(_ text: String) -> [String: Double] {
    var out: [String: Double] = [:]
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
        guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
        out[String(line[..<space])] = value
    }
    return out
}

@Suite("Metrics")
struct MetricsTests {
    @Test func blackHoleProbe() {
        var o = ProbeOutcome(success: true)
        o.ipVersion = 6
        o.pathMTU = [.init(.up, 1500), .init(.down, 1452)]
        o.blackHole = true
        o.blackHoleHop = 3
        o.mss = 1440
        o.hops = [.init(ttl: 1, rtt: .milliseconds(1)), .init(ttl: 2, rtt: nil), .init(ttl: 3, rtt: .microseconds(2500))]
        o.findings = [.init(id: "pmtu_black_hole", severity: .critical, message: "x")]
        let s = samples(ProbeMetrics.render(o, duration: .milliseconds(1250), hopCacheAge: .seconds(12)))
        #expect(s["pathprobe_probe_success"] == 1)
        #expect(s["pathprobe_probe_duration_seconds"] == 1.25)
        #expect(s["pathprobe_probe_cut_short"] == 0)
        #expect(s["pathprobe_probe_ip_protocol"] == 6)
        #expect(s["pathprobe_path_mtu_bytes{direction=\"up\"}"] == 1500)
        #expect(s["pathprobe_path_mtu_bytes{direction=\"down\"}"] == 1452)
        #expect(s["pathprobe_black_hole"] == 1)
        #expect(s["pathprobe_black_hole_hop"] == 3)
        #expect(s["pathprobe_mss_bytes"] == 1440)
        #expect(s["pathprobe_hop_rtt_seconds{ttl=\"1\"}"] == 0.001)
        #expect(s["pathprobe_hop_rtt_seconds{ttl=\"2\"}"] == nil)  // silent hop: no sample
        #expect(s["pathprobe_hop_rtt_seconds{ttl=\"3\"}"] == 0.0025)
        #expect(s["pathprobe_hop_cache_age_seconds"] == 12)
        #expect(s["pathprobe_finding{id=\"pmtu_black_hole\",severity=\"critical\"}"] == 1)
    }

    /// Every state of a port is written, the current one 1: a change is a value, not a vanishing series.
    @Test func portStates() {
        var o = ProbeOutcome(success: true)
        o.ports = [.init(.tcp, 443, .open), .init(.udp, 3391, .openFiltered)]
        let s = samples(ProbeMetrics.render(o, duration: .zero))
        let tcp = s.filter { $0.key.hasPrefix("pathprobe_port_state{proto=\"tcp\"") }
        let udp = s.filter { $0.key.hasPrefix("pathprobe_port_state{proto=\"udp\"") }
        #expect(tcp.count == 3 && udp.count == 4)
        #expect(s["pathprobe_port_state{proto=\"tcp\",port=\"443\",state=\"open\"}"] == 1)
        #expect(s["pathprobe_port_state{proto=\"tcp\",port=\"443\",state=\"filtered\"}"] == 0)
        #expect(s["pathprobe_port_state{proto=\"udp\",port=\"3391\",state=\"open|filtered\"}"] == 1)
        #expect(udp.values.reduce(0, +) == 1)
    }

    /// What was not measured is not written (no made-up zeros).
    @Test func failedProbeWritesOnlyTheVerdict() {
        let text = ProbeMetrics.render(.failed("unknown host"), duration: .milliseconds(3))
        let names = Set(samples(text).keys)
        #expect(names == ["pathprobe_probe_success", "pathprobe_probe_duration_seconds", "pathprobe_probe_cut_short"])
        #expect(samples(text)["pathprobe_probe_success"] == 0)
        #expect(text.contains("# TYPE pathprobe_probe_success gauge"))
        #expect(text.contains("# HELP pathprobe_probe_success "))
    }

    @Test func labelValuesAreEscaped() {
        var o = ProbeOutcome(success: true)
        o.findings = [.init(id: "a\"b\\c\nd", severity: .info, message: "")]
        let text = ProbeMetrics.render(o, duration: .zero)
        #expect(text.contains(#"pathprobe_finding{id="a\"b\\c\nd",severity="info"} 1"#))
    }

    @Test func exporterMetricsStartAtZeroPerModule() {
        let m = ExporterMetrics(maxConcurrent: 7)
        m.register(modules: ["a", "b"])
        m.probeStarted()
        m.probeFinished(module: "a", success: false, cutShort: true, duration: .milliseconds(300))
        m.error(.busy)
        let s = samples(m.render())
        #expect(s["pathprobe_exporter_probes_total{module=\"a\",result=\"failure\"}"] == 1)
        #expect(s["pathprobe_exporter_probes_total{module=\"b\",result=\"success\"}"] == 0)
        #expect(s["pathprobe_exporter_probes_cut_short_total{module=\"a\"}"] == 1)
        #expect(s["pathprobe_exporter_probes_in_flight"] == 0)
        #expect(s["pathprobe_exporter_max_concurrent_probes"] == 7)
        #expect(s["pathprobe_exporter_errors_total{kind=\"busy\"}"] == 1)
        #expect(s["pathprobe_exporter_probe_duration_seconds_count{module=\"a\"}"] == 1)
        #expect(s["pathprobe_exporter_probe_duration_seconds_bucket{module=\"a\",le=\"0.5\"}"] == 1)
    }
}

/// `promtool check metrics` (Debian's prometheus package) on what the exporter serves.
@Suite("promtool")
struct PromtoolTests {
    static let promtool = ExporterLab.executable("promtool")

    static func check(_ text: String) async throws -> String {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ppx-metrics-\(UUID().uuidString).txt")
        try text.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try await ExporterLab.run(["/bin/sh", "-c", "\"$0\" check metrics < \"$1\"", promtool!, file.path])
        return result.status == 0 && result.output.isEmpty ? "" : "exit \(result.status): \(result.output)"
    }

    @Test(.enabled(if: promtool != nil, "promtool is not installed (Debian's prometheus package; scripts/install-deps.sh)"))
    func probeAndExporterMetricsAreClean() async throws {
        let h = try CoordinatorHarness()
        var texts: [String] = []
        for target in ["clean.lab", "ptb.lab", "blackhole.lab", "tcp.lab", "udplost.lab", "bad.invalid", "fd00:3::2"] {
            guard case .metrics(let text) = await h.coordinator.probe(target: target, module: "mtu", scrapeTimeout: nil, debug: false) else {
                Issue.record("no metrics for \(target)")
                continue
            }
            texts.append(text)
        }
        texts.append(h.metrics.render())
        for text in texts {
            #expect(try await Self.check(text) == "", "\(text)")
        }
    }
}
