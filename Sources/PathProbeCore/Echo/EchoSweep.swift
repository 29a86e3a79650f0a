/// Echo round trips to one address, `count` of them, `window` in flight at a time: fping's job,
/// used by the engine benchmark and for reachability sweeps.
public final class EchoSweep: Measurement {
    public let destination: IPAddress
    public let count: Int
    public let window: Int
    public let size: Int
    public let timeout: Nanoseconds
    public private(set) var sent = 0
    public private(set) var received = 0
    public private(set) var minRTT: Nanoseconds = .max
    public private(set) var maxRTT: Nanoseconds = 0
    public private(set) var totalRTT: Nanoseconds = 0
    private var outstanding = 0

    public init(destination: IPAddress, count: Int, window: Int = 1, size: Int? = nil, timeoutMs: Double = 500) {
        self.destination = destination
        self.count = count
        self.window = max(1, window)
        self.size = size ?? (destination.family == .ipv4 ? 84 : 104)  // ping's default 56-byte payload
        timeout = .fromMs(timeoutMs)
    }

    public var isFinished: Bool { sent == count && outstanding == 0 }

    public func advance<S: ProbeScheduler>(_ s: inout S) { fill(&s) }

    public func handle<S: ProbeScheduler>(_ r: ProbeResult, _ s: inout S) {
        outstanding -= 1
        if case let .echoReply(from, _) = r.outcome, from == destination {
            received += 1
            minRTT = min(minRTT, r.rtt)
            maxRTT = max(maxRTT, r.rtt)
            totalRTT &+= r.rtt
        }
        fill(&s)
    }

    private func fill<S: ProbeScheduler>(_ s: inout S) {
        while outstanding < window && sent < count {
            sent += 1
            outstanding += 1
            s.send(ProbeRequest(destination: destination, kind: .icmpEcho, size: size, timeout: timeout, tag: UInt32(sent)))
        }
    }

    public var averageRTTMs: Double? { received > 0 ? Double(totalRTT) / Double(received) / 1e6 : nil }
}
