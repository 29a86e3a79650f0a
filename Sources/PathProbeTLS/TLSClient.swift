internal import COpenSSL
public import PathProbeCore

/// A TLS client that never touches a socket: OpenSSL between two memory BIOs. Feed it what the
/// connection received (`receive`), send what it produced (`takeOutgoing`), watch `state`.
///
/// It connects the way `/cert:ignore` does: the certificate is not verified against a trust store;
/// its facts are reported instead (`facts`, `peerChain`). Old servers are still spoken to (TLS 1.0
/// and OpenSSL security level 0) so pathprobe can say what they negotiate; the session carries no
/// secret and is closed right after the check.
public final class TLSClient: TLSSession {
    public private(set) var state: TLSSessionState = .handshaking
    public private(set) var bytesReceived = 0
    /// The host as asked for: a DNS name (sent as SNI) or an IP address literal (no SNI).
    public let serverName: String
    /// Unix time the certificate's days left are counted from.
    public let referenceTime: Int64
    /// The certificates as the server sent them, leaf first (after the handshake).
    public private(set) var peerChain: [CertificateFacts] = []
    public private(set) var facts: TLSFacts?

    private var context: OpaquePointer?
    private var ssl: OpaquePointer?
    /// Network to OpenSSL (owned by `ssl` once attached).
    private var networkIn: OpaquePointer?
    /// OpenSSL to network (owned by `ssl`).
    private var networkOut: OpaquePointer?
    private var plaintext: [UInt8] = []
    private var started = false
    private var handshakeBytes = 0

