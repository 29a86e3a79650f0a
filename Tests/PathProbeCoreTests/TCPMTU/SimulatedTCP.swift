@testable import PathProbeCore

/// A TCP path and server that exist only in memory, segment by segment in virtual time: one-way MTUs
/// (a route MTU in one direction), per direction a router that sends packet-too-big or drops silently
/// (a black hole), random loss of data segments, a server with its own MSS, timestamps or not, a
/// processing delay that grows with parallel handshakes, retransmission timeouts and optionally
/// RFC 4821-style shrinking of its segments after one; closed ports and silent hosts. The client side
/// plays Linux: TCP_MAXSEG, tcpi_rcv_mss (largest in-order segment, starting at min(advmss, 536)),
/// bytes_acked counting the SYN, a cached PMTU, resegmenting after a PTB.
struct SimulatedTCPPath {
    enum TooBig { case sendsPTB, blackHole }
    enum Port { case open, closed, silent }

    var family: AddressFamily = .ipv4
    var server: IPAddress { family == .ipv4 ? IPAddress("10.0.3.2")! : IPAddress("fd00:3::2")! }
    /// Client to server: the largest packet that passes, and what happens to larger ones.
    var upMTU = 1500
    var up = TooBig.blackHole
    /// Server to client.
    var downMTU = 1500
    var down = TooBig.blackHole
    /// The client's interface MTU (caps what it advertises and sends).
    var localMTU = 1500
    /// The kernel already holds a PMTU for the server (an earlier PTB).
    var cachedPathMTU: Int? = nil
    var loss = 0.0
    var oneWayDelayMs = 0.5
    var port = Port.open
    var service = TCPService.tls
    /// What the server answers to a complete request, in bytes (TLS: its certificate flight).
    var flightBytes = 3598
    /// The server's own MSS (its interface MTU - 40 / - 60).
    var serverMSS: Int? = nil
    var timestamps = true
    var processingMs = 5.0
    /// Extra processing per connection being served at the same time (a CPU-bound TLS server).
    var loadMsPerConnection = 3.0
    var serverRTOMs = 200.0
    /// After its first retransmission timeout the server sends segments of at most this MSS.
    var shrinkToMSS: Int? = nil
    /// The server stops accepting after this many connections (a rate limit, a crashed service).
    var acceptsConnections: Int? = nil
    /// Accept queue (listen backlog + 1) and the time the server takes to accept one connection: a
    /// SYN that finds the queue full is dropped and retransmitted after 1 s, 2 s... (socat: 6, xrdp: 3).
    var acceptQueue: Int? = nil
    var acceptMs = 2.0
    /// RDP: the protocol code the Connection Confirm selects (0 standard RDP security, 1 TLS).
    var rdpSelects: UInt32 = 1

    var headers: Int { family.ipHeaderSize + 20 }
    var options: Int { timestamps ? 12 : 0 }
    var ownMSS: Int { serverMSS ?? (1500 - headers) }
}

struct SimulatedTCPRunner: ProbeScheduler {
    var path: SimulatedTCPPath
    var now: Nanoseconds = 0
    private var rng: SplitMix64
    private var queue: [(time: Nanoseconds, seq: Int, action: Action)] = []
    private var seq = 0
    private var nextID: UInt32 = 1
    private var conns: [ConnectionID: Conn] = [:]
    /// The server's PMTU cache towards the client (from PTBs it received).
    private var serverCachedMTU: Int? = nil
    /// When the connections in the server's accept queue get accepted.
    private var acceptAt: [Nanoseconds] = []
    /// SYNs dropped because the accept queue was full.
    private(set) var droppedSYNs = 0

    // What tests check.
    private(set) var opened = 0
    private(set) var closedByMeasurement = 0
    private(set) var maxOpen = 0
    /// Largest client packet the server received, per connection.
    private(set) var largestUpPacket: [ConnectionID: Int] = [:]
    /// Requests the server saw complete (the payloads are well framed).
    private(set) var completeRequests = 0
    var openConnections: Int { conns.values.filter { !$0.closed }.count }

    struct Segment {
        var start: Int
        var bytes: [UInt8]
        var end: Int { start + bytes.count }
    }

    enum Action {
        case event(ConnectionID, ConnectionEvent)
        case toServer(ConnectionID, Segment)
        case toClient(ConnectionID, Segment)
        case ackToClient(ConnectionID, Int)
        case ackToServer(ConnectionID, Int)
        case ptbToClient(ConnectionID, Int)
        case ptbToServer(ConnectionID, Int)
        case clientRTO(ConnectionID, Int)
        case serverRTO(ConnectionID, Int)
        case respond(ConnectionID, [UInt8])
        case serverFIN(ConnectionID)
        case syn(ConnectionID, Int)
        case handshakeTimeout(ConnectionID)
        case wake
    }

