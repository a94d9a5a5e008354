import Foundation
import PluginAPI
import PluginTesting
import Testing
import TestSupport

@testable import Host

@Suite("Gmail push over HTTP")
struct GmailWebhookTests {
    static let now = 1_800_000_000.0
    static let path = "/api/webhooks/gmail"

    @Test("A genuine push is answered 204 and stored once, even when delivered twice")
    func genuinePush() async throws {
        try await withGmailHub(clock: ManualClock(Self.now)) { hub, google in
            let token = GooglePush.key.token(claims: GooglePush.claims(now: Self.now))
            let body = GooglePush.envelope(messageID: "2070443601311540")
            let first = try await hub.request("POST", Self.path, headers: GooglePush.bearer(token), body: body)
            let again = try await hub.request("POST", Self.path, headers: GooglePush.bearer(token), body: body)
            #expect(first.status == 204)
            #expect(again.status == 204)
            let events = try await hub.storedEvents(provider: "gmail")
            #expect(events.count == 1)
            let event = try #require(events.first)
            #expect(event["external_id"] == "2070443601311540")
            #expect(event["type"] == "gmail.history")
            #expect(event["occurred_at"] == .number(1_795_921_200), "publishTime 2026-11-29T03:00:00.000Z is the event's time")
            #expect(event["payload"]?["emailAddress"] == "user@example.com")
            #expect(event["payload"]?["historyId"] == "9876543210")
            #expect(event["payload"]?["subscription"] == "projects/atom-test/subscriptions/gmail-push")
            #expect(google.keySetFetches == 1)
        }
    }

    /// A token and why it must be refused.
    struct RefusedToken: Sendable, CustomTestStringConvertible {
        let name: String
        /// A fragment of the 401's detail, showing it was refused for this reason.
        let reason: String
        let token: @Sendable (Double) -> String
        var testDescription: String { name }

        static func claims(_ changes: [String: JSONValue?]) -> @Sendable (Double) -> String {
            { now in GooglePush.key.token(claims: GooglePush.claims(now: now, changes)) }
        }
    }

    static let refusedTokens: [RefusedToken] = [
        RefusedToken(name: "expired beyond the skew", reason: "expired", token: RefusedToken.claims(["iat": .number(now - 4000), "exp": .number(now - 301)])),
        RefusedToken(name: "issued in the future beyond the skew", reason: "issued in the future", token: RefusedToken.claims(["iat": .number(now + 301)])),
        RefusedToken(name: "not valid before a time beyond the skew", reason: "not valid yet", token: RefusedToken.claims(["nbf": .number(now + 301)])),
        RefusedToken(name: "no exp", reason: "no exp", token: RefusedToken.claims(["exp": nil])),
        RefusedToken(name: "wrong audience", reason: "audience", token: RefusedToken.claims(["aud": "https://elsewhere.example.com/api/webhooks/gmail"])),
        RefusedToken(name: "wrong issuer", reason: "issuer", token: RefusedToken.claims(["iss": "https://accounts.example.com"])),
        RefusedToken(name: "wrong email", reason: "push service account", token: RefusedToken.claims(["email": "someone-else@atom-test.iam.gserviceaccount.com"])),
        RefusedToken(name: "unverified email", reason: "not verified", token: RefusedToken.claims(["email_verified": false])),
        RefusedToken(name: "email_verified as a string", reason: "not verified", token: RefusedToken.claims(["email_verified": "true"])),
        RefusedToken(name: "no email_verified", reason: "not verified", token: RefusedToken.claims(["email_verified": nil])),
        RefusedToken(name: "signed by a key not in the key set (unknown kid)", reason: "no key with kid 'google-key-2'") { now in GooglePush.strangerKey.token(claims: GooglePush.claims(now: now)) },
        RefusedToken(name: "signed by another key under a known kid", reason: "signature does not verify") { now in
            GooglePush.strangerKey.token(claims: GooglePush.claims(now: now), header: ["alg": "RS256", "kid": .string(GooglePush.key.kid)])
        },
        RefusedToken(name: "alg none", reason: "unsupported algorithm 'none'") { now in TestJWT.unsecured(claims: GooglePush.claims(now: now), kid: GooglePush.key.kid) },
        RefusedToken(name: "HS256 signed with the public key", reason: "unsupported algorithm 'HS256'") { now in TestJWT.hs256(claims: GooglePush.claims(now: now), publicKey: GooglePush.key) },
        RefusedToken(name: "tampered claims", reason: "signature does not verify") { now in
            let parts = GooglePush.key.token(claims: GooglePush.claims(now: now)).split(separator: ".")
            let forged = GooglePush.claims(now: now, ["email": "attacker@evil.example"])
            return "\(parts[0]).\(Base64.encodeURLSafe(forged.serialized())).\(parts[2])"
        },
        RefusedToken(name: "not a JWT", reason: "malformed") { _ in "not-a-jwt" },
    ]

