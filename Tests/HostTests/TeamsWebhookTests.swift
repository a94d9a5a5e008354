import Foundation
import PluginAPI
import Testing

@testable import Host

/// Signs Teams outgoing webhook requests the way Teams does, for tests.
enum TeamsSigner {
    /// A security token as Teams shows it: base64 of random bytes.
    static let securityToken = Base64.encode((0..<32).map { UInt8(truncatingIfNeeded: $0 &* 73 &+ 5) })
    static let clientState = "graph-client-state-7d1f0c"

    static func headers(body: [UInt8], token: String = securityToken) -> [(String, String)] {
        let mac = Digest.hmacSHA256(key: Base64.decode(token)!, message: body)
        return [("Authorization", "HMAC \(Base64.encode(mac))"), ("Content-Type", "application/json")]
    }

    static func activity(id: String = "1485983408511", text: String = "<at>Atom</at> hello") -> [UInt8] {
        Array(
            #"{"type":"message","id":"\#(id)","timestamp":"2026-11-29T03:00:00.000Z","serviceUrl":"https://smba.trafficmanager.net/amer/","channelId":"msteams","from":{"id":"29:1abc","name":"Ada"},"conversation":{"id":"19:chan@thread.skype"},"text":"\#(text)"}"#
                .utf8)
    }

    static func notification(id: String? = "n-1", clientState: String? = TeamsSigner.clientState, changeType: String = "created") -> JSONValue {
        var item: JSONObject = [
            "subscriptionId": "sub-1", "changeType": .string(changeType), "resource": "teams('t1')/channels('c1')/messages('m1')",
            "subscriptionExpirationDateTime": "2026-11-30T00:00:00Z", "tenantId": "tenant-1",
        ]
        if let id { item["id"] = .string(id) }
        if let clientState { item["clientState"] = .string(clientState) }
        return .object(item)
    }

    static func batch(_ items: [JSONValue]) -> [UInt8] { JSONValue.object(["value": .array(items)]).serialized() }

    /// `request` with Teams' HMAC of its body under `token` (a conformance-kit signer).
    static func sign(_ request: Request, token: String = securityToken) -> Request {
        var request = request
        request.headers.replaceOrAdd(name: "Authorization", value: headers(body: request.body, token: token)[0].1)
        return request
    }

    /// `request`'s Graph batch with `clientState` put in every item, as Graph sends it (a conformance-kit signer).
    static func withClientState(_ request: Request, clientState: String = TeamsSigner.clientState) -> Request {
        var request = request
        let items = (try? JSONValue.parse(request.body))?["value"]?.arrayValue ?? []  // The kit's deliveries are well-formed batches.
        request.body = batch(
            items.map { item in
                var object = item.objectValue ?? [:]
                object["clientState"] = .string(clientState)
                return .object(object)
            })
        return request
    }

    static let plugins = #"{"providers": {"teams": {"enabled": true}}}"#
    static let environment = [
        "TEAMS_OUTGOING_WEBHOOK_SECRET": securityToken, "TEAMS_CLIENT_STATE": clientState, "ADMIN_TOKEN": TestHub.adminToken,
    ]
}

@Suite("Teams outgoing webhook over HTTP")
struct TeamsOutgoingWebhookTests {
    static let path = "/api/webhooks/teams"

    @Test("A signed activity is stored once and answered with a message")
    func signedActivity() async throws {
        try await withHub(plugins: TeamsSigner.plugins, environment: TeamsSigner.environment) { hub in
            let body = TeamsSigner.activity(id: "1485983408511")
            let first = try await hub.request("POST", Self.path, headers: TeamsSigner.headers(body: body), body: body)
            let again = try await hub.request("POST", Self.path, headers: TeamsSigner.headers(body: body), body: body)
            #expect(first.status == 200)
            #expect(again.status == 200)
            #expect(try first.json() == ["type": "message", "text": "Received."])
            let events = try await hub.storedEvents(provider: "teams")
            #expect(events.count == 1)
            #expect(events.first?["external_id"] == "1485983408511")
            #expect(events.first?["type"] == "message")
            #expect(events.first?["occurred_at"] == .number(1_795_921_200), "the activity's timestamp is the event's time")
            #expect(events.first?["payload"]?["text"] == "<at>Atom</at> hello")
        }
    }