    /// One side's sending state: what was written, acknowledged, sent; its segment size and timer.
    struct Sender {
        var data: [UInt8] = []
        var una = 0
        var nxt = 0
        var payload = 0
        var rtoMs = 200.0
        var timer = 0
        var timeouts = 0
    }

    /// One side's receiving state: bytes in order so far, and segments that came early.
    struct Receiver {
        var bytes: [UInt8] = []
        var early: [Segment] = []

        /// Takes a segment; returns the segments that now fit in order (each as it came).
        mutating func accept(_ s: Segment) -> [Segment] {
            early.append(s)
            var fitted: [Segment] = []
            while let i = early.firstIndex(where: { $0.start <= bytes.count && $0.end > bytes.count }) {
                let o = early.remove(at: i)
                bytes += o.bytes.suffix(o.end - bytes.count)
                fitted.append(o)
            }
            early.removeAll { $0.end <= bytes.count }
            return fitted
        }
    }

    struct Conn {
        var request: ConnectionRequest
        var closed = false
        var established = false
        /// The handshake timed out: later SYN retransmissions are void.
        var gaveUp = false
        var pathMTU: Int
        var advPayload = 0
        var retransmits = 0
        var client = Sender()
        var server = Sender()
        var atServer = Receiver()
        var atClient = Receiver()
        var consumed = 0
        var rdpConfirmed = false
        var answered = false
        var finSent = false
        var rcvMSS = 0
        var segsIn = 0
    }

    init(path: SimulatedTCPPath, seed: UInt64 = 1) {
        self.path = path
        rng = SplitMix64(seed: seed)
    }

    private var d: Nanoseconds { .fromMs(path.oneWayDelayMs) }

    private mutating func at(_ t: Nanoseconds, _ a: Action) {
        seq += 1
        queue.append((max(t, now), seq, a))
    }

    // MARK: ProbeScheduler

    mutating func send(_ probe: ProbeRequest) { preconditionFailure("no datagram probes here") }
    mutating func wake(at time: Nanoseconds) { at(time, .wake) }

    mutating func connect(_ request: ConnectionRequest) -> ConnectionID {
        let id = ConnectionID(raw: nextID)
        nextID += 1
        opened += 1
        var c = Conn(request: request, pathMTU: min(path.localMTU, path.cachedPathMTU ?? path.localMTU))
        // Linux advertises no more than its (cached) path MTU allows; so does the server, whose MSS
        // also follows a PMTU it cached towards us.
        let mss = min(request.maxSegment ?? (path.localMTU - path.headers), c.pathMTU - path.headers)
        let serverMSS = min(path.ownMSS, (serverCachedMTU ?? Int.max) - path.headers)
        c.advPayload = mss - path.options
        c.client.payload = min(mss, serverMSS, c.pathMTU - path.headers) - path.options
        c.server.payload = min(mss, serverMSS) - path.options
        c.client.rtoMs = max(200, 4 * path.oneWayDelayMs)
        c.server.rtoMs = path.serverRTOMs
        conns[id] = c
        maxOpen = max(maxOpen, openConnections)
        let refused = path.acceptsConnections.map { opened > $0 } ?? false
        switch refused ? .closed : path.port {
        case .silent: at(now + request.timeout, .event(id, .timedOut))
        case .closed: at(now + 2 * d, .event(id, .failed(errno: 111)))
        case .open:
            at(now + d, .syn(id, 0))
        }
        return id
    }

    mutating func write(_ bytes: [UInt8], to id: ConnectionID) {
        guard var c = conns[id], !c.closed else { return }
        c.client.data += bytes
        conns[id] = c
        transmit(id, from: c.client.nxt, upward: true)
    }

    mutating func requestInfo(_ id: ConnectionID) { at(now, .event(id, .info(info(id)))) }

    mutating func close(_ id: ConnectionID) {
        guard conns[id]?.closed == false else { return }
        conns[id]!.closed = true
        closedByMeasurement += 1
    }

    // MARK: running

    @discardableResult
    mutating func run(_ m: some Measurement, limitMs: Double = 120_000) -> Double {
        m.advance(&self)
        while !m.isFinished {
            guard let i = queue.indices.min(by: { (queue[$0].time, queue[$0].seq) < (queue[$1].time, queue[$1].seq) }) else { break }
            let e = queue.remove(at: i)
            now = max(now, e.time)
            if now.inMs > limitMs { break }
            switch e.action {
            case .wake: m.advance(&self)
            case let .event(id, event):
                guard let c = conns[id], !c.closed else { continue }
                var ev = event
                if case .info = event { ev = .info(info(id)) }
                m.handle(ConnectionResult(id: id, tag: c.request.tag, request: c.request, event: ev, time: now), &self)
            default: network(e.action)
            }
        }
        return now.inMs
    }

