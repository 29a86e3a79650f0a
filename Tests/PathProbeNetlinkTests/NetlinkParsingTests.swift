import Testing
import PathProbeCore
@testable import PathProbeNetlink

/// Parsing of netlink messages built by hand, as the kernel would send them (UAPI numbers spelled
/// out so the tests do not depend on the C headers).
@Suite struct NetlinkParsingTests {
    typealias Attr = (type: Int, value: [UInt8])

    static func message(type: UInt16, header: [UInt8], attributes: [Attr]) -> NetlinkMessage {
        let body = header + [UInt8](repeating: 0, count: NetlinkBytes.align(header.count) - header.count)
            + NetlinkAttributes.encode(attributes)
        let length = UInt32(NetlinkMessage.headerSize + body.count)
        let bytes = NetlinkBytes.bytes(of: length) + NetlinkBytes.bytes(of: type) + NetlinkBytes.bytes(of: UInt16(0))
            + [UInt8](repeating: 0, count: 8) + body
        return NetlinkMessage(bytes: bytes)!
    }

    static func u32(_ v: Int) -> [UInt8] { NetlinkBytes.bytes(of: UInt32(v)) }
    static func string(_ s: String) -> [UInt8] { Array(s.utf8) + [0] }
    static func nested(_ attributes: [Attr]) -> [UInt8] { NetlinkAttributes.encode(attributes) }

    /// struct ifinfomsg: family, pad, type, index, flags, change.
    static func ifinfomsg(index: Int, arphrd: UInt16 = 1) -> [UInt8] {
        [0, 0] + NetlinkBytes.bytes(of: arphrd) + NetlinkBytes.bytes(of: Int32(index)) + [UInt8](repeating: 0, count: 8)
    }

    @Test func attributesRoundTripWithPaddingAndFlags() {
        let encoded = NetlinkAttributes.encode([(3, Self.string("eth0")), (4, Self.u32(1500)), (0x8000 | 18, [1, 2, 3])])
        #expect(encoded.count == 12 + 8 + 8)
        let a = NetlinkAttributes(encoded)
        #expect(a.string(3) == "eth0")
        #expect(a.u32(4) == 1500)
        #expect(a[18] == [1, 2, 3])  // NLA_F_NESTED is masked off
        #expect(a.u32(99) == nil)
    }

    @Test func truncatedAttributeStopsParsing() {
        var encoded = NetlinkAttributes.encode([(4, Self.u32(1500)), (3, Self.string("eth0"))])
        encoded.removeLast(6)
        let a = NetlinkAttributes(encoded)
        #expect(a.u32(4) == 1500)
        #expect(a.string(3) == nil)
    }

    @Test func vxlanLinkWithMTULimitsAndIPv6Remote() throws {
        let remote = try #require(IPAddress("2001:db8::2"))
        let m = Self.message(type: 16, header: Self.ifinfomsg(index: 7), attributes: [
            (3, Self.string("vx0")), (4, Self.u32(1430)), (50, Self.u32(68)), (51, Self.u32(65535)), (16, [6]),
            (18, Self.nested([(1, Self.string("vxlan")), (2, Self.nested([(3, Self.u32(2)), (16, remote.bytes)]))])),
        ])
        let link = try #require(LinkRecord(m))
        #expect(link.index == 7)
        #expect(link.name == "vx0")
        #expect(link.mtu == 1430)
        #expect(link.minMTU == 68)
        #expect(link.maxMTU == 65535)
        #expect(link.operstate == 6)
        #expect(link.displayKind == "vxlan")
        #expect(link.encapsulation?.boundDeviceIndex == 2)
        #expect(link.encapsulation?.remote == remote)
        #expect(link.encapsulation.flatMap(Encapsulation.of)?.overhead == 70)
    }

