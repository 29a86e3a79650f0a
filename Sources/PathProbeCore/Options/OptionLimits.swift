import ArgumentParser

/// The sane range of every kind of number the command line takes, written once per kind and used by
/// every option of that kind: `ProbeArguments` (--rate, --timeout), `serve` (--rate per source,
/// --duration). A value outside its range, NaN or infinite is bad input (exit 2, one line), never a
/// trap or a silent 0 later in the time arithmetic.
public struct OptionLimit: Sendable {
    public let range: ClosedRange<Double>
    public let unit: String
    /// What 0 means when it is allowed outside `range` ("unlimited"), nil when it is not.
    public let zeroMeans: String?

    public init(_ range: ClosedRange<Double>, _ unit: String, zeroMeans: String? = nil) {
        self.range = range
        self.unit = unit
        self.zeroMeans = zeroMeans
    }

    /// The global probe rate (--rate of mtu, reach, profile, bulk): packets per second, 0 unlimited.
    public static let probeRate = OptionLimit(1...10_000_000, "packets per second", zeroMeans: "unlimited")
    /// A per-source reply rate (serve --rate).
    public static let replyRate = OptionLimit(0.01...1_000_000, "replies per second")
    /// The wait for one answer (--timeout).
    public static let timeout = OptionLimit(0.001...60, "seconds")
    /// How long a long-running command runs (serve --duration): at most a year.
    public static let duration = OptionLimit(0.001...31_536_000, "seconds")
    /// Global ceilings of the responder (serve --max-pps, --max-bytes), 0 unlimited.
    public static let ceilingPackets = OptionLimit(1...100_000_000, "packets per second", zeroMeans: "unlimited")
    public static let ceilingBytes = OptionLimit(1_000...100_000_000_000, "bytes per second", zeroMeans: "unlimited")

    /// Whether `value` is allowed: finite, in range (or exactly 0 where 0 means something).
    public func allows(_ value: Double) -> Bool {
        guard value.isFinite else { return false }
        return range.contains(value) || (zeroMeans != nil && value == 0)
    }

    /// The one line a bad value gets.
    public func message(option: String) -> String {
        let zero = zeroMeans.map { "0 (\($0)) or " } ?? ""
        return "\(option) must be \(zero)a number from \(Self.format(range.lowerBound)) to \(Self.format(range.upperBound)) \(unit)"
    }

    public func check(_ value: Double, option: String) throws(ValidationError) {
        if !allows(value) { throw ValidationError(message(option: option)) }
    }

    public func check(_ value: Double?, option: String) throws(ValidationError) {
        if let value { try check(value, option: option) }
    }

    static func format(_ v: Double) -> String {
        if v == v.rounded(), abs(v) < 1e15 { return String(Int(v)) }
        return String(v)
    }
}
