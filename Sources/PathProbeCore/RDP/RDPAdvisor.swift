/// The RDP rules: from what the check saw (`RDPReport`) and the path MTU of its port to findings
/// tied to the symptom and recommendations with exact commands. Every finding names the phase of
/// the connection it breaks (`phase`) and whether a client then ends with disconnect code 0x904 /
/// extended 0x7 (`disconnect_code`, null when it does not); the exit status is 1 when one is
/// critical. The path recommendations come from the profile advisor's builders (interface MTU, MSS
/// clamp, TCP MTU probing, TCP only), so a fix reads the same in `profile` and `rdp`.
public enum RDPAdvisor {
    /// The path MTU of the checked port, as far as it was measured (TCP, both directions).
    public struct PathFacts: Sendable, Equatable {
        /// The smaller direction (nil unless both directions asked for are known, see TCPPathMTUResult).
        public var pathMTU: Int?
        public var pathMTUUp: Int?
        public var pathMTUDown: Int?
        public var blackHole: Bool
        public var blackHoleDirection: TCPPathMTUResult.Direction?

        public init(pathMTU: Int?, pathMTUUp: Int? = nil, pathMTUDown: Int? = nil, blackHole: Bool = false,
                    blackHoleDirection: TCPPathMTUResult.Direction? = nil) {
            self.pathMTU = pathMTU
            self.pathMTUUp = pathMTUUp
            self.pathMTUDown = pathMTUDown
            self.blackHole = blackHole
            self.blackHoleDirection = blackHoleDirection
        }

        public init(_ r: TCPPathMTUResult) {
            // With one direction only bounded ("at least"), the measured one stands for the path.
            self.init(pathMTU: r.pathMTU ?? [r.pathMTUUp, r.pathMTUDown].compactMap { $0 }.min(),
                      pathMTUUp: r.pathMTUUp, pathMTUDown: r.pathMTUDown, blackHole: r.blackHole,
                      blackHoleDirection: r.blackHoleDirection)
        }

        /// Packets from the server are lost above the path MTU without a PTB reaching it.
        var downloadBlackHole: Bool { blackHoleDirection == .down || blackHoleDirection == .both }
    }

    /// Evidence the RDP rules derive themselves (the others are named after the result fields).
    public enum Key: String, CodingKey {
        /// The phase of the connection the finding breaks: connect, negotiation, tls, certificate,
        /// gateway, udp, path.
        case phase
        /// What a client ends with: "0x904/0x7", or null when it is not that disconnect.
        case disconnectCode = "disconnect_code"
        /// The TCP path MTU of the port, per direction (the `mtu` document's TCP fields).
        case pathMTUUp = "path_mtu_up"
        case pathMTUDown = "path_mtu_down"
        case blackHoleDirection = "black_hole_direction"
        /// The IP packet RDP-UDP's 1232-byte datagrams need (1260 IPv4, 1280 IPv6).
        case neededMTU = "needed_mtu"
    }

    public enum Phase: String, Sendable {
        case connect, negotiation, tls, certificate, gateway, udp, path
    }

    /// mstsc's "the socket was closed" with "the server refused": what a client ends with when the
    /// far end or the path drops it after the TCP handshake.
    public static let socketClosed = "0x904/0x7"

    /// Days of certificate validity below which renewal is recommended.
    public static let renewalDays = 14