    @Test func linkWithoutKindIsNamedByItsType() throws {
        let lo = try #require(LinkRecord(Self.message(type: 16, header: Self.ifinfomsg(index: 1, arphrd: 772),
                                                     attributes: [(3, Self.string("lo")), (4, Self.u32(65536))])))
        #expect(lo.kind == nil)
        #expect(lo.displayKind == "loopback")
        #expect(lo.encapsulation == nil)
        #expect(lo.minMTU == nil)
    }

    @Test func pppWithoutKindIsAPPPoETunnel() throws {
        let ppp = try #require(LinkRecord(Self.message(type: 16, header: Self.ifinfomsg(index: 4, arphrd: 512),
                                                      attributes: [(3, Self.string("ppp0")), (4, Self.u32(1500))])))
        #expect(ppp.displayKind == "ppp")
        #expect(ppp.encapsulation.flatMap(Encapsulation.of)?.overhead == 8)
    }

    @Test func vxlanBoundToADeviceOfAnotherNamespaceHasNoUnderlayHere() throws {
        let vx = try #require(LinkRecord(Self.message(type: 16, header: Self.ifinfomsg(index: 7), attributes: [
            (3, Self.string("vx0")), (4, Self.u32(1450)), (37, Self.u32(1)),
            (18, Self.nested([(1, Self.string("vxlan")), (2, Self.nested([(3, Self.u32(2))]))])),
        ])))
        #expect(vx.encapsulation?.kind == "vxlan")
        #expect(vx.encapsulation?.boundDeviceIndex == nil)
    }

    @Test func peerInAnotherNamespaceIsNoParent() throws {
        let veth = try #require(LinkRecord(Self.message(type: 16, header: Self.ifinfomsg(index: 3), attributes: [
            (3, Self.string("veth0")), (4, Self.u32(1500)), (5, Self.u32(9)), (37, Self.u32(0)),
        ])))
        #expect(veth.linkIndex == nil)
        let local = try #require(LinkRecord(Self.message(type: 16, header: Self.ifinfomsg(index: 3), attributes: [
            (3, Self.string("veth0")), (4, Self.u32(1500)), (5, Self.u32(9)), (10, Self.u32(4)),
        ])))
        #expect(local.linkIndex == 9)
        #expect(local.masterIndex == 4)
    }

    @Test func addressPrefersLocal() throws {
        let header: [UInt8] = [2, 24, 0, 0] + NetlinkBytes.bytes(of: UInt32(3))
        let a = try #require(AddressRecord(Self.message(type: 20, header: header, attributes: [
            (1, [10, 0, 0, 9]), (2, [10, 0, 0, 1]),
        ])))
        #expect(a.index == 3)
        #expect(a.text == "10.0.0.1/24")
    }

    /// struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags.
    static func rtmsg(family: UInt8, dstLength: UInt8, type: UInt8 = 1, flags: UInt32) -> [UInt8] {
        [family, dstLength, 0, 0, 254, 0, 0, type] + NetlinkBytes.bytes(of: flags)
    }

    /// struct rta_cacheinfo with only rta_expires set.
    static func cacheinfo(expires: Int32) -> [UInt8] {
        [UInt8](repeating: 0, count: 8) + NetlinkBytes.bytes(of: expires) + [UInt8](repeating: 0, count: 20)
    }

    @Test func routeAnswerWithCachedException() throws {
        let m = Self.message(type: 24, header: Self.rtmsg(family: 2, dstLength: 32, flags: 0x200), attributes: [
            (15, Self.u32(254)), (1, [10, 61, 2, 2]), (4, Self.u32(2)), (5, [10, 61, 1, 1]), (7, [10, 61, 1, 2]),
            (8, Self.nested([(2, Self.u32(1400))])), (12, Self.cacheinfo(expires: 59_912)),
        ])
        let r = try #require(RouteReply(m))
        #expect(r.outputInterface == 2)
        #expect(r.gateway == IPAddress("10.61.1.1"))
        #expect(r.preferredSource == IPAddress("10.61.1.2"))
        #expect(r.exception(ticksPerSecond: 100) == PMTUException(mtu: 1400, expiresSeconds: 599))
        #expect(r.prefix == "10.61.2.2/32")
    }

    @Test func routeMetricWithoutExpiryIsNoException() throws {
        let m = Self.message(type: 24, header: Self.rtmsg(family: 2, dstLength: 24, flags: 0x200), attributes: [
            (1, [10, 61, 2, 0]), (8, Self.nested([(1, Self.u32(1 << 2)), (2, Self.u32(1300)), (8, Self.u32(1200))])),
            (12, Self.cacheinfo(expires: 0)),
        ])
        let r = try #require(RouteReply(m))
        #expect(r.exception(ticksPerSecond: 100) == nil)
        #expect(r.mtu == 1300)
        #expect(r.mtuLocked)
        #expect(r.advmss == 1200)
        #expect(r.prefix == "10.61.2.0/24")
    }

    @Test func ipv6ExceptionNeedsTheClonedFlag() throws {
        let attributes: [Attr] = [(8, Self.nested([(2, Self.u32(1400))])), (12, Self.cacheinfo(expires: 60_000))]
        let fibEntry = try #require(RouteReply(Self.message(type: 24, header: Self.rtmsg(family: 10, dstLength: 0, flags: 0),
                                                           attributes: attributes)))
        #expect(fibEntry.exception(ticksPerSecond: 100) == nil)
        #expect(fibEntry.prefix == "default")
        let cached = try #require(RouteReply(Self.message(type: 24, header: Self.rtmsg(family: 10, dstLength: 128, flags: 0x200),
                                                         attributes: attributes)))
        #expect(cached.exception(ticksPerSecond: 100)?.mtu == 1400)
        let expired = try #require(RouteReply(Self.message(type: 24, header: Self.rtmsg(family: 10, dstLength: 128, flags: 0x200),
                                                          attributes: [(8, Self.nested([(2, Self.u32(1400))])), (12, Self.cacheinfo(expires: -1))])))
        #expect(expired.exception(ticksPerSecond: 100) == nil)
    }

    @Test func otherMessageTypesAreIgnored() {
        let m = Self.message(type: 3, header: Self.ifinfomsg(index: 1), attributes: [])  // NLMSG_DONE
        #expect(LinkRecord(m) == nil)
        #expect(RouteReply(m) == nil)
        #expect(NetlinkMessage(bytes: [1, 2, 3]) == nil)
    }
}
