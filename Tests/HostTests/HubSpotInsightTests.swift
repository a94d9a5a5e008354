import Foundation
import PluginAPI
import PluginTesting
import Plugins
import Testing

@testable import Host

@Suite("HubSpot contact insight")
struct HubSpotInsightTests {
    let signer = HubSpotSigner()
    static let day: Int64 = 86_400_000
    /// The time the hub's clock shows: 2023-11-14T22:13:20Z.
    static let now: Int64 = 1_700_000_000_000

    func deliver(_ hub: TestHub, _ events: [String]) async throws {
        let body = HubSpotSigner.batch(events)
        let response = try await hub.request("POST", "/api/webhooks/hubspot", headers: signer.headers(body: body, timestampMs: Self.now), body: body)
        #expect(response.status == 200)
    }

    func withHubSpot(adminToken: String? = TestHub.adminToken, _ body: (TestHub) async throws -> Void) async throws {
        var environment = ["HUBSPOT_CLIENT_SECRET": HubSpotSigner.secret]
        environment["ADMIN_TOKEN"] = adminToken
        try await withHub(plugins: HubSpotWebhookTests.plugins, environment: environment, clock: FixedClock(Double(Self.now) / 1000), body)
    }

    @Test("The insight counts only the contact's stored events and explains its score")
    func computedFromStoredEvents() async throws {
        try await withHubSpot { hub in
            try await deliver(hub, [
                HubSpotSigner.event(id: 1, objectId: 123, type: "contact.creation", occurredAt: Self.now - 10 * Self.day),
                HubSpotSigner.event(id: 2, objectId: 123, occurredAt: Self.now - 9 * Self.day),
                HubSpotSigner.event(id: 3, objectId: 123, occurredAt: Self.now - 9 * Self.day),
                HubSpotSigner.event(id: 4, objectId: 999, occurredAt: Self.now),
                // A deal with the same numeric id is not the contact.
                HubSpotSigner.event(id: 5, objectId: 123, type: "deal.creation", occurredAt: Self.now),
            ])
            let response = try await hub.admin("/api/hubspot/contacts/123/insight")
            #expect(response.status == 200)
            let insight = try response.json()
            #expect(insight["contactId"] == "123")
            #expect(insight["events"] == 3)
            #expect(insight["countsByType"] == ["contact.creation": 1, "contact.propertyChange": 2])
            #expect(insight["firstActivity"] == "2023-11-04T22:13:20Z")
            #expect(insight["lastActivity"] == "2023-11-05T22:13:20Z")
            // volume 40·3/20 = 6, recency 40·(1 − 9/90) = 36, variety 20·2/4 = 10.
            let factors = try #require(insight["factors"]?.arrayValue)
            #expect(factors.map { $0["name"] } == ["volume", "recency", "variety"])
            #expect(factors.map { $0["points"] } == [6, 36, 10])
            #expect(insight["engagementScore"] == 52)
        }
    }

    @Test("A contact whose latest event is a deletion scores 0")
    func deletedContact() async throws {
        try await withHubSpot { hub in
            try await deliver(hub, [
                HubSpotSigner.event(id: 1, objectId: 77, type: "contact.creation", occurredAt: Self.now - Self.day),
                HubSpotSigner.event(id: 2, objectId: 77, type: "contact.deletion", occurredAt: Self.now),
            ])
            let insight = try await hub.admin("/api/hubspot/contacts/77/insight").json()
            #expect(insight["engagementScore"] == 0)
            #expect(insight["factors"]?.arrayValue?.first?["name"] == "deleted")
        }
    }

    @Test("An unknown contact is 404 with a clear message, never a made-up insight")
    func unknownContact() async throws {
        try await withHubSpot { hub in
            try await deliver(hub, [HubSpotSigner.event(id: 1, objectId: 5, type: "deal.creation")])
            let response = try await hub.admin("/api/hubspot/contacts/5/insight")
            #expect(response.status == 404)
            #expect(response.errorCode == "unknown_contact")
            #expect(try response.json()["detail"]?.stringValue?.contains("contact 5") == true)
        }
    }

    @Test("A non-numeric contact id is a 400")
    func badContactID() async throws {
        try await withHubSpot { hub in
            let response = try await hub.admin("/api/hubspot/contacts/abc'/insight")
            #expect(response.status == 400)
        }
    }

