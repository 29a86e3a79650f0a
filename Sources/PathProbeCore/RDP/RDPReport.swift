/// `pathprobe rdp`: the `rdp` document (docs/schemas/rdp.schema.json, docs/json.md): what the RDP
/// check saw phase by phase, the path MTU of the port, and the findings and recommendations
/// (`RDPAdvisor`). Built from the check's plain results (`RDPCheckResult`); the JSON name of every
/// field is written once, in the CodingKeys below. Also the `rdp` object of the `profile` document
/// (without the envelope) and a `bulk --mode rdp` record. Text and Markdown: RDPText.swift.
public struct RDPReport: LineNumbered, Sendable {
    public static let documentType = DocumentType.rdp

    /// The host as the user gave it (through a gateway: HOST, or the gateway when no HOST was named).
    public var target: String = ""
    public var line: Int? = nil
    /// The address checked: the RDP host's, or the gateway's through a gateway.
    public var address: IPAddress
    public var family: AddressFamily
    public var durationMs: Double = 0
    /// The RDP host's negotiation; nil through a gateway (the host behind it is not probed).
    public var rdp: RDPNegotiationResult?
    /// TLS on the RDP connection; nil when none was started (standard RDP security, no connection).
    public var tls: TLS?
    public var gateway: Gateway?
    /// RDP's UDP transport (UDP 3389; through a gateway its UDP 3391); nil when not probed.
    public var udp: UDPCheckResult?
    /// The path MTU of the RDP (or gateway) port (the `mtu` document's body); nil when not measured.
    public var mtu: PathMTUResult?
    public var findings: [Finding] = []
    public var recommendations: [Recommendation] = []
    /// The path facts the findings were judged on (not encoded: `mtu` carries them).
    public var path: RDPAdvisor.PathFacts? = nil

    public enum CodingKeys: String, CodingKey {
        case address, family
        case durationMs = "duration_ms"
        case rdp, tls, gateway, udp, mtu, findings, recommendations
    }

    public init(address: IPAddress, check: RDPCheckResult, mtu: PathMTUResult? = nil) {
        self.address = address
        family = address.family
        rdp = check.rdp
        tls = check.tls.map(TLS.init)
        gateway = check.gateway.map(Gateway.init)
        udp = check.udp
        self.mtu = mtu
    }

    /// Something breaks the session: a critical finding (the command's exit status 1).
    public var breaksSession: Bool { findings.contains { $0.severity == .critical } }

    /// The RDP host's port or the gateway's accepted a connection.
    public var reachable: Bool {
        if let n = rdp, !n.state.isConnectFailure { return true }
        return gateway?.connect == .connected
    }

    /// The ports checked and their states in `reach`'s terms (bulk's summary): TCP open (it accepted
    /// the connection), closed (refused) or filtered; UDP as probed.
    public var portStates: [(proto: ReachResult.CodingKeys, port: UInt16, state: String)] {
        func tcp(_ port: Int, connected: Bool, refused: Bool) -> (ReachResult.CodingKeys, UInt16, String) {
            (.tcp, UInt16(port), (connected ? TCPPortState.open : refused ? .closed : .filtered).rawValue)
        }
        var out: [(proto: ReachResult.CodingKeys, port: UInt16, state: String)] = []
        if let n = rdp {
            out.append(tcp(Int(n.port), connected: !n.state.isConnectFailure, refused: n.state == .refused))
        }
        if let g = gateway { out.append(tcp(g.port, connected: g.connect == .connected, refused: g.connect == .refused)) }
        for u in [udp, gateway?.udp].compactMap({ $0 }) where !out.contains(where: { $0.proto == .udp && $0.port == u.port }) {
            out.append((.udp, u.port, u.state.rawValue))
        }
        return out
    }

    // MARK: - tls

    public struct TLS: Codable, Sendable, Equatable {
        public var state: TLSCheckResult.State
        /// The TLS library's reason when it failed, or why it stalled or closed.
        public var failure: String?
        public var version: String?
        public var cipher: String?
        public var subject: String?
        public var issuer: String?
        public var san: [String]?
        public var notAfter: String?
        public var daysLeft: Int?
        public var selfSigned: Bool?
        public var nameMatches: Bool?
        /// DER bytes of the chain as sent, and how many certificates.
        public var chainBytes: Int?
        public var chainLength: Int?
        /// Ciphertext bytes of the server's whole handshake flight (established only).
        public var handshakeBytes: Int?
        /// Ciphertext bytes that arrived by the end of the phase: the whole flight, or how far a
        /// stalled one got.
        public var bytesReceived: Int
        /// The largest segment that arrived (TCP_INFO's tcpi_rcv_mss at the end of the phase).
        public var receiveMSS: Int?
        /// ms from the check's start to the end of the handshake (or its failure or stall).
        public var doneMs: Double?

