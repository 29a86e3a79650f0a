import Testing
@testable import PathProbeCore

/// Records, CSV escaping and reading, --resume scanning (a cut-off last record included), and the
/// summary with its PMTU histogram.
@Suite struct BulkOutputTests {
    static func mtuResult(_ target: String, mtu: Int?, blackHole: Bool = false, reachable: Bool = true, line: Int? = nil) -> PathMTUResult {
        var r = PathMTUResult(address: IPAddress(target) ?? IPAddress(ipv4: 1), family: .ipv4)
        r.target = target
        r.line = line
        r.reachable = reachable
        r.pathMTU = mtu
        r.blackHole = blackHole
        if !reachable { r.error = "no answer to 6 probes" }
        return r
    }

    func mtuRecord(_ target: String, mtu: Int?, blackHole: Bool = false, reachable: Bool = true, line: Int? = nil) -> BulkRecord {
        .mtu(Self.mtuResult(target, mtu: mtu, blackHole: blackHole, reachable: reachable, line: line))
    }

    @Test func recordsStartWithTheEnvelopeThenTargetAndLine() {
        guard case let .object(fields) = mtuRecord("10.0.0.1", mtu: 1500, line: 7).json else { Issue.record("not an object"); return }
        #expect(fields.prefix(4).map(\.0) == ["type", "schema_version", "target", "line"])
        #expect(fields[0].1 == .string("mtu") && fields[1].1 == .int(2) && fields[3].1 == .int(7))
        #expect(fields.contains { $0.0 == "error" && $0.1 == .null }, "every documented key is present, null when unknown")
    }

    @Test func errorRecordsHaveTheDocumentedShape() {
        let e = BulkRecord.error(BulkError(target: "10.0.0.300", line: 4, error: "not a valid IPv4 address"))
        #expect(e.jsonLine == #"{"type":"error","schema_version":2,"target":"10.0.0.300","line":4,"error":"not a valid IPv4 address"}"# + "\n")
        #expect(e.isError)
        #expect(!mtuRecord("10.0.0.1", mtu: nil, reachable: false).isError, "unreachable is a result, not an error record")
    }

    @Test func csvEscaping() {
        #expect(BulkCSV.escape("plain") == "plain")
        #expect(BulkCSV.escape("a,b") == "\"a,b\"")
        #expect(BulkCSV.escape("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(BulkCSV.escape("two\nlines") == "\"two\nlines\"")
        #expect(BulkCSV.escape(" padded") == "\" padded\"")
        #expect(BulkCSV.escape("") == "")
        #expect(BulkCSV.line(["a", "b,c", ""]) == "a,\"b,c\",\n")
    }

    @Test func csvRoundTrip() {
        let rows = [["target", "error"], ["x,y", "he said \"no\"\nthen left"], ["", " "]]
        let text = rows.map(BulkCSV.line).joined()
        let parsed = BulkCSV.parse(text)
        #expect(parsed.records == rows)
        #expect(parsed.complete == text.utf8.count)
        let cut = BulkCSV.parse(text + "10.0.0.9,\"unfinished")
        #expect(cut.records == rows)
        #expect(cut.complete == text.utf8.count)
    }

    @Test func resumeJSONLinesWithACutOffLastLine() throws {
        let done = ["10.0.0.1", "gw.example.net", "10.0.0.2"]
        var text = #"{"type":"nic","schema_version":2,"interfaces":[],"sysctls":{},"findings":[]}"# + "\n"  // bulk profile's first record
        text += done.enumerated().map { i, t in mtuRecord(t, mtu: 1500, line: i + 1).jsonLine }.joined()
        text += BulkRecord.error(BulkError(target: "10.0.0.300", line: 9, error: "not a valid IPv4 address")).jsonLine
        let complete = text.utf8.count
        text += #"{"type":"mtu","schema_version":2,"target":"10.0.0.3","line":4,"address":"10.0.0.3","fam"#  // the crash cut this one
        var scanner = BulkResumeScanner(format: .jsonLines)
        // Fed in small pieces, as a file read in chunks is.
        let bytes = Array(text.utf8)
        for start in stride(from: 0, to: bytes.count, by: 7) { scanner.feed(bytes[start..<min(start + 7, bytes.count)]) }
        let r = try scanner.finish()
        #expect(r.records == 4)
        #expect(r.unreadable == 0, "the nic record is no target, and not unreadable either")
        #expect(r.keepBytes == complete)
        #expect(r.seen.contains(BulkTargetKey("10.0.0.1")))
        #expect(r.seen.contains(BulkTargetKey("GW.example.net")))
        #expect(r.seen.contains(BulkTargetKey("10.0.0.2")))
        #expect(r.seen.contains(BulkTargetKey("10.0.0.300")), "bad lines are done too")
        #expect(!r.seen.contains(BulkTargetKey("10.0.0.3")), "the cut-off record is measured again")
        #expect(r.seen.origin(of: BulkTargetKey("10.0.0.1")) == .earlierRun)
    }

