/// The RDP check as a pure state machine: stream probes (Connection.swift) and UDP probes through
/// the scheduler, TLS through a `TLSSession` the composition layer provides (PathProbeTLS's
/// OpenSSL client in the tool, scripted fakes in the tests). No sockets, no clocks.
///
/// Direct (`pathprobe rdp HOST`), all at once:
/// - TCP 3389: X.224 Connection Request offering SSL, HYBRID and HYBRID_EX; the Connection Confirm
///   parsed; when TLS (or CredSSP, which runs inside TLS) is selected, the TLS handshake on the
///   same connection; its facts; close.
/// - UDP 3389: RDP-UDP's 1232-byte SYN and a small datagram: does the large one pass.
/// Through a gateway (`pathprobe rdp --gateway GW`), all at once:
/// - TCP 443, twice: TLS, then RDG_OUT_DATA (HTTP transport) on one connection and its WebSocket
///   form on the other; each answer judged (`GatewayVerdict`).
/// - UDP 3391: a DTLS ClientHello (does the UDP transport answer) and one padded to 1232 bytes.
///
/// Every phase has a deadline (`RDPCheckOptions`); when one passes, the connection's TCP_INFO is
/// read once more (evidence: what arrived, what is unacknowledged) and the connection is closed.
public struct RDPCheckOptions: Sendable {
    /// Longest wait for a TCP handshake.
    public var connectTimeout: Nanoseconds = .fromMs(1500)
    /// Longest wait for each answer after the connection is up (Connection Confirm, the TLS
    /// server flight, the HTTP answer); four connection RTTs are added on slow paths.
    public var answerTimeout: Nanoseconds = .fromMs(1000)
    /// UDP: wait per datagram; how many times the 1232-byte one is sent (the small one follows
    /// once, only when the large one got nothing back).
    public var udpTimeout: Nanoseconds = .fromMs(600)
    public var udpAttempts = 2
    public var probeUDP = true
    /// Gateway: also try the WebSocket transport.
    public var webSocket = true
    /// The user name for the X.224 cookie ("Cookie: mstshash=NAME"); nil sends none.
    public var cookieName: String? = nil
    /// Fills the RDG-Connection-Id, the WebSocket key, the RDP-UDP sequence number, DTLS randoms.
    public var seed: UInt64 = 0

    public init() {}
}

/// A host as the user named it and the address it resolved to.
public struct RDPEndpoint: Sendable, Equatable {
    /// As written: SNI, the Host header and the certificate's name check use it.
    public var name: String
    public var address: IPAddress
    public var port: UInt16

    public init(name: String, address: IPAddress, port: UInt16) {
        self.name = name
        self.address = address
        self.port = port
    }
}

public final class RDPCheck: Measurement {
    public enum Target: Sendable, Equatable {
        /// The RDP host itself (TCP `port`, UDP `udpPort`, usually both 3389).
        case direct(RDPEndpoint, udpPort: UInt16)
        /// An RD Gateway (TCP `port`, usually 443; UDP `udpPort`, usually 3391).
        case gateway(RDPEndpoint, udpPort: UInt16)
        /// One host as both (profile and bulk, which do not know what the target is): an RDP host
        /// on `host`'s ports and an RD Gateway on `gateway`'s, all at once.
        case hostAndGateway(host: RDPEndpoint, udpPort: UInt16, gateway: RDPEndpoint, gatewayUDPPort: UInt16)

        /// The RDP host probed directly, with its UDP port (nil through a gateway).
        public var host: (endpoint: RDPEndpoint, udpPort: UInt16)? {
            switch self {
            case .direct(let e, let u), .hostAndGateway(let e, let u, _, _): return (e, u)
            case .gateway: return nil
            }
        }

        /// The RD Gateway, with its UDP port (nil for a direct check).
        public var gateway: (endpoint: RDPEndpoint, udpPort: UInt16)? {
            switch self {
            case .gateway(let e, let u), .hostAndGateway(_, _, let e, let u): return (e, u)
            case .direct: return nil
            }
        }
    }

    public let target: Target
    public let options: RDPCheckOptions
    private let makeTLS: TLSSessionFactory
    private var flows: [Flow] = []
    private var datagrams: [Datagram] = []
    private var started = false
    private var start: Nanoseconds = 0
    private var rng: SplitMix64
    /// How long a TCP_INFO read at a deadline may take before the connection is closed anyway.
    private static let infoGrace: Nanoseconds = .fromMs(200)