    func info(_ id: ConnectionID) -> TCPInfo {
        let c = conns[id]!
        var i = TCPInfo()
        i.receiveMSS = c.rcvMSS > 0 ? c.rcvMSS : min(c.advPayload, 536)
        i.sendMSS = c.client.payload
        i.advertisedMSS = c.advPayload
        i.pathMTU = c.pathMTU
        i.bytesReceived = UInt64(c.atClient.bytes.count)
        i.bytesAcked = UInt64(1 + c.client.una)
        let inFlight = c.client.nxt - c.client.una
        i.unacked = inFlight > 0 ? (inFlight + c.client.payload - 1) / max(1, c.client.payload) : 0
        i.totalRetransmits = c.retransmits
        i.segmentsIn = c.segsIn
        i.rttMicroseconds = Int(2 * path.oneWayDelayMs * 1000)
        i.timestamps = path.timestamps
        return i
    }

    // MARK: the wire

    private mutating func lost() -> Bool { path.loss > 0 && rng.nextDouble() < path.loss }

    /// Sends one side's data from `from` in segments of its current size; a segment larger than the
    /// path in that direction gets a PTB to the sender or vanishes.
    private mutating func transmit(_ id: ConnectionID, from: Int, upward: Bool) {
        guard var c = conns[id], c.established, !c.closed else { return }
        var side = upward ? c.client : c.server
        var start = from
        while start < side.data.count {
            let end = min(start + side.payload, side.data.count)
            let segment = Segment(start: start, bytes: Array(side.data[start..<end]))
            let packet = segment.bytes.count + path.headers + path.options
            let mtu = upward ? path.upMTU : path.downMTU
            if packet > mtu {
                if (upward ? path.up : path.down) == .sendsPTB {
                    at(now + d / 2, upward ? .ptbToClient(id, mtu) : .ptbToServer(id, mtu))
                }
            } else if !lost() {
                at(now + d, upward ? .toServer(id, segment) : .toClient(id, segment))
            }
            start = end
        }
        side.nxt = max(side.nxt, start)
        side.timer += 1
        if upward { c.client = side } else { c.server = side }
        conns[id] = c
        if side.nxt > side.una {
            at(now + .fromMs(side.rtoMs), upward ? .clientRTO(id, side.timer) : .serverRTO(id, side.timer))
        }
    }

