@testable import PathProbeCore

/// Scripted peers for the RDP check: TCP servers that answer what they receive after a one-way
/// delay, UDP answers by port, and a TLS session whose "ciphertext" is readable (ClientHello and
/// Finished markers, a server flight of N bytes, then plaintext). Virtual time, no sockets.
final class RDPSimNetwork {
    /// What a TCP port does with a SYN.
    enum Listen { case accept, refuse, silent, unreachable }
    /// What a server sends back: bytes (in segments of at most `segment` bytes), or a FIN.
    enum Reply { case data([UInt8]), close }

    struct Server {
        var listen: Listen = .accept
        /// Called with every write of the client and the connection's history of writes.
        var respond: (_ bytes: [UInt8], _ writesSoFar: Int) -> [Reply] = { _, _ in [] }
    }

    var now: Nanoseconds = 0
    var oneWay: Nanoseconds = .fromMs(5)
    var segment = 1400
    var servers: [UInt16: Server] = [:]
    /// UDP: the outcome for a datagram to a port (payload given), nil: silence (timeout).
    var udp: (_ port: UInt16, _ payload: [UInt8]) -> ProbeOutcome? = { _, _ in nil }
    /// TCP_INFO the peer "shows" when asked.
    var info = TCPInfo()

    private(set) var written: [ConnectionID: [[UInt8]]] = [:]
    private(set) var requests: [ConnectionID: ConnectionRequest] = [:]
    private(set) var closed: Set<ConnectionID> = []
    private(set) var datagramsSent: [ProbeRequest] = []
    private var queue: [(at: Nanoseconds, seq: Int, event: Event)] = []
    private var seq = 0
    private var nextID: UInt32 = 1

    enum Event {
        case connection(ConnectionResult)
        case probe(ProbeResult)
        case wake
    }

    func push(_ at: Nanoseconds, _ event: Event) {
        seq += 1
        queue.append((at, seq, event))
    }

    func pop() -> (Nanoseconds, Event)? {
        guard let i = queue.indices.min(by: { (queue[$0].at, queue[$0].seq) < (queue[$1].at, queue[$1].seq) }) else { return nil }
        let e = queue.remove(at: i)
        return (e.at, e.event)
    }

    func connect(_ r: ConnectionRequest) -> ConnectionID {
        let id = ConnectionID(raw: nextID)
        nextID += 1
        requests[id] = r
        written[id] = []
        func event(_ e: ConnectionEvent, at: Nanoseconds) {
            push(at, .connection(ConnectionResult(id: id, tag: r.tag, request: r, event: e, time: at)))
        }
        switch servers[r.port]?.listen ?? .refuse {
        case .accept: event(.connected(info), at: now + 2 * oneWay)
        case .refuse: event(.failed(errno: 111), at: now + 2 * oneWay)
        case .unreachable: event(.failed(errno: 113), at: now + 2 * oneWay)
        case .silent: event(.timedOut, at: now + r.timeout)
        }
        return id
    }

    func write(_ bytes: [UInt8], to id: ConnectionID) {
        guard !closed.contains(id), let r = requests[id], let server = servers[r.port] else { return }
        written[id, default: []].append(bytes)
        var at = now + 2 * oneWay
        for reply in server.respond(bytes, written[id]!.count) {
            switch reply {
            case .data(let data):
                var rest = data[...]
                while !rest.isEmpty {
                    let piece = Array(rest.prefix(segment))
                    rest = rest.dropFirst(segment)
                    var i = info
                    i.bytesReceived += UInt64(piece.count)
                    push(at, .connection(ConnectionResult(id: id, tag: r.tag, request: r, event: .received(piece, i), time: at)))
                    at += 1000
                }
            case .close:
                push(at, .connection(ConnectionResult(id: id, tag: r.tag, request: r, event: .peerClosed(info), time: at)))
            }
        }
    }

    func requestInfo(_ id: ConnectionID) {
        guard let r = requests[id] else { return }
        push(now, .connection(ConnectionResult(id: id, tag: r.tag, request: r, event: .info(info), time: now)))
    }

    func send(_ p: ProbeRequest) {
        datagramsSent.append(p)
        guard case .udp(let port) = p.kind else { return }
        if let outcome = udp(port, p.payload ?? []) {
            push(now + 2 * oneWay, .probe(ProbeResult(tag: p.tag, request: p, outcome: outcome, rtt: 2 * oneWay)))
        } else {
            push(now + p.timeout, .probe(ProbeResult(tag: p.tag, request: p, outcome: .timeout, rtt: 0)))
        }
    }

    /// Runs `m` to the end; returns the virtual time it took, in ms.
    @discardableResult
    func run(_ m: some Measurement) -> Double {
        var s = RDPSimScheduler(net: self)
        let start = now
        m.advance(&s)
        var steps = 0
        while !m.isFinished, let (at, event) = pop(), steps < 100_000 {
            steps += 1
            now = max(now, at)
            switch event {
            case .connection(let r):
                if !closed.contains(r.id) { m.handle(r, &s) }
            case .probe(let r):
                m.handle(r, &s)
            case .wake:
                m.advance(&s)
            }
        }
        return (now - start).inMs
    }

    func close(_ id: ConnectionID) { closed.insert(id) }

    /// The writes of the connection to `port` (the first one to it).
    func writes(port: UInt16) -> [[UInt8]] {
        guard let id = requests.filter({ $0.value.port == port }).keys.min(by: { $0.raw < $1.raw }) else { return [] }
        return written[id] ?? []
    }
}

