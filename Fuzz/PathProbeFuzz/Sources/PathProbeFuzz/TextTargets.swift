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

    /// `pathprobe diff` reads each file as UTF-8 text, parses it as JSON and decodes the `profile`
    /// document of this contract version. The input is one report, compared both ways against a
    /// small valid report, or two reports separated by a NUL byte. The text rendering must carry
    /// no control character but its line ends (the reports may hold escape sequences).
    static func profileDiff(_ b: UnsafeRawBufferPointer) {
        let parts = b.split(separator: 0, maxSplits: 1, omittingEmptySubsequences: false)
            .compactMap { try? JSON.parse(String(decoding: $0, as: UTF8.self)) }
            .compactMap { try? Contract.decode(ProfileReport.self, from: $0) }
        var pairs: [(ProfileReport, ProfileReport)] = []
        if let first = parts.first { pairs += [(baselineReport, first), (first, baselineReport)] }
        if parts.count == 2 { pairs.append((parts[0], parts[1])) }
        for (before, after) in pairs {
            guard let diff = try? ProfileDiff(before: before, after: after, force: true) else { continue }
            let text = diff.text(style: Style(enabled: false))
            expect(!text.unicodeScalars.contains { ($0.value < 0x20 && $0 != "\n") || (0x7f..<0xa0).contains($0.value) },
                   "control characters in diff's text output")
            keep(Contract.text(diff, pretty: true))
        }
    }

    /// A small report every input is compared with: a black hole, ports of every state, an
    /// interface with offloads, written as `pathprobe profile --json` writes it and read back.
    static let baselineReport: ProfileReport = {
        let address = IPAddress(ipv4: 0xc000_020a)
        var m = PathMTUResult(address: address, family: .ipv4)
        m.reachable = true
        m.pathMTU = 1400
        m.blackHole = true
        m.blackHoleHop = .init(ttl: 2, address: IPAddress(ipv4: 0x0a00_0101))
        var r = ReachResult(address: address, family: .ipv4)
        var open = TCPPortResult(port: 443, state: .open, attempts: 1)
        open.mss = 1360
        r.tcp = [open, TCPPortResult(port: 3389, state: .filtered, attempts: 2)]
        r.udp = [UDPPortResult(port: 3391, state: .openFiltered, service: .dtls, attempts: 2),
                 UDPPortResult(port: 53, state: .closed, service: .dns, attempts: 1)]
        let nic = LocalInterface(name: "eth0", index: 2, kind: "ether", operstate: "UP", mtu: 1500,
                                 offloads: [OffloadFeature(name: "rx-gro", active: true, fixed: false, requested: true)])
        let local = ProfileReport.LocalSide(inventory: LocalInventory(interfaces: [nic], sysctls: PMTUSysctls()),
                                            route: RouteInfo(target: "192.0.2.10", address: address, interface: "eth0"), interface: nil)
        let written = ProfileReport(target: "192.0.2.10", address: address, startedAt: "2026-01-01T00:00:00Z", version: "0.1.0",
                                    local: local, mtu: m, reach: r, service: .rdp)
        // Read back from its JSON, as diff reads files.
        return (try? Contract.decode(ProfileReport.self, from: JSON.parse(Contract.text(written, pretty: false)))) ?? written
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
