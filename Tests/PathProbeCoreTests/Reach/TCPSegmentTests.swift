import Testing
@testable import PathProbeCore

@Suite struct ReachTCPSegmentTests {
    let v4 = (IPAddress("10.0.1.1")!, IPAddress("10.0.3.2")!)
    let v6 = (IPAddress("fd00:1::1")!, IPAddress("fd00:3::2")!)

    /// One's-complement sum of pseudo-header and segment (checksum included) is 0xffff when valid.
    func checksumIsValid(_ segment: [UInt8], _ source: IPAddress, _ destination: IPAddress) -> Bool {
        var sum: UInt32 = 0
        var words = source.bytes + destination.bytes + [0, 6] + [UInt8(segment.count >> 8), UInt8(segment.count & 0xff)] + segment
        if words.count % 2 == 1 { words.append(0) }
        for i in stride(from: 0, to: words.count, by: 2) { sum += UInt32(words[i]) << 8 | UInt32(words[i + 1]) }
        while sum >> 16 != 0 { sum = (sum & 0xffff) + (sum >> 16) }
        return sum == 0xffff
    }

    @Test func synLikeLinux() {
        let syn = TCPSegment.syn(source: v4.0, destination: v4.1, sourcePort: 40000, destinationPort: 443,
                                 sequence: 0x0102_0304, mss: 1460, timestamp: 0x0a0b_0c0d)
        #expect(hex(syn) == "9c40" + "01bb" + "01020304" + "00000000" + "a002" + "faf0" + "7cf3" + "0000"
            + "020405b4" + "0402" + "080a0a0b0c0d00000000" + "01" + "030307")
        #expect(checksumIsValid(syn, v4.0, v4.1))
    }

    @Test func ipv6Checksum() {
        let syn = TCPSegment.syn(source: v6.0, destination: v6.1, sourcePort: 1, destinationPort: 3389,
                                 sequence: 0xffff_ffff, mss: 1440, timestamp: 1)
        #expect(checksumIsValid(syn, v6.0, v6.1))
        #expect(!checksumIsValid(syn, v6.0, IPAddress("fd00:3::3")!))
    }

    @Test func synAckWithClampedMSS() throws {
        // SYN-ACK from 443: ack = our sequence + 1, MSS 1200 (a clamp), SACK, timestamps, window scale.
        let b = bytes("01bb 9c40 aabbccdd 01020305 a012 fe88 0000 0000 020404b0 0402 080a 00000001 0a0b0c0d 01 030307")
        let a = try #require(b.withUnsafeBytes { TCPSegment.parse($0) })
        #expect(a.isSynAck)
        #expect(!a.isReset)
        #expect(a.mss == 1200)
        #expect(a.acknowledgment == 0x0102_0305)
        #expect(a.sourcePort == 443 && a.destinationPort == 40000)
    }

    @Test func resetAndMissingOptions() throws {
        let rst = bytes("0d3d 9c40 00000000 01020305 5014 0000 0000 0000")
        let a = try #require(rst.withUnsafeBytes { TCPSegment.parse($0) })
        #expect(a.isReset && !a.isSynAck)
        #expect(a.mss == nil)
    }

    @Test func malformed() {
        #expect(bytes("01bb9c40").withUnsafeBytes { TCPSegment.parse($0) } == nil)
        // Data offset 15 words but only 24 bytes.
        #expect(bytes("01bb 9c40 00000000 00000000 f012 0000 0000 0000 0204 05b4").withUnsafeBytes { TCPSegment.parse($0) } == nil)
        // An option running past the header: stop, no MSS.
        let odd = bytes("01bb 9c40 00000000 00000000 6012 0000 0000 0000 02 08 05b4")
        #expect(odd.withUnsafeBytes { TCPSegment.parse($0) }?.mss == nil)
        // MSS with a wrong length is not an MSS.
        let bad = bytes("01bb 9c40 00000000 00000000 6012 0000 0000 0000 02 03 05 00")
        #expect(bad.withUnsafeBytes { TCPSegment.parse($0) }?.mss == nil)
    }

    @Test func rawIPv4Delivery() throws {
        let segment = bytes("01bb 9c40 aabbccdd 01020305 6012 fe88 0000 0000 020405b4")
        let ip = bytes("45 00 002c 0000 4000 3e 06 0000 0a000302 0a000101")
        let p = try #require((ip + segment).withUnsafeBytes { TCPSegment.parseIPv4($0) })
        #expect(p.source == v4.1)
        #expect(p.ttl == 62)
        #expect(p.segment.mss == 1460)
        var udp = ip + segment
        udp[9] = 17
        #expect(udp.withUnsafeBytes { TCPSegment.parseIPv4($0) } == nil)
    }
}
