import PathProbeCore
import PathProbeTLS

/// Targets for what servers answer the TCP checks: RD Gateways' HTTP heads, RDP-UDP, the TCP path
/// MTU measurement's answer classifiers, the whole RDP check fed hostile answers, and certificate
/// facts (OpenSSL parses, the Swift around it is instrumented).
enum CheckTargets {
    static func httpResponse(_ b: UnsafeRawBufferPointer) {
        let bytes = b.bytes
        let result = HTTPResponseHead.parse(bytes)
        guard case let .head(head, length) = result else { return }
        expect(length <= bytes.count, "HTTP head longer than the input: \(length) of \(bytes.count)")
        expect((100...599).contains(head.status), "HTTP status out of range: \(head.status)")
        for name in ["WWW-Authenticate", "Server", "Upgrade", "Content-Length", "Sec-WebSocket-Accept"] { keep(head.values(of: name)) }
        // The body (or the next bytes of the stream) after the head changes nothing.
        expect(HTTPResponseHead.parse(bytes + Array("body".utf8)) == result, "bytes after the HTTP head change it")
    }

    /// RDP-UDP SYN-ACKs as the check judges them, against its own SYN.
    static let rdpSyn = RDPUDP.syn(initialSequence: 0x1234_5678)

    static func rdpUDP(_ b: UnsafeRawBufferPointer) {
        let bytes = b.bytes
        keep(RDPUDP.isSynAck(bytes, to: rdpSyn))
        if let mtu = RDPUDP.negotiatedMTU(bytes) { keep(mtu.up &+ mtu.down) }
    }

    /// What `mtu -P tcp` reads from servers: the TLS answer classifier (monotone: a verdict made
    /// on a prefix stays when more bytes arrive), the HTTP response check, the responder's TCP
    /// protocol headers.
    static func tcpMTUAnswer(_ b: UnsafeRawBufferPointer) {
        let bytes = b.bytes
        let verdict = TLSClientHello.classify(bytes)
        if verdict != .needMore {
            expect(TLSClientHello.classify(bytes + [0x16, 0x03, 0x03]) == verdict, "a TLS verdict changes with more bytes")
        }
        keep(HTTPProbeRequest.isResponse(bytes))
        if let request = StreamResponderWire.Request(header: bytes) {
            let answer = StreamResponderWire.answer(to: request, largestSegment: 1460)
            keep(answer)
        }
        keep(StreamResponderWire.Answer(header: bytes))
    }

    /// Certificate facts from arbitrary bytes as a PEM chain (a server's chain arrives as DER and
    /// is turned into PEM by OpenSSL; a hostile file must not hurt either).
    static func certificate(_ b: UnsafeRawBufferPointer) {
        let bytes = b.bytes
        for facts in CertificateFacts.parse(pem: bytes, referenceTime: 1_790_000_000) {
            expect(facts.derBytes >= 0, "negative DER size")
            keep(facts.san.count)
        }
        keep(CertificateFacts.firstMatches(pem: bytes, host: "rdp.example.com"))
        keep(CertificateFacts.firstMatches(pem: bytes, host: "192.0.2.10"))
    }

    // MARK: the RDP check

    /// The whole RDP check (direct, or through a gateway) against a server that answers with the
    /// fuzzer's bytes. Byte 0: bit 0 gateway, bit 1 WebSocket too. Then records: one byte that
    /// says what happens (below), one byte of length, that many bytes. TLS is a pass-through fake
    /// (established at the first byte the server sends), so the fuzzer reaches the X.224 confirm,
    /// the RD Gateway's HTTP answers and the RDP-UDP answers the check reads.
    ///   0-127   bytes arriving on connection (n % open connections)
    ///   128-191 the peer closes connection (n % open)
    ///   192-223 a UDP answer with the bytes, to datagram (n % sent)
    ///   224-255 time passes: every deadline runs out
    static func rdpCheck(_ b: UnsafeRawBufferPointer) {
        guard b.count >= 1 else { return }
        let endpoint = RDPEndpoint(name: "rdp.example.com", address: IPAddress(ipv4: 0xc000_020a), port: b[0] & 1 == 0 ? 3389 : 443)
        var options = RDPCheckOptions()
        options.webSocket = b[0] & 2 != 0
        options.seed = 1
        let target: RDPCheck.Target = b[0] & 1 == 0 ? .direct(endpoint, udpPort: 3389) : .gateway(endpoint, udpPort: 3391)
        let check = RDPCheck(target: target, options: options) { _ in PassThroughTLS() }
        var s = FuzzScheduler()
        check.advance(&s)
        s.connectAll(check)
        var i = 1
        while i + 1 < b.count, !check.isFinished {
            let what = b[i]
            let length = Int(b[i + 1])
            let data = Array(UnsafeRawBufferPointer(rebasing: b[min(b.count, i + 2)..<min(b.count, i + 2 + length)]))
            i += 2 + length
            switch what {
            case 0..<128: s.deliver(.received(data, TCPInfo()), to: Int(what), check)
            case 128..<192: s.deliver(.peerClosed(TCPInfo()), to: Int(what), check)
            case 192..<224: s.answerDatagram(Int(what), with: data, check)
            default: s.timePasses(check)
            }
        }
        for _ in 0..<8 where !check.isFinished { s.timePasses(check) }
        keep(check.result)
    }
}

