import Foundation
import PluginAPI
import PluginTesting
import Plugins
import Testing

@testable import Host

/// One provider's OAuth, as the tests drive it against a ``FakeOAuthServer``.
struct OAuthCase: Sendable, CustomStringConvertible {
    let provider: String
    /// The environment variable holding the client secret.
    let secretVariable: String
    let basicAuthentication: Bool
    let slackStyle: Bool
    let pkce: Bool
    /// The `scope` parameter the authorize redirect must carry.
    let scope: String
    /// Extra authorize parameters it must carry.
    let extraParameters: [String: String]
    /// Settings beyond the OAuth ones, as JSON members (so the provider itself can be created).
    let settings: String

    var description: String { provider }
    var clientID: String { "\(provider)-client-id" }
    var clientSecret: String { "\(provider)-client-secret-value" }

    static let slack = OAuthCase(
        provider: "slack", secretVariable: "SLACK_OAUTH_CLIENT_SECRET", basicAuthentication: true, slackStyle: true, pkce: false,
        scope: "chat:write,channels:read", extraParameters: [:], settings: "")
    static let teams = OAuthCase(
        provider: "teams", secretVariable: "TEAMS_OAUTH_CLIENT_SECRET", basicAuthentication: false, slackStyle: false, pkce: true,
        scope: "offline_access https://graph.microsoft.com/User.Read https://graph.microsoft.com/ChannelMessage.Send", extraParameters: ["response_mode": "query"],
        settings: #""oauthTenant": "contoso.example","#)
    static let gmail = OAuthCase(
        provider: "gmail", secretVariable: "GMAIL_OAUTH_CLIENT_SECRET", basicAuthentication: false, slackStyle: false, pkce: true,
        scope: "https://www.googleapis.com/auth/gmail.readonly", extraParameters: ["access_type": "offline", "prompt": "consent"],
        settings: #""serviceAccountEmail": "push@example-project.iam.gserviceaccount.com","#)
    static let hubspot = OAuthCase(
        provider: "hubspot", secretVariable: "HUBSPOT_CLIENT_SECRET", basicAuthentication: false, slackStyle: false, pkce: false,
        scope: "oauth crm.objects.contacts.read", extraParameters: [:], settings: "")

    static let all = [slack, teams, gmail, hubspot]
}

/// Hubs and flows for the OAuth tests.
enum OAuthFixture {
    static let publicURL = "https://hub.example.test"
    static let appRedirect = "https://app.example.test/oauth/done"

    static func environment(_ oauthCase: OAuthCase, _ extra: [String: String] = [:]) -> [String: String] {
        var environment = [
            "ADMIN_TOKEN": TestHub.adminToken, "SLACK_SIGNING_SECRET": TestHub.slackSecret, "TEAMS_CLIENT_STATE": "teams-client-state-value",
            "ATOM_PUBLIC_URL": publicURL, OAuthService.allowedRedirectsVariable: "\(appRedirect), https://other.example.test/back",
            oauthCase.secretVariable: oauthCase.clientSecret,
        ]
        for (name, value) in extra { environment[name] = value }
        return environment
    }

    /// plugins.json enabling `oauthCase`'s provider with its endpoints on `fake`.
    static func plugins(_ oauthCase: OAuthCase, fake: FakeOAuthServer, enabled: [OAuthCase] = []) -> String {
        let prefix = oauthCase.provider == "teams" ? "/{tenant}/oauth2/v2.0" : "/\(oauthCase.provider)"
        let entry = """
            "\(oauthCase.provider)": {"enabled": true, "settings": {\(oauthCase.settings)
                "oauthClientID": "\(oauthCase.clientID)", "oauthAuthorizeURL": "\(fake.url(prefix + "/authorize"))",
                "oauthTokenURL": "\(fake.url(prefix + "/token"))", "oauthRevokeURL": "\(fake.url("/\(oauthCase.provider)/revoke"))"}}
            """
        let others = enabled.map { #""\#($0.provider)": {"enabled": true, "settings": {\#($0.settings) "oauthClientID": "\#($0.clientID)"}}"# }
        return #"{"providers": {"# + ([entry] + others).joined(separator: ", ") + "}}"
    }

    /// Runs `body` with a fake provider and a hub using it; both are always stopped.
    static func withOAuthHub<T>(
        _ oauthCase: OAuthCase, clock: any WallClock = SystemClock(), environment extra: [String: String] = [:],
        fake configure: (inout FakeOAuthServer.Configuration) -> Void = { _ in }, enabled: [OAuthCase] = [],
        providerTypes: [any Provider.Type] = allProviders, _ body: (TestHub, FakeOAuthServer) async throws -> T
    ) async throws -> T {
        var configuration = FakeOAuthServer.Configuration(
            clientID: oauthCase.clientID, clientSecret: oauthCase.clientSecret, basicAuthentication: oauthCase.basicAuthentication, slackStyle: oauthCase.slackStyle)
        configure(&configuration)
        let fake = try FakeOAuthServer(configuration)
        do {
            var environment = environment(oauthCase, extra)
            for other in enabled { environment[other.secretVariable] = other.clientSecret }
            let result = try await withHub(
                plugins: plugins(oauthCase, fake: fake, enabled: enabled), environment: environment, clock: clock, providerTypes: providerTypes) { hub in try await body(hub, fake) }
            await fake.stop()
            return result
        } catch {
            await fake.stop()
            throw error
        }
    }

    static let adminHeaders = [("Authorization", "Bearer \(TestHub.adminToken)")]

    /// Creates the user `id` through the admin API.
    static func createUser(_ hub: TestHub, _ id: String) async throws {
        let response = try await hub.request("POST", "/api/admin/users", headers: adminHeaders, body: Array(#"{"id": "\#(id)"}"#.utf8))
        #expect(response.status == 201, "\(response.text)")
    }

    /// `POST /api/admin/users/{user}/oauth-links`: 201 with the single-use authorize link, or the refusal.
    static func link(_ hub: TestHub, _ provider: String, user: String, redirect: String = appRedirect) async throws -> TestResponse {
        let body = JSONValue.object(["provider": .string(provider), "redirect_uri": .string(redirect)]).serialized()
        return try await hub.request("POST", "/api/admin/users/\(FormURLEncoded.percentEncode(user))/oauth-links", headers: adminHeaders, body: body)
    }

    /// The path and query of an issued link's `url` (which starts with the hub's public URL).
    static func target(ofLink response: TestResponse, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let url = try #require(try response.json()["url"]?.stringValue, "\(response.text)", sourceLocation: sourceLocation)
        #expect(url.hasPrefix(publicURL + "/oauth/"), sourceLocation: sourceLocation)
        return String(url.dropFirst(publicURL.count))
    }

    /// What the user's browser does: the app gets a link for `user` from the admin API and the browser
    /// opens it (`GET /oauth/{provider}/authorize?…&link=…`). A refused link request is returned as is.
    static func authorize(_ hub: TestHub, _ provider: String, user: String, redirect: String = appRedirect) async throws -> TestResponse {
        let issued = try await link(hub, provider, user: user, redirect: redirect)
        guard issued.status == 201 else { return issued }
        return try await hub.request("GET", try target(ofLink: issued))
    }

    /// `GET /oauth/{provider}/authorize?user_id=…&redirect_uri=…` without a link.
    static func authorizeBare(_ hub: TestHub, _ provider: String, user: String, redirect: String = appRedirect) async throws -> TestResponse {
        try await hub.request("GET", "/oauth/\(provider)/authorize?" + FormURLEncoded.encode([("user_id", user), ("redirect_uri", redirect)]))
    }

    /// What the browser does at the provider: follows `location` to the fake's consent page and
    /// returns the hub callback target (`/oauth/…/callback?code=…&state=…`) it is sent back to.
    static func consent(_ fake: FakeOAuthServer, location: String) async throws -> String {
        let url = try #require(URLComponents(string: location))
        let response = try await get(port: fake.port, target: url.percentEncodedPath + "?" + (url.percentEncodedQuery ?? ""))
        #expect(response.status == 302)
        let callback = try #require(response.header("Location"))
        #expect(callback.hasPrefix(publicURL + "/oauth/"))
        return String(callback.dropFirst(publicURL.count))
    }

    /// The whole flow for a new user `user`: the authorize redirect's parameters and the final redirect.
    static func connect(_ hub: TestHub, _ fake: FakeOAuthServer, _ oauthCase: OAuthCase, user: String = "alice") async throws
        -> (authorize: [String: String], final: String)
    {
        try await createUser(hub, user)
        let authorize = try await authorize(hub, oauthCase.provider, user: user)
        #expect(authorize.status == 302, "\(authorize.text)")
        let location = try #require(authorize.header("Location"))
        let callback = try await consent(fake, location: location)
        let final = try await hub.request("GET", callback)
        #expect(final.status == 302, "\(final.text)")
        return (query(location), try #require(final.header("Location")))
    }

    /// The query parameters of `url`.
    static func query(_ url: String) -> [String: String] {
        let query = url.split(separator: "?", maxSplits: 1).dropFirst().first.map(String.init)
        return Request(method: .GET, path: "/", query: query).queryParameters
    }

    /// A GET to 127.0.0.1:`port`.
    static func get(port: Int, target: String) async throws -> TestResponse {
        try await Blocking.run {
            let connection = try TestConnection(port: port)
            try connection.send("GET \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            return try connection.readResponse()
        }
    }

    /// The files in `directory` (recursively: database, -wal, -shm, key files) holding any of `needles`.
    static func files(in directory: URL, containing needles: [String]) throws -> [String] {
        let enumerator = try #require(FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil))
        var found: [String] = []
        var scanned = 0
        for case let url as URL in enumerator where (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true {
            let bytes = try Data(contentsOf: url)
            scanned += 1
            for needle in needles where bytes.range(of: Data(needle.utf8)) != nil { found.append("\(url.lastPathComponent) holds \(needle)") }
        }
        #expect(scanned >= 3, "expected the database, its WAL and SHM at least")
        return found
    }

    /// Audit rows of `type`.
    static func auditRows(_ hub: TestHub, _ type: AuditEvent.Kind) async throws -> [JSONValue] {
        try await AuditAndAdminTests.auditRows(hub, type: type)
    }

    /// The connections the admin API lists.
    static func connections(_ hub: TestHub) async throws -> [JSONValue] {
        let response = try await hub.admin("/api/admin/connections")
        #expect(response.status == 200)
        return try #require(response.json()["connections"]?.arrayValue)
    }

    /// Polls `condition` every 20 ms until it holds or 30 s pass.
    static func eventually(_ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return try await condition()
    }
}
