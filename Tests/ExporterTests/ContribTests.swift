import Foundation
import Testing
@testable import PathProbeExporter

/// contrib/: the example config, Prometheus config, alert rules (promtool), the systemd unit
/// (systemd-analyze), the Grafana dashboard.
@Suite("contrib")
struct ContribTests {
    static let contrib = ExporterLab.root.appendingPathComponent("contrib")
    static func path(_ name: String) -> String { contrib.appendingPathComponent(name).path }
    static let promtool = ExporterLab.executable("promtool")
    static let promtoolMissing = "promtool is not installed (Debian's prometheus package; scripts/install-deps.sh)"

    @Test func exampleConfigLoads() throws {
        let config = try ConfigLoader.load(path: Self.path("pathprobe-exporter.yml"))
        #expect(Set(config.modules.values.map(\.prober)) == Set(ProberKind.allCases))
    }

    @Test(.enabled(if: promtool != nil, "\(promtoolMissing)"))
    func prometheusConfigIsValid() async throws {
        let r = try await ExporterLab.run([Self.promtool!, "check", "config", Self.path("prometheus.yml")])
        #expect(r.status == 0, "\(r.output)")
        #expect(!r.output.contains("WARNING"), "\(r.output)")
    }

    @Test(.enabled(if: promtool != nil, "\(promtoolMissing)"))
    func alertRulesCheckAndPassTheirTests() async throws {
        let check = try await ExporterLab.run([Self.promtool!, "check", "rules", Self.path("alerts.yml")])
        #expect(check.status == 0 && check.output.contains("SUCCESS: 5 rules found"), "\(check.output)")
        let test = try await ExporterLab.run([Self.promtool!, "test", "rules", Self.path("alerts.test.yml")])
        #expect(test.status == 0 && test.output.contains("SUCCESS"), "\(test.output)")
    }

    /// `systemd-analyze verify` on the unit, with the built binary in place of /usr/bin's.
    @Test(.enabled(if: ExporterLab.executable("systemd-analyze") != nil && ExporterLab.binary != nil,
                   "needs systemd-analyze (systemd) and the built pathprobe-exporter"))
    func systemdUnitVerifies() async throws {
        let unit = try String(contentsOfFile: Self.path("systemd/pathprobe-exporter.service"), encoding: .utf8)
        for option in ["DynamicUser=yes", "AmbientCapabilities=CAP_NET_RAW", "CapabilityBoundingSet=CAP_NET_RAW", "NoNewPrivileges=yes",
                       "ProtectSystem=strict", "PrivateTmp=yes", "RestrictAddressFamilies=AF_INET AF_INET6 AF_NETLINK AF_UNIX",
                       "SuccessExitStatus=143", "ExecReload=/bin/kill -HUP $MAINPID"] {
            #expect(unit.contains("\n\(option)\n"), "\(option)")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ppx-unit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let copy = dir.appendingPathComponent("pathprobe-exporter.service")
        try unit.replacingOccurrences(of: "/usr/bin/pathprobe-exporter", with: ExporterLab.binary!).write(to: copy, atomically: true, encoding: .utf8)
        let r = try await ExporterLab.run([ExporterLab.executable("systemd-analyze")!, "verify", copy.path])
        #expect(r.status == 0 && r.output.isEmpty, "\(r.output)")
    }

    /// Every pathprobe metric the dashboard, the alerts and the Prometheus config name is one the
    /// exporter writes.
    @Test func dashboardAndAlertsUseRealMetrics() throws {
        let known = Set((ProbeMetrics.M.all + ExporterMetrics.M.all).map(\.fullName))
        let histogram = ExporterMetrics.M.duration.fullName
        let dashboard = try String(contentsOfFile: Self.path("grafana-dashboard.json"), encoding: .utf8)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(dashboard.utf8)) as? [String: Any])
        #expect((json["panels"] as? [Any])?.isEmpty == false)
        for file in ["grafana-dashboard.json", "alerts.yml", "alerts.test.yml"] {
            let text = try String(contentsOfFile: Self.path(file), encoding: .utf8)
            let names = text.matches(of: /pathprobe_[a-z_]+/).map { String($0.output) }
            #expect(!names.isEmpty)
            for name in Set(names) where !known.contains(name) && name != histogram + "_bucket" && !["pathprobe_mtu", "pathprobe_rdp", "pathprobe_exporter"].contains(name) {
                Issue.record("\(file) names \(name), which the exporter does not write")
            }
        }
    }
}

/// docs/exporter.md names every metric and every option of the exporter.
@Suite("docs")
struct DocsTests {
    @Test func docsNameEveryMetricAndOption() throws {
        let docs = try String(contentsOfFile: ExporterLab.root.appendingPathComponent("docs/exporter.md").path, encoding: .utf8)
        for spec in ProbeMetrics.M.all + ExporterMetrics.M.all {
            #expect(docs.contains("`\(spec.fullName)`"), "\(spec.fullName)")
        }
        let options = Set(ExporterOptions.helpMessage(columns: 200).matches(of: /--[a-z][a-z-]+/).map { String($0.output) })
        #expect(options.count >= 7)
        for option in options where option != "--help" {
            #expect(docs.contains("`\(option)"), "\(option)")
        }
    }
}
