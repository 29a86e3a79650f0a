import Testing
@testable import PathProbeCore

/// The RDP check against scripted peers: xrdp's three security layers, servers that are not RDP,
/// a download black hole in the TLS flight, RD Gateways and web servers, UDP answers.
@Suite struct RDPCheckTests {
    static let server = IPAddress("10.0.3.2")!
    static let host = RDPEndpoint(name: "rdp.lab.test", address: server, port: 3389)
    static let gw = RDPEndpoint(name: "gw.lab.test", address: server, port: 443)

    func run(_ net: RDPSimNetwork, _ target: RDPCheck.Target, options: RDPCheckOptions,
             tls: @escaping TLSSessionFactory) -> (RDPCheckResult, Double) {
        let check = RDPCheck(target: target, options: options, tls: tls)
        let ms = net.run(check)
        #expect(check.isFinished)
        #expect(Set(net.requests.keys) == net.closed, "every connection is closed")
        return (check.result, ms)
    }

    func direct(_ net: RDPSimNetwork, options: RDPCheckOptions = RDPCheckOptions(),
                tls: @escaping TLSSessionFactory = { ScriptedTLS(serverName: $0) }) -> (RDPCheckResult, Double) {
        run(net, .direct(Self.host, udpPort: 3389), options: options, tls: tls)
    }

    func gateway(_ net: RDPSimNetwork, options: RDPCheckOptions = RDPCheckOptions(),
                 tls: @escaping TLSSessionFactory = { ScriptedTLS(serverName: $0) }) -> (RDPCheckResult, Double) {
        run(net, .gateway(Self.gw, udpPort: 3391), options: options, tls: tls)
    }

    static func portUnreachable(_ port: UInt16, _ payload: [UInt8]) -> ProbeOutcome? {
        .unreachable(type: 3, code: 3, from: server)
    }

    // MARK: - Direct

    @Test func negotiateSelectsSSLThenTLS() throws {
        let net = RDPSimNetwork()
        net.servers[3389] = RDPPeers.rdp(answer: RDPPeers.confirm(type: 2, value: 1))
        net.udp = Self.portUnreachable
        var names: [String] = []
        let (r, ms) = direct(net) { name in
            names.append(name)
            return ScriptedTLS(serverName: name)
        }
        let rdp = try #require(r.rdp)
        #expect(rdp.state == .negotiated)
        #expect(rdp.selectedProtocol == .ssl)
        #expect(rdp.failure == nil)
        #expect(rdp.port == 3389)
        #expect(rdp.connectMs == 10)
        #expect(rdp.answerMs == 20)
        #expect(r.tls?.state == .established)
        #expect(r.tls?.facts == ScriptedTLS.facts)
        #expect(r.tls?.bytesReceived == 3600)
        #expect(names == ["rdp.lab.test"])
        #expect(r.gateway == nil)
        // What went over the wire: the Connection Request, the ClientHello, the Finished.
        #expect(net.writes(port: 3389) == [X224.connectionRequest(), ScriptedTLS.clientHello, ScriptedTLS.finished])
        // UDP 3389: closed, and the 1232-byte datagram reached the host (its port unreachable came back).
        #expect(r.udp == UDPCheckResult(port: 3389, state: .closed, datagram1232Passes: true))
        #expect(net.datagramsSent.contains { $0.payload?.count == 1232 })
        #expect(ms < 100)
    }

    @Test func securityLayerRDPHasNoTLS() throws {
        let net = RDPSimNetwork()
        net.servers[3389] = RDPPeers.rdp(answer: RDPPeers.confirm(type: 2, value: 0))
        let (r, _) = direct(net)
        #expect(r.rdp?.state == .negotiated)
        #expect(r.rdp?.selectedProtocol == .rdp)
        #expect(r.tls == nil)
        #expect(net.writes(port: 3389).count == 1)
    }

    @Test func negotiationFailureIsNamed() {
        let net = RDPSimNetwork()
        net.servers[3389] = RDPPeers.rdp(answer: RDPPeers.confirm(type: 3, value: 5))
        let (r, _) = direct(net)
        #expect(r.rdp?.state == .negotiationFailed)
        #expect(r.rdp?.failure == "HYBRID_REQUIRED_BY_SERVER")
        #expect(r.tls == nil)
        let unknown = RDPSimNetwork()
        unknown.servers[3389] = RDPPeers.rdp(answer: RDPPeers.confirm(type: 3, value: 0x99))
        #expect(direct(unknown).0.rdp?.failure == "0x99")
    }

