import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// `--listen ADDR:PORT`: `:9799` (every address), `127.0.0.1:9799`, `[::1]:9799`, `localhost:9799`.
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    /// Nil: every address (IPv6 and IPv4 where the system has IPv6, else IPv4).
    public var host: String?
    public var port: Int

    /// 9799: in the range Prometheus keeps for exporters (9100-9999); not in /etc/services. The
    /// default-port allocation list (prometheus/prometheus wiki) could not be checked offline: check
    /// it, and register the port there, before a release.
    public static let defaultPort = 9799

    public init(host: String?, port: Int) {
        (self.host, self.port) = (host, port)
    }

    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            return nil
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
        } else if host.contains(":") {
            return nil  // an IPv6 address needs brackets
        }
        self.init(host: host.isEmpty ? nil : host, port: port)
    }

    public var description: String {
        guard let host else { return ":\(port)" }
        return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}

/// The HTTP/1.1 server: swift-nio's HTTP codec, one Swift task per connection, requests answered by
/// the `Router` (a probe awaits its executor; no event loop thread ever waits). Runs as a service:
/// on graceful shutdown it stops accepting, closes idle connections and lets running requests finish.
public final class HTTPServer: Service, Sendable {
    private let router: Router
    private let address: ListenAddress
    private let logger: Logger
    private let onListening: @Sendable (SocketAddress) -> Void
    private let connections = ConnectionRegistry()

    public init(router: Router, address: ListenAddress, logger: Logger, onListening: @escaping @Sendable (SocketAddress) -> Void = { _ in }) {
        self.router = router
        self.address = address
        self.logger = logger
        self.onListening = onListening
    }

    typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

    public func run() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            try await serve(on: group)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        try? await group.shutdownGracefully()
    }

    private func serve(on group: MultiThreadedEventLoopGroup) async throws {
        let server = try await bind(group)
        if let local = server.channel.localAddress { onListening(local) }
        logger.info("listening", metadata: ["address": "\(server.channel.localAddress.map { "\($0)" } ?? address.description)"])
        let connections = self.connections
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { tasks in
                try await server.executeThenClose { inbound in
                    for try await connection in inbound {
                        tasks.addTask { await self.handle(connection) }
                    }
                }
            }
        } onGracefulShutdown: {
            server.channel.close(promise: nil)
            connections.drain()
        }
    }

    private func bind(_ group: MultiThreadedEventLoopGroup) async throws -> NIOAsyncChannel<Connection, Never> {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // Accepted sockets get TCP_NODELAY from NIO by default. (`.socketOption(.tcp_nodelay)`
            // would be SO_DEBUG: level SOL_SOCKET, which only root may set.)
        let hosts = address.host.map { [$0] } ?? ["::", "0.0.0.0"]
        var lastError: (any Error)?
        for host in hosts {
            do {
                return try await bootstrap.bind(host: host, port: address.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                        return try Connection(wrappingChannelSynchronously: channel)
                    }
                }
            } catch {
                lastError = error
            }
        }
        throw lastError ?? ChannelError.inappropriateOperationForState
    }

    private func handle(_ connection: Connection) async {
        let id = connections.add(connection.channel)
        defer { connections.remove(id) }
        do {
            try await connection.executeThenClose { inbound, outbound in
                var head: HTTPRequestHead?
                for try await part in inbound {
                    switch part {
                    case .head(let h):
                        head = h
                        connections.setBusy(id, true)
                    case .body:
                        continue  // no route takes a body
                    case .end:
                        guard let request = head else { continue }
                        head = nil
                        let reply = await router.respond(method: request.method, uri: request.uri, headers: request.headers)
                        let keepAlive = request.isKeepAlive && !connections.isDraining
                        try await write(reply, for: request, keepAlive: keepAlive, to: outbound)
                        connections.setBusy(id, false)
                        if !keepAlive { return }
                    }
                }
            }
        } catch {
            logger.debug("connection closed: \(error)")
        }
    }

    private func write(_ reply: HTTPReply, for request: HTTPRequestHead, keepAlive: Bool,
                       to outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>) async throws {
        let body = ByteBuffer(string: reply.body)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: reply.contentType)
        headers.add(name: "Content-Length", value: String(body.readableBytes))
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        try await outbound.write(.head(HTTPResponseHead(version: request.version, status: reply.status, headers: headers)))
        if request.method != .HEAD {
            try await outbound.write(.body(.byteBuffer(body)))
        }
        try await outbound.write(.end(nil))
    }
}

/// Open connections, so that a graceful shutdown can close the idle ones at once and the busy ones
/// after their answer.
final class ConnectionRegistry: Sendable {
    private struct State {
        var next = 0
        var channels: [Int: (channel: any Channel, busy: Bool)] = [:]
        var draining = false
    }
    private let state = NIOLockedValueBox(State())

    func add(_ channel: any Channel) -> Int {
        let (id, draining) = state.withLockedValue { s in
            s.next += 1
            s.channels[s.next] = (channel, false)
            return (s.next, s.draining)
        }
        if draining { channel.close(promise: nil) }
        return id
    }

    func remove(_ id: Int) { state.withLockedValue { _ = $0.channels.removeValue(forKey: id) } }

    func setBusy(_ id: Int, _ busy: Bool) {
        let closeNow = state.withLockedValue { s -> (any Channel)? in
            s.channels[id]?.busy = busy
            return !busy && s.draining ? s.channels[id]?.channel : nil
        }
        closeNow?.close(promise: nil)
    }

    var isDraining: Bool { state.withLockedValue { $0.draining } }

    func drain() {
        let idle = state.withLockedValue { s in
            s.draining = true
            return s.channels.values.filter { !$0.busy }.map(\.channel)
        }
        idle.forEach { $0.close(promise: nil) }
    }
}
