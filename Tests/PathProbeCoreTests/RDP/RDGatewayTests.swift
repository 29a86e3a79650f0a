import Testing
@testable import PathProbeCore

/// The RD Gateway's first requests ([MS-TSGU] 3.3.5.1) byte for byte, the response-head parser on
/// real and hostile answers, and the verdict on what answered.
@Suite struct RDGatewayTests {
    static let id = "{958F92D8-DA20-467A-BBE3-65E7E9B4EDCF}"

    @Test func outDataRequestGolden() {
        let request = RDGateway.outDataRequest(host: "gw.example.com", connectionId: Self.id)
        #expect(String(decoding: request, as: UTF8.self) == """
            RDG_OUT_DATA /remoteDesktopGateway/ HTTP/1.1\r
            Host: gw.example.com\r
            Accept: */*\r
            Cache-Control: no-cache\r
            Pragma: no-cache\r
            Connection: Keep-Alive\r
            User-Agent: MS-RDGateway/1.0\r
            RDG-Connection-Id: {958F92D8-DA20-467A-BBE3-65E7E9B4EDCF}\r
            Content-Length: 0\r
            \r

            """)
    }

    @Test func webSocketRequestGolden() {
        // RFC 6455 1.3's sample nonce: "the sample nonce" is dGhlIHNhbXBsZSBub25jZQ==.
        let request = RDGateway.webSocketRequest(host: "fd00:3::2", port: 8443, connectionId: Self.id,
                                                 key: Array("the sample nonce".utf8))
        #expect(String(decoding: request, as: UTF8.self) == """
            RDG_OUT_DATA /remoteDesktopGateway/ HTTP/1.1\r
            Host: [fd00:3::2]:8443\r
            Accept: */*\r
            Cache-Control: no-cache\r
            Pragma: no-cache\r
            Connection: Upgrade\r
            Upgrade: websocket\r
            Sec-WebSocket-Version: 13\r
            Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r
            User-Agent: MS-RDGateway/1.0\r
            RDG-Connection-Id: {958F92D8-DA20-467A-BBE3-65E7E9B4EDCF}\r
            Content-Length: 0\r
            \r

            """)
    }

    @Test func hostileHostCannotAddHeaders() {
        let request = String(decoding: RDGateway.outDataRequest(host: "gw\r\nX-Evil\u{7f}\u{0}", connectionId: Self.id), as: UTF8.self)
        #expect(!request.contains("\r\nX-Evil"))
        #expect(request.contains("Host: gwX-Evil\r\n"))
    }

    @Test func guidForm() {
        let guid = RDGateway.guid(Array(0..<16))
        #expect(guid == "{00010203-0405-4607-8809-0A0B0C0D0E0F}")
        #expect(RDGateway.guid([]) == "{00000000-0000-4000-8000-000000000000}")
        #expect(RDGateway.hostHeader("10.0.3.2", port: 443) == "10.0.3.2")
        #expect(RDGateway.hostHeader("[fd00::1]", port: 443) == "[fd00::1]")
    }

    @Test func base64Vectors() {
        // RFC 4648 section 10.
        let vectors = ["": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=", "foobar": "Zm9vYmFy"]
        for (plain, encoded) in vectors { #expect(Base64.encode(Array(plain.utf8)) == encoded) }
        #expect(Base64.encode([0xFB, 0xFF, 0xBF]) == "+/+/")
    }

    // MARK: - Response heads

    static let gateway401 = Array("""
        HTTP/1.1 401 Unauthorized\r
        Content-Type: text/html\r
        Server: Microsoft-IIS/10.0\r
        WWW-Authenticate: Negotiate\r
        WWW-Authenticate: NTLM\r
        X-Powered-By: ASP.NET\r
        Content-Length: 50\r
        \r
        <html>401 - Unauthorized: Access is denied.</html>
        """.utf8)

    func head(_ text: String) -> HTTPResponseHead? {
        if case .head(let h, _) = HTTPResponseHead.parse(Array(text.utf8)) { return h }
        return nil
    }

    @Test func gatewayAnswer() throws {
        guard case .head(let h, let length) = HTTPResponseHead.parse(Self.gateway401) else {
            Issue.record("not parsed")
            return
        }
        #expect(h.status == 401)
        #expect(h.reason == "Unauthorized")
        #expect(h.version == "HTTP/1.1")
        #expect(h.authSchemes == ["Negotiate", "NTLM"])
        #expect(h.values(of: "server") == ["Microsoft-IIS/10.0"])
        #expect(Array(Self.gateway401[length...]).count == 50)
        #expect(GatewayVerdict(head: h, webSocket: false) == .gateway(authSchemes: ["Negotiate", "NTLM"]))
    }

    @Test func severalChallengesInOneHeader() throws {
        let h = try #require(head("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"a, b\", charset=\"UTF-8\", NTLM, Negotiate YIIabc==\r\nwww-authenticate: ntlm\r\n\r\n"))
        #expect(h.authSchemes == ["Basic", "NTLM", "Negotiate"])
        #expect(HTTPResponseHead.challengeSchemes("Bearer realm = \"x\" , Digest realm=\"y\", qop=\"auth\"") == ["Bearer", "Digest"])
        #expect(HTTPResponseHead.challengeSchemes("") == [])
        #expect(HTTPResponseHead.challengeSchemes(" , ,") == [])
    }

    @Test func partialAndBareLF() {
        #expect(HTTPResponseHead.parse([]) == .needMore)
        #expect(HTTPResponseHead.parse(Array("HTT".utf8)) == .needMore)
        #expect(HTTPResponseHead.parse(Array(Self.gateway401.prefix(60))) == .needMore)
        let lf = head("HTTP/1.0 404 Not Found\nServer: x\n\n")
        #expect(lf?.status == 404)
        #expect(lf?.headers.count == 1)
        #expect(head("HTTP/1.1 200 \r\n\r\n")?.reason == "")
        #expect(head("HTTP/1.1 204\r\n\r\n")?.status == 204)
    }

    @Test func hostileHeads() {
        func invalid(_ bytes: [UInt8]) -> Bool {
            if case .invalid = HTTPResponseHead.parse(bytes) { return true }
            return false
        }
        #expect(invalid(Array("SSH-2.0-OpenSSH_9.2\r\n".utf8)))
        #expect(invalid([0x16, 0x03, 0x03, 0x00]))  // a TLS record where HTTP was expected
        #expect(invalid([0x03, 0x00, 0x00, 0x13]))  // TPKT
        #expect(invalid(Array("HTTP/1.1 4O1 Unauthorized\r\n\r\n".utf8)))
        #expect(invalid(Array("HTTP/1.1 4011 x\r\n\r\n".utf8)))
        #expect(invalid(Array("HTTP/2 401 x\r\n\r\n".utf8)))
        #expect(invalid(Array("HTTP/1.1 401 x\r\n folded\r\n\r\n".utf8)))
        #expect(invalid(Array("HTTP/1.1 401 x\r\nno colon here\r\n\r\n".utf8)))
        #expect(invalid(Array("HTTP/1.1 401 x\r\n: empty name\r\n\r\n".utf8)))
        #expect(invalid(Array("HTTP/1.1 401 x\r\nBad Name: v\r\n\r\n".utf8)))
        // Endless headers: refused once past the limit, never buffered without end.
        let long = Array("HTTP/1.1 401 x\r\n".utf8) + [UInt8](repeating: 0x41, count: HTTPResponseHead.maximumLength + 1)
        #expect(invalid(long))
        // Binary garbage after a valid start never traps.
        var rng = SplitMix64(seed: 7)
        for _ in 0..<200 {
            _ = HTTPResponseHead.parse(Array("HTTP/1.1 ".utf8) + rng.bytes(Int(rng.next() % 300)) + [0x0A, 0x0A])
        }
    }

    @Test func verdicts() throws {
        func verdict(_ text: String, webSocket: Bool = false) throws -> GatewayVerdict {
            GatewayVerdict(head: try #require(head(text)), webSocket: webSocket)
        }
        #expect(try verdict("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"gw\"\r\n\r\n") == .gateway(authSchemes: ["Basic"]))
        #expect(try !verdict("HTTP/1.1 401 Unauthorized\r\n\r\n").isGateway)
        #expect(try verdict("HTTP/1.1 404 Not Found\r\n\r\n") == .notGateway(reason: "404 Not Found: a web server without the RD Gateway's path"))
        #expect(try !verdict("HTTP/1.1 403 Forbidden\r\n\r\n").isGateway)
        #expect(try verdict("HTTP/1.1 302 Found\r\nLocation: https://gw/RDWeb/\r\n\r\n") == .notGateway(reason: "redirect (302 Found) to https://gw/RDWeb/"))
        #expect(try !verdict("HTTP/1.1 200 OK\r\n\r\n").isGateway)
        #expect(try !verdict("HTTP/1.1 405 Method Not Allowed\r\n\r\n").isGateway)
        #expect(try !verdict("HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: NTLM\r\n\r\n").isGateway)
        #expect(try verdict("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", webSocket: true) == .webSocketAccepted)
        #expect(try !verdict("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n", webSocket: true).isGateway)
    }
}