    @Test("The insight needs the admin token", arguments: [nil, "Bearer wrong-token"])
    func requiresAdmin(_ authorization: String?) async throws {
        try await withHubSpot { hub in
            try await deliver(hub, [HubSpotSigner.event(id: 1, objectId: 123)])
            let response = try await hub.request("GET", "/api/hubspot/contacts/123/insight", headers: authorization.map { [("Authorization", $0)] } ?? [])
            #expect(response.status == 401)
            #expect(response.errorCode == "unauthorized")
        }
    }

    @Test("Bad tokens on the insight go through the admin gate: audited, and the 10th in a minute blocks the address with 429")
    func badTokensAreRateLimited() async throws {
        let clock = ManualClock(Double(Self.now) / 1000)
        let environment = ["HUBSPOT_CLIENT_SECRET": HubSpotSigner.secret, "ADMIN_TOKEN": TestHub.adminToken]
        try await withHub(plugins: HubSpotWebhookTests.plugins, environment: environment, clock: clock) { hub in
            let path = "/api/hubspot/contacts/123/insight"
            for _ in 0..<10 {
                let response = try await hub.request("GET", path, headers: [("Authorization", "Bearer guess-\(UUID().uuidString)")])
                #expect(response.status == 401)
            }
            let blocked = try await hub.request("GET", path, headers: [("Authorization", "Bearer \(TestHub.adminToken)")])
            #expect(blocked.status == 429)
            #expect(blocked.errorCode == "too_many_requests")
            #expect(blocked.header("Retry-After").flatMap { Int($0) } != nil)
            #expect(try await hub.admin("/api/admin/events").status == 429, "one failure count per address, whichever admin route")

            clock.advance(by: 61)
            let failures = try await AuditAndAdminTests.auditRows(hub, type: .adminAuthFailure)
            #expect(failures.count == 1)
            #expect(failures.first?["details"]?["path"]?.stringValue == path)
            #expect(try await AuditAndAdminTests.auditRows(hub, type: .adminRateLimited).count == 1)
            #expect(try await AuditAndAdminTests.auditRows(hub, type: .webhookSignatureFailure).isEmpty, "an admin refusal is not a webhook failure")
            let audit = try await hub.admin("/api/security/audit?limit=1000")
            #expect(!audit.text.contains("guess-"), "the tokens tried are never stored")
        }
    }

    @Test("Without ADMIN_TOKEN the insight is closed (403)")
    func closedWithoutToken() async throws {
        try await withHubSpot(adminToken: nil) { hub in
            let response = try await hub.request("GET", "/api/hubspot/contacts/123/insight", headers: [("Authorization", "Bearer anything")])
            #expect(response.status == 403)
            #expect(response.errorCode == "admin_disabled")
        }
    }
}

extension HubSpotInsightTests {
    @Test("The same insight in memory, through the kit's transport")
    func inMemory() async throws {
        let setup = HostSetup(
            providers: [HostSetup.Entry(type: HubSpotProvider.self, settings: ["clientSecret": .string(HubSpotSigner.secret)])],
            environment: ["ADMIN_TOKEN": TestHub.adminToken], clock: FixedClock(Double(Self.now) / 1000), publicBaseURL: HubSpotSigner.publicURL)
        try await InMemoryHost().withTransport(setup) { transport in
            let body = HubSpotSigner.batch([HubSpotSigner.event(id: 1, objectId: 42, type: "contact.creation", occurredAt: Self.now)])
            var webhook = Request(method: .POST, path: "/api/webhooks/hubspot", body: body)
            for (name, value) in signer.headers(body: body, timestampMs: Self.now) { webhook.headers.add(name: name, value: value) }
            #expect(try await transport.send(webhook).status == 200)
            let insight = try await transport.send(
                Request(method: .GET, path: "/api/hubspot/contacts/42/insight", headers: ["Authorization": "Bearer \(TestHub.adminToken)"]))
            #expect(insight.status == 200)
            // volume 40·1/20 = 2, recency 40, variety 20·1/4 = 5.
            #expect(try JSONValue.parse(insight.body)["engagementScore"] == 47)
            #expect(try await transport.send(Request(method: .GET, path: "/api/hubspot/contacts/42/insight")).status == 401)
        }
    }
}

@Suite("HubSpot insight with absurd timestamps")
struct HubSpotInsightEdgeTests {
    @Test("A signed event dated far in the past does not crash the insight")
    func farPast() async throws {
        let tests = HubSpotInsightTests()
        try await tests.withHubSpot { hub in
            try await tests.deliver(hub, [#"{"eventId":1,"subscriptionId":1,"portalId":1,"occurredAt":-1e30,"subscriptionType":"contact.creation","objectId":42}"#])
            let response = try await hub.admin("/api/hubspot/contacts/42/insight")
            #expect(response.status == 200)
        }
    }
}
