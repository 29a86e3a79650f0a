import PathProbeCore
import PathProbeEngine

#if canImport(Glibc)
import Glibc
#endif

/// Echo round trips per second through the engine: `count` echoes to every target, one in flight
/// per target, all targets at once. The only engine API it uses is `ProbeEngine.run(concurrency:
/// next:finished:)` with `EchoSweep` measurements: port that call when the engine's API changes.
struct EchoBenchmark {
    let targets: [IPAddress]
    let count: Int

    init(file: String, count: Int) throws {
        guard let f = fopen(file, "r") else { throw Harness.Failure("cannot read \(file)") }
        defer { fclose(f) }
        var targets: [IPAddress] = []
        var line: UnsafeMutablePointer<CChar>? = nil
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, f) > 0 {
            let text = String(cString: line!).trimmingWhitespace
            if text.isEmpty || text.hasPrefix("#") { continue }
            guard let a = IPAddress(text) else { throw Harness.Failure("\(file): not an address: \(text)") }
            targets.append(a)
        }
        guard !targets.isEmpty, count >= 1 else { throw Harness.Failure("\(file): no targets (or --count below 1)") }
        self.targets = targets
        self.count = count
    }

    func run(_ harness: inout Harness) throws {
        try harness.measure("engine echo round trips/s, \(targets.count) targets x \(count)", unit: "round trips/s", .higher) {
            let engine = try ProbeEngine()
            var queue = targets.map { EchoSweep(destination: $0, count: count) }[...]
            var received = 0
            let seconds = Harness.seconds {
                engine.run(concurrency: targets.count, next: { queue.popFirst() },
                           finished: { received += ($0 as! EchoSweep).received })
            }
            let expected = targets.count * count
            guard received * 100 >= expected * 99 else {
                throw Harness.Failure("echo: \(expected - received) of \(expected) echoes unanswered: the rate would be wrong")
            }
            return Double(received) / seconds
        }
    }
}

extension String {
    var trimmingWhitespace: String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return String(s)
    }
}
