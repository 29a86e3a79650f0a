import Foundation
import Testing

/// A real Prometheus server (Debian's) scraping the exporter, both in a network namespace of the
/// test's own, values read back through Prometheus' HTTP API. Phase 1 runs the fake prober (targets
/// named after scenarios; nothing is sent); phase 2 runs the real measurements with the exporter
/// and Prometheus in the lab topology's client namespace and the lab's server addresses as targets.
@Suite("Prometheus lab", .serialized,
       .enabled(if: ExporterLab.namespaceSkipReason == nil && PrometheusServer.skipReason == nil,
                "\(ExporterLab.namespaceSkipReason ?? PrometheusServer.skipReason ?? "")"))
struct PrometheusLabTests {
    static let exporterConfig = """
        modules:
          mtu_icmp:
            prober: mtu
            timeout: 10s
            protocol: icmp
          rdp_transports:
            prober: reach
            timeout: 10s
            rdp: true
        """

    /// blackbox_exporter's relabelling: the target becomes the `target` parameter and the
    /// `instance` label; the exporter is the address scraped.
    static func scrapeConfigs(exporter: String, targets: [String], module: String, job: String, timeout: String = "1s") -> String {
        """
          - job_name: \(job)
            metrics_path: /probe
            scrape_timeout: \(timeout)
            params:
              module: [\(module)]
            static_configs:
              - targets: [\(targets.map { "'\($0)'" }.joined(separator: ", "))]
            relabel_configs:
              - source_labels: [__address__]
                target_label: __param_target
              - source_labels: [__param_target]
                target_label: instance
              - target_label: __address__
                replacement: \(exporter)

        """
    }

    /// The exporter (fake prober) in a new namespace on 127.0.0.1:9799; everything is removed after `body`.
    static func withExporterInNamespace(_ body: (TestNamespace, ExporterLab.Cleanup) async throws -> Void) async throws {
        try await ExporterLab.withCleanup { cleanup in
            let ns = try await TestNamespace()
            cleanup.add { await ns.remove() }
            let config = try ExporterLab.temporaryFile(Self.exporterConfig)
            cleanup.add { try? FileManager.default.removeItem(atPath: config) }
            let exporter = try ExporterProcess(namespace: ns, config: config, port: 9799)
            cleanup.add { await exporter.stop() }
            try await exporter.waitListening()
            try await body(ns, cleanup)
        }
    }

    @Test func prometheusScrapesTheExporter() async throws {
        try await Self.withExporterInNamespace { ns, cleanup in
            let address = "127.0.0.1:9799"
            let prometheus = try PrometheusServer(namespace: ns, scrapeConfigs:
                Self.scrapeConfigs(exporter: address, targets: Self.mtuTargets, module: "mtu_icmp", job: "pathprobe_mtu")
                + Self.scrapeConfigs(exporter: address, targets: ["udplost.lab", "clean.lab"], module: "rdp_transports", job: "pathprobe_rdp")
                + "  - job_name: pathprobe_exporter\n    static_configs:\n      - targets: ['\(address)']\n")
            cleanup.add { await prometheus.stop() }
            try await prometheus.waitReady()
            try await Self.checkValues(prometheus)
        }
    }

    static let mtuTargets = ["clean.lab", "ptb.lab", "blackhole.lab", "bad.invalid", "fd00:3::2", "slow.lab"]

