import COpenSSL

/// Why TLS could not be set up.
struct TLSError: Error, CustomStringConvertible {
    let description: String

    /// `message` plus OpenSSL's most recent error, if it has one.
    static func openSSL(_ message: String) -> TLSError {
        var buffer = [CChar](repeating: 0, count: 256)
        atom_ssl_last_error(&buffer, buffer.count)
        let detail = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return TLSError(description: detail.isEmpty ? message : "\(message): \(detail)")
    }
}

/// The server's TLS configuration: certificate chain and key from PEM files, TLS 1.2 and 1.3 only,
/// forward-secret AEAD cipher suites, HTTP/1.1 via ALPN, no renegotiation, no compression.
final class TLSContext: @unchecked Sendable {  // Safe: the SSL_CTX is configured in init and only read afterwards (OpenSSL allows that across threads).
    let context: OpaquePointer

    /// TLS 1.2 suites; TLS 1.3 uses OpenSSL's defaults (all AEAD).
    static let tls12Ciphers = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    ].joined(separator: ":")

    init(certificateChainPath: String, privateKeyPath: String) throws(TLSError) {
        guard let context = SSL_CTX_new(TLS_server_method()) else { throw .openSSL("SSL_CTX_new failed") }
        self.context = context
        guard atom_ssl_ctx_set_min_proto_version(context, TLS1_2_VERSION) == 1 else { throw .openSSL("cannot require TLS 1.2") }
        atom_ssl_ctx_set_server_options(context)
        guard SSL_CTX_set_cipher_list(context, Self.tls12Ciphers) == 1 else { throw .openSSL("cannot set the cipher suites") }
        guard SSL_CTX_use_certificate_chain_file(context, certificateChainPath) == 1 else {
            throw .openSSL("cannot load the certificate chain from \(certificateChainPath)")
        }
        guard SSL_CTX_use_PrivateKey_file(context, privateKeyPath, SSL_FILETYPE_PEM) == 1 else {
            throw .openSSL("cannot load the private key from \(privateKeyPath)")
        }
        guard SSL_CTX_check_private_key(context) == 1 else { throw .openSSL("the private key does not match the certificate") }
        atom_ssl_ctx_use_http11_alpn(context)
    }

    deinit { SSL_CTX_free(context) }

    /// A server-side session on the accepted socket `fd`.
    func makeSession(fd: Int32) -> TLSSession? {
        guard let ssl = SSL_new(context) else { return nil }
        guard SSL_set_fd(ssl, fd) == 1 else {
            SSL_free(ssl)
            return nil
        }
        SSL_set_accept_state(ssl)
        return TLSSession(ssl: ssl)
    }
}
