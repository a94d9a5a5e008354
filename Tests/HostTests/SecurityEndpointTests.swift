import Foundation
import PluginAPI
import Plugins
import Testing

@testable import Host

@Suite("Security endpoints and the development escape hatch")
struct SecurityEndpointTests {
    static let production = [
        "ENVIRONMENT": "production", "SECRET_KEY": SecurityStartupTests.strongKey, "ENCRYPTION_KEY": SecretsTests.keyA,
        "ADMIN_TOKEN": TestHub.adminToken, "SLACK_SIGNING_SECRET": TestHub.slackSecret,
    ]

    /// Every value that must never appear in a response.
    static let sensitive = [SecurityStartupTests.strongKey, SecretsTests.keyA, TestHub.adminToken, TestHub.slackSecret]

    @Test("A well-configured production hub reports healthy, and no endpoint returns a secret")
    func healthyProduction() async throws {
        try await withHub(environment: Self.production) { hub in
            let configuration = try await hub.admin("/api/security/configuration")
            #expect(configuration.status == 200)
            #expect(try configuration.json()["status"]?.stringValue == "healthy", "\(configuration.text)")
            #expect(try configuration.json()["issues"]?.arrayValue?.isEmpty == true)
            let health = try await hub.admin("/api/security/health")
            #expect(try health.json()["status"]?.stringValue == "healthy")
            #expect(try health.json()["audit_log"]?.stringValue == "ok")
            #expect(try health.json()["signature_checks"]?.stringValue == "enforced")
            for path in ["configuration", "secrets", "webhooks", "health", "audit"] {
                let response = try await hub.admin("/api/security/\(path)")
                #expect(response.status == 200)
                for value in Self.sensitive { #expect(!response.text.contains(value), "\(path) leaks a secret") }
            }
        }
    }

    @Test("Development without keys reports warnings with recommendations")
    func developmentWarnings() async throws {
        try await withHub { hub in
            let json = try await hub.admin("/api/security/configuration").json()
            #expect(json["status"]?.stringValue == "warning")
            #expect(json["environment"]?.stringValue == "development")
            let issues = json["issues"]?.arrayValue ?? []
            #expect(issues.contains { $0["subject"]?.stringValue == "ENVIRONMENT" && $0["severity"]?.stringValue == "warning" })
            #expect(issues.contains { $0["subject"]?.stringValue == "SECRET_KEY" && ($0["recommendation"]?.stringValue ?? "").contains("openssl rand") })
        }
    }

    @Test("/api/security/webhooks reports each provider's scheme, replay window and whether its secrets resolve")
    func webhooks() async throws {
        try await withHub(environment: ["ADMIN_TOKEN": TestHub.adminToken]) { hub in
            let providers = try await hub.admin("/api/security/webhooks").json()["providers"]?.arrayValue ?? []
            let slack = try #require(providers.first { $0["id"]?.stringValue == "slack" })
            #expect(slack["enabled"]?.boolValue == true)
            #expect(slack["verification_scheme"]?.stringValue?.contains("HMAC-SHA256") == true)
            #expect(slack["replay_window_seconds"]?.numberValue == 300)
            #expect(slack["signature_checks"]?.stringValue == "enforced")
            #expect(slack["secrets_resolve"]?.boolValue == false)
            #expect(slack["problem"]?.stringValue?.contains("SLACK_SIGNING_SECRET") == true)
            let configuration = try await hub.admin("/api/security/configuration").json()
            #expect(configuration["status"]?.stringValue == "critical")
        }
    }

    @Test("ENVIRONMENT=development with ATOM_DEV_SKIP_SIGNATURES=1 skips checks with a warning and an audit row")
    func skippedSignatureChecks() async throws {
        let environment = ["ENVIRONMENT": "development", "ATOM_DEV_SKIP_SIGNATURES": "1", "SLACK_SIGNING_SECRET": TestHub.slackSecret, "ADMIN_TOKEN": TestHub.adminToken]
        try await withHub(environment: environment) { hub in
            let body = SlackSigner.eventBody()
            let response = try await hub.request("POST", "/api/webhooks/slack", headers: [("Content-Type", "application/json")], body: body)
            #expect(response.status == 200)
            #expect(hub.logs.all.contains { $0.hasPrefix("warning") && $0.contains("SKIPPED") && $0.contains("missing_signature") })
            let rows = try await AuditAndAdminTests.auditRows(hub, type: .signatureCheckSkipped)
            #expect(rows.count == 1)
            #expect(rows.first?["details"]?["provider"]?.stringValue == "slack")
            let webhooks = try await hub.admin("/api/security/webhooks").json()
            #expect(webhooks["providers"]?.arrayValue?.first?["signature_checks"]?.stringValue?.hasPrefix("skippable") == true)
        }
    }

    @Test("ATOM_DEV_SKIP_SIGNATURES=1 without an explicit ENVIRONMENT=development changes nothing")
    func skipNeedsExplicitDevelopment() async throws {
        try await withHub(environment: ["ATOM_DEV_SKIP_SIGNATURES": "1", "SLACK_SIGNING_SECRET": TestHub.slackSecret, "ADMIN_TOKEN": TestHub.adminToken]) { hub in
            let response = try await hub.request("POST", "/api/webhooks/slack", body: SlackSigner.eventBody())
            #expect(response.status == 401)
            #expect(try await hub.storedEvents().isEmpty)
            #expect(try await AuditAndAdminTests.auditRows(hub, type: .signatureCheckSkipped).isEmpty)
            #expect(!hub.logs.all.contains { $0.contains("SKIPPED") })
        }
    }
}