/// A TLS session that is established by the first byte the server sends and passes bytes through
/// unchanged both ways: the check's logic after TLS sees the fuzzer's bytes as plaintext.
final class PassThroughTLS: TLSSession {
    private(set) var state: TLSSessionState = .handshaking
    private(set) var bytesReceived = 0
    private var outgoing: [UInt8] = Array("HELLO".utf8)
    private var plain: [UInt8] = []

    func receive(_ c: [UInt8]) {
        bytesReceived += c.count
        if state == .handshaking && !c.isEmpty {
            state = c.first == 0x15 ? .failed("alert") : .established
            return
        }
        if state == .established { plain += c }
    }

    func peerClosed() { if state == .handshaking { state = .failed("closed") } }

    func takeOutgoing() -> [UInt8] {
        defer { outgoing = [] }
        return outgoing
    }

    func send(_ plaintext: [UInt8]) { outgoing += plaintext }

    func takeReceived() -> [UInt8] {
        defer { plain = [] }
        return plain
    }

    var facts: TLSFacts? {
        state == .established ? TLSFacts(version: "TLSv1.3", cipher: "TLS_AES_128_GCM_SHA256", chainLength: 1, handshakeBytes: bytesReceived) : nil
    }
}

/// Connections and datagrams as the check asks for them, answered only when the input says so.
struct FuzzScheduler: ProbeScheduler {
    var now: Nanoseconds = 1_000_000_000
    private var connections: [(id: ConnectionID, request: ConnectionRequest, connected: Bool, closed: Bool)] = []
    private var datagrams: [ProbeRequest] = []
    private var nextID: UInt32 = 1

    mutating func send(_ probe: ProbeRequest) { datagrams.append(probe) }
    mutating func wake(at time: Nanoseconds) {}
    mutating func connect(_ request: ConnectionRequest) -> ConnectionID {
        let id = ConnectionID(raw: nextID)
        nextID += 1
        connections.append((id, request, false, false))
        return id
    }
    mutating func write(_ bytes: [UInt8], to connection: ConnectionID) {}
    mutating func requestInfo(_ connection: ConnectionID) {}
    mutating func close(_ connection: ConnectionID) {
        if let i = connections.firstIndex(where: { $0.id == connection }) { connections[i].closed = true }
    }

    /// Every connection asked for since gets its handshake, once.
    mutating func connectAll(_ m: RDPCheck) {
        var i = 0
        while i < connections.count {
            if !connections[i].closed && !connections[i].connected {
                connections[i].connected = true
                event(.connected(TCPInfo()), i, m)
            }
            i += 1
        }
    }

    mutating func deliver(_ e: ConnectionEvent, to n: Int, _ m: RDPCheck) {
        let open = connections.indices.filter { !connections[$0].closed && connections[$0].connected }
        guard !open.isEmpty else { return }
        now += 1_000_000
        event(e, open[n % open.count], m)
        connectAll(m)
    }

    mutating func answerDatagram(_ n: Int, with payload: [UInt8], _ m: RDPCheck) {
        guard !datagrams.isEmpty else { return }
        let p = datagrams[n % datagrams.count]
        now += 1_000_000
        m.handle(ProbeResult(tag: p.tag, request: p, outcome: .udpReply(from: p.destination, payload: payload), rtt: 1_000_000), &self)
    }

    /// Every deadline passes: pending datagrams time out, the check's own timers fire.
    mutating func timePasses(_ m: RDPCheck) {
        now += 10_000_000_000
        let pending = datagrams
        datagrams.removeAll()
        for p in pending { m.handle(ProbeResult(tag: p.tag, request: p, outcome: .timeout, rtt: 0), &self) }
        m.advance(&self)
        connectAll(m)
    }

    private mutating func event(_ e: ConnectionEvent, _ i: Int, _ m: RDPCheck) {
        let c = connections[i]
        m.handle(ConnectionResult(id: c.id, tag: c.request.tag, request: c.request, event: e, time: now), &self)
    }
}