    /// `local`: the egress side and the family (egressInterface, egressMTU, egressKind,
    /// tcpMTUProbing); its path fields are filled here from `path`.
    public static func advise(_ r: RDPReport, path: PathFacts?, local: ProfileFacts, serverName: String) -> Advisor.Advice {
        var a = Advisor.Advice()
        let hostHealthy = r.rdp?.state == .negotiated
        let gatewayHealthy = r.gateway?.isGateway == true
        // A target checked as both (profile, bulk): the side that does not answer is not a failure
        // when the other one works.
        let both = r.rdp != nil && r.gateway != nil
        if let n = r.rdp { a.findings += negotiation(n, downgrade: both && gatewayHealthy) }
        if let t = r.tls { a.findings += tls(t, path: path, gateway: false, serverName: serverName) }
        if let g = r.gateway {
            a.findings += gateway(g, downgrade: both && hostHealthy)
            if let t = g.tls { a.findings += tls(t, path: path, gateway: true, serverName: serverName) }
        }
        if let u = r.udp { a.findings += udp(u, path: path, family: r.family) }
        let tlsStalled = r.tls?.state == .stalled || r.gateway?.tls?.state == .stalled
        if let path, !tlsStalled { a.findings += blackHole(path, family: r.family) }

        var f = local
        f.family = r.family
        f.pathMTU = path?.pathMTU
        f.blackHole = path?.blackHole ?? false
        if path?.blackHole == true || (tlsStalled && path?.pathMTU != nil) {
            // Only a black hole (or a flight that stalled on a path narrower than the interface) needs
            // the MTU changed: where packet-too-big messages arrive, PMTU discovery does it alone.
            a.recommendations += Advisor.interfaceMTU(f) + Advisor.mssClamp(f) + Advisor.tcpMTUProbing(f)
        }
        if a.findings.contains(where: { $0.id == "udp-datagram-too-large" || $0.id == "udp-path-too-small" }) {
            a.recommendations += tcpOnly(f, port: Int(r.udp?.port ?? RDPUDP.defaultPort))
        }
        if r.rdp?.selectedProtocol == .rdp { a.recommendations.append(securityLayer) }
        for t in [r.tls, r.gateway?.tls].compactMap({ $0 }) {
            if let days = t.daysLeft, days < renewalDays, !a.recommendations.contains(where: { $0.id == "certificate-renewal" }) {
                a.recommendations.append(renewal(t, days: days, gateway: t == r.gateway?.tls, serverName: serverName))
            }
        }
        a.findings = stableSortedBySeverity(a.findings)
        return a
    }

    // MARK: - findings

    static func evidence(_ phase: Phase, _ disconnect: String?) -> Evidence {
        Evidence().with(Key.phase, phase.rawValue).with(Key.disconnectCode, disconnect)
    }

    static func finding(_ id: String, _ severity: Finding.Severity, _ message: String, _ phase: Phase, _ disconnect: String?,
                        _ more: (Evidence) -> Evidence = { $0 }) -> Finding {
        Finding(id: id, severity: severity, message: message, evidence: more(evidence(phase, disconnect)))
    }

    static func negotiation(_ n: RDPNegotiationResult, downgrade: Bool) -> [Finding] {
        typealias K = RDPNegotiationResult.CodingKeys
        let port = "TCP \(n.port)"
        let failing: Finding.Severity = downgrade ? .info : .critical
        let tail = downgrade ? " (the target answers as an RD Gateway instead)" : ""
        func with(_ e: Evidence) -> Evidence { e.with(K.port, n.port).with(K.state, n.state.rawValue).with(K.detail, n.detail) }
        switch n.state {
        case .negotiated:
            guard n.selectedProtocol == .rdp else { return [] }
            return [finding("rdp-standard-security", .warning,
                            "\(port): the server selected standard RDP security: no TLS, the server is not authenticated and "
                                + "the session is protected by RDP's own RC4 encryption only (clients warn or refuse; not a disconnect)",
                            .negotiation, nil) { with($0).with(K.selectedProtocol, n.selectedProtocol) }]
        case .negotiationFailed:
            return [finding("rdp-negotiation-failed", failing,
                            "\(port): the server refuses what a current client offers (TLS, CredSSP): \(n.failure ?? "a negotiation failure"); "
                                + "the client stops at the security negotiation with this reason, not with 0x904\(tail)",
                            .negotiation, nil) { with($0).with(K.failure, n.failure) }]
        case .notRDP:
            return [finding("rdp-not-rdp", failing,
                            "\(port) answers, but not as an RDP server (\(n.detail ?? "no X.224 Connection Confirm")): "
                                + "another service holds the port or a proxy is in the way\(tail)",
                            .negotiation, socketClosed, with)]
        case .noAnswer, .closed:
            let what = n.state == .closed ? "closed the connection" : "did not answer"
            return [finding("rdp-no-answer", failing,
                            "\(port): the connection opens but the server \(what) instead of the RDP negotiation: the client "
                                + "ends with 0x904 (extended 0x7: the socket was closed, the server refused)\(tail)",
                            .negotiation, socketClosed, with)]
        case .refused, .unreachable, .timeout:
            let why: String
            switch n.state {
            case .refused: why = "connection refused (nothing listens, or a firewall rejects)"
            case .unreachable: why = "unreachable (\(n.detail ?? "an ICMP unreachable or no route"))"
            default: why = "no answer to the connection request (filtered)"
            }
            return [finding("rdp-port-unreachable", failing,
                            "\(port): \(why): the client cannot connect at all (mstsc: 0x204, not 0x904)\(tail)",
                            .connect, nil, with)]
        }
    }

