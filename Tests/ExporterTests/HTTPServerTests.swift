import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Testing
@testable import PathProbeExporter

/// The NIO server on loopback, in this process.
@Suite("HTTP server")
struct HTTPServerTests {
    /// Starts a server on 127.0.0.1 (a free port), runs `body` with a client, stops the server.
    static func withServer(_ h: CoordinatorHarness, _ body: (TestHTTPClient) async throws -> Void) async throws {
        let bound = NIOLockedValueBox<Int?>(nil)
        let server = HTTPServer(router: Router(coordinator: h.coordinator), address: ListenAddress(host: "127.0.0.1", port: 0),
                                logger: Logger(label: "test")) { address in bound.withLockedValue { $0 = address.port } }
        let task = Task { try await server.run() }
        defer { task.cancel() }
        let port = try await ExporterLab.eventually("the server to listen", timeout: .seconds(60)) { bound.withLockedValue { $0 } }
        try await body(TestHTTPClient(host: "127.0.0.1", port: port))
        task.cancel()
        _ = await task.result
    }

    @Test func routes() async throws {
        let h = try CoordinatorHarness()
        try await Self.withServer(h) { client in
            // One keep-alive connection for several requests, as Prometheus does.
            let answers = try await client.send([
                (.GET, "/probe?target=blackhole.lab&module=mtu", [("X-Prometheus-Scrape-Timeout-Seconds", "4")]),
                (.GET, "/probe?target=bad.invalid&module=mtu&debug=true", []),
                (.GET, "/probe?module=mtu", []),
                (.GET, "/probe?target=x&module=nope", []),
                (.GET, "/metrics", []),
                (.GET, "/", []),
                (.GET, "/logs?id=2", []),
                (.GET, "/logs?id=999", []),
                (.GET, "/config", []),
                (.GET, "/-/healthy", []),
                (.POST, "/probe?target=x&module=mtu", []),
                (.GET, "/nothing", []),
            ])
            #expect(answers.map(\.status) == [200, 200, 400, 400, 200, 200, 200, 404, 200, 200, 405, 404])
            #expect(answers[0].headers.first(name: "Content-Type") == "text/plain; version=0.0.4; charset=utf-8")
            #expect(samples(answers[0].body)["pathprobe_black_hole"] == 1)
            #expect(answers[1].body.contains("Result: failure: unknown host"))
            #expect(answers[2].body == "Target parameter is missing\n")
            #expect(answers[3].body == "Unknown module \"nope\"\n")
            #expect(samples(answers[4].body)["pathprobe_exporter_probes_total{module=\"mtu\",result=\"success\"}"] == 1)
            #expect(answers[5].headers.first(name: "Content-Type") == "text/html; charset=utf-8")
            #expect(answers[5].body.contains("<td>blackhole.lab</td>") && answers[5].body.contains("href=\"/logs?id=2\""))
            #expect(answers[6].body.contains("target bad.invalid"))
            #expect(answers[8].body.contains("prober: reach"))
        }
    }

    /// The status page escapes what scrapers put in the target.
    @Test func statusPageEscapes() async throws {
        let h = try CoordinatorHarness()
        _ = await h.probe("<script>alert(1)</script>")
        let page = await Router(coordinator: h.coordinator).respond(method: .GET, uri: "/", headers: [:]).body
        #expect(!page.contains("<script>"))
        #expect(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
    }

    @Test func reloadOverHTTP() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ppx-http-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("c.yml").path
        try "modules:\n  a:\n    prober: mtu\n".write(toFile: file, atomically: true, encoding: .utf8)
        let metrics = ExporterMetrics(maxConcurrent: 1)
        let store = ConfigStore(initial: try ConfigLoader.load(path: file), metrics: metrics, logger: Logger(label: "test"))
        let router = Router(coordinator: ProbeCoordinator(executor: FakeProber(), config: store, metrics: metrics, settings: .init()))
        try "modules:\n  a:\n    prober: nope\n".write(toFile: file, atomically: true, encoding: .utf8)
        let bad = await router.respond(method: .POST, uri: "/-/reload", headers: [:])
        #expect(bad.status == .internalServerError)
        #expect(bad.body.contains("c.yml:3: modules.a.prober: unknown prober 'nope'"))
        let page = await router.respond(method: .GET, uri: "/", headers: [:]).body
        #expect(page.contains("The last config reload failed"))
    }

    @Test func listenAddresses() {
        #expect(ListenAddress(":9799") == ListenAddress(host: nil, port: 9799))
        #expect(ListenAddress("127.0.0.1:80") == ListenAddress(host: "127.0.0.1", port: 80))
        #expect(ListenAddress("[::1]:9799") == ListenAddress(host: "::1", port: 9799))
        #expect(ListenAddress("localhost:1")?.host == "localhost")
        for bad in ["9799", "::1:9799", "host:", "host:70000", ":x"] {
            #expect(ListenAddress(bad) == nil, "\(bad)")
        }
        #expect(ListenAddress(host: "::1", port: 1).description == "[::1]:1")
    }
}