    public init(target: Target, options: RDPCheckOptions = RDPCheckOptions(), tls: @escaping TLSSessionFactory) {
        self.target = target
        self.options = options
        self.makeTLS = tls
        self.rng = SplitMix64(seed: options.seed)
    }

    public var isFinished: Bool {
        started && flows.allSatisfy { $0.phase == .done } && datagrams.allSatisfy { $0.settled }
    }

    /// Where a TCP path MTU measurement can find a server's flight to measure: a port whose service
    /// answered the check. `pending` until that is known.
    public enum ServicePort: Sendable, Equatable {
        case pending
        /// No port of the check speaks its service (refused, closed, not RDP, standard RDP security).
        case none
        /// RDP that selected TLS or CredSSP (`gateway` false), or the gateway's TLS port.
        case port(UInt16, gateway: Bool)
    }

    /// The port the path MTU is measured on, as far as `now` shows: the RDP host once its
    /// Connection Confirm selected TLS (or CredSSP); else the gateway once its TLS flight started
    /// to arrive, or when nothing closed the connection within four handshake times (a flight
    /// that a download black hole swallows never starts to arrive: exactly the path to measure).
    /// A host still connecting does not hold up a gateway that answers.
    public func servicePort(now: Nanoseconds) -> ServicePort {
        guard started else { return .pending }
        var waiting = false
        if let host = flows.first(where: { $0.kind == .rdp }) {
            if case .selected(let p?, _, _)? = host.confirm, p != .rdp { return .port(host.endpoint.port, gateway: false) }
            if host.connect == .connected && host.confirm == nil && host.notRDP == nil && host.phase != .done { return .pending }
            waiting = host.connect == nil
        }
        for flow in flows where flow.kind != .rdp {
            guard let connect = flow.connect else {
                waiting = true
                continue
            }
            guard connect == .connected, let connectedAt = flow.connectedAt else { continue }
            switch flow.tlsResult?.state {
            case .closed?, .failed?: continue
            case .stalled?, .established?: return .port(flow.endpoint.port, gateway: true)
            case nil:
                let grace = max(Nanoseconds.fromMs(50), 4 * (connectedAt - flow.startedAt))
                if (flow.session?.bytesReceived ?? 0) > 0 || now >= connectedAt + grace { return .port(flow.endpoint.port, gateway: true) }
                waiting = true
            }
        }
        return waiting ? .pending : .none
    }

    // MARK: - Measurement
    // MARK: - Measurement

    public func advance<S: ProbeScheduler>(_ scheduler: inout S) {
        if !started { begin(&scheduler) }
        let now = scheduler.now
        for flow in flows where flow.phase != .done && flow.deadline <= now {
            expire(flow, &scheduler)
        }
        if let next = flows.filter({ $0.phase != .done }).map(\.deadline).min() {
            scheduler.wake(at: next)
        }
    }

    public func handle<S: ProbeScheduler>(_ event: ConnectionResult, _ scheduler: inout S) {
        guard let flow = flows.first(where: { $0.id == event.id }), flow.phase != .done else { return }
        let now = event.time
        switch event.event {
        case .connected(let info):
            flow.info = info
            flow.connectedAt = now
            flow.connect = .connected
            connected(flow, &scheduler)
        case .received(let bytes, let info):
            flow.info = info
            received(bytes, on: flow, &scheduler)
        case .info(let info):
            flow.info = info
            if flow.phase == .closing { finish(flow, &scheduler) }
        case .peerClosed(let info):
            flow.info = info
            peerClosed(flow, detail: "the server closed the connection", &scheduler)
        case .failed(let errno):
            if flow.phase == .connecting {
                flow.connect = errno == 111 ? .refused : .unreachable
                flow.detail = ICMPNames.errnoName(errno)
                finish(flow, &scheduler)
            } else {
                peerClosed(flow, detail: ICMPNames.errnoName(errno), &scheduler)
            }
        case .timedOut:
            flow.connect = .timeout
            finish(flow, &scheduler)
        }
    }

    public func handle<S: ProbeScheduler>(_ result: ProbeResult, _ scheduler: inout S) {
        guard let d = datagrams.first(where: { $0.request.tag == result.tag }), !d.settled else { return }
        if case .timeout = result.outcome, d.attempts < d.maxAttempts {
            d.attempts += 1
            scheduler.send(d.request)
            return
        }
        d.outcome = result.outcome
        d.settled = true
        // The small datagram follows a large one that got nothing back (see `probeUDP`).
        if d.role == .large, let small = datagrams.first(where: { $0.port == d.port && $0.role == .small && !$0.sent }) {
            if case .timeout? = d.outcome {
                small.sent = true
                scheduler.send(small.request)
            } else {
                small.settled = true
            }
        }
    }

