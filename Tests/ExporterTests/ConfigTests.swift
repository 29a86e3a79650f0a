import Foundation
import Testing
@testable import PathProbeExporter

@Suite("Config file")
struct ConfigTests {
    static let example = """
        # a comment
        modules:
          mtu_icmp:
            prober: mtu
            timeout: 8s
            protocol: icmp
            max: 1500
            no_hops: false
          mtu_udp6:
            prober: mtu
            protocol: udp
            port: 33435
            6: true
            icmp-socket: raw
          rdp_ports:
            prober: reach
            timeout: 2500ms
            tcp: [443, 3389]
            udp: 3391,3389
            interface: ~
          profile_vpn: &profile
            prober: profile
            timeout: 1m
            rdp: true
            max: 1400
          profile_vpn_v4:
            <<: *profile
            ipv4: true
            max: 1380
            answer_timeout: 0.5
        """

    @Test func parsesModulesIntoArguments() throws {
        let config = try ConfigLoader.parse(Self.example, path: "x.yml")
        #expect(config.moduleNames == ["mtu_icmp", "mtu_udp6", "profile_vpn", "profile_vpn_v4", "rdp_ports"])
        let mtu = try #require(config.modules["mtu_icmp"])
        #expect(mtu.prober == .mtu)
        #expect(mtu.timeout == .seconds(8))
        #expect(mtu.arguments == ["--protocol=icmp", "--max=1500"])
        #expect(mtu.options.sendsHopProbes)
        #expect(mtu.line == 3)

        let udp6 = try #require(config.modules["mtu_udp6"])
        #expect(udp6.arguments == ["--protocol=udp", "--port=33435", "-6", "--icmp-socket=raw"])
        #expect(udp6.timeout == ExporterConfig.defaultTimeout)
        let parsed = try #require(udp6.options as? MTUProberOptions)
        #expect(parsed.family.ipv6 && parsed.mtu.port == 33435 && parsed.mtu.probeProtocol == .udp && parsed.probe.icmpSocket == .raw)

        let reach = try #require(config.modules["rdp_ports"])
        #expect(reach.arguments == ["--tcp=443,3389", "--udp=3391,3389"])
        #expect(reach.timeout == .milliseconds(2500))
        #expect(!reach.options.sendsHopProbes)

        // A merge key: the anchor's settings, the explicit ones win.
        let merged = try #require(config.modules["profile_vpn_v4"])
        #expect(merged.prober == .profile)
        #expect(merged.timeout == .seconds(60))
        #expect(merged.arguments == ["--rdp", "-4", "--max=1380", "--timeout=0.5"])
        let profile = try #require(merged.options as? ProfileProberOptions)
        #expect(profile.family.ipv4 && profile.profile.reach.rdp && profile.profile.mtu.max == 1380 && profile.profile.probe.timeout == 0.5)
        #expect(profile.sendsHopProbes)
    }

    @Test func valuesThatLookLikeOptionsStayValues() throws {
        let config = try ConfigLoader.parse("modules:\n  m:\n    prober: mtu\n    interface: \"--max=9\"\n", path: "c.yml")
        let options = try #require(config.modules["m"]?.options as? MTUProberOptions)
        #expect(options.probe.interface == "--max=9")
        #expect(options.mtu.max == nil)
    }