    private mutating func network(_ a: Action) {
        switch a {
        case let .toServer(id, s):
            guard var c = conns[id], !c.closed else { return }
            largestUpPacket[id] = max(largestUpPacket[id] ?? 0, s.bytes.count + path.headers + path.options)
            _ = c.atServer.accept(s)
            conns[id] = c
            at(now + d, .ackToClient(id, c.atServer.bytes.count))  // quick ACK
            serve(id)
        case let .ackToClient(id, ack):
            guard var c = conns[id], !c.closed else { return }
            c.segsIn += 1
            c.client.una = max(c.client.una, ack)
            conns[id] = c
        case let .toClient(id, s):
            guard var c = conns[id], !c.closed else { return }
            c.segsIn += 1
            let before = c.atClient.bytes.count
            for o in c.atClient.accept(s) where o.bytes.count >= c.rcvMSS {
                // Linux's estimate: the largest in-order segment, never above what we advertised.
                c.rcvMSS = min(o.bytes.count, c.advPayload)
            }
            let delivered = Array(c.atClient.bytes[before...])
            conns[id] = c
            at(now + d, .ackToServer(id, c.atClient.bytes.count))
            if !delivered.isEmpty { at(now, .event(id, .received(delivered, info(id)))) }
        case let .ackToServer(id, ack):
            guard var c = conns[id], !c.closed else { return }
            c.server.una = max(c.server.una, ack)
            let done = c.server.una >= c.server.data.count && c.answered && path.service == .http && !c.finSent
            if done { c.finSent = true }
            conns[id] = c
            if done { at(now + d, .serverFIN(id)) }
        case let .ptbToClient(id, mtu):
            guard var c = conns[id], !c.closed, mtu < c.pathMTU else { return }
            path.cachedPathMTU = min(path.cachedPathMTU ?? mtu, mtu)  // the kernel keeps it ~10 minutes
            c.pathMTU = mtu
            c.client.payload = min(c.client.payload, mtu - path.headers - path.options)
            c.retransmits += 1
            conns[id] = c
            transmit(id, from: c.client.una, upward: true)
        case let .ptbToServer(id, mtu):
            guard var c = conns[id], !c.closed, mtu - path.headers - path.options < c.server.payload else { return }
            c.server.payload = mtu - path.headers - path.options
            serverCachedMTU = min(serverCachedMTU ?? mtu, mtu)
            conns[id] = c
            transmit(id, from: c.server.una, upward: false)
        case let .clientRTO(id, n):
            guard var c = conns[id], !c.closed, n == c.client.timer, c.client.una < c.client.nxt else { return }
            c.retransmits += 1
            c.client.rtoMs *= 2
            conns[id] = c
            transmit(id, from: c.client.una, upward: true)
        case let .serverRTO(id, n):
            guard var c = conns[id], !c.closed, n == c.server.timer, c.server.una < c.server.nxt, c.server.timeouts < 6 else { return }
            c.server.timeouts += 1
            c.server.rtoMs *= 2
            if let shrink = path.shrinkToMSS { c.server.payload = min(c.server.payload, shrink - path.options) }
            conns[id] = c
            transmit(id, from: c.server.una, upward: false)
        case let .respond(id, bytes):
            guard var c = conns[id], !c.closed else { return }
            c.server.data += bytes
            conns[id] = c
            transmit(id, from: c.server.nxt, upward: false)
        case let .serverFIN(id):
            guard conns[id]?.closed == false else { return }
            at(now, .event(id, .peerClosed(info(id))))
        case let .syn(id, attempt):
            guard var c = conns[id], !c.closed, !c.established, !c.gaveUp else { return }
            acceptAt.removeAll { $0 <= now }
            if let capacity = path.acceptQueue, acceptAt.count >= capacity {
                droppedSYNs += 1
                let retry = now + Nanoseconds(1_000_000_000) << UInt64(attempt)
                if attempt == 0 { at(now - d + c.request.timeout, .handshakeTimeout(id)) }
                at(retry, .syn(id, attempt + 1))
                return
            }
            acceptAt.append(max(now, acceptAt.last ?? now) + .fromMs(path.acceptMs))
            c.established = true
            conns[id] = c
            at(now + d, .event(id, .connected(info(id))))
        case let .handshakeTimeout(id):
            guard let c = conns[id], !c.closed, !c.established else { return }
            conns[id]!.gaveUp = true
            at(now, .event(id, .timedOut))
        case .event, .wake:
            break
        }
    }

    /// The server application: answers complete requests.
    private mutating func serve(_ id: ConnectionID) {
        guard var c = conns[id], !c.answered else { return }
        let input = Array(c.atServer.bytes[c.consumed...])
        if path.service == .rdp && !c.rdpConfirmed {
            guard input.count >= 4, input.count >= Int(input[2]) << 8 | Int(input[3]) else { return }
            c.consumed += Int(input[2]) << 8 | Int(input[3])
            c.rdpConfirmed = true
            conns[id] = c
            let code = path.rdpSelects
            let cc: [UInt8] = [0x03, 0x00, 0x00, 0x13, 0x0e, 0xd0, 0, 0, 0x12, 0x34, 0, 0x02, 0x00, 0x08, 0x00,
                               UInt8(code), 0, 0, 0]
            at(now + .fromMs(1), .respond(id, cc))
            return
        }
        var complete = false
        var answer = [UInt8](repeating: 0x41, count: path.flightBytes)
        switch path.service {
        case .tls, .rdp:
            if input.count >= 5, input[0] == 0x16 { complete = input.count >= 5 + (Int(input[3]) << 8 | Int(input[4])) }
            let prefix: [UInt8] = [0x16, 0x03, 0x03, 0x00, 0x9b, 0x02]
            answer.replaceSubrange(0..<min(prefix.count, answer.count), with: prefix.prefix(answer.count))
        case .http:
            complete = String(decoding: input, as: UTF8.self).contains("\r\n\r\n")
            let prefix = Array("HTTP/1.1 200 OK\r\n".utf8)
            answer.replaceSubrange(0..<min(prefix.count, answer.count), with: prefix.prefix(answer.count))
        case .pathprobe:
            if let r = StreamResponderWire.Request(header: input), input.count >= r.length {
                complete = true
                answer = StreamResponderWire.answer(to: r, largestSegment: 0).encode()
            }
        }
        guard complete else { return }
        completeRequests += 1
        c.answered = true
        conns[id] = c
        let busy = conns.values.filter { !$0.closed && $0.answered && $0.server.nxt == 0 }.count
        at(now + .fromMs(path.processingMs + path.loadMsPerConnection * Double(busy)), .respond(id, answer))
    }
}
