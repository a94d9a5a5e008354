import Foundation
import PluginAPI
import Testing

@testable import Plugins

@testable import Host

@Suite("Slack slash commands and interactivity over HTTP")
struct SlackCommandsTests {
    let signer = SlackSigner()

    static func form(_ body: String) -> [UInt8] { Array(body.utf8) }

    func post(_ hub: TestHub, _ path: String, _ body: [UInt8], headers: [(String, String)]? = nil) async throws -> TestResponse {
        let signed = (headers ?? signer.headers(body: body)).map { $0.0 == "Content-Type" ? ($0.0, "application/x-www-form-urlencoded") : $0 }
        return try await hub.request("POST", path, headers: signed, body: body)
    }

    @Test("Slack's documented vector is accepted by the commands route with an injected clock")
    func documentedVectorAccepted() async throws {
        let vector = try #require(Vectors.slack.first)
        let timestamp = try #require(vector["timestamp"]?.stringValue)
        let body = Array(try #require(vector["body"]?.stringValue).utf8)
        let headers = [("X-Slack-Request-Timestamp", timestamp), ("X-Slack-Signature", try #require(vector["expected_signature"]?.stringValue))]
        try await withHub(
            environment: ["SLACK_SIGNING_SECRET": vector["signing_secret"]!.stringValue!, "ADMIN_TOKEN": TestHub.adminToken], clock: FixedClock(Double(timestamp)! + 1)
        ) { hub in
            let response = try await post(hub, "/api/webhooks/slack/commands", body, headers: headers)
            #expect(response.status == 200)
            #expect(try response.json() == ["response_type": "ephemeral", "text": "Received /webhook-collect"])
            let event = try #require(try await hub.storedEvents().first)
            #expect(event["external_id"] == "398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")
            #expect(event["type"] == "slash_command")
            #expect(event["payload"]?["command"] == "/webhook-collect")
            #expect(event["payload"]?["response_url"] == "https://hooks.slack.com/commands/T1DC2JH3J/397700885554/96rGlfmibIGlgcZRskXaIFfN")
            #expect(event["payload"]?["token"] == nil, "the deprecated verification token is not stored")
        }
    }

    @Test("ssl_check is answered 200, signed or not (as Slack's Bolt does), and stores nothing; an unsigned command is still a 401")
    func sslCheck() async throws {
        try await withHub { hub in
            let signed = try await post(hub, "/api/webhooks/slack/commands", Self.form("ssl_check=1&token=abc"))
            #expect(signed.status == 200)
            let unsigned = try await post(
                hub, "/api/webhooks/slack/commands", Self.form("ssl_check=1&token=abc"), headers: [("Content-Type", "application/x-www-form-urlencoded")])
            #expect(unsigned.status == 200)
            #expect(unsigned.body.isEmpty)
            let command = Self.form("command=%2Fx&text=a&trigger_id=1.2.3&ssl_check=0")
            let unsignedCommand = try await post(hub, "/api/webhooks/slack/commands", command, headers: [("Content-Type", "application/x-www-form-urlencoded")])
            #expect(unsignedCommand.status == 401)
            #expect(try await hub.storedEvents().isEmpty)
        }
    }

    @Test("The certificate probe is the exact pair ssl_check=1, anywhere in the body", arguments: [
        ("ssl_check=1", true), ("token=abc&ssl_check=1", true), ("ssl_check=1&", true), ("&&ssl_check=1&&x", true),
        ("", false), ("ssl_check=10", false), ("xssl_check=1", false), ("ssl_check=0", false), ("ssl_check", false), ("ssl_check=1x&a=b", false),
    ])
    func certificateProbe(body: String, isProbe: Bool) {
        #expect(SlackProvider.isCertificateProbe(Array(body.utf8)) == isProbe)
    }

    @Test("A command without trigger_id is a 400 JSON error")
    func commandWithoutTrigger() async throws {
        try await withHub { hub in
            let response = try await post(hub, "/api/webhooks/slack/commands", Self.form("command=%2Fx&text=a"))
            #expect(response.status == 400)
            #expect(response.errorCode == "bad_request")
            #expect(try await hub.storedEvents().isEmpty)
        }
    }

    @Test("An interaction is stored with its type and trigger_id, and answered 200 empty")
    func interactionStored() async throws {
        try await withHub { hub in
            let payload = #"{"type":"block_actions","token":"legacy","trigger_id":"123.456.abc","user":{"id":"U1"},"actions":[{"action_id":"approve"}]}"#
            let body = Self.form("payload=" + payload.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)
            let response = try await post(hub, "/api/webhooks/slack/interactions", body)
            #expect(response.status == 200)
            #expect(response.body.isEmpty)
            let event = try #require(try await hub.storedEvents().first)
            #expect(event["type"] == "block_actions")
            #expect(event["external_id"] == "123.456.abc")
            #expect(event["payload"]?["actions"]?.arrayValue?.first?["action_id"] == "approve")
            #expect(event["payload"]?["token"] == nil)
        }
    }

    @Test("An interaction without trigger_id is deduplicated on its content")
    func interactionWithoutTrigger() async throws {
        try await withHub { hub in
            let body = Self.form("payload=%7B%22type%22%3A%22view_closed%22%2C%22view%22%3A%7B%22id%22%3A%22V1%22%7D%7D")
            #expect(try await post(hub, "/api/webhooks/slack/interactions", body).status == 200)
            #expect(try await post(hub, "/api/webhooks/slack/interactions", body).status == 200)
            let events = try await hub.storedEvents()
            #expect(events.count == 1)
            #expect(events.first?["type"] == "view_closed")
            #expect(events.first?["external_id"]?.stringValue?.hasPrefix("sha256:") == true)
        }
    }

    @Test("Interactions with an empty trigger_id are keyed by their content, not by the empty id: distinct ones are all stored")
    func interactionWithEmptyTrigger() async throws {
        try await withHub { hub in
            for type in ["block_actions", "view_closed"] {
                let body = Self.form("payload=%7B%22type%22%3A%22\(type)%22%2C%22trigger_id%22%3A%22%22%7D")
                #expect(try await post(hub, "/api/webhooks/slack/interactions", body).status == 200)
            }
            let events = try await hub.storedEvents()
            #expect(Set(events.compactMap { $0["type"]?.stringValue }) == ["block_actions", "view_closed"])
            #expect(events.allSatisfy { $0["external_id"]?.stringValue?.hasPrefix("sha256:") == true })
        }
    }

    @Test("Malformed interactions are 400 JSON errors", arguments: ["text=hello", "payload=not-json", "payload=%7B%7D", "payload=%5B1%5D"])
    func malformedInteraction(_ body: String) async throws {
        try await withHub { hub in
            let response = try await post(hub, "/api/webhooks/slack/interactions", Self.form(body))
            #expect(response.status == 400)
            #expect(response.errorCode == "bad_request")
            #expect(try await hub.storedEvents().isEmpty)
        }
    }

    enum Rejection: String, CaseIterable { case unsigned, tampered, wrongSecret, stale, future }

    @Test("Unverifiable commands and interactions get 401 and store nothing", arguments: ["/api/webhooks/slack/commands", "/api/webhooks/slack/interactions"], Rejection.allCases)
    func rejected(_ path: String, _ rejection: Rejection) async throws {
        try await withHub { hub in
            var body = Self.form(path.hasSuffix("commands") ? "command=%2Fx&trigger_id=1.2.3" : "payload=%7B%22type%22%3A%22shortcut%22%2C%22trigger_id%22%3A%221.2.3%22%7D")
            let now = Int(Date().timeIntervalSince1970)
            var headers = signer.headers(body: body)
            switch rejection {
            case .unsigned: headers = []
            case .tampered: body[body.count - 2] ^= 0x01
            case .wrongSecret: headers = SlackSigner(secret: "another-secret").headers(body: body)
            case .stale: headers = signer.headers(body: body, timestamp: now - 3600)
            case .future: headers = signer.headers(body: body, timestamp: now + 3600)
            }
            let response = try await post(hub, path, body, headers: headers)
            #expect(response.status == 401)
            #expect(response.header("Content-Type") == "application/json")
            #expect(try await hub.storedEvents().isEmpty)
        }
    }
}