    @Test func hybridRunsTLSFirst() {
        let net = RDPSimNetwork()
        net.servers[3389] = RDPPeers.rdp(answer: RDPPeers.confirm(type: 2, value: 2))
        let (r, _) = direct(net)
        #expect(r.rdp?.selectedProtocol == .hybrid)
        #expect(r.tls?.state == .established)
    }

    @Test func answerArrivingByteByByte() {
        let net = RDPSimNetwork()
        net.segment = 1
        net.servers[3389] = RDPPeers.rdp(answer: RDPPeers.confirm(type: 2, value: 8), flight: 50)
        let (r, _) = direct(net) { ScriptedTLS(serverName: $0, flight: 50) }
        #expect(r.rdp?.selectedProtocol == .hybridEx)
        #expect(r.tls?.state == .established)
    }

    @Test func connectionFates() {
        for (listen, state) in [(RDPSimNetwork.Listen.refuse, RDPNegotiationResult.State.refused),
                                (.unreachable, .unreachable), (.silent, .timeout)] {
            let net = RDPSimNetwork()
            net.servers[3389] = RDPSimNetwork.Server(listen: listen)
            var options = RDPCheckOptions()
            options.probeUDP = false
            let (r, ms) = direct(net, options: options)
            #expect(r.rdp?.state == state)
            #expect(r.tls == nil)
            #expect(r.udp == nil)
            #expect(ms <= 1500)
        }
    }

    @Test func notRDP() {
        let net = RDPSimNetwork()
        net.servers[3389] = RDPSimNetwork.Server { _, _ in [.data(Array("HTTP/1.1 400 Bad Request\r\n\r\n".utf8))] }
        let (r, _) = direct(net)
        #expect(r.rdp?.state == .notRDP)
        #expect(r.rdp?.detail?.contains("TPKT") == true)
        #expect(r.tls == nil)
    }

    @Test func silentOrClosingServer() {
        let silent = RDPSimNetwork()
        silent.servers[3389] = RDPSimNetwork.Server { _, _ in [] }
        silent.udp = Self.portUnreachable  // UDP settles at once: the time is the TCP phase's
        let (r, ms) = direct(silent)
        #expect(r.rdp?.state == .noAnswer)
        #expect(ms < 1300, "one answer timeout plus the TCP_INFO read")

        let closing = RDPSimNetwork()
        closing.servers[3389] = RDPSimNetwork.Server { _, _ in [.close] }
        #expect(direct(closing).0.rdp?.state == .closed)

        let partial = RDPSimNetwork()
        partial.servers[3389] = RDPSimNetwork.Server { _, _ in [.data([0x03, 0x00, 0x00, 0x13, 0x0e]), .close] }
        #expect(direct(partial).0.rdp?.state == .notRDP)
    }

    /// The download black hole: the Connection Confirm (small) arrives, the TLS flight (large
    /// segments) never does. The check says TLS stalled, with a fresh TCP_INFO as evidence.
    @Test func tlsFlightLostToABlackHole() throws {
        let net = RDPSimNetwork()
        net.servers[3389] = RDPPeers.rdp(answer: RDPPeers.confirm(type: 2, value: 1), blackHole: true)
        net.udp = Self.portUnreachable
        net.info.receiveMSS = 536
        net.info.segmentsIn = 3
        let (r, ms) = direct(net)
        #expect(r.rdp?.state == .negotiated)
        let tls = try #require(r.tls)
        #expect(tls.state == .stalled)
        #expect(tls.bytesReceived == 0)
        #expect(tls.facts == nil)
        #expect(tls.tcpInfo?.receiveMSS == 536)
        #expect(ms < 1500, "stall found within the answer timeout: \(ms) ms")
    }

    @Test func tlsAlert() {
        let net = RDPSimNetwork()
        net.servers[3389] = RDPPeers.rdp(answer: RDPPeers.confirm(type: 2, value: 1), flight: 7)
        let (r, _) = direct(net) { ScriptedTLS(serverName: $0, flight: 7, failure: "tlsv1 alert protocol version") }
        #expect(r.tls?.state == .failed)
        #expect(r.tls?.failure == "tlsv1 alert protocol version")
    }

