#ifndef ATOM_COPENSSL_SHIM_H
#define ATOM_COPENSSL_SHIM_H
#define OPENSSL_API_COMPAT 30000
#define OPENSSL_NO_DEPRECATED 1
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/param_build.h>
#include <openssl/bn.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/pem.h>

/* EVP_PKEY_PUBLIC_KEY is a compound macro Swift cannot import: the selection for EVP_PKEY_fromdata. */
static inline int atom_evp_pkey_public_key_selection(void) { return EVP_PKEY_PUBLIC_KEY; }

/// SSL_CTX_set_min_proto_version is a macro over SSL_CTX_ctrl; Swift cannot import it.
static inline int atom_ssl_ctx_set_min_proto_version(SSL_CTX *context, int version) {
    return (int)SSL_CTX_set_min_proto_version(context, version);
}

/// The server options Atom Hub sets: no renegotiation, no compression, our cipher order
/// (SSL_OP_* are macros built from casts, which Swift does not import).
static inline void atom_ssl_ctx_set_server_options(SSL_CTX *context) {
    SSL_CTX_set_options(context, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
}

/// SSL_CTX_set_max_proto_version is a macro over SSL_CTX_ctrl; Swift cannot import it.
static inline int atom_ssl_ctx_set_max_proto_version(SSL_CTX *context, int version) {
    return (int)SSL_CTX_set_max_proto_version(context, version);
}

/// The ALPN protocol list with only "http/1.1", in wire format.
static const unsigned char atom_alpn_http11[] = { 8, 'h', 't', 't', 'p', '/', '1', '.', '1' };

/// ALPN selection: HTTP/1.1 or nothing (the handshake then fails with no_application_protocol).
static inline int atom_alpn_select_http11(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                                          const unsigned char *in, unsigned int inlen, void *arg) {
    (void)ssl; (void)arg;
    unsigned char *selected = NULL;
    if (SSL_select_next_proto(&selected, outlen, atom_alpn_http11, sizeof(atom_alpn_http11), in, inlen) == OPENSSL_NPN_NEGOTIATED) {
        *out = selected;
        return SSL_TLSEXT_ERR_OK;
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

/// Installs atom_alpn_select_http11 (a C function pointer is simpler than a Swift closure here).
static inline void atom_ssl_ctx_use_http11_alpn(SSL_CTX *context) {
    SSL_CTX_set_alpn_select_cb(context, atom_alpn_select_http11, NULL);
}

/// Client side (tests): offer only "http/1.1".
static inline int atom_ssl_set_http11_alpn(SSL *ssl) {
    return SSL_set_alpn_protos(ssl, atom_alpn_http11, sizeof(atom_alpn_http11));
}

/// The most recent OpenSSL error as text, or an empty string; clears the queue.
static inline void atom_ssl_last_error(char *buffer, size_t length) {
    unsigned long code = ERR_get_error();
    if (code == 0) { buffer[0] = 0; } else { ERR_error_string_n(code, buffer, length); }
    ERR_clear_error();
}
#endif
