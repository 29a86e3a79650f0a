import Foundation
import Testing

/// The pathprobe-exporter executable: exit statuses, one-line errors, signals.
@Suite("pathprobe-exporter binary", .enabled(if: ExporterLab.binary != nil, "\(ExporterLab.binarySkipReason ?? "")"))
struct BinaryTests {
    static func tempConfig(_ text: String) throws -> String { try ExporterLab.temporaryFile(text) }

    @Test func badConfigIsOneLineAndExit2() async throws {
        let path = try Self.tempConfig("modules:\n  a:\n    prober: mtu\n    protocol: sctp\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try await ExporterLab.run([ExporterLab.binary!, "--config", path])
        #expect(r.status == 2)
        #expect(r.output == "pathprobe-exporter: \(path):4: modules.a.protocol: The value 'sctp' is invalid for '-P <protocol>'. Please provide one of 'icmp', 'udp' and 'tcp'.\n"
                || r.output.hasPrefix("pathprobe-exporter: \(path):4: modules.a.protocol: "), "\(r.output)")
        #expect(r.output.split(separator: "\n").count == 1)

        let missing = try await ExporterLab.run([ExporterLab.binary!, "--config", "/nonexistent.yml"])
        #expect(missing.status == 2)
        #expect(missing.output == "pathprobe-exporter: /nonexistent.yml: cannot read the config file: No such file or directory\n")

        let flags = try await ExporterLab.run([ExporterLab.binary!, "--config", path, "--listen", "nowhere"])
        #expect(flags.status == 2)
        #expect(flags.output == "pathprobe-exporter: --listen 'nowhere' is not ADDR:PORT (e.g. :9799, 127.0.0.1:9799, [::1]:9799)\n")
    }

    @Test func checkConfig() async throws {
        let path = try Self.tempConfig("modules:\n  a:\n    prober: mtu\n  b:\n    prober: reach\n    rdp: true\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try await ExporterLab.run([ExporterLab.binary!, "--config", path, "--check-config"])
        #expect(r.status == 0)
        #expect(r.output == "\(path): 2 modules: a, b\n")
    }

    @Test func cannotListenIsExit3() async throws {
        let path = try Self.tempConfig("modules:\n  a:\n    prober: mtu\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        // 192.0.2.1 (TEST-NET-1) is not an address of this machine: bind fails, nothing is sent.
        let r = try await ExporterLab.run([ExporterLab.binary!, "--config", path, "--listen", "192.0.2.1:9799"])
        #expect(r.status == 3, "\(r.output)")
        #expect(r.output.contains("pathprobe-exporter: cannot serve on 192.0.2.1:9799: "))
    }

    /// As the systemd unit runs it: an unprivileged user (here nobody) serves probes. (An option
    /// only root may set once made every connection fail for everybody else.)
    @Test(.enabled(if: getuid() == 0 && ExporterLab.executable("setpriv") != nil, "needs root and setpriv to run the exporter as nobody"))
    func servesAsAnUnprivilegedUser() async throws {
        // The clone may live where nobody cannot enter (CI: under /root): the binary and its config
        // are copied into a directory of their own that everybody may read, as a package installs them.
        let fm = FileManager.default
        let dir = fm.temporaryDirectory.appendingPathComponent("ppx-\(UUID().uuidString)").path
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        defer { try? fm.removeItem(atPath: dir) }
        let binary = dir + "/pathprobe-exporter", path = dir + "/exporter.yml"
        try fm.copyItem(atPath: ExporterLab.binary!, toPath: binary)
        try "modules:\n  a:\n    prober: mtu\n".write(toFile: path, atomically: true, encoding: .utf8)
        try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: binary)
        try fm.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        let port = try ExporterLab.freePort()
        let process = try BackgroundProcess([ExporterLab.executable("setpriv")!, "--reuid", "nobody", "--regid", "nogroup", "--clear-groups",
                                            binary, "--config", path, "--listen", "127.0.0.1:\(port)", "--fake-prober"])
        try await ExporterLab.withCleanup { cleanup in
            cleanup.add { await process.stop() }
            _ = try await ExporterLab.eventually("the exporter to listen", timeout: .seconds(60)) { () -> Bool? in
                if process.output.contains("listening") { return true }
                if !process.isRunning { Issue.record("the exporter stopped: \(process.output)"); return true }
                return nil
            }
            let answer = try await TestHTTPClient(host: "127.0.0.1", port: port).get("/probe?target=clean.lab&module=a")
            #expect(answer.status == 200 && samples(answer.body)["pathprobe_probe_success"] == 1, "\(process.output)")
        }
    }

    /// SIGHUP reloads (a bad file is refused, the old config kept); SIGTERM stops with 143.
    @Test func signals() async throws {
        let path = try Self.tempConfig("modules:\n  a:\n    prober: mtu\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let port = try ExporterLab.freePort()
        let exporter = try ExporterProcess(namespace: nil, config: path, port: port, arguments: ["--fake-prober"])
        try await ExporterLab.withCleanup { cleanup in
            cleanup.add { await exporter.stop() }
            try await exporter.waitListening()
            try await Self.reloadAndStop(exporter, config: path, port: port)
        }
    }

    static func reloadAndStop(_ exporter: ExporterProcess, config path: String, port: Int) async throws {
        let client = TestHTTPClient(host: "127.0.0.1", port: port)
        #expect(try await client.get("/probe?target=clean.lab&module=a").status == 200)

        try "modules:\n  a:\n    prober: mtu\n    bogus: 1\n".write(toFile: path, atomically: true, encoding: .utf8)
        exporter.process.signal(SIGHUP)
        _ = try await ExporterLab.eventually("the failed reload in the log") { exporter.process.output.contains("config reload failed") ? true : nil }
        #expect(exporter.process.output.contains("\(path):4: modules.a.bogus"))
        #expect(try await client.get("/probe?target=clean.lab&module=a").status == 200)  // old config in use

        try "modules:\n  b:\n    prober: mtu\n".write(toFile: path, atomically: true, encoding: .utf8)
        exporter.process.signal(SIGHUP)
        _ = try await ExporterLab.eventually("the reload in the log") { exporter.process.output.contains("config reloaded") ? true : nil }
        #expect(try await client.get("/probe?target=clean.lab&module=b").status == 200)
        #expect(try await client.get("/probe?target=clean.lab&module=a").status == 400)

        exporter.process.signal(SIGTERM)
        #expect(await exporter.process.wait(timeout: .seconds(10)) == 143, "\(exporter.process.output)")
    }
}