    // MARK: - The result

    public var result: RDPCheckResult {
        var out = RDPCheckResult()
        if let (host, udpPort) = target.host {
            if let flow = flows.first(where: { $0.kind == .rdp }) {
                out.rdp = negotiation(flow, port: host.port)
                out.tls = flow.tlsResult
            }
            out.udp = udpResult(port: udpPort)
        }
        if let (gateway, udpPort) = target.gateway {
            let http = flows.first { $0.kind == .gatewayHTTP }
            let ws = flows.first { $0.kind == .gatewayWebSocket }
            let connect = [http, ws].compactMap { $0?.connect }.first { $0 == .connected } ?? http?.connect ?? .timeout
            var g = GatewayCheckResult(address: gateway.address, port: gateway.port, connect: connect)
            g.tls = [http, ws].compactMap { $0?.tlsResult }.first { $0.state == .established }
                ?? http?.tlsResult ?? ws?.tlsResult
            g.httpTransport = http.map(exchange)
            g.websocket = ws.map(exchange)
            let dtls = udpResult(port: udpPort)
            g.udp = dtls
            out.gateway = g
            if out.udp == nil { out.udp = dtls }  // through a gateway, its UDP transport is RDP's
        }
        return out
    }

    // MARK: - Flows

    private final class Flow {
        enum Kind: UInt32 { case rdp = 1, gatewayHTTP, gatewayWebSocket }
        enum Phase { case connecting, x224, tls, http, closing, done }
        let kind: Kind
        let endpoint: RDPEndpoint
        var id: ConnectionID?
        var phase: Phase = .connecting
        var deadline: Nanoseconds = 0
        var startedAt: Nanoseconds = 0
        var connectedAt: Nanoseconds?
        var endedAt: Nanoseconds?
        /// When the Connection Confirm or the HTTP answer arrived.
        var answeredAt: Nanoseconds?
        var connect: ConnectOutcome?
        var info: TCPInfo?
        var detail: String?
        /// X.224: bytes of the Connection Confirm so far; HTTP: plaintext of the response so far.
        var buffer: [UInt8] = []
        var confirm: X224.Confirm?
        var notRDP: String?
        var session: TLSSession?
        var tlsResult: TLSCheckResult?
        var request: [UInt8] = []
        var head: HTTPResponseHead?
        var exchangeState: GatewayExchangeResult.State?

        init(kind: Kind, endpoint: RDPEndpoint) {
            self.kind = kind
            self.endpoint = endpoint
        }
    }

    private func begin<S: ProbeScheduler>(_ s: inout S) {
        started = true
        start = s.now
        if let (host, udpPort) = target.host {
            open(Flow(kind: .rdp, endpoint: host), &s)
            if options.probeUDP {
                probeUDP(host.address, port: udpPort,
                         large: RDPUDP.syn(initialSequence: UInt32(truncatingIfNeeded: rng.next())), &s)
            }
        }
        if let (gateway, udpPort) = target.gateway {
            let connectionId = RDGateway.guid(rng.bytes(16))
            let http = Flow(kind: .gatewayHTTP, endpoint: gateway)
            http.request = RDGateway.outDataRequest(host: gateway.name, port: gateway.port, connectionId: connectionId)
            open(http, &s)
            if options.webSocket {
                let ws = Flow(kind: .gatewayWebSocket, endpoint: gateway)
                ws.request = RDGateway.webSocketRequest(host: gateway.name, port: gateway.port,
                                                        connectionId: RDGateway.guid(rng.bytes(16)), key: rng.bytes(16))
                open(ws, &s)
            }
            if options.probeUDP, let padded = RDPUDP.paddedDTLSClientHello(random: rng.bytes(32)) {
                probeUDP(gateway.address, port: udpPort, large: padded, &s)
            }
        }
    }

    private func open<S: ProbeScheduler>(_ flow: Flow, _ s: inout S) {
        flows.append(flow)
        flow.startedAt = s.now
        flow.id = s.connect(ConnectionRequest(destination: flow.endpoint.address, port: flow.endpoint.port,
                                              timeout: options.connectTimeout, tag: flow.kind.rawValue))
        // The engine reports a handshake timeout itself; this only guards against a missing event.
        flow.deadline = s.now + options.connectTimeout + Self.infoGrace
    }