    @Test("Refused tokens are 401 JSON and nothing is stored", arguments: refusedTokens)
    func refused(_ refused: RefusedToken) async throws {
        try await withGmailHub(clock: ManualClock(Self.now)) { hub, _ in
            let response = try await hub.request("POST", Self.path, headers: GooglePush.bearer(refused.token(Self.now)), body: GooglePush.envelope())
            #expect(response.status == 401)
            #expect(response.header("Content-Type") == "application/json")
            #expect(response.errorCode == "invalid_token")
            #expect(try response.json()["detail"]?.stringValue?.contains(refused.reason) == true, "\(response.text)")
            #expect(try await hub.storedEvents(provider: "gmail").isEmpty)
        }
    }

    @Test("No Authorization, or another scheme, is 401")
    func missingToken() async throws {
        try await withGmailHub(clock: ManualClock(Self.now)) { hub, google in
            let token = GooglePush.key.token(claims: GooglePush.claims(now: Self.now))
            let none = try await hub.request("POST", Self.path, headers: [("Content-Type", "application/json")], body: GooglePush.envelope())
            let basic = try await hub.request("POST", Self.path, headers: [("Authorization", "Basic \(token)")], body: GooglePush.envelope())
            #expect(none.status == 401)
            #expect(none.errorCode == "missing_signature")
            #expect(basic.status == 401)
            #expect(basic.errorCode == "invalid_signature")
            #expect(google.keySetFetches == 0)
            #expect(try await hub.storedEvents(provider: "gmail").isEmpty)
        }
    }

    @Test("Tokens within the 5-minute skew are accepted")
    func skewAccepted() async throws {
        try await withGmailHub(clock: ManualClock(Self.now)) { hub, _ in
            for changes: [String: JSONValue?] in [["iat": .number(Self.now + 299)], ["iat": .number(Self.now - 3900), "exp": .number(Self.now - 299)], ["nbf": .number(Self.now + 299)]] {
                let token = GooglePush.key.token(claims: GooglePush.claims(now: Self.now, changes))
                let response = try await hub.request("POST", Self.path, headers: GooglePush.bearer(token), body: GooglePush.envelope())
                #expect(response.status == 204, "\(changes)")
            }
        }
    }

    @Test("An unknown kid refetches the key set at most once a minute; a rotated key is picked up")
    func unknownKidRateLimited() async throws {
        let clock = ManualClock(Self.now)
        try await withGmailHub(clock: clock) { hub, google in
            @Sendable func push(_ key: RSATestKey) async throws -> Int {
                let token = key.token(claims: GooglePush.claims(now: clock.now()))
                return try await hub.request("POST", Self.path, headers: GooglePush.bearer(token), body: GooglePush.envelope()).status
            }
            var statuses = [try await push(GooglePush.key), try await push(GooglePush.strangerKey), try await push(GooglePush.strangerKey)]
            #expect(statuses == [204, 401, 401])
            #expect(google.keySetFetches == 1, "the key set was fetched less than a minute ago")

            clock.advance(by: 61)
            statuses = [try await push(GooglePush.strangerKey)]
            #expect(google.keySetFetches == 2)
            statuses += [try await push(GooglePush.strangerKey)]
            #expect(google.keySetFetches == 2)
            #expect(statuses == [401, 401])

            google.publish([GooglePush.key, GooglePush.strangerKey])  // Google rotates its keys.
            statuses = [try await push(GooglePush.strangerKey)]
            clock.advance(by: 60)
            statuses += [try await push(GooglePush.strangerKey), try await push(GooglePush.key)]
            #expect(statuses == [401, 204, 204], "the rotated key is fetched once a minute has passed")
            #expect(google.keySetFetches == 3)
        }
    }

    @Test("Google's key server failing is 503 key_set_unavailable, so Pub/Sub retries")
    func keySetUnavailable() async throws {
        try await withGmailHub(clock: ManualClock(Self.now)) { hub, google in
            google.publish([], status: 500)
            let token = GooglePush.key.token(claims: GooglePush.claims(now: Self.now))
            let response = try await hub.request("POST", Self.path, headers: GooglePush.bearer(token), body: GooglePush.envelope())
            #expect(response.status == 503)
            #expect(response.errorCode == "key_set_unavailable")
            #expect(try await hub.storedEvents(provider: "gmail").isEmpty)
        }
    }

