import Testing
@testable import PathProbeCore

/// The RDP rules on synthetic check results, the `rdp` document's JSON, and `RDPRun` (the check,
/// then the path MTU of the port that answered) on scripted peers.
@Suite struct RDPAdvisorTests {
    static let server = IPAddress("10.0.3.2")!

    static func local(_ family: AddressFamily = .ipv4) -> ProfileFacts {
        var f = ProfileFacts(family: family)
        f.egressInterface = "eth0"
        f.egressMTU = 1500
        f.egressKind = "veth"
        f.tcpMTUProbing = 0
        return f
    }

    static func facts(flight: TLSCheckResult.State = .established, days: Int = 90, nameMatches: Bool = true, selfSigned: Bool = false,
                      selected: X224.SelectedProtocol = .ssl) -> RDPCheckResult {
        var check = RDPCheckResult()
        check.rdp = RDPNegotiationResult(port: 3389, state: .negotiated, selectedProtocol: selected, connectMs: 1, answerMs: 2)
        if selected != .rdp {
            var info = TCPInfo()
            info.receiveMSS = 884
            let tlsFacts = TLSFacts(version: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384", subject: "CN=rdp.lab.test", issuer: "CN=CA",
                                    san: ["rdp.lab.test"], notAfter: "2027-03-01T00:00:00Z", daysLeft: days, selfSigned: selfSigned,
                                    nameMatches: nameMatches, chainBytes: 1771, chainLength: 2, handshakeBytes: 2332)
            check.tls = flight == .established ? TLSCheckResult(state: .established, facts: tlsFacts, bytesReceived: 2332, doneMs: 20)
                : TLSCheckResult(state: flight, failure: "the server's TLS flight did not complete in time", tcpInfo: info, doneMs: 1050)
        }
        check.udp = UDPCheckResult(port: 3389, state: .closed, datagram1232Passes: true)
        return check
    }

    static func advise(_ check: RDPCheckResult, path: RDPAdvisor.PathFacts? = nil, name: String = "rdp.lab.test") -> RDPReport {
        var r = RDPReport(address: server, check: check)
        let a = RDPAdvisor.advise(r, path: path, local: local(), serverName: name)
        r.findings = a.findings
        r.recommendations = a.recommendations
        return r
    }

    static let downloadBlackHole = RDPAdvisor.PathFacts(pathMTU: 1400, pathMTUUp: 1400, pathMTUDown: 1400, blackHole: true,
                                                        blackHoleDirection: .down)

    @Test func healthyHostHasOnlyTheClosedUDPNote() {
        let r = Self.advise(Self.facts(), path: RDPAdvisor.PathFacts(pathMTU: 1500, pathMTUUp: 1500, pathMTUDown: 1500))
        #expect(r.findings.map(\.id) == ["udp-transport-closed"])
        #expect(r.findings[0].severity == .info)
        #expect(r.recommendations.isEmpty)
        #expect(!r.breaksSession)
    }

    /// The symptom the check exists for: the certificate flight lost to a download black hole.
    @Test func stalledFlightBehindADownloadBlackHole() throws {
        let r = Self.advise(Self.facts(flight: .stalled), path: Self.downloadBlackHole)
        let f = try #require(r.findings.first)
        #expect(f.id == "tls-flight-lost")
        #expect(f.severity == .critical)
        #expect(f.message.contains("download black hole drops packets above 1400"))
        #expect(f.message.contains("0x904"))
        #expect(f.evidence[RDPAdvisor.Key.phase] == .string("tls"))
        #expect(f.evidence[RDPAdvisor.Key.disconnectCode] == .string("0x904/0x7"))
        #expect(f.evidence[RDPReport.TLS.CodingKeys.receiveMSS] == .int(884))
        #expect(f.evidence[RDPAdvisor.Key.pathMTUDown] == .int(1400))
        #expect(!r.findings.contains { $0.id == "path-black-hole" }, "the stalled flight says it once")
        #expect(r.breaksSession)
        #expect(r.recommendations.map(\.id) == ["interface-mtu", "tcp-mss-clamp", "tcp-mtu-probing"])
        #expect(r.recommendations[0].value == "1400")
        #expect(r.recommendations[0].linux.first == "ip link set dev eth0 mtu 1400")
    }

