import Foundation
import PluginAPI
import Testing

@testable import Host
@testable import Plugins

@Suite("HubSpot webhooks over HTTP, and the official vectors")
struct HubSpotWebhookTests {
    static let plugins = #"{"providers": {"hubspot": {"enabled": true, "settings": {"clientSecret": "env:HUBSPOT_CLIENT_SECRET", "publicURL": "https://hooks.example.com/"}}}}"#
    static let environment = ["HUBSPOT_CLIENT_SECRET": HubSpotSigner.secret, "ADMIN_TOKEN": TestHub.adminToken]
    let signer = HubSpotSigner()

    func withHubSpot(plugins: String = HubSpotWebhookTests.plugins, clock: any WallClock = SystemClock(), _ body: (TestHub) async throws -> Void) async throws {
        try await withHub(plugins: plugins, environment: Self.environment, clock: clock, body)
    }

    // MARK: Official vectors

    @Test("Every official HubSpot vector verifies with an injected clock; a changed body does not")
    func officialVectors() throws {
        #expect(Vectors.hubspot.count == 4)
        for vector in Vectors.hubspot {
            let secret = Array(vector["client_secret"]!.stringValue!.utf8)
            let version = vector["version"]!.stringValue!
            var headers: HTTPHeaders = [:]
            var clock = FixedClock(0)
            if version == "v3" {
                let timestamp = vector["timestamp_ms"]!.stringValue!
                headers = ["X-HubSpot-Signature-v3": vector["expected_signature"]!.stringValue!, "X-HubSpot-Request-Timestamp": timestamp]
                clock = FixedClock(Double(timestamp)! / 1000 + 1)
            } else {
                headers = ["X-HubSpot-Signature": vector["expected_signature"]!.stringValue!, "X-HubSpot-Signature-Version": version]
            }
            let signature = HubSpotSignature(clientSecret: secret, allowLegacy: true, window: .fiveMinutes, clock: clock)
            let method = HTTPMethod(rawValue: vector["method"]?.stringValue ?? "POST")!
            let uri = vector["uri"]?.stringValue ?? "https://www.example.com/webhook_uri"
            var request = Request(method: method, path: "/webhook_uri", headers: headers, body: Array(vector["body"]!.stringValue!.utf8))
            #expect(throws: Never.self, "\(version) \(method)") { try signature.verify(request, uri: uri) }
            request.body.append(UInt8(ascii: " "))
            #expect(throws: HTTPError.self, "\(version) with a changed body") { try signature.verify(request, uri: uri) }
        }
    }

    @Test("The v3 vector is stale on the real clock, and v1/v2 vectors are refused unless legacy signatures are allowed")
    func vectorFreshnessAndLegacy() throws {
        for vector in Vectors.hubspot {
            let version = vector["version"]!.stringValue!
            let headers: HTTPHeaders = version == "v3"
                ? ["X-HubSpot-Signature-v3": vector["expected_signature"]!.stringValue!, "X-HubSpot-Request-Timestamp": vector["timestamp_ms"]!.stringValue!]
                : ["X-HubSpot-Signature": vector["expected_signature"]!.stringValue!, "X-HubSpot-Signature-Version": version]
            let signature = HubSpotSignature(clientSecret: Array(vector["client_secret"]!.stringValue!.utf8), allowLegacy: false, window: .fiveMinutes, clock: SystemClock())
            let request = Request(method: HTTPMethod(rawValue: vector["method"]?.stringValue ?? "POST")!, path: "/webhook_uri", headers: headers, body: Array(vector["body"]!.stringValue!.utf8))
            let error = #expect(throws: HTTPError.self) { try signature.verify(request, uri: vector["uri"]?.stringValue ?? "https://www.example.com/webhook_uri") }
            #expect(error?.error == (version == "v3" ? "stale_timestamp" : "invalid_signature"))
        }
    }

    @Test("The v1 vector is accepted over HTTP when legacy signatures are allowed, and its batch stored")
    func v1VectorOverHTTP() async throws {
        let vector = try #require(Vectors.hubspot.first { $0["version"] == "v1" })
        let plugins = #"{"providers": {"hubspot": {"enabled": true, "settings": {"clientSecret": "env:HUBSPOT_CLIENT_SECRET", "publicURL": "https://www.example.com", "allowLegacySignatures": true}}}}"#
        try await withHub(plugins: plugins, environment: ["HUBSPOT_CLIENT_SECRET": vector["client_secret"]!.stringValue!, "ADMIN_TOKEN": TestHub.adminToken]) { hub in
            let headers = [("X-HubSpot-Signature", vector["expected_signature"]!.stringValue!), ("X-HubSpot-Signature-Version", "v1")]
            let response = try await hub.request("POST", "/api/webhooks/hubspot", headers: headers, body: Array(vector["body"]!.stringValue!.utf8))
            #expect(response.status == 200)
            let events = try await hub.storedEvents(provider: "hubspot")
            #expect(events.count == 1)
            #expect(events.first?["type"] == "contact.creation")
            #expect(events.first?["external_id"] == "1:12345:1564113600000:123")
        }
    }