    /// What Prometheus must have stored.
    static func checkValues(_ prometheus: PrometheusServer) async throws {
        let mtuTargets = Self.mtuTargets
        // Every scrape is up and within its timeout, the slow target included (cut short, and saying so).
        let up = try await prometheus.values("up{job=\"pathprobe_mtu\"}", instances: mtuTargets)
        #expect(up.values.allSatisfy { $0 == 1 }, "\(up)")
        let duration = try await prometheus.values("scrape_duration_seconds{job=\"pathprobe_mtu\"}", instances: mtuTargets)
        #expect(duration.values.allSatisfy { $0 < 1 }, "\(duration)")

        let success = try await prometheus.values("pathprobe_probe_success{job=\"pathprobe_mtu\"}", instances: mtuTargets)
        #expect(success == ["clean.lab": 1, "ptb.lab": 1, "blackhole.lab": 1, "bad.invalid": 0, "fd00:3::2": 1, "slow.lab": 0])
        let mtu = try await prometheus.values("pathprobe_path_mtu_bytes{job=\"pathprobe_mtu\"}", instances: ["clean.lab", "ptb.lab", "blackhole.lab"])
        #expect(mtu["clean.lab"] == 1500 && mtu["ptb.lab"] == 1400 && mtu["blackhole.lab"] == 1400)
        let hole = try await prometheus.values("pathprobe_black_hole{job=\"pathprobe_mtu\"}", instances: ["clean.lab", "ptb.lab", "blackhole.lab"])
        #expect(hole["clean.lab"] == 0 && hole["ptb.lab"] == 0 && hole["blackhole.lab"] == 1)
        let hop = try await prometheus.values("pathprobe_black_hole_hop", instances: ["blackhole.lab"])
        #expect(hop["blackhole.lab"] == 2)
        let cut = try await prometheus.values("pathprobe_probe_cut_short{job=\"pathprobe_mtu\"}", instances: ["slow.lab", "clean.lab"])
        #expect(cut["slow.lab"] == 1 && cut["clean.lab"] == 0)
        let ipv6 = try await prometheus.values("pathprobe_probe_ip_protocol", instances: ["fd00:3::2"])
        #expect(ipv6["fd00:3::2"] == 6)

        // Ports: the UDP transport lost behind one target, as the alert rule sees it.
        let udp = try await prometheus.values("pathprobe_port_state{job=\"pathprobe_rdp\",proto=\"udp\",port=\"3391\",state=\"open\"}",
                                              instances: ["udplost.lab", "clean.lab"])
        #expect(udp == ["udplost.lab": 0, "clean.lab": 1])

        // The exporter's own metrics, scraped as a normal target.
        let probes = try await ExporterLab.eventually("probes counted") { () -> Double? in
            let total = try await prometheus.query("sum(pathprobe_exporter_probes_total)").first?.value ?? 0
            return total >= Double(mtuTargets.count) ? total : nil
        }
        #expect(probes >= Double(mtuTargets.count))
        let cutShort = try await prometheus.query("pathprobe_exporter_probes_cut_short_total{module=\"mtu_icmp\"}").first?.value ?? 0
        #expect(cutShort >= 1)
    }
}

/// The status page in a real browser: Debian's chromium, headless, in a namespace with nothing but
/// loopback (so it cannot reach anything else, whatever it tries in the background).
@Suite("Status page in chromium",
       .enabled(if: ExporterLab.namespaceSkipReason == nil && ExporterLab.executable("chromium") != nil,
                "\(ExporterLab.namespaceSkipReason ?? "Debian's chromium is not installed (scripts/install-deps.sh)")"))
struct StatusPageBrowserTests {
    @Test func chromiumRendersRecentProbes() async throws {
        try await PrometheusLabTests.withExporterInNamespace { ns, cleanup in
            for target in ["clean.lab", "blackhole.lab", "bad.invalid"] {
                _ = try await ns.httpGet("http://127.0.0.1:9799/probe?target=\(target)&module=mtu_icmp")
            }
            let profile = FileManager.default.temporaryDirectory.appendingPathComponent("ppx-chromium-\(UUID().uuidString)")
            cleanup.add { try? FileManager.default.removeItem(at: profile) }
            try await Self.checkPage(in: ns, profile: profile)
        }
    }

    static func checkPage(in ns: TestNamespace, profile: URL) async throws {
        let dom = try await ExporterLab.run(ns.command([
            ExporterLab.executable("chromium")!, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--user-data-dir=\(profile.path)", "--dump-dom", "http://127.0.0.1:9799/",
        ]), timeout: .seconds(120))
        #expect(dom.status == 0, "\(dom.output)")
        // Rows the browser parsed, newest first, with their results and log links.
        let rows = dom.output.components(separatedBy: "<tr class=\"probe\">").dropFirst()
        #expect(rows.count == 3, "\(dom.output)")
        let targets = rows.compactMap { row in ["bad.invalid", "blackhole.lab", "clean.lab"].first { row.contains("<td>\($0)</td>") } }
        #expect(targets == ["bad.invalid", "blackhole.lab", "clean.lab"])
        #expect(rows.first?.contains("<td class=\"failure\">failure</td>") == true)
        #expect(rows.first?.contains("unknown host") == true)
        #expect(dom.output.contains("<a href=\"/logs?id=3\">Logs</a>"))
        #expect(dom.output.contains("<title>pathprobe exporter</title>"))
    }
}
