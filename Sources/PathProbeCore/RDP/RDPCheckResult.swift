/// What the RDP check saw, phase by phase: plain values, named as the `rdp` document's JSON names
/// them (issue 11). The Codable form, the findings and the renderers are built on these.

public struct RDPCheckResult: Sendable, Equatable {
    /// The RDP host's negotiation (direct check; nil through a gateway, which hides the host).
    public var rdp: RDPNegotiationResult?
    /// TLS on the RDP connection after negotiation (nil when none was started).
    public var tls: TLSCheckResult?
    /// The RD Gateway (nil for a direct check).
    public var gateway: GatewayCheckResult?
    /// RDP's UDP transport: UDP 3389 direct, 3391 through a gateway (nil when not probed).
    public var udp: UDPCheckResult?

    public init(rdp: RDPNegotiationResult? = nil, tls: TLSCheckResult? = nil, gateway: GatewayCheckResult? = nil,
                udp: UDPCheckResult? = nil) {
        self.rdp = rdp
        self.tls = tls
        self.gateway = gateway
        self.udp = udp
    }
}

/// How a TCP connection of the check ended before its protocol had a say.
public enum ConnectOutcome: String, Sendable, Equatable {
    case connected
    /// RST to the SYN: nothing listens (or a firewall rejects).
    case refused
    /// An ICMP unreachable or a local routing error.
    case unreachable
    /// No answer to the SYN in time: filtered.
    case timeout
}

// MARK: - RDP negotiation ([MS-RDPBCGR] 2.2.1.1-2.2.1.2)

public struct RDPNegotiationResult: Codable, Sendable, Equatable {
    public var port: UInt16
    public var state: State
    /// The protocol the server selected (`"rdp"` is standard RDP security: no TLS, a finding).
    public var selectedProtocol: X224.SelectedProtocol?
    /// RDP_NEG_FAILURE's code by its name ("SSL_REQUIRED_BY_SERVER"), or "0x..." for an unknown code.
    public var failure: String?
    /// What answered when it was not RDP, or the system error of a failed connection.
    public var detail: String?
    /// Time to the TCP handshake and to the Connection Confirm, ms from the check's start.
    public var connectMs: Double?
    public var answerMs: Double?

    /// The `rdp` object of the `rdp` document.
    public enum CodingKeys: String, CodingKey {
        case port, state, selectedProtocol = "selected_protocol", failure, detail, connectMs = "connect_ms", answerMs = "answer_ms"
    }

    public enum State: String, Sendable, Equatable {
        /// RDP_NEG_RSP (or a legacy Connection Confirm): the server speaks RDP.
        case negotiated
        /// RDP_NEG_FAILURE: the server speaks RDP but refuses what was offered.
        case negotiationFailed = "negotiation_failed"
        /// Something answered that is not an X.224 Connection Confirm.
        case notRDP = "not_rdp"
        /// Connected, but no complete answer in time.
        case noAnswer = "no_answer"
        /// The server closed the connection without answering.
        case closed
        case refused
        case unreachable
        /// No answer to the SYN.
        case timeout
    }

    public init(port: UInt16, state: State, selectedProtocol: X224.SelectedProtocol? = nil, failure: String? = nil,
                detail: String? = nil, connectMs: Double? = nil, answerMs: Double? = nil) {
        self.port = port
        self.state = state
        self.selectedProtocol = selectedProtocol
        self.failure = failure
        self.detail = detail
        self.connectMs = connectMs
        self.answerMs = answerMs
    }
}

// MARK: - TLS

public struct TLSCheckResult: Sendable, Equatable {
    public var state: State
    /// The TLS library's reason when it failed.
    public var failure: String?
    /// The handshake's facts (established only).
    public var facts: TLSFacts?
    /// Ciphertext bytes of the server's flight that arrived (all of it once established; when
    /// stalled, how far it got before the path stopped carrying it).
    public var bytesReceived: Int
    /// The connection's TCP_INFO when the phase ended: rcv_mss and segments show the sizes that
    /// arrived, unacked and retransmits a stalled upload. Evidence for a black-hole finding.
    public var tcpInfo: TCPInfo?
    /// ms from the check's start to the end of the handshake (or its failure).
    public var doneMs: Double?

    public enum State: String, Sendable, Equatable {
        case established
        /// The TLS library gave up (an alert, a protocol error).
        case failed
        /// The server's flight did not complete in time: what a download black hole looks like.
        case stalled
        /// The server closed the connection during the handshake.
        case closed
    }