    @Test("HubSpot's URI rule decodes only its listed escapes", arguments: [
        ("https://h.example.com/a%3Ab%2Fc%3Fd%40e%21f%24g%27h%28i%29j%2Ak%2Cl%3Bm", "https://h.example.com/a:b/c?d@e!f$g'h(i)j*k,l;m"),
        ("https://h.example.com/x?q=a%20b%26c%3db%2fz", "https://h.example.com/x?q=a%20b%26c%3db/z"),
        ("https://h.example.com/%2", "https://h.example.com/%2"),
    ])
    func uriDecoding(_ raw: String, _ decoded: String) {
        #expect(HubSpotSignature.decodeURI(raw) == decoded)
    }

    // MARK: Over HTTP

    @Test("A signed batch becomes separate events, stored once each even when redelivered")
    func batchStored() async throws {
        try await withHubSpot { hub in
            let body = HubSpotSigner.batch([
                HubSpotSigner.event(id: 1, objectId: 123, type: "contact.creation"), HubSpotSigner.event(id: 2, objectId: 123),
                HubSpotSigner.event(id: 3, objectId: 456, type: "deal.creation"),
            ])
            let first = try await hub.request("POST", "/api/webhooks/hubspot", headers: signer.headers(body: body), body: body)
            let again = try await hub.request("POST", "/api/webhooks/hubspot", headers: signer.headers(body: body), body: body)
            #expect(first.status == 200)
            #expect(again.status == 200)
            let events = try await hub.storedEvents(provider: "hubspot")
            #expect(events.count == 3)
            #expect(Set(events.compactMap { $0["type"]?.stringValue }) == ["contact.creation", "contact.propertyChange", "deal.creation"])
            #expect(events.contains { $0["external_id"] == "1:12345:1700000000000:123" })
        }
    }