    @Test func cookieIsSent() {
        let net = RDPSimNetwork()
        net.servers[3389] = RDPPeers.rdp(answer: RDPPeers.confirm(type: 2, value: 0))
        var options = RDPCheckOptions()
        options.cookieName = "alice"
        _ = direct(net, options: options)
        #expect(net.writes(port: 3389).first == X224.connectionRequest(cookieName: "alice"))
    }

    // MARK: - UDP

    @Test func udpVerdicts() {
        func udp(_ answer: @escaping (UInt16, [UInt8]) -> ProbeOutcome?) -> UDPCheckResult? {
            let net = RDPSimNetwork()
            net.servers[3389] = RDPPeers.rdp(answer: RDPPeers.confirm(type: 2, value: 0))
            net.udp = answer
            return direct(net).0.udp
        }
        // A real RDP-UDP listener answers the SYN with a SYN+ACK.
        let synAck = udp { _, payload in
            payload.count == 1232 ? .udpReply(from: Self.server, payload: Array(payload[8..<12]) + [0, 0x40, 0, 5] + Array(payload[8..<16])) : nil
        }
        #expect(synAck == UDPCheckResult(port: 3389, state: .open, datagram1232Passes: true, recognized: true))
        // The small datagram is refused by the host, the large one lost: the path does not carry 1232 bytes.
        let lost = udp { _, payload in payload.count == 1232 ? nil : .unreachable(type: 3, code: 3, from: Self.server) }
        #expect(lost == UDPCheckResult(port: 3389, state: .closed, datagram1232Passes: false))
        let ptb = udp { _, payload in payload.count == 1232 ? .packetTooBig(mtu: 1200, from: IPAddress("10.0.2.1")!) : nil }
        #expect(ptb == UDPCheckResult(port: 3389, state: .openFiltered, datagram1232Passes: false, packetTooBigMTU: 1200))
        #expect(udp { _, _ in nil } == UDPCheckResult(port: 3389, state: .openFiltered))
        #expect(udp { _, _ in .unreachable(type: 3, code: 13, from: IPAddress("10.0.2.1")!) } == UDPCheckResult(port: 3389, state: .filtered))
        let local = udp { _, payload in payload.count == 1232 ? .localError(errno: 90, mtu: 1200) : nil }
        #expect(local?.datagram1232Passes == false)
        #expect(local?.packetTooBigMTU == 1200)
    }

    @Test func udpLossIsRetried() {
        let net = RDPSimNetwork()
        net.servers[3389] = RDPPeers.rdp(answer: RDPPeers.confirm(type: 2, value: 0))
        var sent = 0
        net.udp = { _, _ in
            sent += 1
            return sent <= 1 ? nil : .unreachable(type: 3, code: 3, from: Self.server)
        }
        let (r, ms) = direct(net)
        #expect(net.datagramsSent.map(\.size) == [1232, 1232], "the large one again; the small one is not needed")
        #expect(r.udp?.datagram1232Passes == true)
        #expect(ms < 1300)
    }

    /// The engine matches answers without a token by address and port, so the two datagrams go one
    /// at a time: the small one only after the large one got nothing back, twice.
    @Test func udpDatagramsGoOneAtATime() {
        let net = RDPSimNetwork()
        net.servers[3389] = RDPPeers.rdp(answer: RDPPeers.confirm(type: 2, value: 0))
        let (r, ms) = direct(net)
        #expect(net.datagramsSent.map(\.size) == [1232, 1232, UDPService.dtls.payload(seed: 0).count])
        #expect(net.datagramsSent.map(\.tag) == [100, 100, 101])
        #expect(r.udp == UDPCheckResult(port: 3389, state: .openFiltered))
        #expect(ms < 1900, "two waits for the large one, one for the small one: \(ms) ms")
    }

    // MARK: - Gateway