struct RDPSimScheduler: ProbeScheduler {
    let net: RDPSimNetwork
    var now: Nanoseconds { net.now }
    mutating func send(_ probe: ProbeRequest) { net.send(probe) }
    mutating func wake(at time: Nanoseconds) { net.push(time, .wake) }
    mutating func connect(_ request: ConnectionRequest) -> ConnectionID { net.connect(request) }
    mutating func write(_ bytes: [UInt8], to connection: ConnectionID) { net.write(bytes, to: connection) }
    mutating func requestInfo(_ connection: ConnectionID) { net.requestInfo(connection) }
    mutating func close(_ connection: ConnectionID) { net.close(connection) }
}

/// TLS with readable bytes: the client sends "CLIENTHELLO", the handshake completes once
/// `flight` bytes of the server arrived (then the client sends "FINISHED"), or fails with
/// `failure`; afterwards bytes pass unchanged both ways.
final class ScriptedTLS: TLSSession {
    static let clientHello = Array("CLIENTHELLO".utf8)
    static let finished = Array("FINISHED".utf8)
    static let facts = TLSFacts(version: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384", subject: "CN=rdp.lab.test",
                                issuer: "CN=pathprobe lab CA", san: ["rdp.lab.test", "10.0.3.2"], notAfter: "2027-03-01T00:00:00Z",
                                daysLeft: 90, selfSigned: false, nameMatches: true, chainBytes: 2700, chainLength: 2,
                                handshakeBytes: 3600)

    let serverName: String
    let flight: Int
    let failure: String?
    private(set) var state: TLSSessionState = .handshaking
    private(set) var bytesReceived = 0
    private var started = false
    private var outgoing: [UInt8] = []
    private var plain: [UInt8] = []

    init(serverName: String, flight: Int = 3600, failure: String? = nil) {
        self.serverName = serverName
        self.flight = flight
        self.failure = failure
    }

    func receive(_ c: [UInt8]) {
        bytesReceived += c.count
        switch state {
        case .handshaking where bytesReceived >= flight:
            if let failure {
                state = .failed(failure)
                return
            }
            state = .established
            outgoing += Self.finished
            plain += c.suffix(bytesReceived - flight)
        case .established:
            plain += c
        default:
            break
        }
    }

    func peerClosed() {
        if state == .handshaking { state = .failed("closed") }
    }

    func takeOutgoing() -> [UInt8] {
        if !started {
            started = true
            outgoing = Self.clientHello + outgoing
        }
        defer { outgoing = [] }
        return outgoing
    }

    func send(_ plaintext: [UInt8]) { outgoing += plaintext }

    func takeReceived() -> [UInt8] {
        defer { plain = [] }
        return plain
    }

    var facts: TLSFacts? { state == .established ? Self.facts : nil }
}

/// Server scripts.
enum RDPPeers {
    static func confirm(type: UInt8, value: UInt32) -> [UInt8] {
        [0x03, 0x00, 0x00, 0x13, 0x0e, 0xd0, 0, 0, 0x12, 0x34, 0, type, 0x00, 0x08, 0x00,
         UInt8(value & 0xff), UInt8(value >> 8 & 0xff), 0, 0]
    }

    /// An RDP server: answers the Connection Request with `answer`, the ClientHello with a flight
    /// of `flight` bytes (nothing when `blackHole`: the path swallows it).
    static func rdp(answer: [UInt8], flight: Int = 3600, blackHole: Bool = false) -> RDPSimNetwork.Server {
        RDPSimNetwork.Server(listen: .accept) { bytes, _ in
            if bytes.first == 0x03 { return [.data(answer)] }
            if bytes.starts(with: ScriptedTLS.clientHello) { return blackHole ? [] : [.data([UInt8](repeating: 0x16, count: flight))] }
            return []
        }
    }

    /// HTTPS: TLS, then `answer` to every request (`wsAnswer` to WebSocket upgrades).
    static func https(answer: String, wsAnswer: String? = nil, flight: Int = 3600) -> RDPSimNetwork.Server {
        RDPSimNetwork.Server(listen: .accept) { bytes, _ in
            if bytes.starts(with: ScriptedTLS.clientHello) { return [.data([UInt8](repeating: 0x16, count: flight))] }
            if bytes.starts(with: ScriptedTLS.finished) {
                let rest = Array(bytes.dropFirst(ScriptedTLS.finished.count))
                return rest.isEmpty ? [] : reply(rest, answer, wsAnswer)
            }
            return reply(bytes, answer, wsAnswer)
        }
    }

    private static func reply(_ request: [UInt8], _ answer: String, _ wsAnswer: String?) -> [RDPSimNetwork.Reply] {
        let text = String(decoding: request, as: UTF8.self)
        guard text.hasPrefix("RDG_OUT_DATA ") else { return [] }
        let ws = text.contains("Upgrade: websocket")
        return [.data(Array(((ws ? wsAnswer : nil) ?? answer).utf8))]
    }

    static let gateway401 = "HTTP/1.1 401 Unauthorized\r\nServer: Microsoft-IIS/10.0\r\nWWW-Authenticate: Negotiate\r\nWWW-Authenticate: NTLM\r\nContent-Length: 0\r\n\r\n"
    static let web404 = "HTTP/1.1 404 Not Found\r\nServer: nginx\r\nContent-Length: 0\r\n\r\n"

    /// A DTLS HelloVerifyRequest record.
    static let helloVerify: [UInt8] = [22, 0xfe, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 15, 3, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 3, 0xfe, 0xff, 0]
}