    static func tls(_ t: RDPReport.TLS, path: PathFacts?, gateway: Bool, serverName: String) -> [Finding] {
        typealias K = RDPReport.TLS.CodingKeys
        let whose = gateway ? "the gateway's" : "the server's"
        func flight(_ e: Evidence) -> Evidence {
            e.with(K.state, t.state.rawValue).with(K.bytesReceived, t.bytesReceived).with(K.receiveMSS, t.receiveMSS)
        }
        switch t.state {
        case .stalled:
            var cause = "the path MTU was not measured (run without --no-mtu)"
            if let path, path.downloadBlackHole, let down = path.pathMTUDown ?? path.pathMTU {
                cause = "a download black hole drops packets above \(down) bytes and no \"fragmentation needed\" reaches the server"
            } else if let path, path.blackHole, let mtu = path.pathMTU {
                cause = "a black hole drops packets above \(mtu) bytes"
            } else if path != nil {
                cause = "the path MTU measurement found no black hole: a middlebox or the server itself holds the flight back"
            }
            return [finding("tls-flight-lost", .critical,
                            "TLS: \(whose) certificate flight never arrived (\(t.bytesReceived) bytes came): \(cause). Clients hang in the "
                                + "TLS handshake and give up with 0x904 (extended 0x7)",
                            .tls, socketClosed) { e in
                var e = flight(e)
                if let path {
                    e = e.with(Key.pathMTUDown, path.pathMTUDown).with(Key.blackHoleDirection, path.blackHoleDirection?.rawValue)
                }
                return e
            }]
        case .failed:
            return [finding("tls-failed", .critical,
                            "TLS with \(gateway ? "the gateway" : "the RDP server") fails: \(t.failure ?? "a TLS error"); a client's handshake "
                                + "fails the same way (a security error, not 0x904)",
                            .tls, nil) { $0.with(K.state, t.state.rawValue).with(K.failure, t.failure) }]
        case .closed:
            return [finding("tls-closed", .critical,
                            "TLS: \(gateway ? "the gateway" : "the server") closed the connection during the handshake: the client ends "
                                + "with 0x904 (extended 0x7)",
                            .tls, socketClosed, flight)]
        case .established:
            return certificate(t, gateway: gateway, serverName: serverName)
        }
    }

    static func certificate(_ t: RDPReport.TLS, gateway: Bool, serverName: String) -> [Finding] {
        typealias K = RDPReport.TLS.CodingKeys
        var out: [Finding] = []
        let whose = gateway ? "The RD Gateway's certificate" : "The RDP server's certificate"
        // mstsc refuses an RD Gateway whose certificate it cannot trust; for a host it asks the user.
        let consequence = gateway ? "clients refuse the gateway (not 0x904: a certificate error)" : "clients show a certificate warning"
        if let days = t.daysLeft, days < 0 {
            out.append(finding("certificate-expired", gateway ? .critical : .warning,
                               "\(whose) expired \(-days) days ago (\(t.notAfter ?? "?")): \(consequence)",
                               .certificate, nil) { $0.with(K.notAfter, t.notAfter).with(K.daysLeft, days) })
        } else if let days = t.daysLeft, days < renewalDays {
            out.append(finding("certificate-expiring", .warning,
                               "\(whose) expires in \(days) days (\(t.notAfter ?? "?")): renew it before clients start to refuse it",
                               .certificate, nil) { $0.with(K.notAfter, t.notAfter).with(K.daysLeft, days) })
        }
        if t.nameMatches == false {
            out.append(finding("certificate-name-mismatch", gateway ? .critical : .warning,
                               "\(whose) is not valid for \(serverName) (subject \(t.subject ?? "?"), names \((t.san ?? []).joined(separator: ", "))): "
                                   + consequence,
                               .certificate, nil) { $0.with(K.subject, t.subject).with(K.san, t.san).with(K.nameMatches, false) })
        }
        if t.selfSigned == true {
            out.append(finding("certificate-self-signed", gateway ? .warning : .info,
                               gateway ? "\(whose) is self-signed: every client must trust it explicitly, or it refuses the gateway"
                                   : "\(whose) is self-signed (Windows' default): clients warn once unless it is trusted",
                               .certificate, nil) { $0.with(K.subject, t.subject).with(K.selfSigned, true) })
        }
        return out
    }

