import Testing
@testable import PathProbeCore

@Suite struct X224Tests {
    @Test func connectionRequestLayout() {
        let cr = X224.connectionRequest(cookieName: "u", protocols: [.ssl, .hybrid])
        let cookie = Array("Cookie: mstshash=u\r\n".utf8)
        #expect(cr.count == 4 + 7 + cookie.count + 8)
        #expect(Array(cr[0..<4]) == [0x03, 0x00, 0x00, UInt8(cr.count)])
        #expect(cr[4] == UInt8(6 + cookie.count + 8))
        #expect(cr[5] == 0xE0)
        #expect(Array(cr[11..<(11 + cookie.count)]) == cookie)
        #expect(Array(cr.suffix(8)) == [0x01, 0x00, 0x08, 0x00, 0x03, 0x00, 0x00, 0x00])
    }

    @Test func longCookieIsCut() {
        let cr = X224.connectionRequest(cookieName: String(repeating: "x", count: 1000))
        #expect(Int(cr[4]) <= 254)
        #expect(cr.count == 4 + 7 + X224.maximumCookieLength + 8)
    }

    static func confirm(type: UInt8, value: UInt32) -> [UInt8] {
        [0x03, 0x00, 0x00, 0x13, 0x0e, 0xd0, 0, 0, 0x12, 0x34, 0, type, 0x00, 0x08, 0x00,
         UInt8(value & 0xff), UInt8(value >> 8 & 0xff), UInt8(value >> 16 & 0xff), UInt8(value >> 24)]
    }

    @Test func selectedSSL() {
        #expect(X224.parseConfirm(Self.confirm(type: 2, value: 1)) == .confirm(.selected(.ssl, code: 1, flags: 0), length: 19))
        #expect(X224.parseConfirm(Self.confirm(type: 2, value: 0)) == .confirm(.selected(.rdp, code: 0, flags: 0), length: 19))
    }

    @Test func failureCode() {
        #expect(X224.parseConfirm(Self.confirm(type: 3, value: 1)) == .confirm(.failure(.sslRequiredByServer, code: 1), length: 19))
        #expect(X224.FailureCode.sslRequiredByServer.name == "SSL_REQUIRED_BY_SERVER")
    }

    @Test func legacyAndPartialAndGarbage() {
        #expect(X224.parseConfirm([0x03, 0x00, 0x00, 0x0b, 0x06, 0xd0, 0, 0, 0, 0, 0]) == .confirm(.legacy, length: 11))
        #expect(X224.parseConfirm(Array(Self.confirm(type: 2, value: 1).prefix(10))) == .needMore)
        #expect(X224.parseConfirm([0x03]) == .needMore)
        if case .notRDP = X224.parseConfirm(Array("HTTP/1.1 400 Bad Request\r\n".utf8)) {} else { Issue.record("HTTP taken for RDP") }
        if case .notRDP = X224.parseConfirm([0x03, 0x00, 0x00, 0x05, 0xff]) {} else { Issue.record("short TPKT accepted") }
        if case .notRDP = X224.parseConfirm([0x03, 0x00, 0x00, 0x13, 0xff, 0xd0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]) {} else {
            Issue.record("oversized LI accepted")
        }
    }
}