    @Test func stalledFlightWithoutAPathMeasurement() throws {
        let r = Self.advise(Self.facts(flight: .stalled))
        #expect(r.findings.first?.id == "tls-flight-lost")
        #expect(r.findings.first?.message.contains("not measured") == true)
        #expect(r.recommendations.isEmpty, "no size is known to recommend")
    }

    @Test func blackHoleWithAnEstablishedFlight() {
        let down = Self.advise(Self.facts(), path: Self.downloadBlackHole)
        #expect(down.findings.first?.id == "path-black-hole")
        #expect(down.findings.first?.severity == .critical)
        var up = Self.downloadBlackHole
        up.blackHoleDirection = .up
        let upload = Self.advise(Self.facts(), path: up)
        #expect(upload.findings.first?.severity == .warning)
        #expect(upload.findings.first?.evidence[RDPAdvisor.Key.disconnectCode] == .null)
        #expect(upload.recommendations.first?.id == "interface-mtu")
    }

    @Test func standardRDPSecurity() {
        let r = Self.advise(Self.facts(selected: .rdp))
        #expect(r.findings.first?.id == "rdp-standard-security")
        #expect(r.findings.first?.severity == .warning)
        #expect(r.recommendations.map(\.id) == ["rdp-security-layer"])
        #expect(r.recommendations[0].linux[0].contains("security_layer=tls"))
        #expect(!r.breaksSession)
    }

    @Test func connectionAndNegotiationFailures() {
        for (state, id) in [(RDPNegotiationResult.State.refused, "rdp-port-unreachable"), (.timeout, "rdp-port-unreachable"),
                            (.notRDP, "rdp-not-rdp"), (.noAnswer, "rdp-no-answer"), (.closed, "rdp-no-answer"),
                            (.negotiationFailed, "rdp-negotiation-failed")] {
            var check = RDPCheckResult()
            check.rdp = RDPNegotiationResult(port: 3389, state: state, failure: state == .negotiationFailed ? "SSL_NOT_ALLOWED_BY_SERVER" : nil)
            let r = Self.advise(check)
            #expect(r.findings.map(\.id) == [id], "\(state)")
            #expect(r.breaksSession)
        }
    }

    @Test func certificates() {
        let expiring = Self.advise(Self.facts(days: 10))
        #expect(expiring.findings.first?.id == "certificate-expiring")
        #expect(expiring.findings.first?.severity == .warning)
        #expect(expiring.recommendations.map(\.id) == ["certificate-renewal"])
        #expect(expiring.recommendations[0].value == "rdp.lab.test")
        #expect(Self.advise(Self.facts(days: 14)).recommendations.isEmpty, "14 days and more: nothing to do yet")
        let mismatch = Self.advise(Self.facts(nameMatches: false), name: "10.0.3.9")
        #expect(mismatch.findings.first?.id == "certificate-name-mismatch")
        #expect(mismatch.findings.first?.severity == .warning, "a host: clients warn")
        let selfSigned = Self.advise(Self.facts(selfSigned: true))
        #expect(selfSigned.findings.first?.severity == .info)
        let expired = Self.advise(Self.facts(days: -3, selfSigned: true))
        #expect(expired.findings.map(\.id).prefix(1) == ["certificate-expired"])
        #expect(expired.recommendations.first?.windows.first?.contains("Remote Desktop") == true, "a self-signed RDP certificate is remade")
    }

