import Foundation

/// Lab-style support for the exporter's tests: programs run to completion or in the background,
/// a network namespace of the test's own or the bulk lab's client namespace (`BulkLab`), Debian's
/// Prometheus server in it.
enum ExporterLab {
    /// The repository root (this file is Tests/ExporterTests/Support/ExporterLab.swift).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// $PATHPROBE_EXPORTER_BIN, else the newer of .build/{debug,release}/pathprobe-exporter.
    static let binary: String? = {
        if let path = ProcessInfo.processInfo.environment["PATHPROBE_EXPORTER_BIN"] { return path }
        let built = ["debug", "release"].map { root.appendingPathComponent(".build/\($0)/pathprobe-exporter").path }
            .filter { FileManager.default.isExecutableFile(atPath: $0) }
        func modified(_ path: String) -> Date {
            ((try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date) ?? .distantPast
        }
        return built.max { modified($0) < modified($1) }
    }()

    static func executable(_ name: String) -> String? {
        ["/usr/sbin", "/usr/bin", "/sbin", "/bin"].map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Why the binary tests cannot run, or nil.
    static var binarySkipReason: String? {
        binary == nil ? "the pathprobe-exporter binary is not built (run `swift build` first)" : nil
    }

    /// Why the namespace tests cannot run, or nil.
    static let namespaceSkipReason: String? = {
        if getuid() != 0 { return "needs root to create a network namespace (run as root, as CI does)" }
        if executable("ip") == nil { return "iproute2 (ip) is not installed (scripts/install-deps.sh)" }
        if executable("curl") == nil { return "curl is not installed (scripts/install-deps.sh)" }
        // Whether namespaces can be made here is not tried in advance: creating one can take
        // seconds while other labs run, and a skip condition cannot wait without blocking a thread.
        return binarySkipReason
    }()

    /// A temporary file holding `text`; its path.
    static func temporaryFile(_ text: String, suffix: String = ".yml") throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ppx-\(UUID().uuidString)\(suffix)").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A TCP port on 127.0.0.1 that nothing listens on now (the kernel's pick).
    static func freePort() throws -> Int {
        let (fd, port) = try bindLoopback(SOCK_STREAM)
        close(fd)
        return Int(port)
    }

    /// A socket of `type` bound to 127.0.0.1 on a port of the kernel's choice: the socket and its port.
    static func bindLoopback(_ type: __socket_type) throws -> (fd: Int32, port: UInt16) {
        let fd = socket(AF_INET, Int32(type.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard fd >= 0, ok else {
            if fd >= 0 { close(fd) }
            throw LabError("cannot bind a socket on 127.0.0.1: errno \(errno)")
        }
        return (fd, UInt16(bigEndian: addr.sin_port))
    }

    /// Runs a program to its end; its output is collected through files, so neither stream can
    /// fill up and stall it. Waits by sleeping the task: a test never holds one of the few
    /// cooperative threads (other tests measure time on them).
    @discardableResult
    static func run(_ argv: [String], timeout: Duration = .seconds(60)) async throws -> (status: Int32, output: String) {
        let process = try BackgroundProcess(argv)
        let status = await process.wait(timeout: timeout)
        let output = process.output
        await process.stop()
        guard let status else { throw LabError("`\(argv.joined(separator: " "))` did not finish in \(timeout)") }
        return (status, output)
    }

    /// Runs `body`, then (also when it throws) the cleanups it registered, newest first. The
    /// cleanups await: a test never blocks one of the few cooperative threads that other tests,
    /// running at the same time, measure time on.
    static func withCleanup<T>(_ body: (Cleanup) async throws -> T) async throws -> T {
        let cleanup = Cleanup()
        do {
            let result = try await body(cleanup)
            await cleanup.run()
            return result
        } catch {
            await cleanup.run()
            throw error
        }
    }

    final class Cleanup {
        private var actions: [() async -> Void] = []
        func add(_ action: @escaping () async -> Void) { actions.append(action) }
        func run() async {
            for action in actions.reversed() { await action() }
            actions = []
        }
    }

    /// Polls `check` until it returns a value or `timeout` passes.
    static func eventually<T>(_ what: String, timeout: Duration = .seconds(30), _ check: () async throws -> T?) async throws -> T {
        let end = ContinuousClock.now + timeout
        var lastError: (any Error)?
        while ContinuousClock.now < end {
            do {
                if let value = try await check() { return value }
            } catch {
                lastError = error
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw LabError("timed out waiting for \(what)" + (lastError.map { ": \($0)" } ?? ""))
    }
}

struct LabError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A program running in the background; stdout and stderr go to one file in a temporary directory.
final class BackgroundProcess: @unchecked Sendable {
    let process = Process()
    let logURL: URL

    init(_ argv: [String]) throws {
        logURL = FileManager.default.temporaryDirectory.appendingPathComponent("ppx-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let log = try FileHandle(forWritingTo: logURL)
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try log.close()
    }

    var pid: Int32 { process.processIdentifier }
    var output: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }
    var isRunning: Bool { process.isRunning }

    func signal(_ signal: Int32) {
        guard pid > 0 else { return }  // never 0 or -1: that would signal the test's own process group
        Glibc.kill(pid, signal)
    }

    /// The exit status, or nil when still running after `timeout`.
    func wait(timeout: Duration) async -> Int32? {
        let end = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < end { try? await Task.sleep(for: .milliseconds(20)) }
        return process.isRunning ? nil : process.terminationStatus
    }

    /// SIGTERM, then SIGKILL if it lingers; removes the log.
    func stop() async {
        if process.isRunning {
            signal(SIGTERM)
            if await wait(timeout: .seconds(5)) == nil {
                signal(SIGKILL)
                _ = await wait(timeout: .seconds(5))
            }
        }
        try? FileManager.default.removeItem(at: logURL)
    }

}

/// A network namespace of the test's own, with only loopback (up): nothing started in it can reach
/// any other address. Names are unique per run (several sessions run labs at once).
struct TestNamespace {
    let name: String

    init() async throws {
        name = "ppx" + String(UInt32.random(in: 0...0xfffff), radix: 36) + String(getpid() % 1000)
        let ip = ExporterLab.executable("ip") ?? "/usr/sbin/ip"
        let added = try await ExporterLab.run([ip, "netns", "add", name])
        guard added.status == 0 else { throw LabError("ip netns add \(name): \(added.output)") }
        let up = try await ExporterLab.run([ip, "-n", name, "link", "set", "lo", "up"])
        guard up.status == 0 else {
            await remove()
            throw LabError("cannot bring loopback up in \(name): \(up.output)")
        }
    }

    /// A namespace made by someone else, e.g. the client namespace of a scripts/lab.sh topology
    /// (`scripts/lab.sh up PREFIX ...` makes PREFIXc, PREFIXr1, PREFIXr2, PREFIXs). Its owner removes it.
    init(existing name: String) {
        self.name = name
    }

    /// `argv` run inside the namespace.
    func command(_ argv: [String]) -> [String] {
        [ExporterLab.executable("ip") ?? "/usr/sbin/ip", "netns", "exec", name] + argv
    }

    /// An HTTP GET from inside the namespace (curl): the status and the body.
    func httpGet(_ url: String, headers: [String] = []) async throws -> (status: Int, body: String) {
        let marker = "\n--status:"
        let result = try await ExporterLab.run(command([ExporterLab.executable("curl") ?? "curl", "-s", "-g", "-w", marker + "%{http_code}"]
                                                 + headers.flatMap { ["-H", $0] } + [url]), timeout: .seconds(30))
        guard result.status == 0, let range = result.output.range(of: marker, options: .backwards) else {
            throw LabError("curl \(url) in \(name): exit \(result.status): \(result.output)")
        }
        return (Int(result.output[range.upperBound...].trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0,
                String(result.output[..<range.lowerBound]))
    }

    /// Ends what still runs in the namespace and deletes it.
    func remove() async {
        let ip = ExporterLab.executable("ip") ?? "/usr/sbin/ip"
        if let pids = try? await ExporterLab.run([ip, "netns", "pids", name], timeout: .seconds(10)).output {
            for pid in pids.split(separator: "\n").compactMap({ Int32($0) }) where pid > 0 { kill(pid, SIGKILL) }
        }
        _ = try? await ExporterLab.run([ip, "netns", "del", name], timeout: .seconds(10))
    }
}

/// scripts/bulk-lab.sh's topology (client - r1 - r2 - server, the server answering for whole ranges):
/// 10.72.0.0/18 and fd00:72::/64 clean (path MTU 1500), 10.72.64.0/18 and fd00:72:0:1::/64 behind
/// r1's 1492 hop that sends packet-too-big, 10.72.128.0/18 and fd00:72:0:2::/64 behind r2's 1400 hop
/// that drops its packet-too-big (a black hole after hop 2). In the client namespace gw-clean.lab,
/// gw-pppoe.lab and gw-vpn.lab name one address of each range and no other name resolves (DNS
/// points at the namespace's own loopback). Unique names per run; `down` removes everything.
struct BulkLab {
    static let script = ExporterLab.root.appendingPathComponent("scripts/bulk-lab.sh").path
    let prefix: String

    /// Why the lab cannot be built here, or nil.
    static var skipReason: String? {
        ExporterLab.namespaceSkipReason
            ?? (ExporterLab.executable("iptables") == nil ? "iptables is not installed (scripts/install-deps.sh)" : nil)
    }

    static func up() async throws -> BulkLab {
        let lab = BulkLab(prefix: "ppx" + String(UInt32.random(in: 0...0xffff), radix: 36) + String(getpid() % 100))
        let result = try await ExporterLab.run([script, "up", lab.prefix], timeout: .seconds(180))
        guard result.status == 0 else {
            await lab.down()
            throw LabError("bulk-lab.sh up \(lab.prefix): exit \(result.status): \(result.output)")
        }
        return lab
    }

    /// The client namespace: where the exporter, Prometheus and the browser run.
    var client: TestNamespace { TestNamespace(existing: prefix + "c") }

    func down() async {
        // Whatever still runs in the client namespace (the test's own processes are stopped before).
        let ip = ExporterLab.executable("ip") ?? "/usr/sbin/ip"
        if let pids = try? await ExporterLab.run([ip, "netns", "pids", prefix + "c"], timeout: .seconds(10)).output {
            for pid in pids.split(separator: "\n").compactMap({ Int32($0) }) where pid > 0 { kill(pid, SIGKILL) }
        }
        _ = try? await ExporterLab.run([Self.script, "down", prefix], timeout: .seconds(60))
    }
}

/// pathprobe-exporter started in a namespace (or in the test's own when `namespace` is nil).
final class ExporterProcess {
    let process: BackgroundProcess
    let port: Int

    init(namespace: TestNamespace?, config: String, port: Int, arguments: [String] = []) throws {
        guard let binary = ExporterLab.binary else { throw LabError(ExporterLab.binarySkipReason ?? "no binary") }
        let argv = [binary, "--config", config, "--listen", "127.0.0.1:\(port)"] + arguments
        process = try BackgroundProcess(namespace?.command(argv) ?? argv)
        self.port = port
    }

    /// Waits for the "listening" log line.
    func waitListening() async throws {
        do {
            _ = try await ExporterLab.eventually("the exporter to listen", timeout: .seconds(60)) { () -> Bool? in
                if !process.isRunning { throw LabError("the exporter exited") }
                return process.output.contains("listening") ? true : nil
            }
        } catch {
            throw LabError("\(error); its log: \(process.output)")
        }
    }

    func stop() async { await process.stop() }
}

/// Debian's Prometheus server in a namespace: a config of the test's, its data in a temporary
/// directory, read back through its HTTP API (/api/v1/query) with curl inside the namespace.
final class PrometheusServer {
    static var skipReason: String? {
        ExporterLab.executable("prometheus") == nil ? "Debian's prometheus is not installed (scripts/install-deps.sh)" : nil
    }

    let namespace: TestNamespace
    let directory: URL
    let process: BackgroundProcess
    let listen = "127.0.0.1:9090"

    /// `scrapeConfigs`: the YAML list under `scrape_configs:`, indented by two spaces.
    init(namespace: TestNamespace, interval: String = "1s", scrapeConfigs: String) throws {
        self.namespace = namespace
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ppx-prometheus-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let config = "global:\n  scrape_interval: \(interval)\n  evaluation_interval: \(interval)\nscrape_configs:\n" + scrapeConfigs
        let configURL = directory.appendingPathComponent("prometheus.yml")
        try config.write(to: configURL, atomically: true, encoding: .utf8)
        process = try BackgroundProcess(namespace.command([
            ExporterLab.executable("prometheus") ?? "prometheus",
            "--config.file=\(configURL.path)",
            "--storage.tsdb.path=\(directory.appendingPathComponent("data").path)",
            "--web.listen-address=\(listen)",
            "--log.level=warn",
        ]))
    }

    func waitReady() async throws {
        _ = try await ExporterLab.eventually("Prometheus to be ready", timeout: .seconds(60)) { () -> Bool? in
            if !process.isRunning { throw LabError("prometheus exited: \(process.output)") }
            return (try? await namespace.httpGet("http://\(listen)/-/ready").status) == 200 ? true : nil
        }
    }

    struct Sample {
        let labels: [String: String]
        let value: Double
    }

    /// An instant query.
    func query(_ expression: String) async throws -> [Sample] {
        let encoded = expression.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? expression
        let answer = try await namespace.httpGet("http://\(listen)/api/v1/query?query=\(encoded)")
        guard answer.status == 200,
              let json = try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any],
              let data = json["data"] as? [String: Any], let result = data["result"] as? [[String: Any]] else {
            throw LabError("query \(expression): HTTP \(answer.status): \(answer.body)")
        }
        return result.compactMap { item in
            guard let metric = item["metric"] as? [String: String], let value = item["value"] as? [Any],
                  value.count == 2, let text = value[1] as? String, let number = Double(text) else { return nil }
            return Sample(labels: metric, value: number)
        }
    }

    /// The value of `expression` for each `instance` label, once every instance in `instances` has one.
    func values(_ expression: String, instances: [String], timeout: Duration = .seconds(60)) async throws -> [String: Double] {
        try await ExporterLab.eventually("\(expression) for \(instances)", timeout: timeout) { () -> [String: Double]? in
            var byInstance: [String: Double] = [:]
            for sample in try await query(expression) { byInstance[sample.labels["instance"] ?? ""] = sample.value }
            return instances.allSatisfy { byInstance[$0] != nil } ? byInstance : nil
        }
    }

    func stop() async {
        await process.stop()
        try? FileManager.default.removeItem(at: directory)
    }
}
