import Foundation
import PluginAPI

/// Signs Slack requests the way Slack does, for tests.
struct SlackSigner {
    var secret = TestHub.slackSecret

    func headers(body: [UInt8], timestamp: Int = Int(Date().timeIntervalSince1970)) -> [(String, String)] {
        let message = Array("v0:\(timestamp):".utf8) + body
        let signature = "v0=" + Hex.encode(Digest.hmacSHA256(key: Array(secret.utf8), message: message))
        return [("X-Slack-Request-Timestamp", "\(timestamp)"), ("X-Slack-Signature", signature), ("Content-Type", "application/json")]
    }

    /// `request` with Slack's signature headers for its body, at the current time (a conformance-kit signer).
    func sign(_ request: Request) -> Request {
        var request = request
        for (name, value) in headers(body: request.body) where name != "Content-Type" { request.headers.replaceOrAdd(name: name, value: value) }
        return request
    }

    /// An Events API `event_callback` body with a unique (or given) event id.
    static func eventBody(id: String = "Ev\(UUID().uuidString.prefix(12))", text: String = "hello") -> [UInt8] {
        Array(#"{"token":"legacy-token","team_id":"T1","api_app_id":"A1","type":"event_callback","event_id":"\#(id)","event_time":1700000000,"event":{"type":"message","channel":"C1","user":"U1","text":"\#(text)","ts":"1700000000.000100"}}"#.utf8)
    }
}

/// The official vectors in Tests/Fixtures/webhooks.json (a copy of shared/vectors/webhooks.json).
enum Vectors {
    static let document: JSONValue = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/webhooks.json")
        let data = try! Data(contentsOf: url)  // The fixture is committed; a missing file is a broken checkout.
        return try! JSONValue.parse(Array(data))
    }()

    static var slack: [JSONValue] { document["slack_v0"]?.arrayValue ?? [] }
    static var hubspot: [JSONValue] { document["hubspot"]?.arrayValue ?? [] }
    static var standardWebhooks: [JSONValue] { document["standard_webhooks"]?.arrayValue ?? [] }
}
