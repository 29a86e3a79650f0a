import Testing
@testable import PathProbeCore

/// The bulk input format: targets, comments, CIDR expansion and its cap, bad lines with their line
/// numbers, and "listed twice, measured once" keys.
@Suite struct BulkInputTests {
    func targets(_ text: String) -> [BulkTargetLine] {
        let lines = text.utf8.split(separator: 0x0a, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        var reader = BulkTargetReader(lines.makeIterator())
        var out: [BulkTargetLine] = []
        while let t = reader.next() { out.append(t) }
        return out
    }

    @Test func addressesNamesCommentsAndBlankLines() {
        let t = targets("""
            # branch offices
            10.0.0.1

            gw1.example.net   # Berlin
              2001:db8::1\r
            [2001:db8::2]
            GW2.Example.NET.
            """)
        #expect(t.map(\.line) == [2, 4, 5, 6, 7])
        #expect(t.map(\.text) == ["10.0.0.1", "gw1.example.net", "2001:db8::1", "[2001:db8::2]", "GW2.Example.NET."])
        #expect(t[0].kind == .address(IPAddress("10.0.0.1")!))
        #expect(t[1].kind == .host("gw1.example.net"))
        #expect(t[2].kind == .address(IPAddress("2001:db8::1")!))
        #expect(t[3].kind == .address(IPAddress("2001:db8::2")!))
        #expect(t[4].kind == .host("GW2.Example.NET."))
    }

    @Test func badLinesKeepTheirLineNumbers() {
        let t = targets("""
            10.0.0.1
            10.0.0.300
            10.0.0.0/33
            2001:db8:::1
            bad_host!name
            10.0.0.2 10.0.0.3
            -leading.example
            10.0.0.0/8
            2001:db8::/64
            """)
        #expect(t.count == 9)
        #expect(t[0].kind == .address(IPAddress("10.0.0.1")!))
        for (i, line) in [2, 3, 4, 5, 6, 7, 8, 9].enumerated() {
            let bad = t[i + 1]
            #expect(bad.line == line)
            guard case let .invalid(why) = bad.kind else {
                Issue.record("line \(line) '\(bad.text)' should be an error")
                continue
            }
            #expect(!why.isEmpty)
        }
        if case let .invalid(why) = t[1].kind { #expect(why.contains("IPv4")) }
        if case let .invalid(why) = t[2].kind { #expect(why.contains("0-32")) }
        if case let .invalid(why) = t[5].kind { #expect(why.contains("one target per line")) }
        if case let .invalid(why) = t[7].kind { #expect(why.contains("65536"), "the cap is named: \(why)") }
        #expect(t[7].text == "10.0.0.0/8")
    }

    @Test func ipv4RangesSkipNetworkAndBroadcast() {
        let t = targets("192.0.2.7/29\n192.0.2.64/31\n192.0.2.99/32")
        #expect(t.map(\.text) == ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5", "192.0.2.6",
                                  "192.0.2.64", "192.0.2.65", "192.0.2.99"])
        #expect(t.map(\.line) == [1, 1, 1, 1, 1, 1, 2, 2, 3])
    }

    @Test func ipv6RangesKeepEveryAddress() {
        let t = targets("2001:db8::10/126")
        #expect(t.map(\.text) == ["2001:db8::10", "2001:db8::11", "2001:db8::12", "2001:db8::13"])
    }

    @Test func theCapIsInclusive() {
        #expect(BulkInput.rangeCap == 65536)
        if case let .range(_, count)? = BulkInput.parse(line: "10.72.0.0/16")?.item { #expect(count == 65534) } else {
            Issue.record("a /16 is within the cap")
        }
        if case let .range(_, count)? = BulkInput.parse(line: "2001:db8::/112")?.item { #expect(count == 65536) } else {
            Issue.record("an IPv6 /112 is within the cap")
        }
        if case .invalid? = BulkInput.parse(line: "10.72.0.0/15")?.item {} else { Issue.record("a /15 is over the cap") }
    }

    @Test func expansionIsLazy() {
        // A /16 on line 1: taking three targets reads one line and makes three addresses.
        var lines = ["10.72.0.0/16", "10.0.0.1"].makeIterator()
        var pulled = 0
        var reader = BulkTargetReader(AnyIterator { pulled += 1; return lines.next() })
        for _ in 0..<3 { _ = reader.next() }
        #expect(pulled == 1)
        #expect(reader.linesRead == 1)
    }

    @Test func countingMatchesExpansion() {
        let text = "10.0.0.0/24\n# x\nhost.example\n\n2001:db8::/120\nbad line here"
        #expect(bulkTargetCount(text.split(separator: "\n").map(String.init).makeIterator()) == 254 + 1 + 256 + 1)
        #expect(targets(text).count == 254 + 1 + 256 + 1)
    }

    @Test func keysNormaliseHowATargetWasWritten() {
        #expect(BulkTargetKey("010.000.000.001") != BulkTargetKey("10.0.0.1"), "leading zeros: not an address (octal to inet_aton)")
        #expect(BulkTargetKey("[2001:DB8:0::1]") == BulkTargetKey("2001:db8::1"))
        #expect(BulkTargetKey("GW.example.NET.") == BulkTargetKey("gw.example.net"))
        #expect(BulkTargetKey("gw.example.net") != BulkTargetKey("gw2.example.net"))
    }

    @Test func dedupeTellsEarlierRunsFromRepeats() {
        var seen = BulkSeenSet()
        #expect(seen.insert(BulkTargetKey("10.0.0.1"), origin: .earlierRun) == nil)
        #expect(seen.insert(BulkTargetKey("gw.example.net")) == nil)
        #expect(seen.insert(BulkTargetKey("10.0.0.1")) == .earlierRun)
        #expect(seen.insert(BulkTargetKey("GW.EXAMPLE.NET")) == .thisRun)
        #expect(seen.count == 2)
        // A range listed after one of its addresses: that address only once.
        let t = targets("192.0.2.2\n192.0.2.0/30")
        var s = BulkSeenSet()
        let fresh = t.filter { s.insert($0.key) == nil }
        #expect(fresh.map(\.text) == ["192.0.2.2", "192.0.2.1"])
    }
}