    /// Every error is one line naming the file, the line and the key.
    @Test(arguments: [
        ("modules:\n  a:\n    prober: mtu\n    prot: udp\n", "c.yml:4: modules.a.prot: Unknown option '--prot'"),
        ("modules:\n  a:\n    prober: mtu\n    port: abc\n", "c.yml:4: modules.a.port: The value 'abc' is invalid for '--port <port>'"),
        ("modules:\n  a:\n    prober: mtu\n    port: 0\n", "c.yml:4: modules.a.port: --port must be between 1 and 65535"),
        ("modules:\n  a:\n    prober: mtu\n    max: 1500\n    min: 2000\n", "c.yml:5: modules.a.min: --min 2000 is larger than --max 1500"),
        ("modules:\n  a:\n    prober: mtu\n    retries: 99\n", "c.yml:4: modules.a.retries: --retries must be between 1 and 20"),
        ("modules:\n  a:\n    prober: reach\n    tcp: 99999\n", "c.yml:4: modules.a.tcp: The value '99999' is invalid for '--tcp <tcp>': port '99999' is outside 1-65535"),
        ("modules:\n  a:\n    prober: mtu\n    rate: 100\n", "c.yml:4: modules.a.rate: --rate is not a module setting"),
        ("modules:\n  a:\n    prober: mtu\n    answer_timeout: 99\n", "c.yml:4: modules.a.answer_timeout: --timeout must be a number from 0.001 to 60 seconds"),
        ("modules:\n  a:\n    prober: mtu\n    ipv6: true\n    min: 600\n", "c.yml:5: modules.a.min: --min 600 is outside 1280-65535"),
        ("modules:\n  a:\n    prober: profile\n    max: 70000\n", "c.yml:4: modules.a.max: --max 70000 is outside 68-65535"),
        ("modules:\n  a:\n    prober: reach\n", "c.yml:2: modules.a: nothing to probe"),
        ("modules:\n  a:\n    prober: mtu\n    rdp: true\n", "c.yml:4: modules.a.rdp: Unknown option '--rdp'"),
        ("modules:\n  a:\n    prober: mtu\n    help: true\n", "c.yml:4: modules.a.help: not a setting"),
        ("modules:\n  a:\n    prober: mtu\n    4: true\n    6: true\n", "c.yml:4: modules.a.4: -4 and -6 cannot be used together"),
        ("modules:\n  a:\n    prober: mtu\n    port: {x: 1}\n", "c.yml:4: modules.a.port: a value or a list is expected, not a map"),
        ("modules:\n  a:\n    prober: mtu\n    \"bad key\": 1\n", "c.yml:4: modules.a.bad key: not a setting name"),
        ("modules:\n  a:\n    prober: traceroute\n", "c.yml:3: modules.a.prober: unknown prober 'traceroute' (mtu, reach, profile)"),
        ("modules:\n  a:\n    timeout: 5s\n", "c.yml:2: modules.a: `prober:` is missing"),
        ("modules:\n  a:\n    prober: mtu\n    timeout: 5 parsecs\n", "c.yml:4: modules.a.timeout: '5 parsecs' is not a duration"),
        ("modules:\n  a:\n    prober: mtu\n    timeout: 0s\n", "c.yml:4: modules.a.timeout: '0s' is not a duration"),
        ("modules:\n  a b:\n    prober: mtu\n", "c.yml:2: modules.a b: a module name is letters"),
        ("modules:\n  a:\n    prober: mtu\n  a:\n    prober: reach\n", "duplicate key 'a'"),
        ("modules:\n  a: [\n", "c.yml:3: bad YAML: "),
        ("modules: {}\n", "c.yml:1: modules: must be a map of module names to modules"),
        ("module:\n  a:\n    prober: mtu\n", "c.yml:1: module: unknown key (the config has one key: modules)"),
        ("- modules\n", "c.yml:1: the config must be a map with a `modules:` key"),
        ("", "c.yml:1: the config must be a map"),
    ])
    func errorLines(yaml: String, expected: String) {
        do {
            let config = try ConfigLoader.parse(yaml, path: "c.yml")
            Issue.record("parsed, expected an error: \(config.moduleNames)")
        } catch {
            #expect(error.description.hasPrefix(expected) || (expected.first != "c" && error.description.contains(expected)),
                    "got: \(error.description)")
            #expect(!error.description.contains("\n"))
        }
    }

    @Test func missingFileNamesIt() {
        #expect(throws: ConfigError.self) { try ConfigLoader.load(path: "/nonexistent/pathprobe.yml") }
        do {
            _ = try ConfigLoader.load(path: "/nonexistent/pathprobe.yml")
        } catch {
            #expect(error.description == "/nonexistent/pathprobe.yml: cannot read the config file: No such file or directory")
        }
    }

    @Test func durations() {
        #expect(ConfigDuration.parse("5s") == .seconds(5))
        #expect(ConfigDuration.parse("1m30s") == .seconds(90))
        #expect(ConfigDuration.parse("250ms") == .milliseconds(250))
        #expect(ConfigDuration.parse("1h") == .seconds(3600))
        #expect(ConfigDuration.parse("2.5") == .milliseconds(2500))
        #expect(ConfigDuration.parse("10") == .seconds(10))
        for bad in ["", "s", "5x", "1s1m", "5 s", "-1s", "ms5"] {
            #expect(ConfigDuration.parse(bad) == nil, "\(bad)")
        }
        #expect(ConfigDuration.format(.seconds(10)) == "10s")
        #expect(ConfigDuration.format(.milliseconds(250)) == "250ms")
        #expect(ConfigDuration.format(.milliseconds(1500)) == "1.5s")
    }

    @Test func reloadKeepsTheOldConfigOnError() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ppx-reload-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("c.yml")
        try "modules:\n  a:\n    prober: mtu\n".write(to: file, atomically: true, encoding: .utf8)
        let metrics = ExporterMetrics(maxConcurrent: 4)
        let store = ConfigStore(initial: try ConfigLoader.load(path: file.path), metrics: metrics, logger: .init(label: "test"))

        try "modules:\n  a:\n    prober: mtu\n    bogus: 1\n".write(to: file, atomically: true, encoding: .utf8)
        guard case .failure(let error) = store.reload() else { Issue.record("a bad reload succeeded"); return }
        #expect(error.description.contains("c.yml:4: modules.a.bogus"))
        #expect(store.current.moduleNames == ["a"])
        #expect(store.lastError == error)
        #expect(metrics.render().contains("pathprobe_exporter_config_last_reload_successful 0"))

        try "modules:\n  b:\n    prober: reach\n    tcp: 443\n".write(to: file, atomically: true, encoding: .utf8)
        guard case .success = store.reload() else { Issue.record("a good reload failed"); return }
        #expect(store.current.moduleNames == ["b"])
        #expect(store.lastError == nil)
        let text = metrics.render()
        #expect(text.contains("pathprobe_exporter_config_last_reload_successful 1"))
        #expect(text.contains("pathprobe_exporter_config_reloads_total{result=\"failure\"} 1"))
        #expect(text.contains("pathprobe_exporter_config_reloads_total{result=\"success\"} 1"))
    }
}
