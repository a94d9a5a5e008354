import Foundation
import PluginAPI
import Testing

@testable import Host

@Suite("Standard Webhooks: the signature primitive and the generic provider over HTTP")
struct StandardWebhooksTests {
    static let plugins = #"{"providers": {"generic": {"enabled": true, "settings": {"sources": {"billing": "env:BILLING_SECRET", "crm": "whsec_c2Vjb25kLXNvdXJjZS1rZXk="}}}}}"#
    static let environment = ["BILLING_SECRET": StandardWebhooksSigner.secret, "ADMIN_TOKEN": TestHub.adminToken]
    let signer = StandardWebhooksSigner()

    func withGeneric(clock: any WallClock = SystemClock(), _ body: (TestHub) async throws -> Void) async throws {
        try await withHub(plugins: Self.plugins, environment: Self.environment, clock: clock, body)
    }

    @Test("The official vector: signing gives the expected signature; the must-fail one is refused")
    func officialVectorMath() throws {
        let vector = try #require(Vectors.standardWebhooks.first)
        let signature = try StandardWebhookSignature(secret: vector["secret"]!.stringValue!)
        let id = vector["webhook_id"]!.stringValue!, timestamp = vector["webhook_timestamp"]!.stringValue!
        let body = Array(vector["body"]!.stringValue!.utf8)
        #expect(signature.sign(id: id, timestamp: timestamp, body: body) == vector["expected_signature"]!.stringValue!)
        let clock = FixedClock(Double(timestamp)! + 1)
        func request(_ header: String) -> Request {
            Request(method: .POST, path: "/", headers: ["webhook-id": id, "webhook-timestamp": timestamp, "webhook-signature": header], body: body)
        }
        #expect(throws: Never.self) { try signature.verify(request(vector["expected_signature"]!.stringValue!), window: .fiveMinutes, now: clock.now()) }
        let failure = #expect(throws: HTTPError.self) { try signature.verify(request(vector["must_fail"]!.stringValue!), window: .fiveMinutes, now: clock.now()) }
        #expect(failure?.status == 401)
        let stale = #expect(throws: HTTPError.self) { try signature.verify(request(vector["expected_signature"]!.stringValue!), window: .fiveMinutes, now: SystemClock().now()) }
        #expect(stale?.error == "stale_timestamp")
    }

    @Test("The official vector is accepted over HTTP with an injected clock")
    func officialVectorOverHTTP() async throws {
        let vector = try #require(Vectors.standardWebhooks.first)
        let timestamp = vector["webhook_timestamp"]!.stringValue!
        try await withGeneric(clock: FixedClock(Double(timestamp)! - 299)) { hub in
            let headers = [("webhook-id", vector["webhook_id"]!.stringValue!), ("webhook-timestamp", timestamp), ("webhook-signature", vector["expected_signature"]!.stringValue!)]
            let response = try await hub.request("POST", "/api/webhooks/generic/billing", headers: headers, body: Array(vector["body"]!.stringValue!.utf8))
            #expect(response.status == 204)
            let event = try #require(try await hub.storedEvents(provider: "generic").first)
            #expect(event["external_id"] == "billing/msg_p5jXN8AQM9LWM0D4loKWxJek")
            #expect(event["payload"]?["body"]?["test"] == 2432232314)
        }
    }