    static func gateway(_ g: RDPReport.Gateway, downgrade: Bool) -> [Finding] {
        typealias K = RDPReport.Gateway.CodingKeys
        typealias X = RDPReport.Exchange.CodingKeys
        let failing: Finding.Severity = downgrade ? .info : .critical
        let tail = downgrade ? " (the target answers as an RDP host instead)" : ""
        let at = "\(g.address) port \(g.port)"
        if g.connect != .connected {
            return [finding("gateway-unreachable", failing,
                            "RD Gateway \(at): \(g.connect == .refused ? "connection refused" : g.connect == .unreachable ? "unreachable" : "no answer (filtered)"): "
                                + "clients report the gateway as unavailable\(tail)",
                            .connect, nil) { $0.with(K.address, g.address).with(K.port, g.port).with(K.connect, g.connect.rawValue) }]
        }
        guard g.tls?.state == .established else { return [] }  // the TLS finding says why
        let exchanges = [g.httpTransport, g.websocket].compactMap { $0 }
        func answers(_ e: Evidence) -> Evidence {
            e.with(K.httpTransport, g.httpTransport.map { Evidence().with(X.status, $0.status).with(X.detail, $0.detail) })
                .with(K.websocket, g.websocket.map { Evidence().with(X.status, $0.status).with(X.detail, $0.detail) })
        }
        switch g.isGateway {
        case true?:
            return []
        case false?:
            let what = exchanges.compactMap(\.detail).first ?? "an answer that is not a gateway's"
            return [finding("gateway-not-gateway", failing,
                            "\(at) is not an RD Gateway: RDG_OUT_DATA on /remoteDesktopGateway/ got \(what). A client ends with 0x904 "
                                + "(extended 0x7) there\(tail)",
                            .gateway, socketClosed, answers)]
        case nil:
            return [finding("gateway-no-answer", failing,
                            "\(at): TLS works but the gateway's HTTP transport did not answer RDG_OUT_DATA: a client ends with 0x904 "
                                + "(extended 0x7)\(tail)",
                            .gateway, socketClosed, answers)]
        }
    }

    /// RDP-UDP's SYN is 1232 bytes: 1260-byte IPv4 / 1280-byte IPv6 packets.
    static func neededMTU(_ family: AddressFamily) -> Int { RDPUDP.synSize + family.ipHeaderSize + 8 }

    static func udp(_ u: UDPCheckResult, path: PathFacts?, family: AddressFamily) -> [Finding] {
        typealias K = UDPCheckResult.CodingKeys
        let needed = neededMTU(family)
        func with(_ e: Evidence) -> Evidence {
            e.with(K.port, u.port).with(K.state, u.state.rawValue).with(K.datagram1232Passes, u.datagram1232Passes)
        }
        if u.datagram1232Passes == false {
            let why = u.packetTooBigMTU.map { "a packet-too-big names MTU \($0)" } ?? "the large datagram was lost while a small one was answered"
            return [finding("udp-datagram-too-large", .warning,
                            "UDP \(u.port): RDP's UDP transport needs \(needed)-byte packets and they do not pass (\(why)): its datagrams are "
                                + "lost and sessions on it freeze; the client stays on TCP only where the transport never starts",
                            .udp, nil) { with($0).with(K.packetTooBigMTU, u.packetTooBigMTU).with(Key.neededMTU, needed) }]
        }
        switch u.state {
        case .closed:
            return [finding("udp-transport-closed", .info,
                            "UDP \(u.port) is closed (port unreachable): no UDP transport, RDP runs over TCP only (not a failure)",
                            .udp, nil, with)]
        case .filtered:
            return [finding("udp-transport-filtered", .info,
                            "UDP \(u.port) is refused on the way (an ICMP unreachable): RDP runs over TCP only (not a failure)",
                            .udp, nil, with)]
        case .open, .openFiltered:
            if u.datagram1232Passes == nil, let mtu = path?.pathMTU, mtu < needed {
                return [finding("udp-path-too-small", .warning,
                                "UDP \(u.port): the path carries \(mtu)-byte packets, RDP's UDP transport needs \(needed): its datagrams "
                                    + "cannot pass; the client must stay on TCP",
                                .udp, nil) { with($0).with(PathMTUResult.CodingKeys.pathMTU, mtu).with(Key.neededMTU, needed) }]
            }
            return []
        }
    }

