import Foundation
import PluginAPI
import PluginTesting
import Testing

@testable import Host

@Suite("OAuth: users, connections and temporary users through the admin API")
struct OAuthAdminTests {
    @Test("DELETE /api/admin/connections/{id} revokes at the provider where it can, then deletes the connection and its sealed tokens", arguments: OAuthCase.all)
    func deleteRevokes(_ oauthCase: OAuthCase) async throws {
        try await OAuthFixture.withOAuthHub(oauthCase) { hub, fake in
            _ = try await OAuthFixture.connect(hub, fake, oauthCase)
            let tokens = fake.issuedTokens
            let id = try #require(try await OAuthFixture.connections(hub).first?["id"]?.numberValue).rounded()
            let response = try await hub.request("DELETE", "/api/admin/connections/\(Int(id))", headers: OAuthFixture.adminHeaders)
            #expect(response.status == 200, "\(response.text)")
            let revoked = try response.json()["revoked"]
            switch oauthCase.provider {
            case "teams":
                #expect(revoked == "not_supported")
                #expect(fake.revokedTokens.isEmpty)
            case "slack":
                #expect(revoked == true)
                #expect(fake.revokedTokens == [tokens[0]], "Slack's auth.revoke takes the access token")
            default:
                #expect(revoked == true)
                #expect(fake.revokedTokens == [tokens[1]], "the refresh token is revoked, ending the whole grant")
            }
            #expect(try await OAuthFixture.connections(hub).isEmpty)
            let remaining = try await hub.hub.eventLog.write { connection in try connection.scalarText("SELECT count(*) FROM secrets WHERE name LIKE 'oauth.%'") }
            #expect(remaining == "0")
            let rows = try await OAuthFixture.auditRows(hub, .oauthConnectionDeleted)
            #expect(rows.count == 1 && rows.first?["details"]?["revoked"] == revoked)
            #expect(try await hub.request("DELETE", "/api/admin/connections/\(Int(id))", headers: OAuthFixture.adminHeaders).status == 404)
            await #expect(throws: OAuthTokenError.notConnected(provider: oauthCase.provider, userID: "alice")) {
                try await hub.hub.oauth.tokens(for: oauthCase.provider).accessToken(userID: "alice")
            }
        }
    }

    @Test("Users: created by the admin API (201), duplicates 409, invalid ids and malformed bodies 400 (non-object, non-string or control characters in display_name, unknown members), listed")
    func users() async throws {
        try await OAuthFixture.withOAuthHub(.slack) { hub, _ in
            let headers = OAuthFixture.adminHeaders
            let created = try await hub.request("POST", "/api/admin/users", headers: headers, body: Array(#"{"id": "alice_1-B", "display_name": "Alice"}"#.utf8))
            #expect(try created.status == 201 && created.json()["user"]?["temporary"] == false)
            #expect(try await hub.request("POST", "/api/admin/users", headers: headers, body: Array(#"{"id": "alice_1-B"}"#.utf8)).status == 409)
            for body in [#"{"id": "a b"}"#, #"{"id": ""}"#, #"{}"#, #"{"id": 7}"#] {
                let response = try await hub.request("POST", "/api/admin/users", headers: headers, body: Array(body.utf8))
                #expect(response.status == 400 && response.errorCode == "invalid_user_id", "\(body)")
            }
            for body in [
                "not json", "[]", #""alice""#, #"{"id": "bob", "display_name": 7}"#, #"{"id": "bob", "display_name": ["B"]}"#,
                #"{"id": "bob", "display_name": "Bob\u0000"}"#, #"{"id": "bob", "display_name": "Bob\nsmith"}"#,
                #"{"id": "bob", "display_name": "\#(String(repeating: "b", count: 201))"}"#, #"{"id": "bob", "is_admin": true}"#,
            ] {
                let response = try await hub.request("POST", "/api/admin/users", headers: headers, body: Array(body.utf8))
                #expect(response.status == 400 && response.errorCode == "bad_request", "\(body.prefix(60)): \(response.text)")
            }
            let unnamed = try await hub.request("POST", "/api/admin/users", headers: headers, body: Array(#"{"id": "carol", "display_name": null}"#.utf8))
            #expect(try unnamed.status == 201 && unnamed.json()["user"]?["display_name"] == .null)
            let users = try await hub.admin("/api/admin/users").json()["users"]?.arrayValue
            #expect(users?.map { $0["id"] } == ["alice_1-B", "carol"])
            #expect(try await OAuthFixture.auditRows(hub, .userCreated).count == 2)
        }
    }

    @Test("The admin routes need the admin token", arguments: [("GET", "/api/admin/users"), ("POST", "/api/admin/users"), ("GET", "/api/admin/connections"), ("DELETE", "/api/admin/connections/1"), ("POST", "/api/admin/users/alice/oauth-links"),
    ])
    func adminAuthentication(_ method: String, _ path: String) async throws {
        try await OAuthFixture.withOAuthHub(.slack) { hub, _ async throws in
            #expect(try await hub.request(method, path).status == 401)
            #expect(try await hub.request(method, path, headers: [("Authorization", "Bearer wrong")]).status == 401)
            #expect(try await hub.request(method, path, headers: [("X-User-ID", "admin")]).status == 401)
        }
    }

    @Test("ALLOW_DEV_TEMP_USERS under production rules refuses startup (exit path of serve: StartupRefusal)")
    func temporaryUsersRefusedInProduction() async throws {
        let production = [
            "ENVIRONMENT": "production", "SECRET_KEY": SecurityStartupTests.strongKey, "ADMIN_TOKEN": SecurityStartupTests.strongKey + "-admin",
            "SLACK_SIGNING_SECRET": TestHub.slackSecret,
        ]
        var refused = production
        refused["ALLOW_DEV_TEMP_USERS"] = "true"
        let error = #expect(throws: StartupRefusal.self) { _ = try TestHub(environment: refused) }
        #expect(error?.findings.map(\.subject) == ["ALLOW_DEV_TEMP_USERS"])
        // The same environment without it starts.
        let hub = try TestHub(environment: production)
        await hub.stop()
        // And `atom-hub serve` exits 78 naming it.
        let (status, stderr) = try await SecurityStartupTests.serveToExit(
            SecurityStartupTests.environment(["ENVIRONMENT": "production", "SECRET_KEY": SecurityStartupTests.strongKey, "ALLOW_DEV_TEMP_USERS": "true"]))
        #expect(status == 78)
        #expect(stderr.contains("ALLOW_DEV_TEMP_USERS"), "\(stderr)")
    }

    @Test("ALLOW_DEV_TEMP_USERS=true in development admits a bare authorize (still checking a link when one is given) and creates unknown users as temporary, loudly logged and audited")
    func temporaryUsersInDevelopment() async throws {
        try await OAuthFixture.withOAuthHub(.gmail, environment: ["ENVIRONMENT": "development", "ALLOW_DEV_TEMP_USERS": "true"]) { hub, _ in
            #expect(hub.logs.all.contains { $0.hasPrefix("warning") && $0.contains("ALLOW_DEV_TEMP_USERS") && $0.contains("TEMPORARY USERS") })
            let response = try await OAuthFixture.authorizeBare(hub, "gmail", user: "visitor")
            #expect(response.status == 302)
            #expect(hub.logs.all.contains { $0.hasPrefix("warning") && $0.contains("UNLINKED AUTHORIZE") && $0.contains("visitor") })
            let users = try await hub.admin("/api/admin/users").json()["users"]?.arrayValue
            #expect(users?.first?["id"] == "visitor" && users?.first?["temporary"] == true)
            #expect(hub.logs.all.contains { $0.hasPrefix("warning") && $0.contains("TEMPORARY USER CREATED") && $0.contains("visitor") })
            #expect(try await OAuthFixture.auditRows(hub, .temporaryUserCreated).count == 1)
            // A link, when given, is still checked: a forged one does not fall back to the bare form.
            let forged = try await hub.request(
                "GET", "/oauth/gmail/authorize?" + FormURLEncoded.encode([("user_id", "visitor"), ("redirect_uri", OAuthFixture.appRedirect), ("link", "forged")]))
            #expect(forged.status == 403 && forged.errorCode == "invalid_link")
        }
        // Any other value does not enable them.
        try await OAuthFixture.withOAuthHub(.gmail, environment: ["ALLOW_DEV_TEMP_USERS": "1"]) { hub, _ async throws in
            #expect(try await OAuthFixture.authorizeBare(hub, "gmail", user: "visitor").errorCode == "link_required")
            #expect(try await OAuthFixture.link(hub, "gmail", user: "visitor").errorCode == "unknown_user")
        }
    }
}
