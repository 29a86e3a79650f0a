/*
 * COpenSSL: Debian's OpenSSL 3 (libssl-dev) for PathProbeTLS, the only target that imports it.
 *
 * Swift imports OpenSSL's functions directly; it cannot import function-like macros and the
 * type-safe stack accessors (sk_X509_num, sk_GENERAL_NAME_value... are macros over
 * OPENSSL_sk_*), so this header wraps exactly those, each as a static inline function prefixed
 * with copenssl_. Nothing else lives here: the logic is Swift in PathProbeTLS.
 */
#ifndef COPENSSL_SHIM_H
#define COPENSSL_SHIM_H

#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/bio.h>
#include <openssl/asn1.h>

#if OPENSSL_VERSION_NUMBER < 0x30000000L
#error "pathprobe needs OpenSSL 3 (Debian 12: libssl-dev 3.0)"
#endif

/* SSL_set_tlsext_host_name is a macro over SSL_ctrl: the SNI host name. */
static inline int copenssl_SSL_set_tlsext_host_name(SSL *ssl, const char *name) {
    return (int)SSL_set_tlsext_host_name(ssl, name);
}

/* SSL_CTX_set_min_proto_version is a macro over SSL_CTX_ctrl. */
static inline int copenssl_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_min_proto_version(ctx, version);
}

/* BIO_set_mem_eof_return is a macro over BIO_ctrl: an empty memory BIO then reads as "retry",
 * not as end of file, so the handshake waits for more bytes. */
static inline void copenssl_BIO_set_mem_eof_return(BIO *bio, int value) {
    (void)BIO_set_mem_eof_return(bio, value);
}

/* The stack accessors are macros in OpenSSL 3. */
static inline int copenssl_sk_X509_num(const STACK_OF(X509) *stack) { return sk_X509_num(stack); }
static inline X509 *copenssl_sk_X509_value(const STACK_OF(X509) *stack, int i) { return sk_X509_value(stack, i); }
static inline int copenssl_sk_GENERAL_NAME_num(const GENERAL_NAMES *names) { return sk_GENERAL_NAME_num(names); }
static inline const GENERAL_NAME *copenssl_sk_GENERAL_NAME_value(const GENERAL_NAMES *names, int i) {
    return sk_GENERAL_NAME_value(names, i);
}

/* A subject alternative name of type DNS (dNSName) or IP address (iPAddress): its raw bytes,
 * or NULL for any other type. GENERAL_NAME is a struct with a union Swift cannot read safely. */
static inline const unsigned char *copenssl_GENERAL_NAME_dns(const GENERAL_NAME *name, int *length) {
    if (name->type != GEN_DNS) return NULL;
    *length = ASN1_STRING_length(name->d.dNSName);
    return ASN1_STRING_get0_data(name->d.dNSName);
}
static inline const unsigned char *copenssl_GENERAL_NAME_ip(const GENERAL_NAME *name, int *length) {
    if (name->type != GEN_IPADD) return NULL;
    *length = ASN1_STRING_length(name->d.iPAddress);
    return ASN1_STRING_get0_data(name->d.iPAddress);
}

/* Distinguished names in RFC 2253 order and syntax, but with UTF-8 kept as UTF-8 instead of
 * \XX escapes (the flag constants are composite macros Swift does not import). */
static inline unsigned long copenssl_name_flags_rfc2253_utf8(void) {
    return (XN_FLAG_RFC2253 & ~(unsigned long)ASN1_STRFLGS_ESC_MSB) | ASN1_STRFLGS_UTF8_CONVERT;
}

/* GENERAL_NAMES_free takes the stack as the generic pointer X509_get_ext_d2i returns. */
static inline void copenssl_GENERAL_NAMES_free(void *names) { GENERAL_NAMES_free((GENERAL_NAMES *)names); }

#endif
