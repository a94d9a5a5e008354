import Foundation
import PluginAPI
import Plugins
import Testing

@testable import Host

@Suite("Slack Events API over HTTP")
struct SlackWebhookTests {
    let signer = SlackSigner()

    @Test("Slack's documented vector verifies with an injected clock")
    func documentedVector() async throws {
        let vector = try #require(Vectors.slack.first)
        let timestamp = try #require(Double(vector["timestamp"]!.stringValue!))
        let body = Array(vector["body"]!.stringValue!.utf8)
        try await withHub(environment: ["SLACK_SIGNING_SECRET": vector["signing_secret"]!.stringValue!], clock: FixedClock(timestamp + 10)) { hub in
            let headers = [("X-Slack-Request-Timestamp", vector["timestamp"]!.stringValue!), ("X-Slack-Signature", vector["expected_signature"]!.stringValue!)]
            let response = try await hub.request("POST", "/api/webhooks/slack", headers: headers, body: body)
            // The vector is a slash-command form body: the signature passes, then the Events API route
            // refuses it as not JSON (400, not 401).
            #expect(response.status == 400)
            #expect(response.errorCode == "bad_request")

            var tampered = body
            tampered[tampered.count - 1] ^= 1
            let rejected = try await hub.request("POST", "/api/webhooks/slack", headers: headers, body: tampered)
            #expect(rejected.status == 401)
            #expect(rejected.errorCode == "invalid_signature")
        }
    }

    @Test("The documented vector is stale on the real clock")
    func documentedVectorIsStaleNow() async throws {
        let vector = try #require(Vectors.slack.first)
        try await withHub(environment: ["SLACK_SIGNING_SECRET": vector["signing_secret"]!.stringValue!]) { hub in
            let headers = [("X-Slack-Request-Timestamp", vector["timestamp"]!.stringValue!), ("X-Slack-Signature", vector["expected_signature"]!.stringValue!)]
            let response = try await hub.request("POST", "/api/webhooks/slack", headers: headers, body: Array(vector["body"]!.stringValue!.utf8))
            #expect(response.status == 401)
            #expect(response.errorCode == "stale_timestamp")
        }
    }

    @Test("A signed event is stored once and acknowledged with 200")
    func eventStored() async throws {
        try await withHub { hub in
            let body = SlackSigner.eventBody(id: "EvSTORED1", text: "stored text")
            let response = try await hub.request("POST", "/api/webhooks/slack", headers: signer.headers(body: body), body: body)
            #expect(response.status == 200)
            let events = try await hub.storedEvents()
            #expect(events.count == 1)
            let event = try #require(events.first)
            #expect(event["external_id"] == "EvSTORED1")
            #expect(event["type"] == "message")
            #expect(event["provider"] == "slack")
            #expect(event["payload"]?["event"]?["text"] == "stored text")
            #expect(event["payload"]?["token"] == nil, "the deprecated verification token is not stored")
        }
    }

    @Test("A retried delivery is acknowledged and stored once")
    func duplicateStoredOnce() async throws {
        try await withHub { hub in
            let body = SlackSigner.eventBody(id: "EvDUP")
            let first = try await hub.request("POST", "/api/webhooks/slack", headers: signer.headers(body: body), body: body)
            let retry = try await hub.request(
                "POST", "/api/webhooks/slack", headers: signer.headers(body: body) + [("X-Slack-Retry-Num", "1"), ("X-Slack-Retry-Reason", "http_timeout")], body: body)
            #expect(first.status == 200)
            #expect(retry.status == 200)
            #expect(try await hub.storedEvents().count == 1)
        }
    }

