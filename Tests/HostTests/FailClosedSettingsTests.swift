import Foundation
import PluginAPI
import Testing

@testable import Host

@Suite("Empty secrets fail closed")
struct FailClosedSettingsTests {
    @Test("An empty Graph clientState is a missing one: the route answers 503, and an item with an empty clientState is never stored")
    func emptyClientState() async throws {
        let plugins = #"{"providers": {"teams": {"enabled": true, "settings": {"clientState": ""}}}}"#
        try await withHub(plugins: plugins, environment: ["ADMIN_TOKEN": TestHub.adminToken]) { hub in
            let body = Array(#"{"value":[{"subscriptionId":"s","changeType":"created","resource":"r","clientState":""}]}"#.utf8)
            let response = try await hub.request("POST", "/api/webhooks/teams/notifications", headers: [("Content-Type", "application/json")], body: body)
            #expect(response.status == 503)
            #expect(try await hub.storedEvents(provider: "teams").isEmpty)
        }
    }

    @Test("An empty setting reads as absent")
    func emptyIsAbsent() throws {
        let settings = ProviderSettings(
            values: ["a": "", "b": "env:EMPTY"], specs: [.secret("a", summary: "a")], environment: { $0 == "EMPTY" ? "" : nil }, secrets: { _ in nil })
        #expect(try settings.string("a") == nil)
        #expect(throws: ProviderSetupError.self) { try settings.required("a") }
        #expect(throws: ProviderSetupError.self) { try settings.string("b") }
    }
}
