import Foundation
import PluginAPI
import PluginTesting
import Testing

@testable import Host

@Suite("OAuth: sealed tokens across restarts, and the configuration review")
struct OAuthPersistenceTests {
    @Test("Tokens survive a restart: the next hub authenticates and opens them with the same key (ENCRYPTION_KEY, or the development key file the first use generated)",
          arguments: [nil, SecurityStartupTests.strongKey] as [String?])
    func survivesRestart(_ encryptionKey: String?) async throws {
        var extra: [String: String] = [:]
        extra["ENCRYPTION_KEY"] = encryptionKey
        try await OAuthFixture.withOAuthHub(.gmail, environment: extra) { hub, fake in
            _ = try await OAuthFixture.connect(hub, fake, .gmail)
            let token = try #require(fake.latestAccessToken)
            let first = hub.hub
            await Blocking.runNonThrowing { first.shutdown() }  // Stopping it again at the end is a no-op.

            // A new hub on the same data dir, configuration and environment.
            var options = HubOptions()
            options.server.port = 0
            options.server.eventLoops = 1
            options.dataDirectory = hub.dataDirectory
            options.pluginsPath = hub.directory.appendingPathComponent("plugins.json").path
            options.pluginsPathIsDefault = false
            let second = try Hub(options: options, environment: hub.environment.environment, logger: .disabled)
            let port = try second.start()
            do {
                #expect(try await second.oauth.tokens(for: "gmail").accessToken(userID: "alice") == token)
                let secrets = try await Blocking.run {
                    let connection = try TestConnection(port: port)
                    try connection.send("GET /api/security/secrets HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(TestHub.adminToken)\r\nConnection: close\r\n\r\n")
                    return try connection.readResponse()
                }.json()
                #expect(secrets["secret_count"] == 2 && secrets["damaged_count"] == 0 && secrets["status"] == "ready", "startup authenticated both tokens")
            } catch {
                await Blocking.runNonThrowing { second.shutdown() }
                throw error
            }
            await Blocking.runNonThrowing { second.shutdown() }
        }
    }

    @Test("Entries of OAUTH_ALLOWED_REDIRECT_URIS that can never match are reported; valid ones are not")
    func redirectURIFinding() async throws {
        let environment = [OAuthService.allowedRedirectsVariable: "https://app.example.test/done, /relative, https://app.example.test/x#frag, javascript:alert(1)"]
        try await OAuthFixture.withOAuthHub(.slack, environment: environment) { hub, _ in
            let issues = try await hub.admin("/api/security/configuration").json()["issues"]?.arrayValue ?? []
            let finding = try #require(issues.first { $0["subject"]?.stringValue == OAuthService.allowedRedirectsVariable })
            let message = finding["message"]?.stringValue ?? ""
            #expect(message.contains("3 entries") && message.contains("/relative") && !message.contains("app.example.test/done,"))
            #expect(OAuthService.redirectURIs(environment[OAuthService.allowedRedirectsVariable]).allowed == ["https://app.example.test/done"])
        }
    }

    @Test("Under production rules OAuth needs an https public URL (503 oauth_not_configured for http), since the callback carries codes")
    func productionNeedsHTTPS() async throws {
        let production = ["ENVIRONMENT": "production", "SECRET_KEY": SecurityStartupTests.strongKey, "ENCRYPTION_KEY": SecurityStartupTests.strongKey + "-enc"]
        try await OAuthFixture.withOAuthHub(.gmail, environment: production) { hub, _ in
            try await OAuthFixture.createUser(hub, "alice")
            #expect(try await OAuthFixture.link(hub, "gmail", user: "alice").status == 201, "https is fine")
        }
        try await OAuthFixture.withOAuthHub(.gmail, environment: production.merging(["ATOM_PUBLIC_URL": "http://hub.example.test"]) { $1 }) { hub, fake in
            try await OAuthFixture.createUser(hub, "alice")
            let response = try await OAuthFixture.link(hub, "gmail", user: "alice")
            #expect(response.status == 503 && response.errorCode == "oauth_not_configured" && response.text.contains("https"), "\(response.text)")
            #expect(fake.authorizePaths.isEmpty)
        }
    }

    @Test("Under production rules without ENCRYPTION_KEY the hub starts with a warning, and the link API refuses (503) before the user is sent away")
    func productionWithoutEncryptionKey() async throws {
        let production = ["ENVIRONMENT": "production", "SECRET_KEY": SecurityStartupTests.strongKey]
        try await OAuthFixture.withOAuthHub(.slack, environment: production) { hub, fake in
            let issues = try await hub.admin("/api/security/configuration").json()["issues"]?.arrayValue ?? []
            #expect(issues.contains { $0["subject"] == "OAuth" && $0["severity"] == "warning" })
            try await OAuthFixture.createUser(hub, "alice")
            let response = try await OAuthFixture.link(hub, "slack", user: "alice")
            #expect(response.status == 503 && response.errorCode == "token_store_unavailable", "no link is issued")
            #expect(response.header("Location") == nil && fake.authorizePaths.isEmpty)
            #expect(!FileManager.default.fileExists(atPath: hub.dataDirectory.appendingPathComponent("encryption.key").path), "production never generates a key")
        }
    }
}