    /// The wait for one answer: the configured floor plus four RTTs of the TCP handshake.
    private func answerDeadline(_ flow: Flow, now: Nanoseconds) -> Nanoseconds {
        let rtt = (flow.connectedAt ?? flow.startedAt) - flow.startedAt
        return now + options.answerTimeout + 4 * rtt
    }

    private func connected<S: ProbeScheduler>(_ flow: Flow, _ s: inout S) {
        let now = flow.connectedAt ?? s.now
        switch flow.kind {
        case .rdp:
            flow.phase = .x224
            s.write(X224.connectionRequest(cookieName: options.cookieName), to: flow.id!)
        case .gatewayHTTP, .gatewayWebSocket:
            startTLS(flow, leftover: [], &s)
        }
        flow.deadline = answerDeadline(flow, now: now)
        s.wake(at: flow.deadline)
    }

    private func received<S: ProbeScheduler>(_ bytes: [UInt8], on flow: Flow, _ s: inout S) {
        switch flow.phase {
        case .x224:
            flow.buffer += bytes
            switch X224.parseConfirm(flow.buffer) {
            case .needMore:
                return
            case .notRDP(let why):
                flow.notRDP = why
                finish(flow, &s)
            case .confirm(let confirm, let length):
                flow.confirm = confirm
                flow.answeredAt = s.now
                let leftover = Array(flow.buffer.dropFirst(length))
                flow.buffer = []
                if case .selected(let p?, _, _) = confirm, p != .rdp {
                    startTLS(flow, leftover: leftover, &s)
                    flow.deadline = answerDeadline(flow, now: s.now)
                    s.wake(at: flow.deadline)
                } else {
                    finish(flow, &s)
                }
            }
        case .tls, .http:
            flow.session?.receive(bytes)
            pumpTLS(flow, &s)
        case .connecting, .closing, .done:
            return
        }
    }

    private func startTLS<S: ProbeScheduler>(_ flow: Flow, leftover: [UInt8], _ s: inout S) {
        flow.phase = .tls
        let session = makeTLS(flow.endpoint.name)
        flow.session = session
        if !leftover.isEmpty { session.receive(leftover) }
        pumpTLS(flow, &s)
    }

    /// Moves TLS's bytes and reacts to its state.
    private func pumpTLS<S: ProbeScheduler>(_ flow: Flow, _ s: inout S) {
        guard let session = flow.session, let id = flow.id else { return }
        let out = session.takeOutgoing()
        if !out.isEmpty { s.write(out, to: id) }
        switch session.state {
        case .handshaking:
            return
        case .failed(let reason):
            if flow.tlsResult == nil {
                flow.tlsResult = TLSCheckResult(state: .failed, failure: reason, bytesReceived: session.bytesReceived,
                                                tcpInfo: flow.info, doneMs: ms(s.now))
            }
            if flow.phase == .http {
                flow.exchangeState = .closed
                flow.detail = "TLS failed after the request: \(reason)"
            } else if flow.kind != .rdp {
                flow.exchangeState = .tlsFailed
            }
            finish(flow, &s)
        case .established:
            if flow.tlsResult == nil {
                flow.tlsResult = TLSCheckResult(state: .established, facts: session.facts, bytesReceived: session.bytesReceived,
                                                tcpInfo: flow.info, doneMs: ms(s.now))
            }
            switch flow.kind {
            case .rdp:
                finish(flow, &s)  // the client's Finished went out above
            case .gatewayHTTP, .gatewayWebSocket:
                if flow.phase == .tls {
                    flow.phase = .http
                    session.send(flow.request)
                    let request = session.takeOutgoing()
                    if !request.isEmpty { s.write(request, to: id) }
                    flow.deadline = answerDeadline(flow, now: s.now)
                    s.wake(at: flow.deadline)
                }
                flow.buffer += session.takeReceived()
                switch HTTPResponseHead.parse(flow.buffer) {
                case .needMore:
                    return
                case .invalid(let why):
                    flow.exchangeState = .invalid
                    flow.detail = why
                case .head(let head, _):
                    flow.head = head
                    flow.answeredAt = s.now
                    flow.exchangeState = .answered
                }
                flow.endedAt = s.now
                finish(flow, &s)
            }
        }
    }

