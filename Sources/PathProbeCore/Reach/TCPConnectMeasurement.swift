import SystemPackage

/// The unprivileged way to probe TCP ports (no raw sockets: `reach`'s `tcp_probe` "connect"): an
/// ordinary connection per port, as stream probes (Connection.swift), up to `concurrency` at once.
/// `open` = connected, `closed` = refused (a RST to the SYN), `filtered` = silence or an unreachable
/// error (no ICMP details: the kernel keeps them). A silent port is tried `attempts` times, each
/// attempt waiting `timeout / attempts`, so every port has its verdict within about one timeout.
///
/// The MSS comes from the connected socket (`mss_source` "tcp_maxseg"): TCP_MAXSEG, which TCP_INFO
/// reports as the send MSS, is the segment size in use: the peer's MSS minus 12 when timestamps
/// were negotiated (TCP_INFO says so, and the 12 is added back), and never above what our own
/// interface allows.
public final class TCPConnectMeasurement: Measurement {
    public let destination: IPAddress
    public let timeoutMs: Double
    public let attempts: Int
    public let concurrency: Int
    public private(set) var results: [TCPPortResult]
    public private(set) var isFinished = false

    private var next = 0
    /// Ports whose attempt timed out, waiting for another (they go before ports not yet tried).
    private var retry: [Int] = []
    private var inFlight = 0
    private var started: [Nanoseconds]

    public init(destination: IPAddress, ports: [UInt16], timeoutMs: Double, attempts: Int, concurrency: Int = 256) {
        self.destination = destination
        self.timeoutMs = timeoutMs
        self.attempts = max(1, attempts)
        self.concurrency = max(1, concurrency)
        results = ports.map { TCPPortResult(port: $0, state: .filtered, attempts: 0) }
        started = [Nanoseconds](repeating: 0, count: ports.count)
    }

    /// Connections opened (every attempt).
    public var probesSent: Int { results.reduce(0) { $0 + $1.attempts } }

    private var attemptTimeout: Nanoseconds { .fromMs(timeoutMs / Double(attempts)) }

    public func advance<S: ProbeScheduler>(_ s: inout S) {
        fill(&s)
    }

    public func handle<S: ProbeScheduler>(_ r: ProbeResult, _ s: inout S) {}

    public func handle<S: ProbeScheduler>(_ e: ConnectionResult, _ s: inout S) {
        let i = Int(e.tag)
        guard i < results.count else { return }
        let rtt = e.time.since(started[i]).inMs
        switch e.event {
        case let .connected(info):
            results[i].state = .open
            results[i].rttMs = rtt
            if info.sendMSS > 0 {
                results[i].mss = info.sendMSS + (info.timestamps ? 12 : 0)
                results[i].mssSource = .tcpMaxseg
            }
        case let .failed(code) where code == Errno.connectionRefused.rawValue:
            results[i].state = .closed
            results[i].rttMs = rtt
        case let .failed(code):
            results[i].state = .filtered
            results[i].error = "connect: \(ErrnoNames.describe(code))"
        case .timedOut:
            if results[i].attempts < attempts { retry.append(i) }
        case .received, .info, .peerClosed:
            return  // after the verdict: the connection is being closed
        }
        s.close(e.id)
        inFlight -= 1
        fill(&s)
    }

    private func fill<S: ProbeScheduler>(_ s: inout S) {
        while inFlight < concurrency {
            let index: Int
            if let r = retry.popLast() {
                index = r
            } else if next < results.count {
                index = next
                next += 1
            } else {
                break
            }
            results[index].attempts += 1
            started[index] = s.now
            inFlight += 1
            _ = s.connect(ConnectionRequest(destination: destination, port: results[index].port, timeout: attemptTimeout,
                                            tag: UInt32(index)))
        }
        if inFlight == 0 && retry.isEmpty && next == results.count { isFinished = true }
    }
}
