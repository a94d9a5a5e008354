import Foundation
import PluginAPI
import PluginTesting
import Testing

@testable import Host

@Suite("OAuth: authorize needs a single-use, short-lived link issued by the admin API (no account linking by user id alone)")
struct OAuthLinkTests {
    /// The link the admin API issues for alice at gmail, as a hub target (path and query).
    static func issue(_ hub: TestHub, user: String = "alice", redirect: String = OAuthFixture.appRedirect) async throws -> String {
        let response = try await OAuthFixture.link(hub, "gmail", user: user, redirect: redirect)
        #expect(response.status == 201, "\(response.text)")
        return try OAuthFixture.target(ofLink: response)
    }

    /// `target` with its query parameter `name` set to `value`.
    static func replacing(_ name: String, with value: String, in target: String) -> String {
        let parts = target.split(separator: "?", maxSplits: 1).map(String.init)
        let pairs = FormURLEncoded.decode(parts[1]).map { $0.name == name ? (name: name, value: value) : $0 }
        return parts[0] + "?" + FormURLEncoded.encode(pairs)
    }

    static func expectRefused(_ hub: TestHub, _ target: String, reason: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let response = try await hub.request("GET", target)
        #expect(response.status == 403 && response.errorCode == reason, "\(response.text)", sourceLocation: sourceLocation)
        #expect(response.header("Location") == nil, sourceLocation: sourceLocation)
        let rows = try await OAuthFixture.auditRows(hub, .oauthAuthorizeRejected)
        #expect(rows.contains { $0["details"]?["reason"]?.stringValue == reason }, "no audit row for \(reason)", sourceLocation: sourceLocation)
    }

    /// The number of rows in `table`.
    static func count(_ hub: TestHub, _ table: String) async throws -> String? {
        try await hub.hub.eventLog.write { connection in try connection.scalarText("SELECT count(*) FROM \(table)") }
    }

    @Test("The link API answers 201 with a no-store authorize URL on the public URL (user, redirect and link token); only the token's hash is stored; audited")
    func issued() async throws {
        try await OAuthFixture.withOAuthHub(.gmail) { hub, _ in
            try await OAuthFixture.createUser(hub, "alice")
            let response = try await OAuthFixture.link(hub, "gmail", user: "alice")
            #expect(response.status == 201 && response.header("Cache-Control") == "no-store")
            let target = try OAuthFixture.target(ofLink: response)
            #expect(target.hasPrefix("/oauth/gmail/authorize?"))
            let query = OAuthFixture.query(target)
            #expect(query["user_id"] == "alice" && query["redirect_uri"] == OAuthFixture.appRedirect)
            let token = try #require(query["link"])
            #expect(Base64.decode(token)?.count == 32, "the link carries 32 random bytes")
            #expect(try response.json()["expires_at"]?.numberValue.map { $0 > Date().timeIntervalSince1970 + 590 } == true)
            let stored = try await hub.hub.eventLog.write { connection in try connection.scalarText("SELECT link_hash FROM oauth_links") }
            #expect(stored == Hex.encode(Digest.sha256(Array(token.utf8))))
            #expect(try OAuthFixture.files(in: hub.dataDirectory, containing: [token]) == [])
            let rows = try await OAuthFixture.auditRows(hub, .oauthLinkIssued)
            #expect(rows.count == 1 && rows.first?["details"]?["user"] == "alice" && rows.first?["user_id"] == "admin")
        }
    }

