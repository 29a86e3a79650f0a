import Foundation
import Testing
import PathProbeCore
@testable import PathProbeEngine

/// `serve` and `reach` against the host's own loopback: real sockets, no namespaces, no root for
/// the UDP side (TCP SYN probes need raw sockets and are skipped without them).
@Suite struct ReachLoopbackTests {
    /// A responder on its own thread, stopped by `stop()`; its counters are read after it stopped.
    final class RunningResponder: @unchecked Sendable {
        private let lock = NSLock()
        private var stopRequested = false
        private var finished = false
        private(set) var port: UInt16 = 0
        private(set) var counters: [IPAddress: Responder.Counters] = [:]
        private(set) var ignored = 0

        init(listen: IPAddress) throws {
            let ready = DispatchSemaphore(value: 0)
            nonisolated(unsafe) var failure: Error? = nil
            let thread = Thread { [self] in
                let bound = Responder.onFreePort(listen: listen) { config in
                    config.rate = 10_000
                    config.burst = 10_000
                }
                guard let bound else {
                    failure = SystemError("bind", EADDRINUSE)
                    ready.signal()
                    return
                }
                let responder = bound.responder
                port = bound.port
                ready.signal()
                responder.run { self.lock.withLock { self.stopRequested } }
                lock.withLock {
                    counters = responder.perSource
                    ignored = responder.ignored
                    finished = true
                }
            }
            thread.start()
            ready.wait()
            if let failure { throw failure }
        }

        func stop() {
            lock.withLock { stopRequested = true }
            while !lock.withLock({ finished }) { usleep(10_000) }
        }
    }

    @Test(arguments: ["127.0.0.1", "::1"])
    func responderMeasuresBothWays(_ address: String) throws {
        let target = IPAddress(address)!
        let server = try RunningResponder(listen: target)
        let engine = try ProbeEngine()
        var options = ResponderOptions(destination: target, port: server.port, maxSize: 1500)
        options.timeoutMs = 500
        let m = ResponderMeasurement(options: options)
        engine.run(m)
        server.stop()
        let r = m.report
        #expect(r.reachable)
        #expect(r.pathMTUUp == 1500 && r.pathMTUDown == 1500)
        #expect(r.fragmentsPass == true)
        #expect(r.seenAddress == target)
        let c = try #require(server.counters[target])
        #expect(c.replies > 10)
        #expect(c.bytesSent <= c.bytesReceived, "sent \(c.bytesSent) for \(c.bytesReceived) received")
    }

    @Test func servicePayloadsToClosedAndOpenLoopbackPorts() throws {
        let target = IPAddress("127.0.0.1")!
        let server = try RunningResponder(listen: target)
        let engine = try ProbeEngine()
        // 53, 500, 3478 are closed on a test machine only if nothing listens: pick ports nothing uses.
        let closed: [UInt16] = [server.port &+ 1, server.port &+ 2]
        var options = ReachOptions(destination: target, tcpPorts: [], udpPorts: closed + [server.port])
        options.responderPort = server.port
        options.timeoutMs = 500
        let m = ReachMeasurement(options: options)
        engine.run(m)
        server.stop()
        let r = m.result
        #expect(r.udp.map(\.state) == [.closed, .closed, .open])
        #expect(r.udp[2].service == .pathprobe && r.udp[2].recognized == true)
    }

    /// Service payloads (STUN, OpenVPN, DTLS) carry no probe header: the port unreachable each one
    /// draws is matched by address and port.
    @Test func payloadsWithoutATokenStillMatchTheirICMPErrors() throws {
        let target = IPAddress("::1")!
        let ports: [UInt16] = [3478, 1194, 3391].filter { Self.isFreeUDPPort($0, on: target) }
        let engine = try ProbeEngine()
        var options = ReachOptions(destination: target, tcpPorts: [], udpPorts: ports)
        options.timeoutMs = 500
        let m = ReachMeasurement(options: options)
        engine.run(m)
        #expect(m.result.udp.map(\.service) == ports.map { UDPService.forPort($0) })
        #expect(m.result.udp.allSatisfy { $0.state == .closed && $0.icmp?.type == 1 && $0.icmp?.code == 4 })
    }

    /// Nothing listens on `port` when we can bind it ourselves.
    static func isFreeUDPPort(_ port: UInt16, on address: IPAddress) -> Bool {
        let fd = socket(AF_INET6, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var sa = SocketAddress.make(address, port: port)
        return withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, SocketAddress.length(.ipv6)) }
        } == 0
    }

    @Test(.enabled(if: getuid() == 0, "TCP SYN probes need raw sockets (root)"))
    func tcpSynOnLoopback() throws {
        let target = IPAddress("127.0.0.1")!
        let server = try RunningResponder(listen: target)
        let engine = try ProbeEngine()
        let m = ReachMeasurement(options: ReachOptions(destination: target, tcpPorts: [server.port, server.port &+ 1], udpPorts: []))
        engine.run(m)
        server.stop()
        let r = m.result
        #expect(r.tcp.map(\.state) == [.open, .closed])
        #expect(r.tcp[0].mss == 65495, "loopback MTU 65536 - 40")
    }
}