    /// An Authorization header that must be refused, for the body `TeamsSigner.activity()`.
    static let refusedHeaders: [(String, [(String, String)])] = {
        let body = TeamsSigner.activity()
        let good = TeamsSigner.headers(body: body)[0].1
        let mac = Base64.decode(String(good.dropFirst(5)))!
        let otherKey = Base64.encode([UInt8](repeating: 7, count: 32))
        return [
            ("no Authorization header", []),
            ("another scheme", [("Authorization", "Bearer " + good.dropFirst(5))]),
            ("not base64", [("Authorization", "HMAC !!!not-base64!!!")]),
            ("a truncated MAC", [("Authorization", "HMAC " + Base64.encode(mac.dropLast()))]),
            ("a MAC under another key", TeamsSigner.headers(body: body, token: otherKey)),
            ("a MAC of another body", TeamsSigner.headers(body: TeamsSigner.activity(text: "something else"))),
            ("a MAC with one bit flipped", [("Authorization", "HMAC " + Base64.encode([mac[0] ^ 1] + mac.dropFirst()))]),
            ("an empty MAC", [("Authorization", "HMAC ")]),
            ("two headers, one good", [("Authorization", good), ("Authorization", "HMAC AAAA")]),
        ]
    }()

    @Test("Missing or wrong signatures are 401 JSON and nothing is stored", arguments: refusedHeaders)
    func refused(_ name: String, _ headers: [(String, String)]) async throws {
        try await withHub(plugins: TeamsSigner.plugins, environment: TeamsSigner.environment) { hub in
            let response = try await hub.request("POST", Self.path, headers: headers, body: TeamsSigner.activity())
            #expect(response.status == 401, "\(name)")
            #expect(response.header("Content-Type") == "application/json")
            #expect(["missing_signature", "invalid_signature"].contains(response.errorCode ?? ""))
            #expect(try await hub.storedEvents(provider: "teams").isEmpty)
        }
    }

