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
        let saved = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: saved) }
        var extra: [String: String] = [:]
        extra["ENCRYPTION_KEY"] = encryptionKey
        let token = try await OAuthFixture.withOAuthHub(.gmail, environment: extra) { hub, fake in
            _ = try await OAuthFixture.connect(hub, fake, .gmail)
            let running = hub.hub
            await Blocking.runNonThrowing { running.shutdown() }  // Closed cleanly before the copy; stopping again later is a no-op.
            try FileManager.default.copyItem(at: hub.dataDirectory, to: saved.appendingPathComponent("data"))
            return try #require(fake.latestAccessToken)
        }
        let plugins = #"{"providers": {"gmail": {"enabled": true, "settings": {\#(OAuthCase.gmail.settings) "oauthClientID": "id"}}}}"#
        try await withHub(plugins: plugins, environment: OAuthFixture.environment(.gmail, extra), beforeStart: { data in
            try FileManager.default.copyItem(at: saved.appendingPathComponent("data"), to: data)
        }) { hub in
            #expect(try await hub.hub.oauth.tokens(for: "gmail").accessToken(userID: "alice") == token)
            let secrets = try await hub.admin("/api/security/secrets").json()
            #expect(secrets["secret_count"] == 2 && secrets["damaged_count"] == 0 && secrets["status"] == "ready")
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

    @Test("Under production rules without ENCRYPTION_KEY the hub starts with a warning, and authorize refuses (503) before the user is sent away")
    func productionWithoutEncryptionKey() async throws {
        let production = ["ENVIRONMENT": "production", "SECRET_KEY": SecurityStartupTests.strongKey]
        try await OAuthFixture.withOAuthHub(.slack, environment: production) { hub, fake in
            let issues = try await hub.admin("/api/security/configuration").json()["issues"]?.arrayValue ?? []
            #expect(issues.contains { $0["subject"] == "OAuth" && $0["severity"] == "warning" })
            try await OAuthFixture.createUser(hub, "alice")
            let response = try await OAuthFixture.authorize(hub, "slack", user: "alice")
            #expect(response.status == 503 && response.errorCode == "token_store_unavailable")
            #expect(response.header("Location") == nil && fake.authorizePaths.isEmpty)
            #expect(!FileManager.default.fileExists(atPath: hub.dataDirectory.appendingPathComponent("encryption.key").path), "production never generates a key")
        }
    }
}