    @Test("The documented message_data decodes to the documented values, in every base64 spelling")
    func documentedVector() async throws {
        let vector = try #require(Vectors.document["gmail_pubsub_push"]?.arrayValue?.first)
        let data = try #require(vector["message_data"]?.stringValue)
        let bytes = try #require(Base64.decode(data))
        let spellings = [data, Base64.encode(bytes), Base64.encodeURLSafe(bytes), String(Base64.encode(bytes).prefix { $0 != "=" })]
        try await withGmailHub(clock: ManualClock(Self.now)) { hub, _ in
            for (index, spelling) in spellings.enumerated() {
                let token = GooglePush.key.token(claims: GooglePush.claims(now: Self.now))
                let response = try await hub.request(
                    "POST", Self.path, headers: GooglePush.bearer(token), body: GooglePush.envelope(messageID: "vector-\(index)", data: spelling))
                #expect(response.status == 204)
            }
            let events = try await hub.storedEvents(provider: "gmail")
            #expect(events.count == spellings.count)
            for event in events {
                #expect(event["payload"]?["emailAddress"] == vector["decoded"]?["emailAddress"])
                #expect(event["payload"]?["historyId"] == vector["decoded"]?["historyId"])
            }
        }
    }

    @Test(
        "Malformed envelopes are 400 JSON after authentication, and nothing is stored",
        arguments: [
            #"{"subscription":"s"}"#, #"{"message":"text"}"#, #"{"message":{"messageId":"1"}}"#, #"{"message":{"data":"e30","messageId":"1"}}"#,
            #"{"message":{"data":"eyJlbWFpbEFkZHJlc3MiOiJ1QGV4YW1wbGUuY29tIiwiaGlzdG9yeUlkIjoxfQ"}}"#, #"{"message":{"data":"!!!","messageId":"1"}}"#,
            #"{"message":{"data":"bm90IGpzb24","messageId":"1"}}"#, #"{"message":{"data":"eyJlbWFpbEFkZHJlc3MiOiJ1QGV4YW1wbGUuY29tIn0","messageId":"1"}}"#,
            #"{"message":{"data":"eyJlbWFpbEFkZHJlc3MiOiJ1QGV4YW1wbGUuY29tIiwiaGlzdG9yeUlkIjotMX0","messageId":"1"}}"#, "not json",
        ])
    func malformedEnvelope(body: String) async throws {
        try await withGmailHub(clock: ManualClock(Self.now)) { hub, _ in
            let token = GooglePush.key.token(claims: GooglePush.claims(now: Self.now))
            let response = try await hub.request("POST", Self.path, headers: GooglePush.bearer(token), body: Array(body.utf8))
            #expect(response.status == 400)
            #expect(response.errorCode == "bad_request")
            #expect(try await hub.storedEvents(provider: "gmail").isEmpty)
        }
    }

    @Test("A malformed envelope without a valid token is 401, not 400")
    func authenticationFirst() async throws {
        try await withGmailHub(clock: ManualClock(Self.now)) { hub, _ in
            let response = try await hub.request("POST", Self.path, headers: GooglePush.bearer("x.y.z"), body: Array("not json".utf8))
            #expect(response.status == 401)
        }
    }

    @Test("With verificationToken set, ?token= must match as well as the JWT")
    func verificationToken() async throws {
        try await withGmailHub(clock: ManualClock(Self.now), plugins: { $0.plugins(["verificationToken": "s3cret-push-token"]) }) { hub, _ in
            let headers = GooglePush.bearer(GooglePush.key.token(claims: GooglePush.claims(now: Self.now)))
            for target in [Self.path, Self.path + "?token=wrong", Self.path + "?token=s3cret-push-tokeN", Self.path + "?token="] {
                let response = try await hub.request("POST", target, headers: headers, body: GooglePush.envelope())
                #expect(response.status == 401, "\(target)")
                #expect(response.errorCode == "invalid_token")
                #expect(!response.text.contains("s3cret"))
            }
            let noJWT = try await hub.request("POST", Self.path + "?token=s3cret-push-token", headers: [("Content-Type", "application/json")], body: GooglePush.envelope())
            #expect(noJWT.status == 401, "the JWT is still required")
            let good = try await hub.request("POST", Self.path + "?token=s3cret-push-token", headers: headers, body: GooglePush.envelope())
            #expect(good.status == 204)
            #expect(try await hub.storedEvents(provider: "gmail").count == 1)
        }
    }

