import Testing
@testable import PathProbeCore

/// Records, CSV escaping and reading, --resume scanning (a cut-off last record included), and the
/// summary with its PMTU histogram.
@Suite struct BulkOutputTests {
    func mtuRecord(_ target: String, mtu: Int?, blackHole: Bool = false, reachable: Bool = true) -> JSON {
        var r = PathMTUResult(address: IPAddress(target) ?? IPAddress(ipv4: 1), family: .ipv4)
        r.target = target
        r.reachable = reachable
        r.pathMTU = mtu
        r.blackHole = blackHole
        if !reachable { r.unreachableReason = "no answer to 6 probes" }
        return r.json
    }

    @Test func lineGoesRightAfterTarget() {
        let r = BulkRecord.withLine(mtuRecord("10.0.0.1", mtu: 1500), line: 7)
        guard case let .object(fields) = r else { Issue.record("not an object"); return }
        #expect(fields[0].0 == "target")
        #expect(fields[1].0 == "line")
        #expect(r["line"]?.intValue == 7)
        #expect(BulkRecord.withLine(.object([("a", .int(1))]), line: 3).serialized() == #"{"line":3,"a":1}"#)
    }

    @Test func errorRecordsHaveTheDocumentedShape() {
        let e = BulkRecord.error(target: "10.0.0.300", line: 4, message: "not a valid IPv4 address")
        #expect(BulkRecord.jsonLine(e) == #"{"target":"10.0.0.300","line":4,"error":"not a valid IPv4 address"}"# + "\n")
        #expect(BulkRecord.isError(e))
        #expect(!BulkRecord.isError(mtuRecord("10.0.0.1", mtu: nil, reachable: false)), "unreachable is a result, not an error record")
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

    @Test func csvFieldsFollowTheColumns() {
        let mode = BulkMTUMode(settings: .init())
        var result = PathMTUResult(address: IPAddress("10.72.128.5")!, family: .ipv4)
        result.target = "10.72.128.5"
        result.reachable = true
        result.pathMTU = 1400
        result.blackHole = true
        result.blackHoleHop = .init(ttl: 2, address: IPAddress("10.0.2.2")!)
        let record = BulkRecord.withLine(result.json, line: 12)
        let fields = mode.csvFields(for: record)
        #expect(fields.count == mode.csvColumns.count)
        let byName = Dictionary(uniqueKeysWithValues: zip(mode.csvColumns, fields))
        #expect(byName["target"] == "10.72.128.5")
        #expect(byName["line"] == "12")
        #expect(byName["path_mtu"] == "1400")
        #expect(byName["mss"] == "1360")
        #expect(byName["black_hole"] == "true")
        #expect(byName["black_hole_hop.ttl"] == "2")
        #expect(byName["black_hole_hop.address"] == "10.0.2.2")
        #expect(byName["error"] == "")
        let error = mode.csvFields(for: BulkRecord.error(target: "bad!", line: 3, message: "not a host name"))
        #expect(error.first == "bad!")
        #expect(error.last == "not a host name")
    }

    @Test func resumeJSONLinesWithACutOffLastLine() throws {
        let done = ["10.0.0.1", "gw.example.net", "010.0.0.2"]
        var text = done.enumerated().map { i, t in BulkRecord.jsonLine(BulkRecord.withLine(mtuRecord(t, mtu: 1500), line: i + 1)) }.joined()
        text += BulkRecord.jsonLine(BulkRecord.error(target: "10.0.0.300", line: 9, message: "not a valid IPv4 address"))
        let complete = text.utf8.count
        text += #"{"target":"10.0.0.3","line":4,"address":"10.0.0.3","fam"#  // the crash cut this one
        var scanner = BulkResumeScanner(format: .jsonLines)
        // Fed in small pieces, as a file read in chunks is.
        let bytes = Array(text.utf8)
        for start in stride(from: 0, to: bytes.count, by: 7) { scanner.feed(bytes[start..<min(start + 7, bytes.count)]) }
        let r = try scanner.finish()
        #expect(r.records == 4)
        #expect(r.keepBytes == complete)
        #expect(r.seen.contains(BulkTargetKey("10.0.0.1")))
        #expect(r.seen.contains(BulkTargetKey("GW.example.net")))
        #expect(r.seen.contains(BulkTargetKey("10.0.0.2")), "010.0.0.2 and 10.0.0.2 are one target")
        #expect(r.seen.contains(BulkTargetKey("10.0.0.300")), "bad lines are done too")
        #expect(!r.seen.contains(BulkTargetKey("10.0.0.3")), "the cut-off record is measured again")
        #expect(r.seen.origin(of: BulkTargetKey("10.0.0.1")) == .earlierRun)
    }

    @Test func resumeReadsEscapedTargetsAndOtherKeyOrders() throws {
        var scanner = BulkResumeScanner(format: .jsonLines)
        scanner.feed(Array((#"{"target":"we\"ird","line":1,"error":"x"}"# + "\n" + #"{"line":2,"target":"10.9.9.9"}"# + "\n").utf8))
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

    @Test func summaryHistogramAndCounts() {
        let mode = BulkMTUMode(settings: .init())
        var s = BulkSummary(mode: "mtu")
        for i in 0..<5 { mode.tally(mtuRecord("10.0.0.\(i)", mtu: 1500), into: &s) }
        for i in 0..<3 { mode.tally(mtuRecord("10.0.1.\(i)", mtu: 1492), into: &s) }
        for i in 0..<4 { mode.tally(mtuRecord("10.0.2.\(i)", mtu: 1400, blackHole: true), into: &s) }
        mode.tally(mtuRecord("10.0.3.1", mtu: nil, reachable: false), into: &s)
        mode.tally(BulkRecord.error(target: "x!", line: 1, message: "bad"), into: &s)
        s.duplicates = 2
        s.probesSent = 1000
        s.durationSeconds = 2
        #expect(s.records == 14)
        #expect(s.errors == 1)
        #expect(s.statuses == ["measured": 12, "unreachable": 1])
        #expect(s.pathMTUs == [1500: 5, 1492: 3, 1400: 4])
        #expect(s.blackHoles == 4)
        let json = s.json
        #expect(json["complete"]?.boolValue == true)
        #expect(json["black_holes"]?.intValue == 4)
        #expect(json["probes_per_s"]?.intValue == 500)
        let histogram = json["path_mtu"]?.arrayValue ?? []
        #expect(histogram.map { $0["mtu"]?.intValue } == [1500, 1492, 1400])
        #expect(histogram.map { $0["black_holes"]?.intValue } == [0, 0, 4])
        #expect(json["status"]?["unreachable"]?.intValue == 1)
        let text = s.text()
        #expect(text.contains("1400"))
        #expect(text.contains("black holes: 4"))
        #expect(text.contains("duplicates 2"))
        s.addPortState("tcp/443", "open")
        s.addPortState("tcp/443", "filtered")
        s.addPortState("tcp/443", "open")
        #expect(s.json["ports"]?["tcp/443"]?["open"]?.intValue == 2)
        s.stoppedBy = "SIGINT"
        #expect(s.json["complete"]?.boolValue == false)
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

    @Test func mtuModeRejectsSizesOutsideTheFamily() {
        var settings = BulkMTUMode.Settings()
        settings.maxSize = 1200
        let mode = BulkMTUMode(settings: settings)
        #expect(throws: BulkTargetError.self) {
            _ = try mode.makeMeasurement(for: BulkTarget(text: "2001:db8::1", line: 1, address: IPAddress("2001:db8::1")!))
        }
        let v4 = try? mode.makeMeasurement(for: BulkTarget(text: "10.0.0.1", line: 2, address: IPAddress("10.0.0.1")!, localMTU: 1500))
        #expect(v4 != nil)
    }
}