    private func peerClosed<S: ProbeScheduler>(_ flow: Flow, detail: String, _ s: inout S) {
        switch flow.phase {
        case .x224:
            if !flow.buffer.isEmpty { flow.notRDP = "\(flow.buffer.count) bytes that are not an X.224 Connection Confirm, then closed" }
            flow.detail = detail
        case .tls:
            flow.session?.peerClosed()
            flow.tlsResult = TLSCheckResult(state: .closed, failure: detail, bytesReceived: flow.session?.bytesReceived ?? 0,
                                            tcpInfo: flow.info, doneMs: ms(s.now))
            if flow.kind != .rdp { flow.exchangeState = .tlsFailed }
        case .http:
            flow.exchangeState = .closed
            flow.detail = flow.buffer.isEmpty ? detail : "\(detail) after \(flow.buffer.count) bytes of an incomplete answer"
        case .connecting, .closing, .done:
            break
        }
        finish(flow, &s)
    }

    /// A deadline passed: record how far the phase got, read TCP_INFO once more, then close.
    private func expire<S: ProbeScheduler>(_ flow: Flow, _ s: inout S) {
        switch flow.phase {
        case .connecting:
            flow.connect = .timeout
            finish(flow, &s)
            return
        case .closing:
            finish(flow, &s)
            return
        case .x224:
            if !flow.buffer.isEmpty { flow.notRDP = "\(flow.buffer.count) bytes that are not a complete X.224 Connection Confirm" }
        case .tls:
            flow.tlsResult = TLSCheckResult(state: .stalled, failure: "the server's TLS flight did not complete in time",
                                            bytesReceived: flow.session?.bytesReceived ?? 0, tcpInfo: flow.info, doneMs: ms(s.now))
            if flow.kind != .rdp { flow.exchangeState = .tlsFailed }
        case .http:
            flow.exchangeState = .noAnswer
            if !flow.buffer.isEmpty { flow.detail = "\(flow.buffer.count) bytes of an incomplete answer" }
        case .done:
            return
        }
        flow.endedAt = s.now
        flow.phase = .closing
        flow.deadline = s.now + Self.infoGrace
        s.requestInfo(flow.id!)
        s.wake(at: flow.deadline)
    }

    /// Ends a flow and releases its connection (also one that failed or timed out: `close` of a
    /// connection that is already gone is a no-op for the engine).
    private func finish<S: ProbeScheduler>(_ flow: Flow, _ s: inout S) {
        if flow.phase == .closing, let info = flow.info, var tls = flow.tlsResult, tls.state == .stalled {
            tls.tcpInfo = info  // the fresh TCP_INFO read at the deadline
            flow.tlsResult = tls
        }
        if flow.endedAt == nil { flow.endedAt = s.now }
        flow.phase = .done
        if let id = flow.id { s.close(id) }
    }

    private func ms(_ t: Nanoseconds) -> Double { t.since(start).inMs }

    // MARK: - Results of flows

    private func negotiation(_ flow: Flow, port: UInt16) -> RDPNegotiationResult {
        var r = RDPNegotiationResult(port: port, state: .timeout, detail: flow.detail,
                                     connectMs: flow.connectedAt.map(ms))
        switch flow.connect {
        case .refused?: r.state = .refused; return r
        case .unreachable?: r.state = .unreachable; return r
        case .timeout?, nil: r.state = .timeout; return r
        case .connected?: break
        }
        if let why = flow.notRDP {
            r.state = .notRDP
            r.detail = why
            return r
        }
        guard let confirm = flow.confirm else {
            r.state = flow.detail == nil ? .noAnswer : .closed
            return r
        }
        r.answerMs = flow.answeredAt.map(ms)
        switch confirm {
        case .selected(let p, let code, _):
            r.state = .negotiated
            r.selectedProtocol = p
            if p == nil { r.detail = "unknown selected protocol 0x\(String(code, radix: 16))" }
        case .failure(let name, let code):
            r.state = .negotiationFailed
            r.failure = name?.name ?? "0x\(String(code, radix: 16))"
        case .legacy:
            r.state = .negotiated
            r.selectedProtocol = .rdp
            r.detail = "a Connection Confirm without negotiation data (an old server)"
        }
        return r
    }

