import ArgumentParser
import Testing
@testable import PathProbeCore

/// Issue 13's crash reproducers, each kept as a test of the code that crashed (the CLI's exit
/// statuses for the same inputs are checked on the real binary in LabTests/HardeningLabTests).
@Suite struct CrashReproducerTests {
    // MARK: 1. JSON: a high surrogate followed by an escape that is not a low surrogate

    @Test(arguments: [
        (#""\ud800\ud800""#, "\u{FFFD}\u{FFFD}"),
        (#"["\udbff\u0041"]"#, "\u{FFFD}A"),
        (#""a\ud800\u0041""#, "a\u{FFFD}A"),
        (#""\ud800""#, "\u{FFFD}"),
        (#""\udc00\ud800x""#, "\u{FFFD}\u{FFFD}x"),
        (#""\ud83d\ude00""#, "😀"),
        (#""\ud800\""#, nil),
    ] as [(String, String?)])
    func surrogatesNeverTrap(_ text: String, _ expected: String?) {
        let value = try? JSON.parse(text)
        let string: String?
        if case let .array(items)? = value { string = items.first?.stringValue } else { string = value?.stringValue }
        #expect(string == expected, "\(text)")
    }

    @Test(arguments: [#""\u+041""#, #""\u-041""#, #""\u 041""#, #""\u00g1""#])
    func escapesAreFourHexDigits(_ text: String) {
        #expect(throws: JSON.ParseError.self) { try JSON.parse(text) }
    }

    /// `bulk --resume` over an output line whose target has the escape (the fuzzer's reproducer).
    @Test func resumeLineWithASurrogate() throws {
        var scanner = BulkResumeScanner(format: .jsonLines)
        scanner.feed(Array(#"{"target":"a\ud800\u0041","line":1}"#.utf8) + [0x0a])
        let r = try scanner.finish()
        #expect(r.records == 1)
        #expect(r.seen.contains(BulkTargetKey("a\u{FFFD}A")))
    }

    /// `pathprobe diff` on a report holding the escape: not a profile report, no trap.
    @Test func diffReadsAReportWithASurrogate() throws {
        let value = try JSON.parse(#"{"type":"profile","schema_version":2,"target":"\ud800\ud800","line":null}"#)
        #expect(throws: (any Error).self) { try Contract.decode(ProfileReport.self, from: value) }
    }

    // MARK: 2-4. numeric options: finite, in range; saturating time

    @Test(arguments: ["nan", "-nan", "inf", "-inf", "1e-300", "1e-10", "0.5", "-1", "2e7", "1e300"])
    func probeRateOutOfRange(_ value: String) {
        #expect(throws: (any Error).self) { try ProbeArguments.parse(["--rate", value]) }
    }

    @Test(arguments: ["0", "1", "1000", "50000", "10000000"])
    func probeRateInRange(_ value: String) throws {
        #expect(try ProbeArguments.parse(["--rate", value]).rate == Double(value))
    }

    @Test(arguments: ["nan", "inf", "0", "-1", "1e-300", "61", "1e300"])
    func timeoutOutOfRange(_ value: String) {
        #expect(throws: (any Error).self) { try ProbeArguments.parse(["--timeout", value]) }
    }

    /// serve's --rate, --duration, --max-pps, --max-bytes use the same checks (the command itself
    /// lives in the executable: HardeningLabTests runs it).
    @Test func everyKindOfNumberHasOneRange() {
        for v in [Double.nan, .infinity, -.infinity, 1e300, 2e10, -1] {
            #expect(!OptionLimit.duration.allows(v), "--duration \(v)")
        }
        for v in [Double.nan, .infinity, 1e-300, .leastNonzeroMagnitude, 0, -1] {
            #expect(!OptionLimit.replyRate.allows(v), "serve --rate \(v)")
        }
        #expect(OptionLimit.probeRate.allows(0) && !OptionLimit.replyRate.allows(0), "0 is 'unlimited' only where documented")
        #expect(OptionLimit.duration.allows(3600) && OptionLimit.timeout.allows(0.5))
        #expect(OptionLimit.probeRate.message(option: "--rate") == "--rate must be 0 (unlimited) or a number from 1 to 10000000 packets per second")
    }

    @Test func timeArithmeticSaturates() {
        #expect(Nanoseconds.fromMs(.nan) == 0)
        #expect(Nanoseconds.fromMs(-5) == 0)
        #expect(Nanoseconds.fromMs(.infinity) == .max)
        #expect(Nanoseconds.fromMs(1e300) == .max)
        #expect(Nanoseconds.fromSeconds(2e10) == .max)
        #expect(Nanoseconds.fromSeconds(1e300 * 1000) == .max)
        #expect(Nanoseconds.fromMs(1.5) == 1_500_000)
        #expect(Nanoseconds.fromSeconds(1) == 1_000_000_000)
        #expect(Nanoseconds(5).adding(.max) == .max)
        #expect(Nanoseconds(5).adding(7) == 12)
        #expect(Nanoseconds(5).since(7) == 0 && Nanoseconds(7).since(5) == 2)
    }

    /// An arrival stamped a little before the measurement began (the kernel's realtime stamp, moved
    /// to the monotonic clock with an offset read while the thread was preempted) made
    /// `finishedAt - startedAt` trap (SIGILL; a candidate for an exporter crash under load that was
    /// never reproduced). Time going backwards is now a zero duration.
    @Test func anAnswerStampedBeforeTheStartIsNoTrap() {
        struct BackwardsClock: ProbeScheduler {
            var now: Nanoseconds = 5_000_000
            var sent: [ProbeRequest] = []
            mutating func send(_ probe: ProbeRequest) { sent.append(probe) }
            mutating func wake(at time: Nanoseconds) {}
        }
        var options = PathMTUOptions(destination: IPAddress("10.0.3.2")!, maxSize: 1500)
        options.traceHops = false
        options.retries = 1
        let m = PathMTUMeasurement(options: options)
        var s = BackwardsClock()
        m.advance(&s)
        s.now = 4_000_000  // the answers' stamps: a millisecond before the start
        for p in s.sent {
            m.handle(ProbeResult(tag: p.tag, request: p, outcome: .unreachable(type: 3, code: 1, from: IPAddress("10.0.1.2")!), rtt: 1), &s)
        }
        #expect(m.isFinished && m.result.durationMs == 0 && !m.result.reachable)
    }

    // MARK: 5. serve --rate 1e-300, then 4,097 sources

    @Test(arguments: [1e-300, Double.leastNonzeroMagnitude, 0.01])
    func tinyRateAndManySources(_ rate: Double) {
        var limiter = SourceRateLimiter(rate: rate, burst: rate / 2, capacity: 4096)
        var allowed = 0
        for i in 0..<5000 {
            if limiter.allow(IPAddress(ipv4: 0x0a00_0000 | UInt32(i)), now: Nanoseconds(i) * 1_000_000) { allowed += 1 }
        }
        #expect(allowed == 5000, "each new source has its burst (at least one reply)")
        #expect(limiter.trackedSources == 4096)
        #expect(limiter.evictions == 5000 - 4096)
        let again = limiter.allow(IPAddress(ipv4: 0x0a00_0000 | 4999), now: 6_000_000_000)
        #expect(!again, "a tiny rate never refills within the run")
    }

    @Test func nanRateDoesNotMeanUnlimited() {
        var b = RateBucket(rate: .nan, burst: .nan, now: 0)
        let first = b.take(now: 0)
        let later = b.take(now: 1_000_000_000_000)
        #expect(first)
        #expect(!later, "no refill from NaN")
    }

    // MARK: 6. bulk input: over-long lines

    @Test func anOverlongLineIsAnErrorRecord() throws {
        let long = String(repeating: "a", count: BulkInput.lineCap + 1)
        let (text, item) = try #require(BulkInput.parse(line: long))
        #expect(text.count < 80)
        guard case let .invalid(why) = item else { Issue.record("\(item)"); return }
        #expect(why.contains("longer than \(BulkInput.lineCap) bytes"))
        let zeros = String(decoding: [UInt8](repeating: 0, count: BulkInput.lineCap + 1), as: UTF8.self)
        #expect(BulkInput.parse(line: zeros).map { if case .invalid = $0.item { true } else { false } } == true)
    }
}

/// What the fuzz targets added after the first round found (Fuzz/Crashes/, each kept as a test).
@Suite struct FuzzFindingTests {
    /// http-response: "HTTP/1.1 096 ..." was a head with status 96; RFC 9110 codes are 100-599.
    @Test func statusCodesOutsideTheClassesAreNotHTTP() {
        let found = Array("HTTP/1.1 096 ing Protocols\r\npUgrade: wk Upgrade\r\nSec-WebSocket-Iccept: s3pPLM&iTxaQ9kYGzzhZt-AcxOo=\r\n\r\n".utf8)
        #expect(HTTPResponseHead.parse(found) == .invalid("malformed status line"))
        for code in ["000", "099", "600", "999"] {
            #expect(HTTPResponseHead.parse(Array("HTTP/1.1 \(code) X\r\n\r\n".utf8)) == .invalid("malformed status line"), "\(code)")
        }
        if case let .head(h, _) = HTTPResponseHead.parse(Array("HTTP/1.1 101 Switching Protocols\r\n\r\n".utf8)) {
            #expect(h.status == 101)
        } else {
            Issue.record("101 is a status")
        }
    }
}

/// Addresses: one rule (inet_pton's) for every literal, and names that look like numbers never
/// reach the resolver.
@Suite struct AddressRuleTests {
    @Test(arguments: ["+1::", "1::+2", "-0::1", "::+1", "1:+2::", "0x7f.0.0.1", "127.1", "010.0.0.1", "1.2.3.04",
                      "2130706433", "0x7f000001", "127.0.0.1.", "1::2:3:4:5:6:7:8", "::fffff"])
    func notAnAddress(_ text: String) {
        #expect(IPAddress(text) == nil, "\(text)")
    }

    @Test(arguments: ["127.0.0.1", "0.0.0.0", "10.0.0.10", "100.64.0.1", "::", "::1", "2001:DB8::a", "::ffff:10.0.0.1"])
    func anAddress(_ text: String) {
        #expect(IPAddress(text) != nil, "\(text)")
    }

    @Test(arguments: [("127.1", "not a valid IPv4 address"), ("0x7f.0.0.1", "not a valid IPv4 address"),
                      ("2130706433", "not a valid IPv4 address"), ("0x7f", "not a valid IPv4 address"),
                      ("10.0.0.300", "not a valid IPv4 address"), ("+1::", "not a valid IPv6 address"),
                      ("1::+2", "not a valid IPv6 address")])
    func numericLookalikesAreNotHostNames(_ text: String, _ why: String) {
        #expect(HostName.problem(text) == why)
        #expect(BulkInput.parse(line: text)?.item == .invalid(why))
    }

    @Test(arguments: ["gw.example.net", "localhost", "1.2.3.4.example.com", "host-1", "0x7f.example", "a.b.c."])
    func hostNames(_ text: String) {
        #expect(HostName.problem(text) == nil, "\(text)")
    }
}

/// The responder's defences as values: LRU instead of refusal, the global ceiling, the log budget.
@Suite struct ResponderLimitTests {
    @Test func lruTableForgetsTheLeastRecentlyUsed() {
        var t = LRUTable<Int, String>(capacity: 3)
        for k in 1...3 { _ = t.slot(for: k) { "v\(k)" } }
        _ = t.slot(for: 1) { "new" }  // 1 is now the most recent
        let (s, inserted) = t.slot(for: 4) { "v4" }
        let value = t[slot: s]
        #expect(inserted && value == "v4")
        #expect(t.peek(2) == nil, "2 was the least recently used")
        #expect(t.keysByRecency == [4, 1, 3])
        #expect(t.count == 3 && t.evictions == 1)
        #expect(t.peek(1) == "v1")
    }

    @Test func lruTableStaysConsistentUnderChurn() {
        var t = LRUTable<UInt32, UInt32>(capacity: 64)
        var rng = SplitMix64(seed: 7)
        for _ in 0..<20_000 {
            let k = UInt32(truncatingIfNeeded: rng.next() % 200)
            let (s, _) = t.slot(for: k) { k }
            #expect(t[slot: s] == k)
        }
        #expect(t.count == 64)
        #expect(Set(t.keysByRecency).count == 64)
    }

    @Test func newSourcesAreNeverRefused() {
        var limiter = SourceRateLimiter(rate: 10, burst: 5, capacity: 2)
        let a = IPAddress("10.0.0.1")!, b = IPAddress("10.0.0.2")!, c = IPAddress("10.0.0.3")!
        let allowed = (0..<20).filter { _ in limiter.allow(a, now: 0) }.count
        #expect(allowed == 5, "the burst, then nothing at the same instant")
        let other = limiter.allow(b, now: 0)
        #expect(other, "another source has its own bucket")
        let newcomer = limiter.allow(c, now: 0)
        #expect(newcomer, "a full table forgets its least recently used source")
        #expect(limiter.trackedSources == 2 && limiter.evictions == 1)
        let back = limiter.allow(a, now: 0)
        #expect(back, "a was forgotten: it starts over with a full bucket")
    }

    @Test func theCeilingHoldsOverAnyNumberOfSources() {
        var ceiling = ResponderCeiling(packetsPerSecond: 1000, bytesPerSecond: 0)
        var limiter = SourceRateLimiter(rate: 200, burst: 100, capacity: 4096)
        var sent = 0
        // 16,384 sources, 38,000 requests a second, for 2 seconds.
        for i in 0..<76_000 {
            let now = Nanoseconds(i) * 1_000_000_000 / 38_000
            let source = IPAddress(ipv4: 0x0a00_0000 | UInt32(i % 16_384))
            if limiter.allow(source, now: now), ceiling.allow(size: 64, now: now) { sent += 1 }
        }
        #expect(sent <= 2 * 1000 + 100 + 1, "\(sent) replies in 2 s under a 1000/s ceiling")
        #expect(sent >= 2 * 1000)
        var bytes = ResponderCeiling(packetsPerSecond: 0, bytesPerSecond: 100_000)
        let replies = (0..<1000).filter { bytes.allow(size: 1000, now: Nanoseconds($0) * 1_000_000) }.count
        #expect(replies <= 100 + 66, "100 kB/s for one second, plus the burst")
    }

    @Test func logBudgetCountsWhatItHoldsBack() {
        var log = LogBudget(linesPerSecond: 5, burst: 20, now: 0)
        let written = (0..<1000).filter { _ in log.allow(now: 0) != nil }.count
        #expect(written == 20)
        #expect(log.suppressed == 980)
        let next = log.allow(now: 1_000_000_000)
        #expect(next == 980, "the next line says how many were held back")
        #expect(log.suppressed == 0)
    }
}