    @Test func gatewayAnswers401() throws {
        let net = RDPSimNetwork()
        net.servers[443] = RDPPeers.https(answer: RDPPeers.gateway401)
        net.udp = { port, payload in port == 3391 ? .udpReply(from: Self.server, payload: RDPPeers.helloVerify) : nil }
        var options = RDPCheckOptions()
        options.seed = 42
        let (r, ms) = gateway(net, options: options)
        #expect(r.rdp == nil)
        #expect(r.tls == nil)
        let g = try #require(r.gateway)
        #expect(g.connect == .connected)
        #expect(g.port == 443)
        #expect(g.tls?.state == .established)
        #expect(g.tls?.facts == ScriptedTLS.facts)
        #expect(g.httpTransport?.state == .answered)
        #expect(g.httpTransport?.status == 401)
        #expect(g.httpTransport?.authSchemes == ["Negotiate", "NTLM"])
        #expect(g.httpTransport?.verdict == .gateway(authSchemes: ["Negotiate", "NTLM"]))
        #expect(g.websocket?.status == 401)
        #expect(g.isGateway == true)
        #expect(g.udp == UDPCheckResult(port: 3391, state: .open, datagram1232Passes: true, recognized: true))
        #expect(r.udp == UDPCheckResult(port: 3391, state: .open, datagram1232Passes: true, recognized: true))
        #expect(net.datagramsSent.contains { $0.payload?.count == 1232 && $0.kind == .udp(port: 3391) })
        // The requests: RDG_OUT_DATA with the seed's connection id, then its WebSocket form.
        let requests = net.requests.filter { $0.value.port == 443 }.keys.sorted { $0.raw < $1.raw }.map { net.written[$0]!.last! }
        let http = String(decoding: requests[0], as: UTF8.self)
        var rng = SplitMix64(seed: 42)
        #expect(http.hasPrefix("RDG_OUT_DATA /remoteDesktopGateway/ HTTP/1.1\r\nHost: gw.lab.test\r\n"))
        #expect(http.contains("RDG-Connection-Id: \(RDGateway.guid(rng.bytes(16)))\r\n"))
        #expect(String(decoding: requests[1], as: UTF8.self).contains("Upgrade: websocket\r\n"))
        #expect(ms < 100)
    }

    @Test func plainWebServerIsNotAGateway() throws {
        let net = RDPSimNetwork()
        net.servers[443] = RDPPeers.https(answer: RDPPeers.web404)
        let (r, _) = gateway(net)
        let g = try #require(r.gateway)
        #expect(g.isGateway == false)
        #expect(g.httpTransport?.status == 404)
        #expect(g.httpTransport?.verdict?.isGateway == false)
        #expect(g.websocket?.status == 404)
        #expect(g.udp?.state == .openFiltered)
        #expect(r.udp?.datagram1232Passes == nil)
    }

    @Test func gatewayThatTakesWebSocketOnly() throws {
        let net = RDPSimNetwork()
        net.servers[443] = RDPPeers.https(answer: RDPPeers.web404,
                                          wsAnswer: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
        let g = try #require(gateway(net).0.gateway)
        #expect(g.httpTransport?.verdict?.isGateway == false)
        #expect(g.websocket?.verdict == .webSocketAccepted)
        #expect(g.isGateway == true)
    }

    @Test func gatewayFates() throws {
        let refused = RDPSimNetwork()
        refused.servers[443] = RDPSimNetwork.Server(listen: .refuse)
        let g = try #require(gateway(refused).0.gateway)
        #expect(g.connect == .refused)
        #expect(g.tls == nil)
        #expect(g.httpTransport?.state == .notConnected)
        #expect(g.isGateway == nil)

        let notTLS = RDPSimNetwork()
        notTLS.servers[443] = RDPSimNetwork.Server { _, _ in [.data(Array("SSH-2.0-x\r\n".utf8))] }
        let (r2, _) = gateway(notTLS) { ScriptedTLS(serverName: $0, flight: 5, failure: "wrong version number") }
        #expect(r2.gateway?.tls?.state == .failed)
        #expect(r2.gateway?.tls?.failure == "wrong version number")
        #expect(r2.gateway?.httpTransport?.state == .tlsFailed)

        let mute = RDPSimNetwork()
        mute.servers[443] = RDPPeers.https(answer: "")
        mute.udp = Self.portUnreachable
        let (r3, ms) = gateway(mute)
        #expect(r3.gateway?.httpTransport?.state == .noAnswer)
        #expect(ms < 1300)

        let garbage = RDPSimNetwork()
        garbage.servers[443] = RDPPeers.https(answer: "\u{3}\u{0}\u{0}\u{13}")
        #expect(gateway(garbage).0.gateway?.httpTransport?.state == .invalid)
    }

    @Test func webSocketCanBeLeftOut() throws {
        let net = RDPSimNetwork()
        net.servers[443] = RDPPeers.https(answer: RDPPeers.gateway401)
        var options = RDPCheckOptions()
        options.webSocket = false
        options.probeUDP = false
        let (r, _) = gateway(net, options: options)
        #expect(r.gateway?.websocket == nil)
        #expect(r.gateway?.udp == nil)
        #expect(r.udp == nil)
        #expect(net.requests.count == 1)
    }
}