    private func exchange(_ flow: Flow) -> GatewayExchangeResult {
        guard flow.connect == .connected else {
            return GatewayExchangeResult(state: .notConnected, detail: flow.detail ?? flow.connect.map { "connect: \($0.rawValue)" })
        }
        var r = GatewayExchangeResult(state: flow.exchangeState ?? .noAnswer, detail: flow.detail,
                                      answerMs: flow.answeredAt.map(ms))
        if let head = flow.head {
            r.status = head.status
            r.authSchemes = head.authSchemes
            r.verdict = GatewayVerdict(head: head, webSocket: flow.kind == .gatewayWebSocket)
        }
        return r
    }

    // MARK: - UDP

    private final class Datagram {
        enum Role { case small, large }
        let role: Role
        let port: UInt16
        let request: ProbeRequest
        let maxAttempts: Int
        var attempts = 1
        var sent = false
        var settled = false
        var outcome: ProbeOutcome?
        init(role: Role, port: UInt16, request: ProbeRequest, maxAttempts: Int) {
            self.role = role
            self.port = port
            self.request = request
            self.maxAttempts = maxAttempts
        }
    }

    /// `large` (1232 bytes, DF: does the UDP transport's size pass) to `port`, and only when nothing
    /// came back for it, a small DTLS ClientHello, once (does anything answer at all: then the large
    /// one was lost on the way). One at a time: the engine matches answers without a token to the
    /// probe in flight to that address and port, so two at once could not be told apart.
    private func probeUDP<S: ProbeScheduler>(_ address: IPAddress, port: UInt16, large: [UInt8], _ s: inout S) {
        let small = UDPService.dtls.payload(seed: rng.next())
        for (role, payload) in [(Datagram.Role.large, large), (.small, small)] {
            let tag = 100 + UInt32(datagrams.count)
            let request = ProbeRequest(destination: address, kind: .udp(port: port), size: payload.count,
                                       timeout: options.udpTimeout, tag: tag, payload: payload)
            let d = Datagram(role: role, port: port, request: request, maxAttempts: role == .large ? max(1, options.udpAttempts) : 1)
            datagrams.append(d)
            if role == .large {
                d.sent = true
                s.send(request)
            }
        }
    }

    private func udpResult(port: UInt16) -> UDPCheckResult? {
        let mine = datagrams.filter { $0.port == port }
        guard !mine.isEmpty else { return nil }
        let small = mine.first { $0.role == .small }
        let large = mine.first { $0.role == .large }
        let family = mine[0].request.destination.family
        let destination = mine[0].request.destination

        func reply(_ d: Datagram?) -> [UInt8]? {
            if case .udpReply(_, let payload)? = d?.outcome { return payload }
            return nil
        }
        func portUnreachable(_ d: Datagram?) -> Bool {
            if case .unreachable(let type, let code, _)? = d?.outcome { return ICMPNames.isPortUnreachable(family: family, type: type, code: code) }
            return false
        }
        func otherUnreachable(_ d: Datagram?) -> IPAddress? {
            if case .unreachable(_, _, let from)? = d?.outcome, !portUnreachable(d) { return from }
            return nil
        }
        func answered(_ d: Datagram?) -> Bool { reply(d) != nil || portUnreachable(d) }

        var r = UDPCheckResult(port: port, state: .openFiltered)
        if reply(small) != nil || reply(large) != nil {
            r.state = .open
        } else if portUnreachable(small) || portUnreachable(large) {
            r.state = .closed
        } else if otherUnreachable(small) != nil || otherUnreachable(large) != nil {
            r.state = .filtered
        }
        if let payload = reply(large), let request = large?.request.payload {
            r.recognized = RDPUDP.isSynAck(payload, to: request) || DTLSProbe.isAnswer(payload)
        } else if let payload = reply(small) {
            r.recognized = DTLSProbe.isAnswer(payload)
        }
        switch large?.outcome {
        case .packetTooBig(let mtu, _)?:
            r.datagram1232Passes = false
            r.packetTooBigMTU = mtu
        case .localError(let errno, let mtu)? where errno == 90:
            r.datagram1232Passes = false
            r.packetTooBigMTU = mtu > 0 ? mtu : nil
        case .udpReply?:
            r.datagram1232Passes = true
        case .unreachable(_, _, let from)? where from == destination || portUnreachable(large):
            r.datagram1232Passes = true  // the host itself answered the large datagram
        case .timeout?:
            // Silence for the large one: lost on the way if the small one drew an answer.
            r.datagram1232Passes = answered(small) ? false : nil
        default:
            r.datagram1232Passes = nil
        }
        return r
    }
}