    /// `referenceTime`: now, in Unix seconds, from whoever owns the clock (Core has none).
    public init(serverName: String, referenceTime: Int64) {
        self.serverName = serverName
        self.referenceTime = referenceTime
        guard let ctx = SSL_CTX_new(TLS_client_method()) else {
            state = .failed("OpenSSL could not create a TLS context: \(Self.errorReason(fallback: "out of memory"))")
            return
        }
        context = ctx
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nil)
        SSL_CTX_set_security_level(ctx, 0)
        _ = copenssl_SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION)
        guard let s = SSL_new(ctx), let input = BIO_new(BIO_s_mem()), let output = BIO_new(BIO_s_mem()) else {
            state = .failed("OpenSSL could not create a TLS session: \(Self.errorReason(fallback: "out of memory"))")
            return
        }
        // An empty input BIO means "wait for more", not end of file.
        copenssl_BIO_set_mem_eof_return(input, -1)
        SSL_set_bio(s, input, output)
        SSL_set_connect_state(s)
        ssl = s
        networkIn = input
        networkOut = output
        if Self.isAddressLiteral(serverName) {
            // RFC 6066: SNI carries host names only. The certificate is checked against the address.
        } else if !serverName.isEmpty {
            _ = copenssl_SSL_set_tlsext_host_name(s, serverName)
        }
    }

    deinit {
        if let ssl { SSL_free(ssl) }  // frees both BIOs
        if let context { SSL_CTX_free(context) }
    }

    /// A factory for the RDP check: every session counts days from the same reference time.
    public static func factory(referenceTime: Int64) -> TLSSessionFactory {
        { name in TLSClient(serverName: name, referenceTime: referenceTime) }
    }

    public func receive(_ ciphertext: [UInt8]) {
        guard let networkIn, !ciphertext.isEmpty else { return }
        if case .failed = state { return }
        bytesReceived += ciphertext.count
        if state == .handshaking { handshakeBytes += ciphertext.count }
        ciphertext.withUnsafeBytes { raw in
            _ = BIO_write(networkIn, raw.baseAddress, Int32(raw.count))
        }
        step()
    }

    public func peerClosed() {
        if state == .handshaking { state = .failed("the server closed the connection during the TLS handshake") }
    }

    public func takeOutgoing() -> [UInt8] {
        if !started {
            started = true
            step()  // produces the ClientHello
        }
        guard let networkOut else { return [] }
        let pending = Int(BIO_ctrl_pending(networkOut))
        guard pending > 0 else { return [] }
        var out = [UInt8](repeating: 0, count: pending)
        let n = out.withUnsafeMutableBytes { BIO_read(networkOut, $0.baseAddress, Int32(pending)) }
        return n > 0 ? Array(out.prefix(Int(n))) : []
    }

    public func send(_ plaintext: [UInt8]) {
        guard state == .established, let ssl, !plaintext.isEmpty else { return }
        ERR_clear_error()
        let n = plaintext.withUnsafeBytes { SSL_write(ssl, $0.baseAddress, Int32($0.count)) }
        if n <= 0 { fail(code: SSL_get_error(ssl, n)) }
    }

    public func takeReceived() -> [UInt8] {
        defer { plaintext.removeAll() }
        return plaintext
    }

    // MARK: - OpenSSL

    /// Runs the handshake as far as the bytes allow, then reads any application data.
    private func step() {
        guard let ssl else { return }
        if state == .handshaking {
            ERR_clear_error()
            let r = SSL_do_handshake(ssl)
            if r == 1 {
                state = .established
                collectFacts()
            } else {
                let code = SSL_get_error(ssl, r)
                if code != SSL_ERROR_WANT_READ && code != SSL_ERROR_WANT_WRITE { fail(code: code) }
                return
            }
        }
        guard state == .established else { return }
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while true {
            ERR_clear_error()
            let n = buffer.withUnsafeMutableBytes { SSL_read(ssl, $0.baseAddress, Int32($0.count)) }
            if n > 0 {
                plaintext += buffer.prefix(Int(n))
                continue
            }
            let code = SSL_get_error(ssl, n)
            // WANT_READ: all consumed. ZERO_RETURN: the server's close_notify (the data before it stays readable).
            if code != SSL_ERROR_WANT_READ && code != SSL_ERROR_WANT_WRITE && code != SSL_ERROR_ZERO_RETURN {
                fail(code: code)
            }
            return
        }
    }

    private func fail(code: Int32) {
        let fallback: String
        switch code {
        case SSL_ERROR_SYSCALL: fallback = "unexpected end of the TLS stream"
        case SSL_ERROR_ZERO_RETURN: fallback = "the server closed the TLS session"
        default: fallback = "TLS error \(code)"
        }
        state = .failed(Self.errorReason(fallback: fallback))
    }

    /// OpenSSL's reason for the last error on this thread's queue ("wrong version number",
    /// "tlsv1 alert protocol version"), cleared afterwards.
    private static func errorReason(fallback: String) -> String {
        let code = ERR_peek_last_error()
        defer { ERR_clear_error() }
        guard code != 0, let reason = ERR_reason_error_string(code) else { return fallback }
        return String(cString: reason)
    }

    private func collectFacts() {
        guard let ssl else { return }
        let version = SSL_get_version(ssl).map { String(cString: $0) } ?? "unknown"
        let cipher = SSL_get_current_cipher(ssl).flatMap { SSL_CIPHER_get_name($0) }.map { String(cString: $0) } ?? "unknown"
        var chain: [CertificateFacts] = []
        if let stack = SSL_get_peer_cert_chain(ssl) {
            for i in 0..<copenssl_sk_X509_num(stack) {
                if let x509 = copenssl_sk_X509_value(stack, i) {
                    chain.append(CertificateFacts(x509: x509, referenceTime: referenceTime))
                }
            }
        }
        peerChain = chain
        var nameMatches: Bool?
        if let leaf = SSL_get0_peer_certificate(ssl) {
            nameMatches = CertificateFacts.matches(leaf, host: serverName)
        }
        let leaf = chain.first
        facts = TLSFacts(version: version, cipher: cipher, subject: leaf?.subject, issuer: leaf?.issuer,
                         san: leaf?.san ?? [], notAfter: leaf?.notAfter, daysLeft: leaf?.daysLeft,
                         selfSigned: leaf?.selfSigned, nameMatches: nameMatches,
                         chainBytes: chain.isEmpty ? nil : chain.reduce(0) { $0 + $1.derBytes },
                         chainLength: chain.count, handshakeBytes: handshakeBytes)
    }

    static func isAddressLiteral(_ name: String) -> Bool {
        IPAddress(name) != nil
    }
}
