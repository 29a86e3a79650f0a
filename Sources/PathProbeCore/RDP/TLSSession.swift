/// TLS as the RDP check sees it: a client session over bytes the measurement moves itself (sans-IO).
///
/// Core stays free of OpenSSL: it declares this protocol and the facts it reads; PathProbeTLS
/// implements it with OpenSSL over memory BIOs (`TLSClient`), the tests with scripted fakes. The
/// composition layer hands the measurement a factory, so one check can open several sessions (the
/// RDP connection, the gateway's HTTP and WebSocket connections).
///
/// The measurement's loop: after `connected`, write `takeOutgoing()` (the ClientHello); on every
/// `received`, `receive(bytes)`, then write `takeOutgoing()` again and look at `state`. Once
/// `established`, `send` plaintext and read `takeReceived()`.
public protocol TLSSession: AnyObject {
    var state: TLSSessionState { get }
    /// Ciphertext that arrived from the peer.
    func receive(_ ciphertext: [UInt8])
    /// The peer closed the connection (FIN): a handshake still running fails.
    func peerClosed()
    /// Ciphertext to send now; empty when nothing is due.
    func takeOutgoing() -> [UInt8]
    /// Encrypts application data (established sessions only); it leaves with the next `takeOutgoing()`.
    func send(_ plaintext: [UInt8])
    /// Application data decrypted so far and not yet taken.
    func takeReceived() -> [UInt8]
    /// What the handshake showed; nil before it completed.
    var facts: TLSFacts? { get }
    /// Ciphertext bytes received so far (the server's handshake flight, once established).
    var bytesReceived: Int { get }
}

public enum TLSSessionState: Sendable, Equatable {
    case handshaking
    case established
    /// The handshake or the session failed: the TLS library's reason ("wrong version number",
    /// "sslv3 alert handshake failure", "connection closed during the handshake").
    case failed(String)
}

/// Opens a client session for `serverName`, the host as the user wrote it: a DNS name goes into SNI
/// and the certificate is checked against it; an IP address literal is sent without SNI (RFC 6066
/// forbids it there) and checked against the certificate's IP addresses.
public typealias TLSSessionFactory = (_ serverName: String) -> TLSSession

/// What a completed TLS handshake showed about the server: named as pathprobe's JSON names them
/// (`tls` of the `rdp` document). Every certificate fact is read by the TLS library, never parsed by hand.
public struct TLSFacts: Sendable, Equatable {
    /// Protocol version as the library names it: "TLSv1.3", "TLSv1.2".
    public var version: String
    /// Negotiated cipher suite (OpenSSL name): "TLS_AES_256_GCM_SHA384".
    public var cipher: String
    /// The leaf certificate's subject and issuer, RFC 2253 form ("CN=rdp.example.com,O=Example").
    public var subject: String?
    public var issuer: String?
    /// Subject alternative names: DNS names and IP addresses, in certificate order.
    public var san: [String]
    /// notAfter in ISO 8601 UTC ("2026-05-01T12:00:00Z").
    public var notAfter: String?
    /// Whole days from the reference time to notAfter (negative: expired).
    public var daysLeft: Int?
    /// The leaf is signed by its own key (no CA).
    public var selfSigned: Bool?
    /// The leaf is valid for the name or address asked for (RFC 6125 rules, by the TLS library).
    public var nameMatches: Bool?
    /// DER size of the chain as the server sent it, leaf included: what a black hole swallows.
    public var chainBytes: Int?
    /// Certificates the server sent, leaf included.
    public var chainLength: Int
    /// Ciphertext bytes the server sent until the handshake completed (its whole flight).
    public var handshakeBytes: Int

    public init(version: String, cipher: String, subject: String? = nil, issuer: String? = nil, san: [String] = [],
                notAfter: String? = nil, daysLeft: Int? = nil, selfSigned: Bool? = nil, nameMatches: Bool? = nil,
                chainBytes: Int? = nil, chainLength: Int = 0, handshakeBytes: Int = 0) {
        self.version = version
        self.cipher = cipher
        self.subject = subject
        self.issuer = issuer
        self.san = san
        self.notAfter = notAfter
        self.daysLeft = daysLeft
        self.selfSigned = selfSigned
        self.nameMatches = nameMatches
        self.chainBytes = chainBytes
        self.chainLength = chainLength
        self.handshakeBytes = handshakeBytes
    }
}
