import COpenSSL
import Foundation
import Testing

@testable import Host

@Suite("TLS termination")
struct TLSTests {
    private func withTLSHub(_ body: (TestHub, TestCertificate) async throws -> Void) async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }  // Best effort cleanup of the temp certificate.
        let certificate = try await Blocking.run { try TestCertificate.make(in: directory) }
        var server = ServerConfiguration()
        server.tlsCertificatePath = certificate.certificatePath
        server.tlsKeyPath = certificate.keyPath
        try await withHub(server: server) { hub in try await body(hub, certificate) }
    }

    @Test("HTTPS with TLS 1.2+ and HTTP/1.1 negotiated by ALPN")
    func servesHTTPS() async throws {
        try await withTLSHub { hub, certificate in
            let port = hub.port
            let (status, text, alpn, version) = try await Blocking.run {
                let client = try TLSTestClient(port: port, trusting: certificate.certificatePath)
                try client.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                let (status, text) = try client.readStatusUntilClose()
                return (status, text, client.negotiatedALPN, client.protocolVersion)
            }
            #expect(status == 200)
            #expect(text.hasSuffix(#"{"status":"ok"}"#))
            #expect(alpn == "http/1.1")
            #expect(version >= TLS1_2_VERSION)
        }
    }

    @Test("A signed Slack event over HTTPS is stored")
    func webhookOverTLS() async throws {
        try await withTLSHub { hub, certificate in
            let port = hub.port
            let body = SlackSigner.eventBody(id: "EvTLS")
            let headers = SlackSigner().headers(body: body).map { "\($0.0): \($0.1)\r\n" }.joined()
            let status = try await Blocking.run {
                let client = try TLSTestClient(port: port, trusting: certificate.certificatePath)
                try client.send("POST /api/webhooks/slack HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: \(body.count)\r\n\(headers)\r\n" + String(decoding: body, as: UTF8.self))
                return try client.readStatusUntilClose().status
            }
            #expect(status == 200)
            #expect(try await hub.hub.eventLog.recent(provider: "slack", limit: 10).first?.externalID == "EvTLS")
        }
    }

    @Test("TLS 1.1 and older are refused")
    func refusesOldTLS() async throws {
        try await withTLSHub { hub, certificate in
            let port = hub.port
            let (refusal, modern) = try await Blocking.run {
                let refusal: Int32
                do {
                    _ = try TLSTestClient(port: port, trusting: certificate.certificatePath, maxVersion: TLS1_1_VERSION)
                    refusal = 0
                } catch {
                    refusal = Int32(truncatingIfNeeded: ERR_peek_last_error() & 0x7FFFFF)
                }
                // Control: the same permissive client capped at TLS 1.2 connects.
                let modern = try TLSTestClient(port: port, trusting: certificate.certificatePath, maxVersion: TLS1_2_VERSION)
                return (refusal, modern.protocolVersion)
            }
            #expect(refusal == SSL_R_TLSV1_ALERT_PROTOCOL_VERSION, "the server itself refused the protocol version")
            #expect(modern == TLS1_2_VERSION)
        }
    }

    @Test("Plain HTTP to the TLS port gets no response")
    func plainHTTPRefused() async throws {
        try await withTLSHub { hub, _ in
            let port = hub.port
            let closed = try await Blocking.run {
                let connection = try TestConnection(port: port)
                try connection.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                return try connection.isClosedByPeer()
            }
            #expect(closed)
        }
    }

    @Test("A bad certificate path is a startup error")
    func badCertificate() throws {
        var server = ServerConfiguration()
        server.tlsCertificatePath = "/nonexistent/cert.pem"
        server.tlsKeyPath = "/nonexistent/key.pem"
        #expect(throws: TLSError.self) { _ = try TestHub(server: server) }
    }
}