    static func blackHole(_ path: PathFacts, family: AddressFamily) -> [Finding] {
        guard path.blackHole, let mtu = path.pathMTU else { return [] }
        let down = path.downloadBlackHole
        return [finding("path-black-hole", down ? .critical : .warning,
                        down ? "Packets above \(mtu) bytes from the server vanish on the way (a download black hole): large screen updates "
                            + "stall and the session freezes or ends with 0x904 (extended 0x7)"
                            : "Packets above \(mtu) bytes towards the server vanish on the way (an upload black hole): large uploads "
                            + "(clipboard, files) stall; the connection itself starts",
                        .path, down ? socketClosed : nil) {
            $0.with(PathMTUResult.CodingKeys.pathMTU, mtu).with(Key.pathMTUUp, path.pathMTUUp).with(Key.pathMTUDown, path.pathMTUDown)
                .with(Key.blackHoleDirection, path.blackHoleDirection?.rawValue)
        }]
    }

    static func stableSortedBySeverity(_ findings: [Finding]) -> [Finding] {
        findings.enumerated().sorted { a, b in
            a.element.severity != b.element.severity ? a.element.severity > b.element.severity : a.offset < b.offset
        }.map(\.element)
    }

    // MARK: - recommendations

    static func tcpOnly(_ f: ProfileFacts, port: Int) -> [Recommendation] {
        var f = f
        f.service = .rdp
        f.udp = [.init(port: port, state: .filtered)]
        return Advisor.tcpOnly(f).map { r in
            var r = r
            r.reason = "RDP's UDP transport cannot carry its 1232-byte datagrams on this path: run RDP over TCP"
            return r
        }
    }

    static let securityLayer = Recommendation(
        id: "rdp-security-layer", value: "tls",
        reason: "The server negotiates standard RDP security: require TLS (or CredSSP) instead",
        linux: [
            "sed -i 's/^security_layer=.*/security_layer=tls/' /etc/xrdp/xrdp.ini   # xrdp",
            "systemctl restart xrdp",
        ],
        windows: [
            "reg add \"HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\WinStations\\RDP-Tcp\" /v SecurityLayer /t REG_DWORD /d 2 /f",
            "reg add \"HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\WinStations\\RDP-Tcp\" /v UserAuthentication /t REG_DWORD /d 1 /f   # NLA (CredSSP)",
        ])

    static func renewal(_ t: RDPReport.TLS, days: Int, gateway: Bool, serverName: String) -> Recommendation {
        let when = days < 0 ? "expired \(-days) days ago" : "expires in \(days) days"
        var windows: [String]
        if gateway {
            windows = [
                "Set-RDCertificate -Role RDGateway -ImportPath C:\\certs\\\(serverName).pfx -Password (Read-Host -AsSecureString) -Force   # renewed certificate",
                "# standalone gateway: RD Gateway Manager > Properties > SSL Certificate: import the renewed one",
            ]
        } else if t.selfSigned == true {
            windows = [
                "Get-ChildItem 'Cert:\\LocalMachine\\Remote Desktop' | Remove-Item   # Windows makes a new self-signed one",
                "Restart-Service TermService -Force",
            ]
        } else {
            windows = [
                "wmic /namespace:\\\\root\\cimv2\\TerminalServices PATH Win32_TSGeneralSetting Set SSLCertificateSHA1Hash=\"<thumbprint of the renewed certificate>\"",
            ]
        }
        return Recommendation(
            id: "certificate-renewal", value: serverName,
            reason: "\(gateway ? "The RD Gateway's" : "The RDP server's") certificate \(when) (\(t.notAfter ?? "?")): renew it for \(serverName)",
            linux: [
                "certbot renew --cert-name \(serverName)   # if an ACME CA issued it",
                "# xrdp: point certificate= and key_file= in /etc/xrdp/xrdp.ini at the renewed files, then:",
                "systemctl restart xrdp",
            ],
            windows: windows)
    }
}
