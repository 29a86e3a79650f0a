@testable import PathProbeCore

/// Targets for text pathprobe reads from files and command lines: JSON reports, bulk input and
/// output files, addresses, port lists.
enum TextTargets {
    static func json(_ b: UnsafeRawBufferPointer) {
        guard let value = try? JSON.parse(b.text) else { return }
        let compact = value.serialized()
        keep(value.serialized(pretty: true))
        // What pathprobe writes, it reads back as the same value (numbers that JSON cannot hold,
        // such as 1e400 read as infinity and written as null, excepted).
        guard allNumbersFinite(value) else { return }
        let again = try? JSON.parse(compact)
        expect(again == value, "JSON does not survive write/read: \(compact)")
    }

    private static func allNumbersFinite(_ v: JSON) -> Bool {
        switch v {
        case let .double(d): return d.isFinite
        case let .array(items): return items.allSatisfy(allNumbersFinite)
        case let .object(fields): return fields.allSatisfy { allNumbersFinite($0.1) }
        default: return true
        }
    }

    /// `pathprobe diff` reads each file as UTF-8 text and parses it as JSON. The input is one report,
    /// compared both ways against a small valid report, or two reports separated by a NUL byte.
    static func profileDiff(_ b: UnsafeRawBufferPointer) {
        let parts = b.split(separator: 0, maxSplits: 1, omittingEmptySubsequences: false)
            .compactMap { try? JSON.parse(String(decoding: $0, as: UTF8.self)) }
        var pairs: [(JSON, JSON)] = []
        if let first = parts.first { pairs += [(baselineReport, first), (first, baselineReport)] }
        if parts.count == 2 { pairs.append((parts[0], parts[1])) }
        for (before, after) in pairs {
            guard let diff = try? ProfileDiff(before: before, after: after, force: true) else { continue }
            keep(diff.text(style: Style(enabled: true)))
            keep(diff.json.serialized(pretty: true))
        }
    }

    /// A small report every input is compared with (schema 1, as `pathprobe profile --json` writes it).
    static let baselineReport: JSON = {
        let text = #"""
            {"report":"pathprobe-profile","schema_version":1,"target":"192.0.2.10","address":"192.0.2.10",
             "started_at":"2025-01-01T00:00:00Z",
             "mtu":{"status":"measured","path_mtu":1400,"black_hole":true,"black_hole_hop":{"ttl":2,"address":"10.0.1.1"}},
             "reach":{"tcp":[{"port":443,"state":"open","mss":1360},{"port":3389,"state":"filtered","mss":null}],
                      "udp":[{"port":3391,"state":"open|filtered"},{"port":53,"state":"closed"}],
                      "responder":{"fragments_pass":true,"udp_path_mtu_up":1400,"udp_path_mtu_down":null}},
             "local":{"interface":{"name":"eth0","mtu":1500,"offloads":{"tso":{"active":true},"gro":{"active":false}}}},
             "findings":[{"id":"pmtu-black-hole","severity":"critical","message":"m","evidence":{},"interface":null}],
             "recommendations":[{"id":"clamp-mss","summary":"clamp the MSS to 1360","value":1360}]}
            """#
        return (try? JSON.parse(text)) ?? .null
    }()

    /// Input lines as `pathprobe bulk` reads them ("\n" ends a line, a last line without one counts).
    /// Ranges expand lazily; at most `targetCap` targets are pulled per input so one input cannot
    /// take minutes (a line may expand to 65,536 addresses).
    static let targetCap = 200_000

    static func bulkInput(_ b: UnsafeRawBufferPointer) {
        var lines = b.split(separator: 0x0a, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        if lines.last == "" { lines.removeLast() }
        var reader = BulkTargetReader(lines.makeIterator())
        var pulled = 0
        while pulled < targetCap, let target = reader.next() {
            keep(target.key)
            pulled += 1
        }
        keep(bulkTargetCount(lines.makeIterator()))
        for line in lines.prefix(64) {
            guard let (_, item) = BulkInput.parse(line: line) else { continue }
            if case let .range(_, count) = item { expect(count <= BulkInput.rangeCap, "range larger than rangeCap: \(count) addresses in '\(line)'") }
        }
    }

    /// `bulk --resume` scans the earlier output in 64 KiB chunks; chunk boundaries must not matter.
    static let csvColumns = ["target", "line", "status", "path_mtu", "error"]

    static func bulkResume(_ b: UnsafeRawBufferPointer) {
        for format in [BulkResumeScanner.Format.jsonLines, .csv(columns: csvColumns)] {
            var whole = BulkResumeScanner(format: format)
            whole.feed(b)
            var chunked = BulkResumeScanner(format: format)
            var offset = 0
            while offset < b.count {
                let end = min(b.count, offset + 7)
                chunked.feed(UnsafeRawBufferPointer(rebasing: b[offset..<end]))
                offset = end
            }
            expect(whole.records == chunked.records && whole.keepBytes == chunked.keepBytes
                   && whole.unreadable == chunked.unreadable && whole.hasHeader == chunked.hasHeader,
                   "chunked scan differs from a whole scan")
            expect(whole.keepBytes <= b.count, "keepBytes past the end: \(whole.keepBytes) of \(b.count)")
            expect(whole.keepBytes == 0 || b[whole.keepBytes - 1] == 0x0a, "keepBytes not at the end of a line: \(whole.keepBytes)")
            keep(try? whole.finish())
        }
    }

    /// Any text through the CSV reader; and fields written by BulkCSV read back unchanged (fields are
    /// the input split at 0x1f, the ASCII unit separator).
    static func bulkCSV(_ b: UnsafeRawBufferPointer) {
        let text = b.text
        let parsed = BulkCSV.parse(text)
        expect(parsed.complete <= text.utf8.count, "CSV complete count past the end: \(parsed.complete)")
        let fields = b.split(separator: 0x1f, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        let line = BulkCSV.line(fields)
        let back = BulkCSV.parse(line)
        expect(back.records == [fields], "CSV does not survive write/read: \(fields) -> \(line.debugDescription) -> \(back.records)")
    }

    /// Address literals; what parses, prints and parses back to the same address. Only digits, hex
    /// digits, ':' and '.' may make up an accepted literal (a zone after '%' aside).
    static func ipAddress(_ b: UnsafeRawBufferPointer) {
        let text = b.text
        keep(IPAddress(bytes: b))
        keep(BulkInput.literal(text))
        guard let address = IPAddress(text) else { return }
        expect(IPAddress(address.description) == address, "address does not print and parse back: \(text) -> \(address)")
        expect(IPAddress(bytes: address.bytes) == address, "address bytes do not round trip: \(text) -> \(address)")
        let literal = text.split(separator: "%", maxSplits: 1, omittingEmptySubsequences: false)[0]
        expect(literal.unicodeScalars.allSatisfy { $0.properties.isASCIIHexDigit || $0 == ":" || $0 == "." },
               "address literal with a character that is no hex digit, colon or dot: '\(text)' -> \(address)")
    }

    static func portList(_ b: UnsafeRawBufferPointer) {
        guard let ports = try? PortList.parse(b.text) else { return }
        expect(!ports.isEmpty && ports.allSatisfy { $0 >= 1 }, "port list empty or out of range: '\(b.text)' -> \(ports.prefix(8))")
        expect(Set(ports).count == ports.count, "port list with duplicates: '\(b.text)'")
    }
}