    @Test("Signed but malformed activities are 400", arguments: ["not json", #"{"type":"message"}"#, #"{"id":"1"}"#, #"{"id":"","type":"message"}"#])
    func malformed(body: String) async throws {
        try await withHub(plugins: TeamsSigner.plugins, environment: TeamsSigner.environment) { hub in
            let bytes = Array(body.utf8)
            let response = try await hub.request("POST", Self.path, headers: TeamsSigner.headers(body: bytes), body: bytes)
            #expect(response.status == 400)
            #expect(response.errorCode == "bad_request")
        }
    }

    @Test("Without the secret the route is 503, never 200; a secret that is not base64 makes the provider unavailable")
    func notConfigured() async throws {
        let body = TeamsSigner.activity()
        try await withHub(plugins: TeamsSigner.plugins, environment: ["TEAMS_CLIENT_STATE": TeamsSigner.clientState]) { hub in
            let response = try await hub.request("POST", Self.path, headers: TeamsSigner.headers(body: body), body: body)
            #expect(response.status == 503)
            #expect(try response.json()["detail"]?.stringValue?.contains("TEAMS_OUTGOING_WEBHOOK_SECRET") == true)
        }
        try await withHub(plugins: TeamsSigner.plugins, environment: ["TEAMS_OUTGOING_WEBHOOK_SECRET": "not base64!"]) { hub in
            let response = try await hub.request("POST", Self.path, headers: TeamsSigner.headers(body: body), body: body)
            #expect(response.status == 503)
            #expect(response.errorCode == "provider_unavailable")
            #expect(!response.text.contains("not base64!"), "the secret is never echoed")
        }
        try await withHub(plugins: TeamsSigner.plugins, environment: [:]) { hub in
            let response = try await hub.request("POST", Self.path, headers: TeamsSigner.headers(body: body), body: body)
            #expect(response.status == 503)
            #expect(response.errorCode == "provider_unavailable")
        }
    }

    @Test("The reply text is configurable")
    func replyText() async throws {
        let plugins = #"{"providers": {"teams": {"enabled": true, "settings": {"replyText": "Logged in Atom Hub."}}}}"#
        try await withHub(plugins: plugins, environment: TeamsSigner.environment) { hub in
            let body = TeamsSigner.activity()
            let response = try await hub.request("POST", Self.path, headers: TeamsSigner.headers(body: body), body: body)
            #expect(try response.json()["text"] == "Logged in Atom Hub.")
        }
    }
}

@Suite("Teams Graph change notifications over HTTP")
struct TeamsGraphNotificationTests {
    static let path = "/api/webhooks/teams/notifications"

    @Test("The validation handshake echoes the decoded token as plain text and stores nothing")
    func validationHandshake() async throws {
        try await withHub(plugins: TeamsSigner.plugins, environment: TeamsSigner.environment) { hub in
            let target = Self.path + "?validationToken=Validation%3A+Testing+client+application+reachability+for+subscription+Request-Id%3A+b2f2%2Dc8"
            let response = try await hub.request("POST", target)
            #expect(response.status == 200)
            #expect(response.header("Content-Type")?.hasPrefix("text/plain") == true)
            #expect(response.header("X-Content-Type-Options") == "nosniff")
            #expect(response.text == "Validation: Testing client application reachability for subscription Request-Id: b2f2-c8")
            #expect(try await hub.storedEvents(provider: "teams").isEmpty)
            let tooLong = try await hub.request("POST", Self.path + "?validationToken=" + String(repeating: "a", count: 2000))
            #expect(tooLong.status == 400)
        }
    }

    @Test("Notifications with the clientState are stored once, without the clientState, and answered 202")
    func storedOnce() async throws {
        try await withHub(plugins: TeamsSigner.plugins, environment: TeamsSigner.environment) { hub in
            let body = TeamsSigner.batch([TeamsSigner.notification(id: "n-1"), TeamsSigner.notification(id: "n-2", changeType: "updated")])
            let first = try await hub.request("POST", Self.path, headers: [("Content-Type", "application/json")], body: body)
            let again = try await hub.request("POST", Self.path, headers: [("Content-Type", "application/json")], body: body)
            #expect(first.status == 202)
            #expect(again.status == 202)
            let events = try await hub.storedEvents(provider: "teams")
            #expect(events.count == 2)
            #expect(Set(events.compactMap { $0["type"]?.stringValue }) == ["graph.created", "graph.updated"])
            #expect(events.contains { $0["external_id"] == "sub-1|created|teams('t1')/channels('c1')/messages('m1')|n-1" })
            for event in events {
                #expect(event["payload"]?["clientState"] == nil)
                #expect(event["payload"]?["subscriptionId"] == "sub-1")
            }
        }
    }

    @Test("In a mixed batch only items with the clientState are stored; the others are logged without the secret")
    func mixedBatch() async throws {
        try await withHub(plugins: TeamsSigner.plugins, environment: TeamsSigner.environment) { hub in
            let body = TeamsSigner.batch([
                TeamsSigner.notification(id: "good"), TeamsSigner.notification(id: "wrong", clientState: "guess"),
                TeamsSigner.notification(id: "missing", clientState: nil), TeamsSigner.notification(id: "case", clientState: TeamsSigner.clientState.uppercased()),
            ])
            let response = try await hub.request("POST", Self.path, body: body)
            #expect(response.status == 202)
            let events = try await hub.storedEvents(provider: "teams")
            #expect(events.map { $0["payload"]?["id"] } == ["good"])
            let warnings = hub.logs.all.filter { $0.contains("clientState does not match") }
            #expect(warnings.count == 1, "one line per request, not per item")
            #expect(warnings.first?.contains("dropped=3 of=4") == true)
            #expect(!hub.logs.all.contains { $0.contains(TeamsSigner.clientState) || $0.contains("guess") })
        }
    }

    @Test("A batch in which no item has the clientState is 401 and nothing is stored")
    func allWrong() async throws {
        try await withHub(plugins: TeamsSigner.plugins, environment: TeamsSigner.environment) { hub in
            let body = TeamsSigner.batch([TeamsSigner.notification(clientState: "guess"), TeamsSigner.notification(id: "n-2", clientState: nil)])
            let response = try await hub.request("POST", Self.path, body: body)
            #expect(response.status == 401)
            #expect(response.errorCode == "invalid_signature")
            #expect(try await hub.storedEvents(provider: "teams").isEmpty)
        }
    }

    @Test("Lifecycle notifications are stored too")
    func lifecycle() async throws {
        try await withHub(plugins: TeamsSigner.plugins, environment: TeamsSigner.environment) { hub in
            let item: JSONValue = [
                "subscriptionId": "sub-1", "subscriptionExpirationDateTime": "2026-11-30T00:00:00Z", "tenantId": "tenant-1",
                "clientState": .string(TeamsSigner.clientState), "lifecycleEvent": "reauthorizationRequired",
            ]
            let response = try await hub.request("POST", Self.path, body: TeamsSigner.batch([item]))
            #expect(response.status == 202)
            let events = try await hub.storedEvents(provider: "teams")
            #expect(events.count == 1)
            #expect(events.first?["type"] == "graph.lifecycle.reauthorizationRequired")
        }
    }

    @Test("Items without an id are keyed by their content: redeliveries dedupe, distinct items do not")
    func contentKeyed() async throws {
        try await withHub(plugins: TeamsSigner.plugins, environment: TeamsSigner.environment) { hub in
            let created = TeamsSigner.notification(id: nil)
            let updated = TeamsSigner.notification(id: nil, changeType: "updated")
            for body in [TeamsSigner.batch([created]), TeamsSigner.batch([created]), TeamsSigner.batch([updated])] {
                #expect(try await hub.request("POST", Self.path, body: body).status == 202)
            }
            let events = try await hub.storedEvents(provider: "teams")
            #expect(events.count == 2)
            #expect(events.allSatisfy { $0["external_id"]?.stringValue?.hasPrefix("sha256:") == true })
        }
    }

    @Test("An empty batch is acknowledged and stores nothing")
    func emptyBatch() async throws {
        try await withHub(plugins: TeamsSigner.plugins, environment: TeamsSigner.environment) { hub in
            let response = try await hub.request("POST", Self.path, body: Array(#"{"value":[]}"#.utf8))
            #expect(response.status == 202)
            #expect(try await hub.storedEvents(provider: "teams").isEmpty)
        }
    }

    @Test("Malformed bodies are 400", arguments: ["not json", "{}", #"{"value":{}}"#, #"{"value":["text"]}"#])
    func malformed(body: String) async throws {
        try await withHub(plugins: TeamsSigner.plugins, environment: TeamsSigner.environment) { hub in
            let response = try await hub.request("POST", Self.path, body: Array(body.utf8))
            #expect(response.status == 400)
            #expect(response.errorCode == "bad_request")
        }
    }

    @Test("Without a clientState the route is 503, handshake included")
    func notConfigured() async throws {
        try await withHub(plugins: TeamsSigner.plugins, environment: ["TEAMS_OUTGOING_WEBHOOK_SECRET": TeamsSigner.securityToken]) { hub in
            let handshake = try await hub.request("POST", Self.path + "?validationToken=abc")
            let batch = try await hub.request("POST", Self.path, body: TeamsSigner.batch([TeamsSigner.notification()]))
            #expect(handshake.status == 503)
            #expect(batch.status == 503)
            #expect(try batch.json()["detail"]?.stringValue?.contains("TEAMS_CLIENT_STATE") == true)
        }
    }
}