    @Test func resumeReadsEscapedTargetsAndOtherKeyOrders() throws {
        var scanner = BulkResumeScanner(format: .jsonLines)
        scanner.feed(Array((#"{"type":"error","schema_version":2,"target":"we\"ird","line":1,"error":"x"}"# + "\n"
            + #"{"line":2,"target":"10.9.9.9","type":"mtu"}"# + "\n").utf8))
        let r = try scanner.finish()
        #expect(r.records == 2)
        #expect(r.seen.contains(BulkTargetKey("we\"ird")))
        #expect(r.seen.contains(BulkTargetKey("10.9.9.9")))
    }

    @Test func resumeRefusesTheWrongFormat() {
        var a = BulkResumeScanner(format: .jsonLines)
        a.feed(Array("target,line\n10.0.0.1,1\n".utf8))
        #expect(throws: BulkResumeScanner.Problem.notJSONLines) { try a.finish() }
        var b = BulkResumeScanner(format: .csv(columns: ["target", "line", "error"]))
        b.feed(Array("{\"target\":\"x\"}\n".utf8))
        #expect(throws: (any Error).self) { try b.finish() }
    }

    @Test func resumeCSV() throws {
        let columns = ["target", "line", "error"]
        var text = BulkCSV.line(columns) + BulkCSV.line(["10.0.0.1", "1", ""]) + BulkCSV.line(["a,b", "2", "not a host\nname"])
        let complete = text.utf8.count
        text += "10.0.0.4,3,\"half"
        var scanner = BulkResumeScanner(format: .csv(columns: columns))
        scanner.feed(Array(text.utf8))
        let r = try scanner.finish()
        #expect(r.hasHeader)
        #expect(r.records == 2)
        #expect(r.keepBytes == complete)
        #expect(r.seen.contains(BulkTargetKey("a,b")))
        #expect(!r.seen.contains(BulkTargetKey("10.0.0.4")))
        var empty = BulkResumeScanner(format: .csv(columns: columns))
        empty.feed([UInt8]())
        #expect(try empty.finish().hasHeader == false)
    }

    @Test func summaryHistogramAndCounts() throws {
        var s = BulkSummary(mode: "mtu")
        for i in 0..<5 { s.add(mtuRecord("10.0.0.\(i)", mtu: 1500)) }
        for i in 0..<3 { s.add(mtuRecord("10.0.1.\(i)", mtu: 1492)) }
        for i in 0..<4 { s.add(mtuRecord("10.0.2.\(i)", mtu: 1400, blackHole: true)) }
        s.add(mtuRecord("10.0.3.1", mtu: nil, reachable: false))
        s.add(.error(BulkError(target: "x!", line: 1, error: "bad")))
        s.duplicates = 2
        s.probesSent = 1000
        s.durationSeconds = 2
        #expect(s.records == 14)
        #expect(s.errors == 1)
        #expect(s.statuses == [.measured: 12, .unreachable: 1])
        #expect(s.pathMTUs == [1500: 5, 1492: 3, 1400: 4])
        #expect(s.blackHoles == 4)
        #expect(s.failures == 2)
        let json = Contract.json(s)
        #expect(json["type"] == .string("bulk-summary"))
        #expect(json["complete"]?.boolValue == true)
        #expect(json["black_holes"]?.intValue == 4)
        #expect(json["probes_per_s"]?.intValue == 500)
        let histogram = json["path_mtu"]?.arrayValue ?? []
        #expect(histogram.map { $0["mtu"]?.intValue } == [1500, 1492, 1400])
        #expect(histogram.map { $0["black_holes"]?.intValue } == [0, 0, 4])
        #expect(json["status"] == .object([("measured", .int(12)), ("unreachable", .int(1)), ("incomplete", .int(0))]))
        let text = s.text()
        #expect(text.contains("1400"))
        #expect(text.contains("black holes: 4"))
        #expect(text.contains("duplicates 2"))
        var reach = ReachResult(address: IPAddress("10.0.0.9")!, family: .ipv4)
        reach.tcp = [TCPPortResult(port: 443, state: .open, attempts: 1)]
        s.add(.reach(reach))
        s.add(.reach(reach))
        let ports = try #require(Contract.json(s)["ports"]?.arrayValue)
        #expect(ports == [.object([("protocol", .string("tcp")), ("port", .int(443)),
                                   ("states", .object([("open", .int(2)), ("closed", .int(0)), ("filtered", .int(0)), ("open|filtered", .int(0))]))])])
        s.stoppedBy = "SIGINT"
        #expect(Contract.json(s)["complete"]?.boolValue == false)
        #expect(s.text().contains("--resume"))
    }

    @Test func progressLine() {
        let l = BulkProgress.line(done: 2500, total: 10000, probesPerSecond: 81234.4, failures: 3, elapsed: 2)
        #expect(l.contains("2500/10000 (25%)"))
        #expect(l.contains("81234 probes/s"))
        #expect(l.contains("ETA 0:06"))
        #expect(l.contains("failures 3"))
        #expect(BulkProgress.line(done: 10, total: nil, probesPerSecond: 0, failures: 0, elapsed: 75).contains("10 done"))
        #expect(BulkProgress.clock(75) == "1:15")
    }
}