    static func gatewayCheck(connect: ConnectOutcome = .connected, answer: GatewayVerdict? = .gateway(authSchemes: ["Negotiate", "NTLM"]),
                             days: Int = 90) -> RDPCheckResult {
        var check = RDPCheckResult()
        var g = GatewayCheckResult(address: server, port: 443, connect: connect)
        if connect == .connected {
            let tlsFacts = TLSFacts(version: "TLSv1.3", cipher: "x", daysLeft: days, selfSigned: false, nameMatches: true)
            g.tls = TLSCheckResult(state: .established, facts: tlsFacts, bytesReceived: 2332)
            if let answer {
                let status: Int
                switch answer {
                case .gateway: status = 401
                case .webSocketAccepted: status = 101
                case .notGateway: status = 404
                }
                g.httpTransport = GatewayExchangeResult(state: .answered, status: status, verdict: answer)
            } else {
                g.httpTransport = GatewayExchangeResult(state: .noAnswer)
            }
        }
        check.gateway = g
        return check
    }

    @Test func gateways() {
        #expect(Self.advise(Self.gatewayCheck()).findings.isEmpty)
        let web = Self.advise(Self.gatewayCheck(answer: .notGateway(reason: "404 Not Found: a web server without the RD Gateway's path")))
        #expect(web.findings.map(\.id) == ["gateway-not-gateway"])
        #expect(web.findings[0].message.contains("404 Not Found"))
        #expect(web.findings[0].evidence[RDPAdvisor.Key.disconnectCode] == .string("0x904/0x7"))
        #expect(web.breaksSession)
        #expect(Self.advise(Self.gatewayCheck(answer: nil)).findings.map(\.id) == ["gateway-no-answer"])
        #expect(Self.advise(Self.gatewayCheck(connect: .refused)).findings.map(\.id) == ["gateway-unreachable"])
        let expired = Self.advise(Self.gatewayCheck(days: -1))
        #expect(expired.findings.first?.id == "certificate-expired")
        #expect(expired.findings.first?.severity == .critical, "clients refuse a gateway with an expired certificate")
        #expect(expired.recommendations.first?.windows.first?.hasPrefix("Set-RDCertificate -Role RDGateway") == true)
    }

    /// profile and bulk check a target as both: the side that does not answer is only a note when
    /// the other one works.
    @Test func hostAndGatewayAtOnce() {
        var check = Self.facts()
        check.gateway = Self.gatewayCheck(connect: .refused).gateway
        let host = Self.advise(check)
        #expect(host.findings.first { $0.id == "gateway-unreachable" }?.severity == .info)
        #expect(!host.breaksSession)
        var neither = Self.gatewayCheck(connect: .refused)
        neither.rdp = RDPNegotiationResult(port: 3389, state: .refused)
        #expect(Self.advise(neither).findings.filter { $0.severity == .critical }.count == 2)
    }

    @Test func udp() {
        var check = Self.facts()
        check.udp = UDPCheckResult(port: 3389, state: .open, datagram1232Passes: false, packetTooBigMTU: 1200, recognized: true)
        let r = Self.advise(check)
        #expect(r.findings.first?.id == "udp-datagram-too-large")
        #expect(r.findings.first?.message.contains("MTU 1200") == true)
        #expect(r.recommendations.map(\.id) == ["tcp-only"])
        #expect(r.recommendations[0].windows.first?.contains("fClientDisableUDP") == true)
        #expect(!r.breaksSession, "the client falls back to TCP")
        check.udp = UDPCheckResult(port: 3389, state: .openFiltered)
        let small = Self.advise(check, path: RDPAdvisor.PathFacts(pathMTU: 1240))
        #expect(small.findings.first?.id == "udp-path-too-small")
        #expect(small.findings.first?.evidence[RDPAdvisor.Key.neededMTU] == .int(1260))
        #expect(Self.advise(check, path: RDPAdvisor.PathFacts(pathMTU: 1400)).findings.isEmpty)
    }

    // MARK: - The document