    @Test("Secrets must be whsec_ followed by base64", arguments: ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_", "whsec_not*base64", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS"])
    func badSecrets(_ secret: String) {
        #expect(throws: StandardWebhookSignature.SecretError.self) { try StandardWebhookSignature(secret: secret) }
    }

    @Test("Any one matching v1 entry among several is enough; other versions are ignored")
    func severalSignatures() async throws {
        try await withGeneric { hub in
            let body = Array(#"{"type":"invoice.paid"}"#.utf8)
            var headers = signer.headers(id: "msg_multi", body: body)
            let good = headers[2].1
            headers[2].1 = "v1a,abc v1,\(Base64.encode([UInt8](repeating: 1, count: 32))) \(good) v2,xyz"
            let response = try await hub.request("POST", "/api/webhooks/generic/billing", headers: headers, body: body)
            #expect(response.status == 204)
            #expect(try await hub.storedEvents(provider: "generic").first?["type"] == "invoice.paid")
        }
    }

    @Test("Each source verifies with its own secret")
    func perSourceSecrets() async throws {
        try await withGeneric { hub in
            let body = Array(#"{"type":"contact.updated"}"#.utf8)
            let crm = StandardWebhooksSigner(secret: "whsec_c2Vjb25kLXNvdXJjZS1rZXk=")
            #expect(try await hub.request("POST", "/api/webhooks/generic/crm", headers: crm.headers(id: "m1", body: body), body: body).status == 204)
            // billing's signature is not valid for crm, and the other way round.
            #expect(try await hub.request("POST", "/api/webhooks/generic/crm", headers: signer.headers(id: "m2", body: body), body: body).status == 401)
            #expect(try await hub.request("POST", "/api/webhooks/generic/billing", headers: crm.headers(id: "m3", body: body), body: body).status == 401)
            let events = try await hub.storedEvents(provider: "generic")
            #expect(events.map { $0["external_id"] } == ["crm/m1"])
        }
    }

    @Test("An unknown source is 404 and a verified body that is not JSON 400; neither stores anything", arguments: [
        ("payroll", "{}", 404, "unknown_source"), ("billing", "plain text", 400, "bad_request"),
    ])
    func refusedBeforeStoring(_ source: String, _ text: String, _ status: Int, _ code: String) async throws {
        try await withGeneric { hub in
            let body = Array(text.utf8)
            let response = try await hub.request("POST", "/api/webhooks/generic/\(source)", headers: signer.headers(id: "m", body: body), body: body)
            #expect(response.status == status)
            #expect(response.errorCode == code)
            #expect(try await hub.storedEvents(provider: "generic").isEmpty)
        }
    }

    @Test("A redelivery with the same webhook-id is stored once")
    func duplicate() async throws {
        try await withGeneric { hub in
            let body = Array(#"{"type":"a"}"#.utf8)
            for _ in 0..<2 {
                let response = try await hub.request("POST", "/api/webhooks/generic/billing", headers: signer.headers(id: "msg_dup", body: body), body: body)
                #expect(response.status == 204)
            }
            #expect(try await hub.storedEvents(provider: "generic").count == 1)
        }
    }

    enum Rejection: String, CaseIterable {
        case unsigned, missingID, missingTimestamp, tamperedBody, wrongSecret, stale, future, nonNumericTimestamp, otherID, unknownVersionOnly, notBase64
    }

    @Test("Unverifiable deliveries get 401 JSON and store nothing", arguments: Rejection.allCases)
    func rejected(_ rejection: Rejection) async throws {
        try await withGeneric { hub in
            var body = Array(#"{"type":"invoice.paid","data":{}}"#.utf8)
            let now = Int(Date().timeIntervalSince1970)
            var headers = signer.headers(id: "msg_1", body: body)
            func replace(_ name: String, _ value: String) { headers = headers.map { $0.0 == name ? ($0.0, value) : $0 } }
            switch rejection {
            case .unsigned: headers.removeAll { $0.0 == "webhook-signature" }
            case .missingID: headers.removeAll { $0.0 == "webhook-id" }
            case .missingTimestamp: headers.removeAll { $0.0 == "webhook-timestamp" }
            case .tamperedBody: body[3] ^= 0x01
            case .wrongSecret: headers = StandardWebhooksSigner(secret: StandardWebhooksSigner.otherSecret).headers(id: "msg_1", body: body)
            case .stale: headers = signer.headers(id: "msg_1", body: body, timestamp: now - 3600)
            case .future: headers = signer.headers(id: "msg_1", body: body, timestamp: now + 3600)
            case .nonNumericTimestamp: replace("webhook-timestamp", "soon")
            case .otherID: replace("webhook-id", "msg_2")
            case .unknownVersionOnly: replace("webhook-signature", headers[2].1.replacingOccurrences(of: "v1,", with: "v2,"))
            case .notBase64: replace("webhook-signature", "v1,***")
            }
            let response = try await hub.request("POST", "/api/webhooks/generic/billing", headers: headers, body: body)
            #expect(response.status == 401)
            #expect(response.header("Content-Type") == "application/json")
            #expect(try await hub.storedEvents(provider: "generic").isEmpty)
        }
    }

    @Test("A malformed secret makes the provider unavailable without revealing it")
    func malformedSecret() async throws {
        let plugins = #"{"providers": {"generic": {"enabled": true, "settings": {"sources": {"billing": "not-a-whsec-secret-value"}}}}}"#
        try await withHub(plugins: plugins, environment: Self.environment) { hub in
            let response = try await hub.request("POST", "/api/webhooks/generic/billing", body: Array("{}".utf8))
            #expect(response.status == 503)
            let detail = try response.json()["detail"]?.stringValue ?? ""
            #expect(detail.contains("sources.billing") && detail.contains("whsec_"))
            #expect(!detail.contains("not-a-whsec-secret-value"))
        }
    }
}