    @Test("The link API validates its body and refuses an unlisted redirect_uri (audited), an unknown user and a provider without OAuth")
    func issueValidation() async throws {
        try await OAuthFixture.withOAuthHub(.gmail) { hub, _ in
            try await OAuthFixture.createUser(hub, "alice")
            for body in ["not json", "[]", #"{"redirect_uri": "\#(OAuthFixture.appRedirect)"}"#, #"{"provider": "gmail"}"#, #"{"provider": 1, "redirect_uri": "x"}"#] {
                let response = try await hub.request("POST", "/api/admin/users/alice/oauth-links", headers: OAuthFixture.adminHeaders, body: Array(body.utf8))
                #expect(response.status == 400 && response.errorCode == "bad_request", "\(body): \(response.text)")
            }
            let unlisted = try await OAuthFixture.link(hub, "gmail", user: "alice", redirect: "https://evil.example/steal")
            #expect(unlisted.status == 400 && unlisted.errorCode == "redirect_uri_not_allowed")
            #expect(try await OAuthFixture.auditRows(hub, .oauthRedirectRejected).count == 1)
            #expect(try await OAuthFixture.link(hub, "gmail", user: "bob").errorCode == "unknown_user")
            #expect(try await OAuthFixture.link(hub, "generic", user: "alice").status == 404)
            #expect(try await Self.count(hub, "oauth_links") == "0")
        }
    }

    @Test("Without a link, authorize answers 403 link_required, audited, whatever the caller claims, and sends nobody to the provider")
    func bareRefused() async throws {
        try await OAuthFixture.withOAuthHub(.gmail) { hub, fake in
            try await OAuthFixture.createUser(hub, "alice")
            try await Self.expectRefused(hub, "/oauth/gmail/authorize?user_id=alice&redirect_uri=" + FormURLEncoded.percentEncode(OAuthFixture.appRedirect), reason: "link_required")
            try await Self.expectRefused(
                hub, "/oauth/gmail/authorize?link=&user_id=alice&redirect_uri=" + FormURLEncoded.percentEncode(OAuthFixture.appRedirect), reason: "link_required")
            #expect(try await Self.count(hub, "oauth_states") == "0")
            #expect(fake.authorizePaths.isEmpty)
        }
    }

    @Test("A link works once: the second use is refused (link_used) and audited")
    func singleUse() async throws {
        try await OAuthFixture.withOAuthHub(.gmail) { hub, _ in
            try await OAuthFixture.createUser(hub, "alice")
            let target = try await Self.issue(hub)
            #expect(try await hub.request("GET", target).status == 302)
            try await Self.expectRefused(hub, target, reason: "link_used")
            #expect(try await Self.count(hub, "oauth_states") == "1")
        }
    }

    @Test("A link is bound to its user, provider and redirect_uri: changing any one is refused (link_mismatch), and the link is spent", arguments: ["user_id", "redirect_uri", "provider"])
    func bound(_ changed: String) async throws {
        try await OAuthFixture.withOAuthHub(.gmail, enabled: [.hubspot]) { hub, fake in
            try await OAuthFixture.createUser(hub, "alice")
            try await OAuthFixture.createUser(hub, "mallory")
            let target = try await Self.issue(hub, user: "mallory")
            let tampered =
                switch changed {
                case "user_id": Self.replacing("user_id", with: "alice", in: target)
                case "redirect_uri": Self.replacing("redirect_uri", with: "https://other.example.test/back", in: target)
                default: target.replacingOccurrences(of: "/oauth/gmail/", with: "/oauth/hubspot/")
                }
            try await Self.expectRefused(hub, tampered, reason: "link_mismatch")
            try await Self.expectRefused(hub, target, reason: "link_used")
            #expect(try await Self.count(hub, "oauth_states") == "0")
            #expect(fake.authorizePaths.isEmpty)
        }
    }

    @Test("A forged link token is refused (invalid_link) and audited")
    func forged() async throws {
        try await OAuthFixture.withOAuthHub(.gmail) { hub, _ in
            try await OAuthFixture.createUser(hub, "alice")
            let target = try await Self.issue(hub)
            try await Self.expectRefused(hub, Self.replacing("link", with: Base64.encodeURLSafe(SecureRandom.bytes(32)), in: target), reason: "invalid_link")
            #expect(try await hub.request("GET", target).status == 302, "the genuine link still works")
        }
    }

