import Foundation
import Testing
import PathProbeCore
@testable import PathProbeTLS

/// The sans-IO TLS client against openssl s_server on loopback with a 2-certificate chain made by
/// scripts/lab-rdp.sh, and certificate facts read by OpenSSL.
@Suite(.enabled(if: Loopback.hasOpenSSL, "the openssl command is not installed (Debian package openssl)"))
struct TLSClientTests {
    /// One chain for the suite: CA and leaf for "localhost", 127.0.0.1 and ::1, 90 days.
    static let chain: URL? = try? Loopback.certificates("localhost")
    static let selfSigned: URL? = try? Loopback.certificates("localhost", extra: "--self-signed --days 10")

    static var now: Int64 { Int64(Date().timeIntervalSince1970) }

    func derSize(_ pem: URL) throws -> Int {
        Int(try Loopback.sh("openssl x509 -in \(pem.path) -outform DER | wc -c").trimmingCharacters(in: .whitespacesAndNewlines))!
    }

    @Test func handshakeFactsAndChain() throws {
        let dir = try #require(Self.chain)
        let server = try Loopback.opensslServer(dir)
        defer { server.stop() }
        let client = TLSClient(serverName: "localhost", referenceTime: Self.now)
        let reply = Loopback.drive(client, port: server.port, request: Array("GET / HTTP/1.0\r\n\r\n".utf8)) { _, plain in
            String(decoding: plain, as: UTF8.self).contains("</HTML>") || String(decoding: plain, as: UTF8.self).contains("</html>")
        }
        #expect(client.state == .established)
        #expect(String(decoding: reply, as: UTF8.self).hasPrefix("HTTP/1.0 200 ok"))
        let facts = try #require(client.facts)
        #expect(facts.version == "TLSv1.3")
        #expect(facts.cipher.hasPrefix("TLS_AES_"))
        #expect(facts.subject == "CN=localhost,O=pathprobe lab")
        #expect(facts.issuer == "CN=pathprobe lab CA,O=pathprobe lab")
        #expect(facts.san == ["localhost", "127.0.0.1", "::1"])
        #expect(facts.selfSigned == false)
        #expect(facts.nameMatches == true)
        #expect(facts.chainLength == 2)
        let leaf = try derSize(dir.appendingPathComponent("leaf.pem"))
        let ca = try derSize(dir.appendingPathComponent("ca.pem"))
        #expect(facts.chainBytes == leaf + ca)
        #expect(facts.handshakeBytes > leaf + ca, "the flight carries the chain and more")
        #expect(facts.handshakeBytes <= client.bytesReceived)
        #expect(facts.daysLeft == 89 || facts.daysLeft == 90)
        let notAfter = try #require(facts.notAfter)
        #expect(notAfter.count == 20 && notAfter.hasSuffix("Z") && notAfter.dropFirst(10).hasPrefix("T"))
        let expected = try Loopback.sh("openssl x509 -in \(dir.appendingPathComponent("leaf.pem").path) -noout -enddate -dateopt iso_8601")
        #expect(expected.contains(notAfter.replacingOccurrences(of: "T", with: " ")))
        #expect(client.peerChain.count == 2)
        #expect(client.peerChain[1].selfSigned)
        #expect(client.peerChain[0].notAfterUnix.map { $0 > Self.now } == true)
    }

    @Test func addressLiteralAndMismatch() throws {
        let dir = try #require(Self.chain)
        let server = try Loopback.opensslServer(dir)
        defer { server.stop() }
        for (name, matches) in [("127.0.0.1", true), ("::1", true), ("127.0.0.2", false), ("rdp.example.com", false), ("LOCALHOST", true)] {
            let client = TLSClient(serverName: name, referenceTime: Self.now)
            _ = Loopback.drive(client, port: server.port) { tls, _ in tls.state == .established }
            #expect(client.facts?.nameMatches == matches, "\(name)")
        }
    }

    @Test func sniIsSent() throws {
        let dir = try #require(Self.chain)
        // -servername_fatal: a ClientHello whose SNI is not "localhost" gets a fatal alert.
        let server = try Loopback.opensslServer(dir, ["-www", "-servername", "localhost", "-servername_fatal",
                                                      "-cert2", dir.appendingPathComponent("leaf.pem").path,
                                                      "-key2", dir.appendingPathComponent("leaf.key").path])
        defer { server.stop() }
        let good = TLSClient(serverName: "localhost", referenceTime: Self.now)
        _ = Loopback.drive(good, port: server.port) { tls, _ in tls.state == .established }
        #expect(good.state == .established)
        let bad = TLSClient(serverName: "other.example", referenceTime: Self.now)
        _ = Loopback.drive(bad, port: server.port) { tls, _ in tls.state == .established }
        #expect(bad.state == .failed("tlsv1 unrecognized name"))
    }

