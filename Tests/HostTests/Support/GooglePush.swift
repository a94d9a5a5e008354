import Foundation
import PluginAPI
import PluginTesting
import Synchronization
import TestSupport

/// Plays Google for Gmail tests: serves a JWKS from a local fake server, signs Pub/Sub push tokens,
/// and builds push envelopes.
final class GooglePush: Sendable {
    static let serviceAccount = "gmail-push@atom-test.iam.gserviceaccount.com"
    static let audience = "https://hooks.example.com/api/webhooks/gmail"
    static let key = RSATestKey(kid: "google-key-1")
    /// A key Google never published.
    static let strangerKey = RSATestKey(kid: "google-key-2")

    let server: FakeServer
    private let keySet: PublishedKeySet

    init(keys: [RSATestKey] = [GooglePush.key]) throws {
        let keySet = PublishedKeySet(keys: keys)
        self.keySet = keySet
        server = try FakeServer { _ in keySet.response }
    }

    /// Changes what the key server answers from now on.
    func publish(_ keys: [RSATestKey], status: Int = 200) { keySet.publish(keys, status: status) }

    /// What the key server answers.
    private final class PublishedKeySet: Sendable {
        private let state: Mutex<(status: Int, keys: [RSATestKey])>

        init(keys: [RSATestKey]) { state = Mutex((200, keys)) }

        func publish(_ keys: [RSATestKey], status: Int) { state.withLock { $0 = (status, keys) } }

        var response: Response {
            let (status, keys) = state.withLock { ($0.status, $0.keys) }
            return Response(status: status, headers: ["Content-Type": "application/json"], body: RSATestKey.jwks(keys))
        }
    }

    var jwksURL: String { server.url("/oauth2/v3/certs") }
    var keySetFetches: Int { server.requests.count }

    /// The claims of a genuine push token issued at `now`; `changes` replace members, a nil value removes one.
    static func claims(now: Double, _ changes: [String: JSONValue?] = [:]) -> JSONValue {
        var claims: JSONObject = [
            "aud": .string(audience), "azp": "112233445566778899", "email": .string(serviceAccount), "email_verified": true,
            "exp": .number(now + 3600), "iat": .number(now), "iss": "https://accounts.google.com", "sub": "112233445566778899",
        ]
        for (name, value) in changes { claims[name] = value }
        return .object(claims)
    }

    /// `Authorization: Bearer <token>`.
    static func bearer(_ token: String) -> [(String, String)] {
        [("Authorization", "Bearer \(token)"), ("Content-Type", "application/json")]
    }

    /// `request` with a push token signed by `key`, issued now (a conformance-kit signer).
    static func sign(_ request: Request, key: RSATestKey = GooglePush.key) -> Request {
        var request = request
        request.headers.replaceOrAdd(name: "Authorization", value: "Bearer " + key.token(claims: claims(now: SystemClock().now())))
        return request
    }

    /// An unauthenticated push of the message `messageID` (a conformance-kit delivery).
    static func delivery(messageID: String) -> Request {
        Request(method: .POST, path: "/api/webhooks/gmail", headers: ["Content-Type": "application/json"], body: envelope(messageID: messageID))
    }

    /// A Pub/Sub push envelope around Gmail's notification.
    static func envelope(messageID: String = "m-\(UUID().uuidString.prefix(8))", data: String? = nil) -> [UInt8] {
        let data = data ?? Base64.encode(Array(#"{"emailAddress":"user@example.com","historyId":9876543210}"#.utf8))
        return Array(
            #"{"message":{"data":"\#(data)","messageId":"\#(messageID)","message_id":"\#(messageID)","publishTime":"2026-11-29T03:00:00.000Z","attributes":{}},"subscription":"projects/atom-test/subscriptions/gmail-push"}"#
                .utf8)
    }

    /// plugins.json enabling Gmail against this key server, with extra settings.
    func plugins(_ extra: [String: JSONValue] = [:], audience: String? = GooglePush.audience) -> String {
        var settings: JSONObject = ["serviceAccountEmail": .string(Self.serviceAccount), "jwksURL": .string(jwksURL)]
        if let audience { settings["audience"] = .string(audience) }
        for (name, value) in extra { settings[name] = value }
        return JSONValue.object(["providers": ["gmail": ["enabled": true, "settings": .object(settings)]]]).jsonString
    }
}

/// Runs `body` with Google's stand-in and a hub configured by `plugins` (default: Gmail against it).
func withGmailHub<T>(
    clock: ManualClock, keys: [RSATestKey] = [GooglePush.key], environment: [String: String] = ["ADMIN_TOKEN": TestHub.adminToken],
    plugins: ((GooglePush) -> String)? = nil, _ body: (TestHub, GooglePush) async throws -> T
) async throws -> T {
    let google = try GooglePush(keys: keys)
    do {
        let result = try await withHub(plugins: plugins?(google) ?? google.plugins(), environment: environment, clock: clock) { hub in
            try await body(hub, google)
        }
        await google.server.stop()
        return result
    } catch {
        await google.server.stop()
        throw error
    }
}
