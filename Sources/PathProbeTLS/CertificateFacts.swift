internal import COpenSSL
internal import PathProbeCore

#if canImport(Glibc)
import Glibc
#endif

/// What one X.509 certificate says, read with OpenSSL (never parsed by hand).
public struct CertificateFacts: Sendable, Equatable {
    /// RFC 2253 distinguished names, UTF-8 kept: "CN=rdp.example.com,O=Example".
    public var subject: String
    public var issuer: String
    /// Subject alternative names, DNS names and IP addresses, in certificate order.
    public var san: [String]
    /// Validity, ISO 8601 UTC.
    public var notBefore: String?
    public var notAfter: String?
    /// notAfter as Unix seconds.
    public var notAfterUnix: Int64?
    /// Whole days from the reference time to notAfter, rounded down (negative: expired).
    public var daysLeft: Int?
    /// Issued by itself and signed by its own key.
    public var selfSigned: Bool
    /// DER size.
    public var derBytes: Int

    init(x509: OpaquePointer, referenceTime: Int64) {
        subject = Self.name(X509_get_subject_name(x509)) ?? ""
        issuer = Self.name(X509_get_issuer_name(x509)) ?? ""
        san = Self.alternativeNames(x509)
        notBefore = X509_get0_notBefore(x509).flatMap(Self.iso8601)
        let end = X509_get0_notAfter(x509)
        notAfter = end.flatMap(Self.iso8601)
        notAfterUnix = end.flatMap(Self.unixTime)
        daysLeft = end.flatMap { Self.days(from: referenceTime, to: $0) }
        selfSigned = X509_self_signed(x509, 1) == 1
        derBytes = Int(max(0, i2d_X509(x509, nil)))
    }

    /// Every certificate of a PEM text (a chain file), in file order; empty when none parses.
    public static func parse(pem: [UInt8], referenceTime: Int64) -> [CertificateFacts] {
        withCertificates(pem: pem) { $0.map { CertificateFacts(x509: $0, referenceTime: referenceTime) } }
    }

    /// True when the first certificate of `pem` is valid for `host` (a DNS name or an IP address).
    public static func firstMatches(pem: [UInt8], host: String) -> Bool? {
        withCertificates(pem: pem) { certs in certs.first.map { matches($0, host: host) } }
    }

    /// RFC 6125 name matching by OpenSSL: X509_check_ip_asc for address literals, X509_check_host
    /// (SANs, wildcards in the leftmost label; the subject CN only when there are no DNS SANs) otherwise.
    static func matches(_ x509: OpaquePointer, host: String) -> Bool {
        if IPAddress(host) != nil {
            return X509_check_ip_asc(x509, host, 0) == 1
        }
        return host.withCString { X509_check_host(x509, $0, strlen($0), 0, nil) } == 1
    }

    private static func withCertificates<T>(pem: [UInt8], _ body: ([OpaquePointer]) -> T) -> T {
        var certs: [OpaquePointer] = []
        defer { certs.forEach { X509_free($0) } }
        pem.withUnsafeBytes { raw in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return }
            defer { BIO_free(bio) }
            while let x509 = PEM_read_bio_X509(bio, nil, nil, nil) { certs.append(x509) }
        }
        ERR_clear_error()  // the end of the text reads as an error
        return body(certs)
    }

    private static func name(_ name: OpaquePointer?) -> String? {
        guard let name, let bio = BIO_new(BIO_s_mem()) else { return nil }
        defer { BIO_free(bio) }
        guard X509_NAME_print_ex(bio, name, 0, copenssl_name_flags_rfc2253_utf8()) >= 0 else { return nil }
        return readAll(bio)
    }

    private static func readAll(_ bio: OpaquePointer) -> String {
        let pending = Int(BIO_ctrl_pending(bio))
        guard pending > 0 else { return "" }
        var bytes = [UInt8](repeating: 0, count: pending)
        let n = bytes.withUnsafeMutableBytes { BIO_read(bio, $0.baseAddress, Int32(pending)) }
        return String(decoding: bytes.prefix(Int(max(0, n))), as: UTF8.self)
    }

    private static func alternativeNames(_ x509: OpaquePointer) -> [String] {
        guard let raw = X509_get_ext_d2i(x509, NID_subject_alt_name, nil, nil) else { return [] }
        defer { copenssl_GENERAL_NAMES_free(raw) }
        let names = OpaquePointer(raw)
        var out: [String] = []
        for i in 0..<copenssl_sk_GENERAL_NAME_num(names) {
            guard let entry = copenssl_sk_GENERAL_NAME_value(names, i) else { continue }
            var length: Int32 = 0
            if let data = copenssl_GENERAL_NAME_dns(entry, &length), length > 0 {
                out.append(String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self))
            } else if let data = copenssl_GENERAL_NAME_ip(entry, &length), length == 4 || length == 16 {
                if let address = IPAddress(bytes: UnsafeBufferPointer(start: data, count: Int(length))) {
                    out.append(address.description)
                }
            }
        }
        return out
    }

    private static func brokenDown(_ time: UnsafePointer<ASN1_TIME>) -> tm? {
        var t = tm()
        return ASN1_TIME_to_tm(time, &t) == 1 ? t : nil
    }

    static func iso8601(_ time: UnsafePointer<ASN1_TIME>) -> String? {
        guard let t = brokenDown(time) else { return nil }
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(t.tm_year + 1900, 4))-\(pad(t.tm_mon + 1, 2))-\(pad(t.tm_mday, 2))T"
            + "\(pad(t.tm_hour, 2)):\(pad(t.tm_min, 2)):\(pad(t.tm_sec, 2))Z"
    }

    private static func unixTime(_ time: UnsafePointer<ASN1_TIME>) -> Int64? {
        guard var t = brokenDown(time) else { return nil }
        return Int64(timegm(&t))
    }

    /// Whole days between `reference` and `end`, by OpenSSL's ASN1_TIME_diff, rounded down.
    private static func days(from reference: Int64, to end: UnsafePointer<ASN1_TIME>) -> Int? {
        guard let start = ASN1_TIME_set(nil, time_t(reference)) else { return nil }
        defer { ASN1_STRING_free(start) }
        var days: Int32 = 0
        var seconds: Int32 = 0
        guard ASN1_TIME_diff(&days, &seconds, start, end) == 1 else { return nil }
        return Int(days) - (seconds < 0 ? 1 : 0)
    }
}
