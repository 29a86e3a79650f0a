import Foundation
import Testing
import PathProbeCore
import PathProbeTLS

/// The whole RDP check (Core's state machine, OpenSSL TLS, the codecs) against real peers on
/// loopback: the RD Gateway emulator in its four modes and xrdp with its three security layers.
/// Stream probes run over plain sockets here (SocketRunner); the namespace lab tests of phase 2
/// run the `pathprobe rdp` binary through the engine.
@Suite(.serialized, .enabled(if: Loopback.hasOpenSSL && Loopback.hasPython, "openssl and python3 are needed (Debian packages openssl, python3)"))
struct RDPCheckLoopbackTests {
    static let chain: URL? = try? Loopback.certificates("localhost")
    static let localhost = IPAddress("127.0.0.1")!

    func options() -> RDPCheckOptions {
        var o = RDPCheckOptions()
        o.probeUDP = false  // the loopback runner has no datagram probes
        o.seed = 11
        return o
    }

    func gateway(mode: String) throws -> (RDPCheckResult, String, Double) {
        let dir = try #require(Self.chain)
        let log = dir.appendingPathComponent("rdgw-\(mode).log")
        let server = try Loopback.gatewayEmulator(dir, mode: mode, log: log)
        defer { server.stop() }
        let check = RDPCheck(target: .gateway(RDPEndpoint(name: "localhost", address: Self.localhost, port: 443), udpPort: 3391),
                             options: options(), tls: TLSClient.factory(referenceTime: Int64(Date().timeIntervalSince1970)))
        let ms = SocketRunner(loopbackPorts: [443: server.port]).run(check)
        #expect(check.isFinished)
        usleep(100_000)  // the emulator logs after it answered
        return (check.result, (try? String(contentsOf: log, encoding: .utf8)) ?? "", ms)
    }

    @Test func gatewayEmulatorAnswers401() throws {
        let (r, log, ms) = try gateway(mode: "gateway")
        let g = try #require(r.gateway)
        #expect(g.connect == .connected)
        #expect(g.tls?.state == .established)
        #expect(g.tls?.facts?.chainLength == 2)
        #expect(g.tls?.facts?.nameMatches == true)
        #expect(g.httpTransport?.verdict == .gateway(authSchemes: ["Negotiate", "NTLM"]))
        #expect(g.websocket?.verdict == .gateway(authSchemes: ["Negotiate", "NTLM"]))
        #expect(g.isGateway == true)
        // The emulator saw both requests with a connection id in braces.
        #expect(log.contains("RDG_OUT_DATA /remoteDesktopGateway/ -> 401 connection_id={"))
        #expect(log.contains("websocket=no host=localhost user_agent=MS-RDGateway/1.0"))
        #expect(log.contains("websocket=yes host=localhost user_agent=MS-RDGateway/1.0"))
        #expect(ms < 3000)
    }

    /// The emulator's UDP transport answers a DTLS ClientHello, also one padded to 1232 bytes,
    /// with a HelloVerifyRequest that pathprobe recognises.
    @Test func gatewayEmulatorAnswersDTLS() throws {
        let dir = try #require(Self.chain)
        let udpPort = Loopback.freePort()
        let server = try Loopback.gatewayEmulator(dir, mode: "gateway", log: dir.appendingPathComponent("rdgw-udp.log"), udpPort: udpPort)
        defer { server.stop() }
        let hello = UDPService.dtls.payload(seed: 5)
        let padded = try #require(RDPUDP.paddedDTLSClientHello(random: Array(repeating: 1, count: 32)))
        #expect(padded.count == 1232)
        for request in [hello, padded] {
            let answer = try #require(Loopback.udpExchange(port: udpPort, request))
            #expect(UDPService.dtls.recognizes(answer: answer, to: request))
            #expect(answer[13] == 3, "HelloVerifyRequest")
        }
        #expect(Loopback.udpExchange(port: udpPort, Array("not dtls".utf8), ms: 300) == nil)
    }

    @Test(arguments: [("web", 404), ("proxy", 403), ("redirect", 302)])
    func notAGateway(mode: String, status: Int) throws {
        let (r, _, _) = try gateway(mode: mode)
        let g = try #require(r.gateway)
        #expect(g.tls?.state == .established)
        #expect(g.httpTransport?.status == status)
        #expect(g.websocket?.status == status)
        #expect(g.isGateway == false)
    }

    @Test(.enabled(if: Loopback.hasXrdp, "xrdp is not installed (Debian package xrdp)"),
          arguments: [("negotiate", X224.SelectedProtocol.ssl), ("tls", .ssl), ("rdp", .rdp)])
    func xrdp(layer: String, selected: X224.SelectedProtocol) throws {
        let dir = try #require(Self.chain)
        let (pid, port) = try Loopback.xrdp(dir, layer: layer)
        defer { Loopback.stop(pid: pid) }
        let check = RDPCheck(target: .direct(RDPEndpoint(name: "localhost", address: Self.localhost, port: 3389), udpPort: 3389),
                             options: options(), tls: TLSClient.factory(referenceTime: Int64(Date().timeIntervalSince1970)))
        let ms = SocketRunner(loopbackPorts: [3389: port]).run(check)
        let r = check.result
        #expect(r.rdp?.state == .negotiated)
        #expect(r.rdp?.selectedProtocol == selected)
        if selected == .rdp {
            #expect(r.tls == nil, "standard RDP security: no TLS")
        } else {
            let facts = try #require(r.tls?.facts)
            #expect(r.tls?.state == .established)
            #expect(facts.subject == "CN=localhost,O=pathprobe lab")
            #expect(facts.chainLength == 2, "xrdp sends the chain file's CA too")
            #expect(facts.nameMatches == true)
            #expect(facts.version.hasPrefix("TLSv1."))
        }
        #expect(ms < 3000, "the check took \(ms) ms")
    }
}