    @Test func tls12() throws {
        let dir = try #require(Self.chain)
        let server = try Loopback.opensslServer(dir, ["-www", "-tls1_2"])
        defer { server.stop() }
        let client = TLSClient(serverName: "localhost", referenceTime: Self.now)
        _ = Loopback.drive(client, port: server.port) { tls, _ in tls.state == .established }
        #expect(client.facts?.version == "TLSv1.2")
        #expect(client.facts?.cipher == "ECDHE-RSA-AES256-GCM-SHA384")
    }

    @Test func selfSignedLeaf() throws {
        let dir = try #require(Self.selfSigned)
        let server = try Loopback.opensslServer(dir)
        defer { server.stop() }
        let client = TLSClient(serverName: "localhost", referenceTime: Self.now)
        _ = Loopback.drive(client, port: server.port) { tls, _ in tls.state == .established }
        let facts = try #require(client.facts)
        #expect(facts.selfSigned == true)
        #expect(facts.chainLength == 1)
        #expect(facts.subject == facts.issuer)
        #expect(facts.daysLeft == 9 || facts.daysLeft == 10)
    }

    // MARK: - Without a server

    @Test func notTLS() {
        let client = TLSClient(serverName: "localhost", referenceTime: 0)
        #expect(!client.takeOutgoing().isEmpty, "the ClientHello")
        client.receive(Array("HTTP/1.1 400 Bad Request\r\n\r\n".utf8))
        #expect(client.state == .failed("wrong version number"))
        #expect(client.facts == nil)
        #expect(client.takeReceived().isEmpty)
        client.receive([1, 2, 3])  // ignored once failed
        #expect(client.bytesReceived == 28)
    }

    @Test func closedDuringHandshake() {
        let client = TLSClient(serverName: "rdp.example.com", referenceTime: 0)
        let hello = client.takeOutgoing()
        #expect(hello.first == 0x16, "a TLS handshake record")
        #expect(client.takeOutgoing().isEmpty)
        client.receive([0x16, 0x03, 0x03])  // a partial record: waits for more
        #expect(client.state == .handshaking)
        client.peerClosed()
        #expect(client.state == .failed("the server closed the connection during the TLS handshake"))
    }

    @Test func sniOnlyForNames() {
        // SNI (extension 0) carries the name; an address literal is sent without it.
        let named = TLSClient(serverName: "rdp.example.com", referenceTime: 0).takeOutgoing()
        let literal = TLSClient(serverName: "10.0.3.2", referenceTime: 0).takeOutgoing()
        #expect(contains(named, Array("rdp.example.com".utf8)))
        #expect(!contains(literal, Array("10.0.3.2".utf8)))
    }

    func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard haystack.count >= needle.count else { return false }
        return (0...(haystack.count - needle.count)).contains { Array(haystack[$0..<($0 + needle.count)]) == needle }
    }

    @Test func certificateFactsFromPEM() throws {
        let dir = try #require(Self.chain)
        let pem = try Array(Data(contentsOf: dir.appendingPathComponent("chain.pem")))
        let chain = CertificateFacts.parse(pem: pem, referenceTime: Self.now + 100 * 86_400)
        #expect(chain.count == 2)
        #expect(chain[0].daysLeft == -11 || chain[0].daysLeft == -10, "expired 10 days before the reference time")
        #expect(chain[1].daysLeft.map { $0 > 3000 } == true)
        #expect(!chain[0].selfSigned && chain[1].selfSigned)
        #expect(chain[0].derBytes == (try derSize(dir.appendingPathComponent("leaf.pem"))))
        #expect(CertificateFacts.firstMatches(pem: pem, host: "localhost") == true)
        #expect(CertificateFacts.firstMatches(pem: pem, host: "*.localhost") == false)
        #expect(CertificateFacts.firstMatches(pem: pem, host: "::1") == true)
        #expect(CertificateFacts.parse(pem: Array("not a certificate".utf8), referenceTime: 0).isEmpty)
        #expect(CertificateFacts.parse(pem: [], referenceTime: 0).isEmpty)
    }
}