    @Test("A link older than 10 minutes is refused (link_expired, injected clock)")
    func expired() async throws {
        let clock = ManualClock(1_800_000_000)
        try await OAuthFixture.withOAuthHub(.gmail, clock: clock) { hub, _ in
            try await OAuthFixture.createUser(hub, "alice")
            let target = try await Self.issue(hub)
            clock.advance(by: OAuthState.lifetime)
            try await Self.expectRefused(hub, target, reason: "link_expired")
        }
    }

    @Test("At most 20 unused links per user and provider (429); expired states and links are deleted a day after expiry, so both tables stay bounded")
    func bounded() async throws {
        let clock = ManualClock(1_800_000_000)
        try await OAuthFixture.withOAuthHub(.gmail, clock: clock) { hub, _ in
            try await OAuthFixture.createUser(hub, "alice")
            #expect(try await hub.request("GET", try await Self.issue(hub)).status == 302)  // One state.
            for _ in 0..<OAuthStore.maximumPending { _ = try await Self.issue(hub) }
            let refused = try await OAuthFixture.link(hub, "gmail", user: "alice")
            #expect(refused.status == 429 && refused.errorCode == "too_many_pending_links" && refused.header("Retry-After") == "600")
            #expect(try await Self.count(hub, "oauth_links") == "21", "20 unused and the used one")
            clock.advance(by: OAuthState.lifetime + Double(OAuthStore.stateRetention) / 1000 + 1)
            _ = try await Self.issue(hub)
            #expect(try await Self.count(hub, "oauth_links") == "1", "only the new link is left")
            #expect(try await Self.count(hub, "oauth_states") == "0")
        }
    }

    @Test("An unexpected failure in a browser route is logged and answered 500 with no-store and no-referrer too")
    func privateHeadersOnInternalFailure() async throws {
        struct StorageBroke: Error {}
        let capture = LogCapture()
        do {
            _ = try await OAuthRoutes.withPrivateHeaders(logger: capture.logger) { throw StorageBroke() }
            Issue.record("the failure was swallowed")
        } catch {
            let response = error.response
            #expect(response.status == 500)
            #expect(response.headers["Cache-Control"] == "no-store" && response.headers["Referrer-Policy"] == "no-referrer")
        }
        #expect(capture.all.contains { $0.contains("an OAuth browser route failed") && $0.contains("StorageBroke") })
    }

    @Test("Every answer of authorize and callback, errors included, carries Cache-Control: no-store and Referrer-Policy: no-referrer")
    func privateHeaders() async throws {
        try await OAuthFixture.withOAuthHub(.gmail) { hub, fake in
            try await OAuthFixture.createUser(hub, "alice")
            let authorize = try await hub.request("GET", try await Self.issue(hub))
            let callback = try await OAuthFixture.consent(fake, location: try #require(authorize.header("Location")))
            let responses = [
                ("authorize 302", authorize),
                ("authorize 403", try await OAuthFixture.authorizeBare(hub, "gmail", user: "alice")),
                ("authorize 400", try await OAuthFixture.authorizeBare(hub, "gmail", user: "alice", redirect: "https://evil.example/")),
                ("callback 302", try await hub.request("GET", callback)),
                ("callback 400 replayed", try await hub.request("GET", callback)),
                ("callback 400 forged", try await hub.request("GET", "/oauth/gmail/callback?code=secret-code&state=forged")),
                ("callback 404", try await hub.request("GET", "/oauth/nosuch/callback?code=secret-code&state=x")),
            ]
            #expect(responses.map { $0.1.status } == [302, 403, 400, 302, 400, 400, 404])
            for (name, response) in responses {
                #expect(response.header("Cache-Control") == "no-store", "\(name)")
                #expect(response.header("Referrer-Policy") == "no-referrer", "\(name)")
            }
        }
    }
}
