import Foundation
import NIOHTTP1

/// An answer, before NIO writes it.
public struct HTTPReply: Sendable {
    public var status: HTTPResponseStatus
    public var contentType: String
    public var body: String

    public init(_ status: HTTPResponseStatus, _ contentType: String, _ body: String) {
        (self.status, self.contentType, self.body) = (status, contentType, body)
    }

    static let prometheusText = "text/plain; version=0.0.4; charset=utf-8"
    static let plainText = "text/plain; charset=utf-8"
    static let html = "text/html; charset=utf-8"

    static func text(_ status: HTTPResponseStatus, _ body: String) -> HTTPReply {
        HTTPReply(status, plainText, body.hasSuffix("\n") ? body : body + "\n")
    }
}

/// Maps requests to answers; no sockets here (the NIO server calls it, tests call it directly).
///
/// | request                                   | answer                                             |
/// |-------------------------------------------|----------------------------------------------------|
/// | `GET /probe?target=HOST&module=NAME`      | the probe's metrics (`&debug=true`: its log as text) |
/// | `GET /metrics`                            | the exporter's own metrics                         |
/// | `GET /`                                   | status page: modules, recent probes, log links     |
/// | `GET /logs?id=N`                          | a recent probe's debug report                      |
/// | `GET /config`                             | the config file in use                             |
/// | `POST /-/reload`                          | reload the config (as SIGHUP does)                 |
/// | `GET /-/healthy`                          | 200 while the exporter runs                        |
public final class Router: Sendable {
    public let coordinator: ProbeCoordinator
    let startedAt: Date

    public init(coordinator: ProbeCoordinator, startedAt: Date = Date()) {
        self.coordinator = coordinator
        self.startedAt = startedAt
    }

    /// The name of the scrape timeout header Prometheus sends.
    public static let scrapeTimeoutHeader = "X-Prometheus-Scrape-Timeout-Seconds"

    public func respond(method: HTTPMethod, uri: String, headers: HTTPHeaders) async -> HTTPReply {
        let components = URLComponents(string: uri)
        let path = components?.path ?? uri
        var query: [String: String] = [:]
        for item in components?.queryItems ?? [] where query[item.name] == nil {
            query[item.name] = item.value ?? ""
        }
        let metrics = coordinator.metrics
        switch (method, path) {
        case (.GET, "/probe"):
            let reply = await coordinator.probe(target: query["target"], module: query["module"],
                                                scrapeTimeout: headers.first(name: Self.scrapeTimeoutHeader),
                                                debug: query["debug"] == "true")
            switch reply {
            case .metrics(let text): return HTTPReply(.ok, HTTPReply.prometheusText, text)
            case .debug(let text): return .text(.ok, text)
            case .rejected(let status, let message): return .text(HTTPResponseStatus(statusCode: status), message)
            }
        case (.GET, "/metrics"), (.HEAD, "/metrics"):
            return HTTPReply(.ok, HTTPReply.prometheusText, metrics.render())
        case (.GET, "/"), (.HEAD, "/"):
            return HTTPReply(.ok, HTTPReply.html, StatusPage.render(coordinator: coordinator, startedAt: startedAt))
        case (.GET, "/logs"):
            guard let id = query["id"].flatMap(UInt64.init), let record = coordinator.record(id: id) else {
                metrics.error(.notFound)
                return .text(.notFound, "no recent probe with that id (only the last \(coordinator.settings.recentCapacity) are kept)")
            }
            return .text(.ok, record.debugText)
        case (.GET, "/config"):
            let config = coordinator.config.current
            return .text(.ok, "# \(config.path)\n" + config.text)
        case (.POST, "/-/reload"):
            switch coordinator.config.reload() {
            case .success(let config): return .text(.ok, "config reloaded: \(config.moduleNames.count) modules")
            case .failure(let error): return .text(.internalServerError, "config reload failed, the old config stays in use: \(error)")
            }
        case (.GET, "/-/healthy"), (.HEAD, "/-/healthy"):
            return .text(.ok, "Healthy")
        case (_, "/probe"), (_, "/metrics"), (_, "/"), (_, "/logs"), (_, "/config"), (_, "/-/reload"), (_, "/-/healthy"):
            metrics.error(.badRequest)
            return .text(.methodNotAllowed, "method \(method) not allowed here")
        default:
            metrics.error(.notFound)
            return .text(.notFound, "not found: try /, /probe?target=HOST&module=NAME or /metrics")
        }
    }
}
