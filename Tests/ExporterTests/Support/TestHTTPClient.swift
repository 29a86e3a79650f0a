import NIOCore
import NIOHTTP1
import NIOPosix

/// A minimal HTTP/1.1 client over swift-nio's codec, for talking to the exporter in tests.
struct TestHTTPClient {
    struct Response {
        let status: Int
        let headers: HTTPHeaders
        let body: String
    }

    let host: String
    let port: Int

    /// Sends each request on one keep-alive connection and collects the answers.
    func send(_ requests: [(method: HTTPMethod, uri: String, headers: [(String, String)])]) async throws -> [Response] {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            var responses: [Response] = []
            var iterator = inbound.makeAsyncIterator()
            for request in requests {
                var head = HTTPRequestHead(version: .http1_1, method: request.method, uri: request.uri)
                head.headers.add(name: "Host", value: "\(host):\(port)")
                for (name, value) in request.headers { head.headers.add(name: name, value: value) }
                try await outbound.write(.head(head))
                try await outbound.write(.end(nil))
                var status = 0
                var headers = HTTPHeaders()
                var body = ByteBuffer()
                reading: while let part = try await iterator.next() {
                    switch part {
                    case .head(let h):
                        status = Int(h.status.code)
                        headers = h.headers
                    case .body(var b): body.writeBuffer(&b)
                    case .end: break reading
                    }
                }
                responses.append(Response(status: status, headers: headers, body: String(buffer: body)))
            }
            return responses
        }
    }

    func get(_ uri: String, headers: [(String, String)] = []) async throws -> Response {
        try await send([(.GET, uri, headers)])[0]
    }
}
