import Foundation
import PluginAPI
import Testing

@testable import Host

/// Every provider runs its checks through `context.verification`: with the development escape hatch
/// an unsigned delivery is let through (warned about and audited), without it the delivery is 401.
@Suite("Every provider honours the verification policy")
struct ProviderVerificationPolicyTests {
    /// An unsigned delivery to one provider's route, and how the provider acknowledges it when let through.
    struct UnsignedDelivery: Sendable, CustomTestStringConvertible {
        let provider: String
        let route: String
        let settings: JSONValue
        let secrets: [String: String]
        let body: [UInt8]
        let acceptedStatus: Int
        var testDescription: String { "\(provider) \(route)" }

        var plugins: String { JSONValue.object(["providers": [provider: ["enabled": true, "settings": settings]]]).jsonString }
    }

    static let deliveries: [UnsignedDelivery] = [
        UnsignedDelivery(
            provider: "slack", route: "/api/webhooks/slack", settings: [:], secrets: ["SLACK_SIGNING_SECRET": TestHub.slackSecret],
            body: SlackSigner.eventBody(), acceptedStatus: 200),
        UnsignedDelivery(
            provider: "hubspot", route: "/api/webhooks/hubspot", settings: ["publicURL": .string(HubSpotSigner.publicURL)],
            secrets: ["HUBSPOT_CLIENT_SECRET": HubSpotSigner.secret], body: HubSpotSigner.batch([HubSpotSigner.event(id: 1)]), acceptedStatus: 200),
        UnsignedDelivery(
            provider: "generic", route: "/api/webhooks/generic/billing", settings: ["sources": ["billing": "env:BILLING_SECRET"]],
            secrets: ["BILLING_SECRET": StandardWebhooksSigner.secret], body: Array(#"{"type":"invoice.paid"}"#.utf8), acceptedStatus: 204),
        UnsignedDelivery(
            provider: "gmail", route: "/api/webhooks/gmail",
            // The key file is never read: a request without a token fails before any key lookup.
            settings: ["serviceAccountEmail": .string(GooglePush.serviceAccount), "audience": .string(GooglePush.audience), "jwksFile": "/nonexistent/jwks.json"],
            secrets: [:], body: GooglePush.envelope(), acceptedStatus: 204),
        UnsignedDelivery(
            provider: "teams", route: "/api/webhooks/teams", settings: [:], secrets: TeamsSigner.environment, body: TeamsSigner.activity(),
            acceptedStatus: 200),
        UnsignedDelivery(
            provider: "teams", route: "/api/webhooks/teams/notifications", settings: [:], secrets: TeamsSigner.environment,
            body: TeamsSigner.batch([TeamsSigner.notification(clientState: nil)]), acceptedStatus: 202),
    ]

    @Test("In development with ATOM_DEV_SKIP_SIGNATURES=1 an unsigned delivery is stored, warned about and audited", arguments: deliveries)
    func skipped(_ delivery: UnsignedDelivery) async throws {
        let environment = delivery.secrets.merging(["ENVIRONMENT": "development", "ATOM_DEV_SKIP_SIGNATURES": "1", "ADMIN_TOKEN": TestHub.adminToken]) { $1 }
        try await withHub(plugins: delivery.plugins, environment: environment) { hub in
            let response = try await hub.request("POST", delivery.route, headers: [("Content-Type", "application/json")], body: delivery.body)
            #expect(response.status == delivery.acceptedStatus, "\(response.text)")
            #expect(try await hub.storedEvents(provider: delivery.provider).count == 1)
            #expect(hub.logs.all.contains { $0.hasPrefix("warning") && $0.contains("SKIPPED") && $0.contains("provider=\(delivery.provider)") })
            let rows = try await AuditAndAdminTests.auditRows(hub, type: .signatureCheckSkipped)
            #expect(rows.count == 1)
            #expect(rows.first?["details"]?["provider"]?.stringValue == delivery.provider)
        }
    }

    @Test("Without the escape hatch the same unsigned delivery is 401 and nothing is stored", arguments: deliveries)
    func enforced(_ delivery: UnsignedDelivery) async throws {
        let environment = delivery.secrets.merging(["ENVIRONMENT": "development", "ADMIN_TOKEN": TestHub.adminToken]) { $1 }
        try await withHub(plugins: delivery.plugins, environment: environment) { hub in
            let response = try await hub.request("POST", delivery.route, headers: [("Content-Type", "application/json")], body: delivery.body)
            #expect(response.status == 401, "\(response.text)")
            #expect(try await hub.storedEvents(provider: delivery.provider).isEmpty)
            #expect(try await AuditAndAdminTests.auditRows(hub, type: .signatureCheckSkipped).isEmpty)
        }
    }
}