    @Test("eventType is used when subscriptionType is absent")
    func eventType() async throws {
        try await withHubSpot { hub in
            let body = Array(#"[{"eventId":9,"subscriptionId":1,"occurredAt":1700000000000,"objectId":5,"objectTypeId":"0-1","eventType":"object.propertyChange"}]"#.utf8)
            let response = try await hub.request("POST", "/api/webhooks/hubspot", headers: signer.headers(body: body), body: body)
            #expect(response.status == 200)
            let events = try await hub.storedEvents(provider: "hubspot")
            #expect(events.first?["type"] == "object.propertyChange")
        }
    }

    @Test("Bad batches are 400 JSON errors and store nothing", arguments: [
        (String(repeating: "x", count: 0), "bad_request"),
        (#"{"eventId":1}"#, "bad_request"),
        (#"[1]"#, "bad_request"),
        (#"[{"subscriptionType":"contact.creation"}]"#, "bad_request"),
        (#"[{"eventId":1}]"#, "bad_request"),
        ("[" + (1...101).map { HubSpotSigner.event(id: $0) }.joined(separator: ",") + "]", "batch_too_large"),
    ])
    func badBatches(_ text: String, _ code: String) async throws {
        try await withHubSpot { hub in
            let body = Array(text.utf8)
            let response = try await hub.request("POST", "/api/webhooks/hubspot", headers: signer.headers(body: body), body: body)
            #expect(response.status == 400)
            #expect(response.errorCode == code)
            #expect(try await hub.storedEvents(provider: "hubspot").isEmpty)
        }
    }

    @Test("A batch of exactly 100 events is accepted")
    func fullBatch() async throws {
        try await withHubSpot { hub in
            let body = HubSpotSigner.batch((1...100).map { HubSpotSigner.event(id: $0) })
            let response = try await hub.request("POST", "/api/webhooks/hubspot", headers: signer.headers(body: body), body: body)
            #expect(response.status == 200)
            let events = try await hub.storedEvents(provider: "hubspot")
            #expect(events.count == 100)
        }
    }

    @Test("The query string is part of the signed URI, with HubSpot's escapes decoded")
    func querySigned() async throws {
        try await withHubSpot { hub in
            let body = HubSpotSigner.batch([HubSpotSigner.event(id: 1)])
            let target = "/api/webhooks/hubspot?portal=62515&note=a%3Ab%20c"
            // HubSpot signs the URI with %3A decoded and %20 kept.
            let good = try await hub.request("POST", target, headers: signer.headers(target: "/api/webhooks/hubspot?portal=62515&note=a:b%20c", body: body), body: body)
            #expect(good.status == 200)
            let bad = try await hub.request("POST", target, headers: signer.headers(target: "/api/webhooks/hubspot", body: body), body: body)
            #expect(bad.status == 401)
        }
    }

    enum Rejection: String, CaseIterable {
        case unsigned, tamperedBody, wrongSecret, stale, future, nonNumericTimestamp, missingTimestamp, malformedSignature, hostHeaderURL, otherMethod
        case legacyNotAllowed
    }

    @Test("Unverifiable HubSpot requests get 401 JSON and store nothing", arguments: Rejection.allCases)
    func rejected(_ rejection: Rejection) async throws {
        try await withHubSpot { hub in
            var body = HubSpotSigner.batch([HubSpotSigner.event(id: 7)])
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            var headers = signer.headers(body: body)
            switch rejection {
            case .unsigned: headers = []
            case .tamperedBody: body[5] ^= 0x01
            case .wrongSecret: headers = HubSpotSigner(secret: "another-secret").headers(body: body)
            case .stale: headers = signer.headers(body: body, timestampMs: now - 3_600_000)
            case .future: headers = signer.headers(body: body, timestampMs: now + 3_600_000)
            case .nonNumericTimestamp: headers = headers.map { $0.0 == "X-HubSpot-Request-Timestamp" ? ($0.0, "1e12") : $0 }
            case .missingTimestamp: headers.removeAll { $0.0 == "X-HubSpot-Request-Timestamp" }
            case .malformedSignature: headers = headers.map { $0.0 == "X-HubSpot-Signature-v3" ? ($0.0, "not base64!") : $0 }
            // Signed for the URL the Host header names: the hub uses its configured public URL instead.
            case .hostHeaderURL: headers = HubSpotSigner(publicURL: "http://127.0.0.1").headers(body: body)
            case .otherMethod: headers = signer.headers(method: "PUT", body: body)
            case .legacyNotAllowed: headers = signer.v1Headers(body: body)
            }
            let response = try await hub.request("POST", "/api/webhooks/hubspot", headers: headers, body: body)
            #expect(response.status == 401)
            #expect(response.header("Content-Type") == "application/json")
            #expect(try response.json()["detail"]?.stringValue?.isEmpty == false)
            #expect(try await hub.storedEvents(provider: "hubspot").isEmpty)
        }
    }

    enum Legacy: String, CaseIterable { case v1, v2, v1WrongSecret, v2HostHeaderURL, unknownVersion, v2OtherMethod }

    @Test("With allowLegacySignatures, v1 and v2 are verified like v3 is", arguments: Legacy.allCases)
    func legacyAllowed(_ legacy: Legacy) async throws {
        let plugins = #"{"providers": {"hubspot": {"enabled": true, "settings": {"clientSecret": "env:HUBSPOT_CLIENT_SECRET", "publicURL": "https://hooks.example.com", "allowLegacySignatures": "true"}}}}"#
        try await withHubSpot(plugins: plugins) { hub in
            let body = HubSpotSigner.batch([HubSpotSigner.event(id: 1)])
            func v2(_ method: String, _ url: String) -> [(String, String)] {
                [("X-HubSpot-Signature", Hex.encode(Digest.sha256(Array("\(HubSpotSigner.secret)\(method)\(url)/api/webhooks/hubspot".utf8) + body))), ("X-HubSpot-Signature-Version", "v2")]
            }
            let (headers, accepted): ([(String, String)], Bool) = switch legacy {
            case .v1: (signer.v1Headers(body: body), true)
            case .v2: (v2("POST", HubSpotSigner.publicURL), true)
            case .v1WrongSecret: (HubSpotSigner(secret: "another-secret").v1Headers(body: body), false)
            case .v2HostHeaderURL: (v2("POST", "http://127.0.0.1"), false)
            case .unknownVersion: (signer.v1Headers(body: body).map { $0.0 == "X-HubSpot-Signature-Version" ? ($0.0, "v3") : $0 }, false)
            case .v2OtherMethod: (v2("GET", HubSpotSigner.publicURL), false)
            }
            let response = try await hub.request("POST", "/api/webhooks/hubspot", headers: headers, body: body)
            #expect(response.status == (accepted ? 200 : 401))
            #expect(try await hub.storedEvents(provider: "hubspot").count == (accepted ? 1 : 0))
        }
    }

    @Test("Without a public URL the provider is unavailable, naming what to set")
    func missingPublicURL() async throws {
        let plugins = #"{"providers": {"hubspot": {"enabled": true}}}"#
        try await withHubSpot(plugins: plugins) { hub in
            let body = HubSpotSigner.batch([HubSpotSigner.event(id: 1)])
            let response = try await hub.request("POST", "/api/webhooks/hubspot", headers: signer.headers(body: body), body: body)
            #expect(response.status == 503)
            #expect(response.errorCode == "provider_unavailable")
            #expect(try response.json()["detail"]?.stringValue?.contains("publicURL") == true)
        }
    }
}
