#if canImport(Glibc)
import Glibc
#endif

/// A small release-mode benchmark harness: warm-up runs, then repetitions, each returning one
/// sample; percentiles over the samples. It fails loudly: a run that throws, or a benchmark left
/// with no sample, ends the process with exit status 1 and the reason on stderr, so a script can
/// never print a figure that was not measured.
///
/// Output, one line per benchmark on stdout, tab-separated, for scripts/bench.sh:
///   name  unit  polarity(higher|lower)  samples  p0  p50  p90  p100  best
/// `best` is p100 for "higher" (a rate) and p0 for "lower" (a time): on a shared machine noise only
/// ever makes a run slower, so the best of several runs is the steadiest figure.
struct Harness {
    enum Polarity: String { case higher, lower }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    var warmup = 1
    var repetitions = 5
    var filter: String? = nil
    private(set) var ran = 0

    init(arguments: inout [String]) throws {
        warmup = try Self.take("--warmup", from: &arguments).map(Self.int) ?? warmup
        repetitions = try Self.take("--reps", from: &arguments).map(Self.int) ?? repetitions
        filter = try Self.take("--filter", from: &arguments)
        guard repetitions >= 1, warmup >= 0 else { throw Failure("--reps must be at least 1 and --warmup at least 0") }
    }

    /// Runs `body` warmup + repetitions times and prints the line. `body` returns the sample.
    mutating func measure(_ name: String, unit: String, _ polarity: Polarity, _ body: () throws -> Double) throws {
        if let filter, !name.contains(filter) { return }
        for _ in 0..<warmup { _ = try body() }
        var samples: [Double] = []
        for _ in 0..<repetitions {
            let v = try body()
            guard v.isFinite, v >= 0 else { throw Failure("\(name): a sample is \(v)") }
            samples.append(v)
        }
        guard !samples.isEmpty else { throw Failure("\(name): no sample") }
        samples.sort()
        func p(_ q: Double) -> Double { samples[min(samples.count - 1, Int((Double(samples.count - 1) * q).rounded()))] }
        let best = polarity == .higher ? samples.last! : samples.first!
        let fields = [name, unit, polarity.rawValue, "\(samples.count)"] + [p(0), p(0.5), p(0.9), p(1), best].map(Self.format)
        print(fields.joined(separator: "\t"))
        ran += 1
    }

    /// Call at the end: no benchmark run (a filter that matches nothing) is a failure too.
    func finish() throws {
        if ran == 0 { throw Failure("no benchmark ran\(filter.map { " (--filter \($0) matches none)" } ?? "")") }
    }

    static func format(_ v: Double) -> String {
        v >= 100 ? String(Int(v.rounded())) : String(Double(Int((v * 10000).rounded())) / 10000)
    }

    /// Seconds of monotonic time taken by `body`.
    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = now()
        try body()
        return Double(now() - start) / 1e9
    }

    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    static func take(_ flag: String, from arguments: inout [String]) throws -> String? {
        guard let i = arguments.firstIndex(of: flag) else { return nil }
        guard i + 1 < arguments.count else { throw Failure("\(flag) needs a value") }
        let v = arguments[i + 1]
        arguments.removeSubrange(i...i + 1)
        return v
    }

    static func int(_ s: String) throws -> Int {
        guard let v = Int(s) else { throw Failure("not a number: \(s)") }
        return v
    }
}
