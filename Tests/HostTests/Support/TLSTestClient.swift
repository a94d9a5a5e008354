import COpenSSL
import Foundation

/// A self-signed certificate for 127.0.0.1, made with the openssl CLI in a temp dir.
struct TestCertificate {
    let certificatePath: String
    let keyPath: String

    static func make(in directory: URL) throws -> TestCertificate {
        let certificate = directory.appendingPathComponent("cert.pem").path
        let key = directory.appendingPathComponent("key.pem").path
        let openssl = try ChildProcess(
            executable: "/usr/bin/openssl",
            arguments: [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", certificate,
            ],
            environment: [:])
        openssl.shutdownInput()
        _ = PipeReading.readToEnd(openssl.stderrFD)
        guard openssl.exitCode == 0 else { throw TestConnectionError(description: "openssl req failed") }
        return TestCertificate(certificatePath: certificate, keyPath: key)
    }
}

/// A blocking TLS client that trusts one CA file, for tests.
final class TLSTestClient {
    private let context: OpaquePointer
    private let ssl: OpaquePointer
    private let connection: TestConnection
    private var buffer: [UInt8] = []

    /// Connects and completes the handshake; `maxVersion` caps the protocol (e.g. TLS1_1_VERSION).
    init(port: Int, trusting caFile: String, maxVersion: Int32? = nil, offerALPN: Bool = true) throws {
        connection = try TestConnection(port: port)
        context = SSL_CTX_new(TLS_client_method())!
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        SSL_CTX_load_verify_locations(context, caFile, nil)
        if let maxVersion {
            // Security level 0 lets this client really offer old protocols (at OpenSSL's default level it
            // refuses TLS 1.1 itself, and a test of the server's refusal would pass without the server).
            SSL_CTX_set_security_level(context, 0)
            _ = atom_ssl_ctx_set_min_proto_version(context, TLS1_VERSION)
            _ = atom_ssl_ctx_set_max_proto_version(context, maxVersion)
        }
        ssl = SSL_new(context)!
        SSL_set_fd(ssl, connection.fd)
        if offerALPN { _ = atom_ssl_set_http11_alpn(ssl) }
        guard SSL_connect(ssl) == 1 else {
            // The reason stays on this thread's OpenSSL error queue for the caller (ERR_peek_last_error).
            throw TestConnectionError(description: "TLS handshake failed")  // deinit frees ssl and context.
        }
    }

    deinit {
        SSL_free(ssl)
        SSL_CTX_free(context)
    }

    var negotiatedALPN: String? {
        var data: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &data, &length)
        guard let data, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }

    var protocolVersion: Int32 { SSL_version(ssl) }

    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        var written = 0
        guard bytes.withUnsafeBytes({ SSL_write_ex(ssl, $0.baseAddress, $0.count, &written) }) == 1 else {
            throw TestConnectionError(description: "SSL_write failed")
        }
    }

    /// Reads until the server closes, and returns the status code of the (single) response.
    func readStatusUntilClose() throws -> (status: Int, text: String) {
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            var read = 0
            let result = chunk.withUnsafeMutableBytes { SSL_read_ex(ssl, $0.baseAddress, $0.count, &read) }
            if result != 1 { break }
            buffer += chunk[0..<read]
        }
        let text = String(decoding: buffer, as: UTF8.self)
        let status = text.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return (status, text)
    }
}