    public init(state: State, failure: String? = nil, facts: TLSFacts? = nil, bytesReceived: Int = 0,
                tcpInfo: TCPInfo? = nil, doneMs: Double? = nil) {
        self.state = state
        self.failure = failure
        self.facts = facts
        self.bytesReceived = bytesReceived
        self.tcpInfo = tcpInfo
        self.doneMs = doneMs
    }
}

// MARK: - RD Gateway ([MS-TSGU])

public struct GatewayCheckResult: Sendable, Equatable {
    public var address: IPAddress
    public var port: UInt16
    /// The TCP connection to the gateway (the first to be made).
    public var connect: ConnectOutcome
    /// TLS with the gateway (nil when no connection got that far).
    public var tls: TLSCheckResult?
    /// RDG_OUT_DATA over HTTPS.
    public var httpTransport: GatewayExchangeResult?
    /// The same request upgrading to WebSocket.
    public var websocket: GatewayExchangeResult?
    /// UDP 3391: does a DTLS ClientHello get an answer.
    public var udp: UDPCheckResult?

    public init(address: IPAddress, port: UInt16, connect: ConnectOutcome, tls: TLSCheckResult? = nil,
                httpTransport: GatewayExchangeResult? = nil, websocket: GatewayExchangeResult? = nil,
                udp: UDPCheckResult? = nil) {
        self.address = address
        self.port = port
        self.connect = connect
        self.tls = tls
        self.httpTransport = httpTransport
        self.websocket = websocket
        self.udp = udp
    }

    /// True when either transport's answer is a gateway's, false when they answered otherwise,
    /// nil when neither answered.
    public var isGateway: Bool? {
        let verdicts = [httpTransport?.verdict, websocket?.verdict].compactMap { $0 }
        if verdicts.isEmpty { return nil }
        return verdicts.contains { $0.isGateway }
    }
}

/// One request to the gateway and its answer.
public struct GatewayExchangeResult: Sendable, Equatable {
    public var state: State
    /// HTTP status of the answer.
    public var status: Int?
    /// Every WWW-Authenticate scheme of the answer, in order.
    public var authSchemes: [String]
    public var verdict: GatewayVerdict?
    /// Why there is no verdict: the parse error, the TLS failure, the connection's fate.
    public var detail: String?
    /// ms from the check's start to the answer.
    public var answerMs: Double?

    public enum State: String, Sendable, Equatable {
        /// An HTTP answer came (judged by `verdict`).
        case answered
        /// An answer that is not HTTP.
        case invalid
        /// TLS did not complete (see the gateway's `tls`).
        case tlsFailed = "tls_failed"
        /// No (complete) answer in time.
        case noAnswer = "no_answer"
        /// The server closed the connection without answering.
        case closed
        /// The TCP connection failed (see the gateway's `connect`).
        case notConnected = "not_connected"
    }

    public init(state: State, status: Int? = nil, authSchemes: [String] = [], verdict: GatewayVerdict? = nil,
                detail: String? = nil, answerMs: Double? = nil) {
        self.state = state
        self.status = status
        self.authSchemes = authSchemes
        self.verdict = verdict
        self.detail = detail
        self.answerMs = answerMs
    }
}

// MARK: - UDP

public struct UDPCheckResult: Codable, Sendable, Equatable {
    public var port: UInt16
    public var state: State
    /// Did a 1232-byte datagram (RDP-UDP's SYN size) reach the host: true when it was answered or
    /// drew the host's own ICMP error; false when a packet-too-big came back, or a small datagram
    /// was answered while the large one was not; nil when nothing can be known (all silent).
    public var datagram1232Passes: Bool?
    /// The MTU a packet-too-big (or the local stack) named for the 1232-byte datagram.
    public var packetTooBigMTU: Int?
    /// The answer was the service's own (RDP-UDP SYN+ACK, DTLS HelloVerifyRequest / ServerHello / alert).
    public var recognized: Bool

    /// The `udp` objects of the `rdp` document.
    public enum CodingKeys: String, CodingKey {
        case port, state
        case datagram1232Passes = "datagram_1232_passes"
        case packetTooBigMTU = "packet_too_big_mtu"
        case recognized
    }

    public enum State: String, Sendable, Equatable {
        /// Something answered over UDP.
        case open
        /// The host answered port unreachable.
        case closed
        /// Silence: a service that ignores the probe, or a filter.
        case openFiltered = "open|filtered"
        /// A router or the host answered another ICMP unreachable (prohibited, host unreachable).
        case filtered
    }

    public init(port: UInt16, state: State, datagram1232Passes: Bool? = nil, packetTooBigMTU: Int? = nil, recognized: Bool = false) {
        self.port = port
        self.state = state
        self.datagram1232Passes = datagram1232Passes
        self.packetTooBigMTU = packetTooBigMTU
        self.recognized = recognized
    }
}