    @Test func everyKeyIsPresentAndTheDocumentReadsBack() throws {
        var r = Self.advise(Self.facts(flight: .stalled), path: Self.downloadBlackHole)
        r.target = "rdp.lab.test"
        let json = Contract.json(r)
        let keys = json.objectValue?.map(\.0)
        #expect(keys == ["type", "schema_version", "target", "line", "address", "family", "duration_ms", "rdp", "tls", "gateway", "udp",
                         "mtu", "findings", "recommendations"])
        #expect(json["gateway"] == .null)
        #expect(json["tls"]?["state"] == .string("stalled"))
        #expect(json["tls"]?["version"] == .null)
        #expect(json["tls"]?.objectValue?.count == 17)
        #expect(json["rdp"]?["selected_protocol"] == .string("ssl"))
        let back = try Contract.decode(RDPReport.self, from: json)
        #expect(back.rdp == r.rdp)
        #expect(back.tls == r.tls)
        #expect(back.findings == r.findings)
        #expect(back.target == "rdp.lab.test")

        let gw = Contract.json(Self.advise(Self.gatewayCheck()))
        #expect(gw["rdp"] == .null)
        #expect(gw["gateway"]?["http_transport"]?["verdict"] == .string("gateway"))
        #expect(gw["gateway"]?["websocket"] == .null)
        #expect(gw["gateway"]?["connect"] == .string("connected"))
    }

    @Test func textNamesEveryPhase() {
        var r = Self.advise(Self.facts(flight: .stalled), path: Self.downloadBlackHole)
        r.target = "rdp.lab.test"
        r.path = Self.downloadBlackHole
        let text = r.text()
        #expect(text.contains("negotiated, selected ssl"))
        #expect(text.contains("stalled"))
        #expect(text.contains("largest segment 884 bytes"))
        #expect(text.contains("black hole down"))
        #expect(text.contains("ip link set dev eth0 mtu 1400"))
        #expect(r.markdown.contains("| TLS | **stalled**"))
    }

    // MARK: - RDPRun

    /// The path MTU starts once the check's handshakes are settled, on the port that accepted one
    /// (the host's before the gateway's), and its connections are its own.
    @Test func runStartsThePathMTUOnThePortThatAnswered() {
        for (host, gateway, expected) in [(true, true, UInt16(3389)), (false, true, 443), (false, false, nil)] as [(Bool, Bool, UInt16?)] {
            let net = RDPSimNetwork()
            net.servers[3389] = host ? RDPPeers.rdp(answer: RDPPeers.confirm(type: 2, value: 1)) : RDPSimNetwork.Server(listen: .refuse)
            net.servers[443] = gateway ? RDPPeers.https(answer: RDPPeers.gateway401) : RDPSimNetwork.Server(listen: .refuse)
            var options = RDPCheckOptions()
            options.probeUDP = false
            let check = RDPCheck(target: .hostAndGateway(host: RDPCheckTests.host, udpPort: 3389, gateway: RDPCheckTests.gw, gatewayUDPPort: 3391),
                                 options: options, tls: { ScriptedTLS(serverName: $0) })
            var asked: [(UInt16, TCPService)] = []
            let run = RDPRun(check: check) { port, service in
                asked.append((port, service))
                return nil
            }
            net.run(run)
            #expect(run.isFinished)
            #expect(asked.map(\.0) == (expected.map { [$0] } ?? []))
            #expect(asked.first?.1 == (expected == 443 ? .tls : expected == nil ? nil : .rdp))
            let r = check.result
            #expect(r.rdp?.state == (host ? .negotiated : .refused))
            #expect(r.gateway?.isGateway == (gateway ? true : nil))
        }
    }

    @Test func runEndsWhenItsBudgetIsSpent() {
        let net = RDPSimNetwork()
        net.servers[3389] = RDPSimNetwork.Server(listen: .silent)
        let check = RDPCheck(target: .direct(RDPCheckTests.host, udpPort: 3389), tls: { ScriptedTLS(serverName: $0) })
        let run = RDPRun(check: check, budget: .fromMs(300)) { _, _ in nil }
        let ms = net.run(run)
        #expect(run.isFinished)
        #expect(ms >= 300 && ms < 400, "\(ms) ms")
    }
}
