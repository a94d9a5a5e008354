import Foundation
import PluginAPI
import Testing

@testable import Host

@Suite("Host routes: health, readiness, admin authentication, 404/405")
struct HostRoutesTests {
    @Test func healthAndReadiness() async throws {
        try await withHub { hub in
            #expect(try await hub.request("GET", "/healthz").status == 200)
            let ready = try await hub.request("GET", "/readyz")
            #expect(ready.status == 200)
            #expect(try ready.json()["status"] == "ready")
        }
    }

    @Test func unknownPathIs404JSON() async throws {
        try await withHub { hub in
            let response = try await hub.request("GET", "/no/such/route")
            #expect(response.status == 404)
            #expect(response.errorCode == "not_found")
        }
    }

    @Test func wrongMethodIs405WithAllow() async throws {
        try await withHub { hub in
            let response = try await hub.request("GET", "/api/webhooks/slack")
            #expect(response.status == 405)
            #expect(response.errorCode == "method_not_allowed")
            #expect(response.header("Allow") == "POST")
        }
    }

    @Test("Admin routes: 401 without or with a wrong token")
    func adminNeedsToken() async throws {
        try await withHub { hub in
            let none = try await hub.request("GET", "/api/admin/events")
            #expect(none.status == 401)
            #expect(none.errorCode == "unauthorized")
            let wrong = try await hub.request("GET", "/api/admin/events", headers: [("Authorization", "Bearer nope")])
            #expect(wrong.status == 401)
            let almost = try await hub.request("GET", "/api/admin/events", headers: [("Authorization", "Bearer \(TestHub.adminToken)x")])
            #expect(almost.status == 401)
            let right = try await hub.admin("/api/admin/events")
            #expect(right.status == 200)
        }
    }

    @Test("Admin routes: 403 with instructions when ADMIN_TOKEN is unset")
    func adminDisabledWithoutToken() async throws {
        try await withHub(environment: ["SLACK_SIGNING_SECRET": TestHub.slackSecret]) { hub in
            let response = try await hub.request("GET", "/api/admin/events", headers: [("Authorization", "Bearer anything")])
            #expect(response.status == 403)
            #expect(response.errorCode == "admin_disabled")
            #expect(try response.json()["detail"]?.stringValue?.contains("ADMIN_TOKEN") == true)
        }
    }

    @Test("Admin events are newest first, filtered by provider, limited")
    func adminEventsListing() async throws {
        try await withHub { hub in
            for index in 0..<3 {
                let body = SlackSigner.eventBody(id: "EvORDER\(index)")
                _ = try await hub.request("POST", "/api/webhooks/slack", headers: SlackSigner().headers(body: body), body: body)
            }
            let events = try await hub.storedEvents()
            #expect(events.map { $0["external_id"]?.stringValue } == ["EvORDER2", "EvORDER1", "EvORDER0"])
            let limited = try await hub.admin("/api/admin/events?limit=2")
            #expect(try limited.json()["events"]?.arrayValue?.count == 2)
            let other = try await hub.admin("/api/admin/events?provider=teams")
            #expect(try other.json()["events"]?.arrayValue?.isEmpty == true)
            let bad = try await hub.admin("/api/admin/events?limit=0")
            #expect(bad.status == 400)
        }
    }
}