    @Test("url_verification is answered with the challenge")
    func urlVerification() async throws {
        try await withHub { hub in
            let body = Array(#"{"token":"t","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#.utf8)
            let response = try await hub.request("POST", "/api/webhooks/slack", headers: signer.headers(body: body), body: body)
            #expect(response.status == 200)
            #expect(try response.json()["challenge"] == "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P")
            #expect(try await hub.storedEvents().isEmpty)
        }
    }

    enum Rejection: String, CaseIterable {
        case tamperedBody, wrongSecret, staleTimestamp, futureTimestamp, missingTimestamp, missingSignature, malformedSignature, nonNumericTimestamp
    }

    @Test("Unverifiable requests get 401 with a JSON error and store nothing", arguments: Rejection.allCases)
    func rejected(_ rejection: Rejection) async throws {
        try await withHub { hub in
            var body = SlackSigner.eventBody()
            let now = Int(Date().timeIntervalSince1970)
            var headers = signer.headers(body: body)
            switch rejection {
            case .tamperedBody: body[10] ^= 0x01
            case .wrongSecret: headers = SlackSigner(secret: "another-secret").headers(body: body)
            case .staleTimestamp: headers = signer.headers(body: body, timestamp: now - 310)
            case .futureTimestamp: headers = signer.headers(body: body, timestamp: now + 310)
            case .missingTimestamp: headers.removeAll { $0.0 == "X-Slack-Request-Timestamp" }
            case .missingSignature: headers.removeAll { $0.0 == "X-Slack-Signature" }
            case .malformedSignature: headers = headers.map { $0.0 == "X-Slack-Signature" ? ($0.0, "v1=abc") : $0 }
            case .nonNumericTimestamp: headers = headers.map { $0.0 == "X-Slack-Request-Timestamp" ? ($0.0, "12ab") : $0 }
            }
            let response = try await hub.request("POST", "/api/webhooks/slack", headers: headers, body: body)
            #expect(response.status == 401)
            #expect(response.header("Content-Type") == "application/json")
            let json = try response.json()
            let expected: String
            switch rejection {
            case .staleTimestamp, .futureTimestamp: expected = "stale_timestamp"
            case .missingTimestamp, .missingSignature: expected = "missing_signature"
            default: expected = "invalid_signature"
            }
            #expect(json["error"]?.stringValue == expected)
            #expect(json["detail"]?.stringValue?.isEmpty == false)
            if rejection == .nonNumericTimestamp {
                #expect(json["detail"]?.stringValue?.contains("not a decimal number") == true, "refused for the timestamp, not the signature")
            }
            #expect(try await hub.storedEvents().isEmpty)
        }
    }

    @Test("A body over Slack's 1 MiB limit gets 413 before it is read")
    func oversizedBody() async throws {
        try await withHub { hub in
            let response = try await hub.raw(Array("POST /api/webhooks/slack HTTP/1.1\r\nHost: x\r\nContent-Length: \(2 << 20)\r\n\r\n".utf8))
            #expect(response.status == 413)
            #expect(response.header("Connection") == "close")
        }
    }

    @Test("A disabled provider answers 503 provider_disabled")
    func disabledProvider() async throws {
        try await withHub(plugins: #"{"providers": {"slack": {"enabled": false}}}"#) { hub in
            let body = SlackSigner.eventBody()
            let response = try await hub.request("POST", "/api/webhooks/slack", headers: signer.headers(body: body), body: body)
            #expect(response.status == 503)
            #expect(response.errorCode == "provider_disabled")
            #expect(try response.json()["provider"] == "slack")
            #expect(hub.hub.registry.creationCount("slack") == 0)
        }
    }

    @Test("A provider absent from plugins.json is disabled")
    func absentProvider() async throws {
        try await withHub(plugins: #"{"providers": {}}"#) { hub in
            let response = try await hub.request("POST", "/api/webhooks/slack", body: SlackSigner.eventBody())
            #expect(response.status == 503)
            #expect(response.errorCode == "provider_disabled")
        }
    }

    @Test("A missing secret answers 503 naming it; once configured, the next request succeeds")
    func missingSecretThenConfigured() async throws {
        try await withHub(environment: ["ADMIN_TOKEN": TestHub.adminToken]) { hub in
            let body = SlackSigner.eventBody()
            let first = try await hub.request("POST", "/api/webhooks/slack", headers: signer.headers(body: body), body: body)
            #expect(first.status == 503)
            #expect(first.errorCode == "provider_unavailable")
            let detail = try first.json()["detail"]?.stringValue ?? ""
            #expect(detail.contains("signingSecret") && detail.contains("SLACK_SIGNING_SECRET"))
            #expect(hub.logs.all.contains { $0.contains("could not be created") && $0.contains("SLACK_SIGNING_SECRET") })

            hub.environment["SLACK_SIGNING_SECRET"] = TestHub.slackSecret
            let second = try await hub.request("POST", "/api/webhooks/slack", headers: signer.headers(body: body), body: body)
            #expect(second.status == 200)
            #expect(hub.hub.registry.creationCount("slack") == 1)
        }
    }

    @Test("A signing secret given as env: in plugins.json is resolved")
    func envReference() async throws {
        let plugins = #"{"providers": {"slack": {"enabled": true, "settings": {"signingSecret": "env:MY_SLACK_SECRET"}}}}"#
        try await withHub(plugins: plugins, environment: ["MY_SLACK_SECRET": "custom-secret", "ADMIN_TOKEN": TestHub.adminToken]) { hub in
            let body = SlackSigner.eventBody()
            let good = try await hub.request("POST", "/api/webhooks/slack", headers: SlackSigner(secret: "custom-secret").headers(body: body), body: body)
            #expect(good.status == 200)
            let other = SlackSigner.eventBody()
            let bad = try await hub.request("POST", "/api/webhooks/slack", headers: signer.headers(body: other), body: other)
            #expect(bad.status == 401)
        }
    }

    @Test("64 concurrent first requests create the provider exactly once")
    func concurrentFirstRequests() async throws {
        try await withHub { hub in
            #expect(hub.hub.registry.creationCount("slack") == 0)
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<64 {
                    group.addTask {
                        let body = SlackSigner.eventBody(id: "EvCONCURRENT\(index)")
                        return try await hub.request("POST", "/api/webhooks/slack", headers: SlackSigner().headers(body: body), body: body).status
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.count == 64)
            #expect(statuses.allSatisfy { $0 == 200 })
            #expect(hub.hub.registry.creationCount("slack") == 1)
            #expect(try await hub.storedEvents().count == 64)
        }
    }
}
