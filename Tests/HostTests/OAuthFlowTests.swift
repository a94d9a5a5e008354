import Foundation
import PluginAPI
import PluginTesting
import Testing

@testable import Host

@Suite("OAuth: authorize and callback against a local fake provider")
struct OAuthFlowTests {
    @Test("The full flow for each provider: authorize 302 with client id, scopes, state and PKCE where supported; the fake checks the verifier; the browser gets back only a success flag; no token, state or verifier in any file or log line", arguments: OAuthCase.all)
    func fullFlow(_ oauthCase: OAuthCase) async throws {
        try await OAuthFixture.withOAuthHub(oauthCase) { hub, fake in
            let (parameters, final) = try await OAuthFixture.connect(hub, fake, oauthCase)
            #expect(parameters["response_type"] == "code")
            #expect(parameters["client_id"] == oauthCase.clientID)
            #expect(parameters["redirect_uri"] == "\(OAuthFixture.publicURL)/oauth/\(oauthCase.provider)/callback")
            #expect(parameters["scope"] == oauthCase.scope)
            #expect(parameters["state"].map { Base64.decode($0)?.count == 32 } == true, "the state carries 32 random bytes")
            for (name, value) in oauthCase.extraParameters { #expect(parameters[name] == value, "\(name)") }
            if oauthCase.pkce {
                #expect(parameters["code_challenge_method"] == "S256")
                #expect(parameters["code_challenge"]?.count == 43)
                #expect(fake.exchanges.map(\.pkceVerified) == [true], "the fake's token endpoint checked the verifier against the challenge")
            } else {
                #expect(parameters["code_challenge"] == nil)
                #expect(fake.exchanges.map(\.pkceVerified) == [nil])
            }
            if oauthCase.provider == "teams" {
                #expect(fake.authorizePaths == ["/contoso.example/oauth2/v2.0/authorize"])
                #expect(fake.tokenRequestScopes == [oauthCase.scope], "Microsoft's token endpoint gets the scope again")
            } else {
                #expect(fake.tokenRequestScopes == [nil])
            }

            #expect(final.hasPrefix(OAuthFixture.appRedirect + "?"))
            let flags = OAuthFixture.query(final)
            #expect(flags["oauth"] == "connected" && flags["provider"] == oauthCase.provider)
            for token in fake.issuedTokens { #expect(!final.contains(token), "a token must never reach the browser") }

            let connections = try await OAuthFixture.connections(hub)
            #expect(connections.count == 1)
            #expect(connections.first?["provider"]?.stringValue == oauthCase.provider && connections.first?["user_id"] == "alice")
            #expect(connections.first?["status"] == "active" && connections.first?["has_refresh_token"] == true)
            let listing = try await hub.admin("/api/admin/connections").text
            for token in fake.issuedTokens { #expect(!listing.contains(token), "the admin API never returns tokens") }

            let access = try await hub.hub.oauth.tokens(for: oauthCase.provider).accessToken(userID: "alice")
            #expect(access == fake.latestAccessToken)
            #expect(try await OAuthFixture.auditRows(hub, .oauthConnected).count == 1)

            // Tokens, the state and the verifier appear in no file of the data dir (database, -wal, -shm, key files).
            let needles = fake.issuedTokens + fake.receivedVerifiers + [parameters["state"] ?? ""]
            #expect(try OAuthFixture.files(in: hub.dataDirectory, containing: needles) == [])
            // ...nor in any log line.
            for line in hub.logs.all { #expect(!needles.contains { line.contains($0) }, "\(line.prefix(200))") }
        }
    }

    @Test("An unlisted redirect_uri is refused with 400 and no Location (no open redirect), and audited", arguments: [
        "https://evil.example/steal", "https://app.example.test/oauth/done/", "https://app.example.test/oauth/done?x=1", "HTTPS://app.example.test/oauth/done", "",
    ])
    func unlistedRedirectRefused(_ redirect: String) async throws {
        try await OAuthFixture.withOAuthHub(.gmail) { hub, fake in
            try await OAuthFixture.createUser(hub, "alice")
            let response = try await OAuthFixture.authorize(hub, "gmail", user: "alice", redirect: redirect)
            #expect(response.status == 400 && response.errorCode == "redirect_uri_not_allowed")
            #expect(response.header("Location") == nil)
            #expect(try await OAuthFixture.auditRows(hub, .oauthRedirectRejected).count == 1)
            #expect(fake.authorizePaths.isEmpty)
        }
    }

    @Test("A redirect_uri taken off the allow-list while the user is at the provider is not used: the callback answers 400 without Location, audited, and exchanges nothing")
    func redirectRemovedMeanwhile() async throws {
        try await OAuthFixture.withOAuthHub(.gmail) { hub, fake in
            try await OAuthFixture.createUser(hub, "alice")
            let callback = try await OAuthFixture.consent(fake, location: try #require(try await OAuthFixture.authorize(hub, "gmail", user: "alice").header("Location")))
            hub.environment[OAuthService.allowedRedirectsVariable] = "https://other.example.test/back"
            let response = try await hub.request("GET", callback)
            #expect(response.status == 400 && response.errorCode == "redirect_uri_not_allowed" && response.header("Location") == nil)
            #expect(try await OAuthFixture.auditRows(hub, .oauthRedirectRejected).count == 1)
            #expect(fake.exchanges.isEmpty && fake.issuedTokens.isEmpty)
        }
    }

    @Test("user_id must match ^[A-Za-z0-9_-]{1,64}$ (400 at authorize, audited, and at the link API) and name an existing user (404); identity headers change nothing")
    func userChecks() async throws {
        try await OAuthFixture.withOAuthHub(.slack) { hub, _ in
            for bad in ["", "a b", "alice.smith", "ü", String(repeating: "a", count: 65), "../x"] {
                let response = try await OAuthFixture.authorizeBare(hub, "slack", user: bad)
                #expect(response.status == 400 && response.errorCode == "invalid_user_id", "\(bad)")
            }
            let audited = try await OAuthFixture.auditRows(hub, .oauthAuthorizeRejected)
            // Throttled to one row per reason and address a minute (a minute boundary may fall inside the loop, and a summary row may follow).
            #expect(!audited.isEmpty && audited.count < 6 && audited.allSatisfy { $0["details"]?["reason"] == "invalid_user_id" })
            for bad in ["a b", "alice.smith", "ü", String(repeating: "a", count: 65)] {
                let response = try await OAuthFixture.link(hub, "slack", user: bad)
                #expect(response.status == 400 && response.errorCode == "invalid_user_id", "\(bad)")
            }
            let unknown = try await OAuthFixture.link(hub, "slack", user: "nobody")
            #expect(unknown.status == 404 && unknown.errorCode == "unknown_user")
            // A header claiming an identity changes nothing.
            let claimed = try await hub.request(
                "GET", "/oauth/slack/authorize?user_id=nobody&redirect_uri=" + FormURLEncoded.percentEncode(OAuthFixture.appRedirect),
                headers: [("X-User-ID", "alice"), ("X-Forwarded-User", "alice"), ("Authorization", "Bearer \(TestHub.adminToken)")])
            #expect(claimed.status == 403 && claimed.errorCode == "link_required")
            #expect(try await hub.admin("/api/admin/users").json()["users"]?.arrayValue?.isEmpty == true)
        }
    }

    @Test("Unknown provider 404, provider without OAuth 404, disabled provider 503")
    func providerChecks() async throws {
        try await OAuthFixture.withOAuthHub(.slack) { hub, _ in
            try await OAuthFixture.createUser(hub, "alice")
            #expect(try await OAuthFixture.authorize(hub, "nosuch", user: "alice").errorCode == "unknown_provider")
            #expect(try await OAuthFixture.authorize(hub, "generic", user: "alice").status == 404)
            let disabled = try await OAuthFixture.authorize(hub, "gmail", user: "alice")
            #expect(disabled.status == 503 && disabled.errorCode == "provider_disabled")
        }
    }

    @Test("Missing client credentials answer 503 oauth_not_configured naming the setting")
    func notConfigured() async throws {
        try await OAuthFixture.withOAuthHub(.gmail, environment: ["GMAIL_OAUTH_CLIENT_SECRET": ""]) { hub, _ in
            try await OAuthFixture.createUser(hub, "alice")
            let response = try await OAuthFixture.authorize(hub, "gmail", user: "alice")
            #expect(response.status == 503 && response.errorCode == "oauth_not_configured")
            #expect(response.text.contains("oauthClientSecret") && response.text.contains("GMAIL_OAUTH_CLIENT_SECRET"))
        }
    }

    @Test("The provider's error (access_denied) sends the browser back with oauth=error, audited")
    func providerError() async throws {
        try await OAuthFixture.withOAuthHub(.hubspot) { hub, _ in
            try await OAuthFixture.createUser(hub, "alice")
            let location = try #require(try await OAuthFixture.authorize(hub, "hubspot", user: "alice").header("Location"))
            let state = try #require(OAuthFixture.query(location)["state"])
            let response = try await hub.request(
                "GET", "/oauth/hubspot/callback?error=access_denied&error_description=The+user+said+no&state=\(FormURLEncoded.percentEncode(state))")
            #expect(response.status == 302)
            let flags = OAuthFixture.query(try #require(response.header("Location")))
            #expect(flags["oauth"] == "error" && flags["error"] == "access_denied" && flags["provider"] == "hubspot")
            let rows = try await OAuthFixture.auditRows(hub, .oauthProviderError)
            #expect(rows.count == 1 && rows.first?["details"]?["error"] == "access_denied")
            #expect(try await OAuthFixture.connections(hub).isEmpty)
        }
    }

    @Test("A code the token endpoint refuses sends the browser back with token_exchange_failed, audited, nothing stored")
    func exchangeRefused() async throws {
        try await OAuthFixture.withOAuthHub(.gmail) { hub, fake in
            try await OAuthFixture.createUser(hub, "alice")
            let location = try #require(try await OAuthFixture.authorize(hub, "gmail", user: "alice").header("Location"))
            let state = try #require(OAuthFixture.query(location)["state"])
            let response = try await hub.request("GET", "/oauth/gmail/callback?code=forged-code&state=\(FormURLEncoded.percentEncode(state))")
            #expect(response.status == 302)
            #expect(OAuthFixture.query(try #require(response.header("Location")))["error"] == "token_exchange_failed")
            let rows = try await OAuthFixture.auditRows(hub, .oauthTokenExchangeFailed)
            #expect(rows.first?["details"]?["reason"]?.stringValue?.contains("invalid_grant") == true)
            #expect(try await OAuthFixture.connections(hub).isEmpty)
            #expect(fake.issuedTokens.isEmpty)
        }
    }
}
