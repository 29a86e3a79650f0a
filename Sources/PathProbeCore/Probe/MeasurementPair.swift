/// Two measurements run as one (bulk's profile mode: the path MTU and the port probes of a target).
/// The second one's probes carry bit 31 of the tag so each result goes back to its owner; both
/// measurements must leave that bit clear in their own tags (PathMTUMeasurement and
/// ReachMeasurement use purposes below 8 in the top four bits).
public final class MeasurementPair: Measurement {
    public let first: any Measurement
    public let second: any Measurement
    static let secondBit: UInt32 = 1 << 31

    public init(_ first: any Measurement, _ second: any Measurement) {
        self.first = first
        self.second = second
    }

    public var isFinished: Bool { first.isFinished && second.isFinished }

    public func advance<S: ProbeScheduler>(_ s: inout S) {
        if !first.isFinished { withMarking(false, &s) { first.advance(&$0) } }
        if !second.isFinished { withMarking(true, &s) { second.advance(&$0) } }
    }

    public func handle<S: ProbeScheduler>(_ r: ProbeResult, _ s: inout S) {
        let isSecond = r.tag & Self.secondBit != 0
        var result = r
        result.tag &= ~Self.secondBit
        result.request.tag &= ~Self.secondBit
        let owner = isSecond ? second : first
        guard !owner.isFinished else { return }
        withMarking(isSecond, &s) { owner.handle(result, &$0) }
    }

    public func handle<S: ProbeScheduler>(_ e: ConnectionResult, _ s: inout S) {
        let isSecond = e.tag & Self.secondBit != 0
        var event = e
        event.tag &= ~Self.secondBit
        event.request.tag &= ~Self.secondBit
        let owner = isSecond ? second : first
        guard !owner.isFinished else { return }
        withMarking(isSecond, &s) { owner.handle(event, &$0) }
    }

    private func withMarking<S: ProbeScheduler>(_ mark: Bool, _ s: inout S, _ body: (inout Marking<S>) -> Void) {
        var m = Marking(base: s, mark: mark)
        body(&m)
        s = m.base
    }

    /// Passes probes and wake-ups through, marking the second measurement's probes.
    struct Marking<Base: ProbeScheduler>: ProbeScheduler {
        var base: Base
        let mark: Bool
        var now: Nanoseconds { base.now }

        mutating func send(_ probe: ProbeRequest) {
            var p = probe
            assert(p.tag & MeasurementPair.secondBit == 0, "a paired measurement used bit 31 of its tag")
            if mark { p.tag |= MeasurementPair.secondBit }
            base.send(p)
        }

        mutating func wake(at time: Nanoseconds) { base.wake(at: time) }

        mutating func connect(_ request: ConnectionRequest) -> ConnectionID {
            var r = request
            assert(r.tag & MeasurementPair.secondBit == 0, "a paired measurement used bit 31 of its tag")
            if mark { r.tag |= MeasurementPair.secondBit }
            return base.connect(r)
        }

        mutating func write(_ bytes: [UInt8], to connection: ConnectionID) { base.write(bytes, to: connection) }
        mutating func requestInfo(_ connection: ConnectionID) { base.requestInfo(connection) }
        mutating func close(_ connection: ConnectionID) { base.close(connection) }
    }
}