    @Test("allowTokenOnly accepts the shared token alone, and needs one to be configured")
    func tokenOnly() async throws {
        try await withGmailHub(clock: ManualClock(Self.now), plugins: { $0.plugins(["verificationToken": "s3cret-push-token", "allowTokenOnly": true]) }) { hub, google in
            let wrong = try await hub.request("POST", Self.path + "?token=nope", body: GooglePush.envelope())
            #expect(wrong.status == 401)
            let good = try await hub.request("POST", Self.path + "?token=s3cret-push-token", body: GooglePush.envelope())
            #expect(good.status == 204)
            #expect(google.keySetFetches == 0)
        }
        try await withGmailHub(clock: ManualClock(Self.now), plugins: { $0.plugins(["allowTokenOnly": true]) }) { hub, _ in
            let response = try await hub.request("POST", Self.path + "?token=anything", body: GooglePush.envelope())
            #expect(response.status == 503)
            #expect(response.errorCode == "provider_unavailable")
        }
    }

    @Test("Without an audience the provider is unavailable, unless a public URL gives the default")
    func audienceDefault() async throws {
        try await withGmailHub(clock: ManualClock(Self.now), plugins: { $0.plugins(audience: nil) }) { hub, _ in
            let response = try await hub.request("POST", Self.path, body: GooglePush.envelope())
            #expect(response.status == 503)
            #expect(response.errorCode == "provider_unavailable")
            #expect(try response.json()["detail"]?.stringValue?.contains("audience") == true)
        }
        let environment = ["ADMIN_TOKEN": TestHub.adminToken, "ATOM_PUBLIC_URL": "https://public.example.org/"]
        try await withGmailHub(clock: ManualClock(Self.now), environment: environment, plugins: { $0.plugins(audience: nil) }) { hub, _ in
            let expected = GooglePush.key.token(claims: GooglePush.claims(now: Self.now, ["aud": "https://public.example.org/api/webhooks/gmail"]))
            let accepted = try await hub.request("POST", Self.path, headers: GooglePush.bearer(expected), body: GooglePush.envelope())
            #expect(accepted.status == 204)
            let other = GooglePush.key.token(claims: GooglePush.claims(now: Self.now))
            let refused = try await hub.request("POST", Self.path, headers: GooglePush.bearer(other), body: GooglePush.envelope())
            #expect(refused.status == 401)
        }
        // With ?token= in the push URL, Pub/Sub's default audience is that whole URL: no default here, a clear setup error instead.
        try await withGmailHub(clock: ManualClock(Self.now), environment: environment, plugins: { $0.plugins(["verificationToken": "s3cret-push-token"], audience: nil) }) {
            hub, _ in
            let response = try await hub.request("POST", Self.path + "?token=s3cret-push-token", body: GooglePush.envelope())
            #expect(response.status == 503)
            #expect(try response.json()["detail"]?.stringValue?.contains("set 'audience'") == true)
        }
    }

    @Test("A key set URL must be https, or http to localhost; jwksURL and jwksFile exclude each other", arguments: [
        ["jwksURL": "http://keys.example.com/certs"], ["jwksURL": "http://127.0.0.1.example.com/certs"], ["jwksURL": "ftp://127.0.0.1/certs"],
        ["jwksURL": "http://127.0.0.1:1@keys.example.com/certs"],
        ["jwksFile": "/tmp/certs.json"],
    ] as [[String: JSONValue]])
    func keySetURLRules(settings: [String: JSONValue]) async throws {
        try await withGmailHub(clock: ManualClock(Self.now), plugins: { $0.plugins(settings) }) { hub, _ in
            let token = GooglePush.key.token(claims: GooglePush.claims(now: Self.now))
            let response = try await hub.request("POST", Self.path, headers: GooglePush.bearer(token), body: GooglePush.envelope())
            #expect(response.status == 503)
            #expect(response.errorCode == "provider_unavailable")
            #expect(try response.json()["detail"]?.stringValue?.contains("jwksURL") == true)
        }
    }

    @Test("A key set file can replace the URL")
    func keySetFile() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }  // Best effort: a leftover temp dir is harmless.
        let file = directory.appendingPathComponent("certs.json")
        try Data(RSATestKey.jwks([GooglePush.key])).write(to: file)
        let plugins = JSONValue.object([
            "providers": [
                "gmail": [
                    "enabled": true,
                    "settings": ["serviceAccountEmail": .string(GooglePush.serviceAccount), "audience": .string(GooglePush.audience), "jwksFile": .string(file.path)],
                ]
            ]
        ]).jsonString
        try await withHub(plugins: plugins, environment: ["ADMIN_TOKEN": TestHub.adminToken], clock: ManualClock(Self.now)) { hub in
            let token = GooglePush.key.token(claims: GooglePush.claims(now: Self.now))
            let response = try await hub.request("POST", Self.path, headers: GooglePush.bearer(token), body: GooglePush.envelope())
            #expect(response.status == 204)
        }
    }
}
