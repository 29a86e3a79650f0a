import Foundation
import Testing

/// The real measurements through a real Prometheus server (Debian's): the exporter and Prometheus
/// run in the bulk lab's client namespace (`BulkLab`), Prometheus scrapes targets behind a clean
/// path, a PTB hop and a black hole, over IPv4 and IPv6, and the values are read back through
/// Prometheus' HTTP API.
@Suite("Prometheus lab", .serialized,
       .enabled(if: BulkLab.skipReason == nil && PrometheusServer.skipReason == nil,
                "\(BulkLab.skipReason ?? PrometheusServer.skipReason ?? "")"))
struct PrometheusLabTests {
    static let exporterConfig = """
        modules:
          mtu_icmp:
            prober: mtu
            timeout: 10s
          transports:
            prober: reach
            timeout: 5s
            tcp: 443
          profile_vpn:
            prober: profile
            timeout: 10s
            tcp: 443
        """

    /// blackbox_exporter's relabelling: the target becomes the `target` parameter and the
    /// `instance` label; the exporter is the address scraped.
    static func scrapeConfigs(exporter: String, targets: [String], module: String, job: String, interval: String = "2s") -> String {
        """
          - job_name: \(job)
            metrics_path: /probe
            scrape_interval: \(interval)
            scrape_timeout: \(interval)
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

    /// The targets and what they must measure (path MTU, black hole), by scenario.
    static let clean = ["10.72.0.1", "fd00:72::1", "gw-clean.lab"]
    static let ptb = ["10.72.64.1", "fd00:72:0:1::1"]
    static let blackHole = ["10.72.128.1", "fd00:72:0:2::1", "gw-vpn.lab"]
    /// Does not resolve (the lab's DNS is the client's own loopback, where nothing answers).
    static let unknown = "nonexistent.lab"
    static var mtuTargets: [String] { clean + ptb + blackHole + [unknown] }
    /// On the server's link but nobody's: r2 answers host unreachable only after its ARP gives up
    /// (about 3 s), so with a 2 s scrape timeout the probe is cut short at its deadline.
    static let silent = "10.0.3.99"

    /// The exporter (real prober) in the bulk lab's client namespace on 127.0.0.1:9799; the lab
    /// and everything started in it are removed after `body`, also when it throws.
    static func withExporterInLab(_ body: (TestNamespace, ExporterLab.Cleanup) async throws -> Void) async throws {
        try await ExporterLab.withCleanup { cleanup in
            let lab = try await BulkLab.up()
            cleanup.add { await lab.down() }
            let config = try ExporterLab.temporaryFile(Self.exporterConfig)
            cleanup.add { try? FileManager.default.removeItem(atPath: config) }
            // Hop traces every 20 s per target (not 60 s): a trace whose black hole localisation
            // found a router's ICMP budget spent is repeated within the test's patience.
            let exporter = try ExporterProcess(namespace: lab.client, config: config, port: 9799, arguments: ["--hop-interval", "20"])
            cleanup.add { await exporter.stop() }
            try await exporter.waitListening()
            try await body(lab.client, cleanup)
        }
    }

    /// Scrape intervals (= timeouts): 5 s spreads the first hop traces of the mtu targets (routers
    /// answer TTL-limited probes with about 6 time-exceeded at once, then 1 per second).
    @Test func prometheusReadsRealMeasurements() async throws {
        try await Self.withExporterInLab { ns, cleanup in
            let address = "127.0.0.1:9799"
            let prometheus = try PrometheusServer(namespace: ns, interval: "5s", scrapeConfigs:
                Self.scrapeConfigs(exporter: address, targets: Self.mtuTargets, module: "mtu_icmp", job: "pathprobe_mtu", interval: "5s")
                + Self.scrapeConfigs(exporter: address, targets: [Self.silent], module: "mtu_icmp", job: "pathprobe_short", interval: "2s")
                + Self.scrapeConfigs(exporter: address, targets: ["10.72.0.1"], module: "transports", job: "pathprobe_transports")
                + Self.scrapeConfigs(exporter: address, targets: ["gw-vpn.lab"], module: "profile_vpn", job: "pathprobe_profile", interval: "5s")
                + "  - job_name: pathprobe_exporter\n    scrape_interval: 2s\n    static_configs:\n      - targets: ['\(address)']\n")
            cleanup.add { await prometheus.stop() }
            try await prometheus.waitReady()
            try await Self.checkValues(prometheus)
            try await Self.checkPromtool(ns)
        }
    }

    /// What Prometheus must have stored.
    static func checkValues(_ p: PrometheusServer) async throws {
        let job = "job=\"pathprobe_mtu\""
        func each(_ targets: [String], _ value: Double) -> [String: Double] { Dictionary(uniqueKeysWithValues: targets.map { ($0, value) }) }

        try await expectValues(p, "pathprobe_probe_success{\(job)}", each(clean + ptb + blackHole, 1).merging([unknown: 0]) { a, _ in a })
        try await expectValues(p, "pathprobe_path_mtu_bytes{\(job),direction=\"both\"}",
                               each(clean, 1500).merging(each(ptb, 1492)) { a, _ in a }.merging(each(blackHole, 1400)) { a, _ in a })
        try await expectValues(p, "pathprobe_black_hole{\(job)}", each(clean + ptb, 0).merging(each(blackHole, 1)) { a, _ in a })
        try await expectValues(p, "pathprobe_black_hole_hop{\(job)}", each(blackHole, 2), timeout: .seconds(150))
        try await expectValues(p, "pathprobe_probe_ip_protocol{\(job)}", ["10.72.0.1": 4, "fd00:72:0:2::1": 6])
        try await expectValues(p, "pathprobe_probe_cut_short{\(job)}", ["10.72.0.1": 0])
        try await expectValues(p, "pathprobe_probe_cut_short{job=\"pathprobe_short\"}", [silent: 1])
        try await expectValues(p, "pathprobe_probe_success{job=\"pathprobe_short\"}", [silent: 0])
        let rtt = try await p.values("pathprobe_hop_rtt_seconds{\(job),ttl=\"1\"}", instances: ["10.72.0.1"])
        #expect(rtt["10.72.0.1"].map { $0 > 0 && $0 < 1 } == true, "\(rtt)")
        // Ports: the lab server answers TCP 443 with a RST.
        try await expectValues(p, "pathprobe_port_state{job=\"pathprobe_transports\",proto=\"tcp\",port=\"443\",state=\"closed\"}", ["10.72.0.1": 1])
        // The profile's advisor: the black hole is a critical finding.
        try await expectValues(p, "pathprobe_finding{job=\"pathprobe_profile\",id=\"pmtu-black-hole\",severity=\"critical\"}", ["gw-vpn.lab": 1])

        // Every scrape so far was up and answered within its timeout, the cut-short ones included.
        let up = try await p.query("min_over_time(up{job=~\"pathprobe_.*\"}[10m])")
        #expect(up.count == mtuTargets.count + 4 && up.allSatisfy { $0.value == 1 }, "\(up.map { ($0.labels, $0.value) })")
        for (name, timeout) in [("pathprobe_mtu", 5.0), ("pathprobe_short", 2.0), ("pathprobe_transports", 2.0), ("pathprobe_profile", 5.0)] {
            let slowest = try await p.query("max(max_over_time(scrape_duration_seconds{job=\"\(name)\"}[10m]))").first?.value ?? .infinity
            #expect(slowest < timeout, "\(name): slowest scrape \(slowest) s")
        }

        // The exporter's own metrics, scraped as a normal target.
        let probes = try await p.query("sum(pathprobe_exporter_probes_total{module=\"mtu_icmp\"})").first?.value ?? 0
        #expect(probes >= Double(mtuTargets.count), "\(probes)")
        try await expectAtLeast(p, "pathprobe_exporter_probes_cut_short_total{module=\"mtu_icmp\"}", 1)
        try await expectAtLeast(p, "pathprobe_exporter_hop_probes_total{decision=\"sent\"}", Double(clean.count + ptb.count + blackHole.count))
    }

    /// Waits until `expression` has the expected value for each instance (measurements settle over
    /// a scrape or two: a router's ICMP budget can leave a first hop trace unfinished), else
    /// records what it saw last.
    static func expectValues(_ p: PrometheusServer, _ expression: String, _ expected: [String: Double],
                             timeout: Duration = .seconds(90)) async throws {
        let end = ContinuousClock.now + timeout
        var seen: [String: Double] = [:]
        while true {
            seen = [:]
            for sample in try await p.query(expression) { seen[sample.labels["instance"] ?? ""] = sample.value }
            if expected.allSatisfy({ seen[$0.key] == $0.value }) { return }
            if ContinuousClock.now >= end { break }
            try await Task.sleep(for: .seconds(1))
        }
        Issue.record("\(expression): expected \(expected.sorted { $0.key < $1.key }), got \(seen.sorted { $0.key < $1.key })")
    }

    static func expectAtLeast(_ p: PrometheusServer, _ expression: String, _ minimum: Double) async throws {
        let value = try? await ExporterLab.eventually(expression, timeout: .seconds(30)) { () -> Double? in
            let v = try await p.query(expression).first?.value ?? 0
            return v >= minimum ? v : nil
        }
        #expect(value != nil, "\(expression) stayed below \(minimum)")
    }

    /// `promtool check metrics` on real /probe answers (each scenario, each prober) and on /metrics.
    static func checkPromtool(_ ns: TestNamespace) async throws {
        guard PromtoolTests.promtool != nil else { return }
        let probes = ["10.72.0.1&module=mtu_icmp", "fd00:72:0:1::1&module=mtu_icmp", "gw-vpn.lab&module=mtu_icmp",
                      "\(unknown)&module=mtu_icmp", "10.72.0.1&module=transports", "10.72.128.9&module=profile_vpn"]
        for query in probes {
            let answer = try await ns.httpGet("http://127.0.0.1:9799/probe?target=\(query)")
            #expect(answer.status == 200 && answer.body.contains("pathprobe_probe_success"), "\(query): \(answer.body)")
            #expect(try await PromtoolTests.check(answer.body) == "", "\(query): \(answer.body)")
        }
        let own = try await ns.httpGet("http://127.0.0.1:9799/metrics")
        #expect(try await PromtoolTests.check(own.body) == "")
    }
}

/// The status page in a real browser: Debian's chromium, headless, in a network namespace with
/// nothing but loopback (so it cannot reach anything else, whatever it tries in the background),
/// after real probes of 127.0.0.1 and ::1 and one of a name that cannot resolve there.
@Suite("Status page in chromium",
       .enabled(if: ExporterLab.namespaceSkipReason == nil && ExporterLab.executable("chromium") != nil,
                "\(ExporterLab.namespaceSkipReason ?? "Debian's chromium is not installed (scripts/install-deps.sh)")"))
struct StatusPageBrowserTests {
    @Test func chromiumRendersRecentProbes() async throws {
        try await ExporterLab.withCleanup { cleanup in
            let ns = try await TestNamespace()
            cleanup.add { await ns.remove() }
            let config = try ExporterLab.temporaryFile("modules:\n  mtu_icmp:\n    prober: mtu\n    timeout: 5s\n")
            cleanup.add { try? FileManager.default.removeItem(atPath: config) }
            let exporter = try ExporterProcess(namespace: ns, config: config, port: 9799)
            cleanup.add { await exporter.stop() }
            try await exporter.waitListening()
            for target in ["127.0.0.1", "::1", "bad.invalid"] {
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
        let targets = rows.compactMap { row in ["bad.invalid", "::1", "127.0.0.1"].first { row.contains("<td>\($0)</td>") } }
        #expect(targets == ["bad.invalid", "::1", "127.0.0.1"])
        #expect(rows.first?.contains("<td class=\"failure\">failure</td>") == true)
        #expect(rows.first?.contains("unknown host") == true)
        #expect(rows.dropFirst().allSatisfy { $0.contains("<td class=\"success\">success</td>") }, "\(dom.output)")
        #expect(dom.output.contains("<a href=\"/logs?id=3\">Logs</a>"))
        #expect(dom.output.contains("<title>pathprobe exporter</title>"))
    }
}