        public enum CodingKeys: String, CodingKey {
            case state, failure, version, cipher, subject, issuer, san
            case notAfter = "not_after"
            case daysLeft = "days_left"
            case selfSigned = "self_signed"
            case nameMatches = "name_matches"
            case chainBytes = "chain_bytes"
            case chainLength = "chain_length"
            case handshakeBytes = "handshake_bytes"
            case bytesReceived = "bytes_received"
            case receiveMSS = "receive_mss"
            case doneMs = "done_ms"
        }

        public init(_ r: TLSCheckResult) {
            state = r.state
            failure = r.failure
            let f = r.facts
            version = f?.version
            cipher = f?.cipher
            subject = f?.subject
            issuer = f?.issuer
            san = f?.san
            notAfter = f?.notAfter
            daysLeft = f?.daysLeft
            selfSigned = f?.selfSigned
            nameMatches = f?.nameMatches
            chainBytes = f?.chainBytes
            chainLength = f.map(\.chainLength)
            handshakeBytes = f.map(\.handshakeBytes)
            bytesReceived = r.bytesReceived
            receiveMSS = r.tcpInfo.map(\.receiveMSS).flatMap { $0 > 0 ? $0 : nil }
            doneMs = r.doneMs
        }
    }

    // MARK: - gateway

    public struct Gateway: Codable, Sendable, Equatable {
        public var address: IPAddress
        public var port: Int
        /// The TCP connection to the gateway.
        public var connect: ConnectOutcome
        public var tls: TLS?
        /// RDG_OUT_DATA over HTTPS, and its WebSocket form (nil when not tried).
        public var httpTransport: Exchange?
        public var websocket: Exchange?
        /// The gateway's UDP transport (UDP 3391); nil when not probed.
        public var udp: UDPCheckResult?

        public enum CodingKeys: String, CodingKey {
            case address, port, connect, tls
            case httpTransport = "http_transport"
            case websocket, udp
        }

        public init(_ g: GatewayCheckResult) {
            address = g.address
            port = Int(g.port)
            connect = g.connect
            tls = g.tls.map(TLS.init)
            httpTransport = g.httpTransport.map(Exchange.init)
            websocket = g.websocket.map(Exchange.init)
            udp = g.udp
        }

        /// Either transport answered as an RD Gateway does; false when they answered otherwise;
        /// nil when neither answered.
        public var isGateway: Bool? {
            let verdicts = [httpTransport?.verdict, websocket?.verdict].compactMap { $0 }
            if verdicts.isEmpty { return nil }
            return verdicts.contains { $0 != .notGateway }
        }
    }

    /// One request to the gateway and its answer.
    public struct Exchange: Codable, Sendable, Equatable {
        public enum Verdict: String, Codable, Sendable {
            /// 401 with authentication schemes: an RD Gateway.
            case gateway
            /// 101 to the WebSocket upgrade: a gateway that took the WebSocket transport at once.
            case webSocketAccepted = "websocket_accepted"
            /// Anything else (`detail` says what answered).
            case notGateway = "not_gateway"
        }

        public var state: GatewayExchangeResult.State
        /// HTTP status of the answer.
        public var status: Int?
        /// Every WWW-Authenticate scheme of the answer, in order.
        public var authSchemes: [String]
        public var verdict: Verdict?
        /// What answered when it is not a gateway, or why there is no answer.
        public var detail: String?
        public var answerMs: Double?

        public enum CodingKeys: String, CodingKey {
            case state, status
            case authSchemes = "auth_schemes"
            case verdict, detail
            case answerMs = "answer_ms"
        }

        public init(_ e: GatewayExchangeResult) {
            state = e.state
            status = e.status
            authSchemes = e.authSchemes
            detail = e.detail
            switch e.verdict {
            case .gateway?: verdict = .gateway
            case .webSocketAccepted?: verdict = .webSocketAccepted
            case .notGateway(let reason)?:
                verdict = .notGateway
                detail = detail ?? reason
            case nil: verdict = nil
            }
            answerMs = e.answerMs
        }
    }
}

extension RDPNegotiationResult.State: Codable {
    /// The TCP connection did not come up (refused, unreachable, no answer).
    public var isConnectFailure: Bool { self == .refused || self == .unreachable || self == .timeout }
}
extension TLSCheckResult.State: Codable {}
extension GatewayExchangeResult.State: Codable {}
extension UDPCheckResult.State: Codable {}
extension ConnectOutcome: Codable {}
