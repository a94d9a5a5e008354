import Foundation
import PluginAPI
import PluginTesting
import Testing

@testable import Host

@Suite("OAuth: the state is random, single use, bound to its provider and short-lived")
struct OAuthStateTests {
    /// Starts an authorization for alice and returns the callback target the fake sends the browser to.
    static func begin(_ hub: TestHub, _ fake: FakeOAuthServer, _ provider: String = "gmail", user: String = "alice") async throws -> String {
        let location = try #require(try await OAuthFixture.authorize(hub, provider, user: user).header("Location"))
        return try await OAuthFixture.consent(fake, location: location)
    }

    static func expectRejected(_ hub: TestHub, _ target: String, reason: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let response = try await hub.request("GET", target)
        #expect(response.status == 400, sourceLocation: sourceLocation)
        #expect(response.errorCode == reason, "\(response.text)", sourceLocation: sourceLocation)
        #expect(response.header("Location") == nil, sourceLocation: sourceLocation)
        let rows = try await OAuthFixture.auditRows(hub, .oauthStateRejected)
        #expect(rows.contains { $0["details"]?["reason"]?.stringValue == reason }, "no audit row for \(reason)", sourceLocation: sourceLocation)
    }

    @Test("Missing and forged states are refused with 400 and audited")
    func forged() async throws {
        try await OAuthFixture.withOAuthHub(.gmail) { hub, fake in
            try await OAuthFixture.createUser(hub, "alice")
            try await Self.expectRejected(hub, "/oauth/gmail/callback?code=x", reason: "missing_state")
            try await Self.expectRejected(hub, "/oauth/gmail/callback?code=x&state=" + Base64.encodeURLSafe(SecureRandom.bytes(32)), reason: "invalid_state")
            #expect(fake.exchanges.isEmpty)
        }
    }

    @Test("A state works once: the replay is refused and audited, the code is not exchanged again")
    func replayed() async throws {
        try await OAuthFixture.withOAuthHub(.gmail) { hub, fake in
            try await OAuthFixture.createUser(hub, "alice")
            let callback = try await Self.begin(hub, fake)
            #expect(try await hub.request("GET", callback).status == 302)
            try await Self.expectRejected(hub, callback, reason: "state_replayed")
            #expect(fake.exchanges.count == 1)
        }
    }

    @Test("A state older than 10 minutes is refused (injected clock) and audited")
    func expired() async throws {
        let clock = ManualClock(1_800_000_000)
        try await OAuthFixture.withOAuthHub(.gmail, clock: clock) { hub, fake in
            try await OAuthFixture.createUser(hub, "alice")
            let callback = try await Self.begin(hub, fake)
            clock.advance(by: 601)
            try await Self.expectRejected(hub, callback, reason: "state_expired")
            #expect(fake.exchanges.isEmpty)
        }
    }

    @Test("A state issued for one provider is refused at another provider's callback, and audited")
    func crossProvider() async throws {
        try await OAuthFixture.withOAuthHub(.gmail, enabled: [.slack]) { hub, fake in
            try await OAuthFixture.createUser(hub, "alice")
            let callback = try await Self.begin(hub, fake)
            let stolen = callback.replacingOccurrences(of: "/oauth/gmail/", with: "/oauth/slack/")
            try await Self.expectRejected(hub, stolen, reason: "state_provider_mismatch")
            // Presenting it consumed it: the genuine callback cannot use it afterwards either.
            try await Self.expectRejected(hub, callback, reason: "state_replayed")
            #expect(fake.exchanges.isEmpty)
        }
    }

    @Test("Only a hash of the state is stored")
    func stateHashed() async throws {
        try await OAuthFixture.withOAuthHub(.gmail) { hub, _ in
            try await OAuthFixture.createUser(hub, "alice")
            let location = try #require(try await OAuthFixture.authorize(hub, "gmail", user: "alice").header("Location"))
            let state = try #require(OAuthFixture.query(location)["state"])
            let stored = try await hub.hub.eventLog.write { connection in try connection.scalarText("SELECT state_hash FROM oauth_states") }
            #expect(stored == Hex.encode(Digest.sha256(Array(state.utf8))))
            #expect(try OAuthFixture.files(in: hub.dataDirectory, containing: [state]) == [])
        }
    }

    @Test("At most 20 authorizations of one user and provider are pending at once (429, Retry-After, no Location), so oauth_states cannot grow without bound; expired ones stop counting")
    func pendingBound() async throws {
        let clock = ManualClock(1_800_000_000)
        try await OAuthFixture.withOAuthHub(.gmail, clock: clock) { hub, _ in
            try await OAuthFixture.createUser(hub, "alice")
            for _ in 0..<OAuthStore.maximumPending { #expect(try await OAuthFixture.authorize(hub, "gmail", user: "alice").status == 302) }
            let refused = try await OAuthFixture.authorize(hub, "gmail", user: "alice")
            #expect(refused.status == 429 && refused.errorCode == "too_many_pending_authorizations" && refused.header("Location") == nil)
            #expect(refused.header("Retry-After") == "600")
            clock.advance(by: OAuthState.lifetime + 1)
            #expect(try await OAuthFixture.authorize(hub, "gmail", user: "alice").status == 302, "expired ones no longer count")
        }
    }
}
