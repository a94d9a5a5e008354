import Foundation
import PluginAPI
import Testing

@testable import Host

@Suite("Forwarding destinations follow plugins.json reloads")
struct DestinationReloadTests {
    static func reload(_ hub: TestHub, destinations: [String]) throws -> String? {
        try PluginsFile.writeAtomically(Array(Forwarding.plugins(destinations).utf8), to: HotReloadTests.pluginsPath(hub))
        return hub.hub.reloader.reload(.signal)
    }

    /// The `destinations` details of the SIGHUP reloads' audit rows, oldest first, once there are `count`.
    static func reloadRows(_ hub: TestHub, count: Int) async throws -> [JSONValue] {
        var rows: [JSONValue] = []
        try await HotReloadTests.eventually("\(count) reload audit rows") {
            // Only this test's reloads: the file poller may have seen the new files too.
            rows = try await AuditAndAdminTests.auditRows(hub, type: .configurationReloaded).filter { $0["details"]?["trigger"] == "SIGHUP" }
            return rows.count >= count
        }
        return rows.reversed().map { $0["details"]?["destinations"] ?? .null }
    }

    @Test("A reload adds, moves and removes destinations at once: the next events go where the file says, signed with its keys")
    func addMoveRemove() async throws {
        let (first, moved, added) = (try ScriptedDestination(), try ScriptedDestination(), try ScriptedDestination())
        let otherSecret = "whsec_" + Data((0..<32).map { UInt8($0) }).base64EncodedString()
        try await Forwarding.withHub(destinations: [Forwarding.destination("crm", url: first.url)]) { hub in
            let one = try await Forwarding.sendSlackEvent(hub)
            #expect(try await first.waitForRequests(1).map(Forwarding.eventID) == [one])

            // crm moves to another URL; audit is new, with a key of its own.
            #expect(
                try Self.reload(hub, destinations: [
                    Forwarding.destination("crm", url: moved.url), Forwarding.destination("audit", url: added.url, secret: otherSecret),
                ]) == nil)
            let two = try await Forwarding.sendSlackEvent(hub)
            #expect(try await moved.waitForRequests(1).map(Forwarding.eventID) == [two])
            let audited = try #require(try await added.waitForRequests(1).first)
            #expect(try Forwarding.eventID(audited) == two)
            let now = SystemClock().now()
            #expect(throws: Never.self) { try StandardWebhookSignature(secret: otherSecret).verify(audited, window: .fiveMinutes, now: now) }
            #expect(throws: HTTPError.self) { try StandardWebhookSignature(secret: Forwarding.secret).verify(audited, window: .fiveMinutes, now: now) }

            // crm goes; audit stays.
            #expect(try Self.reload(hub, destinations: [Forwarding.destination("audit", url: added.url, secret: otherSecret)]) == nil)
            let three = try await Forwarding.sendSlackEvent(hub)
            #expect(try await added.waitForRequests(2).map(Forwarding.eventID) == [two, three])
            let records = try await Forwarding.deliveries(hub) { $0.count == 4 && $0.allSatisfy { $0.state == .delivered } }
            #expect(records.map(\.destination) == ["crm", "crm", "audit", "audit"])
            #expect(first.requests.count == 1 && moved.requests.count == 1, "nothing went to an old or removed address")

            let rows = try await Self.reloadRows(hub, count: 2)
            #expect(rows[0] == ["added": ["audit"], "removed": [], "modified": ["crm"]])
            #expect(rows[1] == ["added": [], "removed": ["crm"], "modified": []])
            #expect(!hub.logs.all.contains { $0.contains("whsec_") }, "no secret in the log")
        }
        for destination in [first, moved, added] { await destination.stop() }
    }

    @Test("A removed destination's pending delivery waits unsent; when the destination returns, it goes out")
    func removedThenRestored() async throws {
        let refusing = try RefusingPort()
        let receiver = try ScriptedDestination()
        try await Forwarding.withHub(
            destinations: [Forwarding.destination("crm", url: "http://127.0.0.1:\(refusing.port)/hooks")], configure: Forwarding.fastRetries(maxAttempts: 1000)
        ) { hub in
            let stranded = try await Forwarding.sendSlackEvent(hub)
            _ = try await Forwarding.deliveries(hub) { $0.first.map { $0.attempts >= 1 } ?? false }
            #expect(try Self.reload(hub, destinations: []) == nil)
            // Stored while crm is gone: no delivery for it.
            try await Forwarding.sendSlackEvent(hub)
            #expect(try await hub.admin("/api/admin/deliveries?destination=crm").status == 404, "crm is not configured now")
            #expect(try Self.reload(hub, destinations: [Forwarding.destination("crm", url: receiver.url)]) == nil)
            #expect(try await receiver.waitForRequests(1).map(Forwarding.eventID) == [stranded])
            let records = try await Forwarding.deliveries(hub) { $0.first?.state == .delivered }
            #expect(records.map(\.eventID) == [stranded], "only the delivery made while crm was configured")
        }
        await receiver.stop()
    }

    @Test("A destination whose address is fixed by a reload retries at once, not after the backoff the broken address earned")
    func modifiedDestinationRetriesAtOnce() async throws {
        let refusing = try RefusingPort()
        let receiver = try ScriptedDestination()
        let slowRetries: (inout HubOptions) -> Void = { options in
            options.deliveries.retryBase = 3600
            options.deliveries.retryCap = 3600
        }
        try await Forwarding.withHub(destinations: [Forwarding.destination("crm", url: "http://127.0.0.1:\(refusing.port)/hooks")], configure: slowRetries) { hub in
            let event = try await Forwarding.sendSlackEvent(hub)
            _ = try await Forwarding.deliveries(hub) { $0.first.map { $0.attempts >= 1 } ?? false }
            #expect(try Self.reload(hub, destinations: [Forwarding.destination("crm", url: receiver.url)]) == nil)
            #expect(try await receiver.waitForRequests(1, timeout: 20).map(Forwarding.eventID) == [event], "not an hour later")
            let records = try await Forwarding.deliveries(hub) { $0.first?.state == .delivered }
            #expect(records.first?.attempts == 2)
        }
        await receiver.stop()
    }

    @Test("A reload whose destination secret does not resolve changes nothing: the running destinations stay, the error is audited")
    func unresolvableSecretKeepsTheRunningOnes() async throws {
        let receiver = try ScriptedDestination()
        try await Forwarding.withHub(destinations: [Forwarding.destination("crm", url: receiver.url)]) { hub in
            let failure = try Self.reload(
                hub, destinations: [Forwarding.destination("crm", url: "http://127.0.0.1:9/elsewhere", secret: "env:ATOM_TEST_NO_SUCH_SECRET")])
            #expect(failure?.contains("providers.slack.destinations[0].secret") == true)
            try await HotReloadTests.eventually("the failed reload's audit row") {
                try await !AuditAndAdminTests.auditRows(hub, type: .configurationReloadFailed).isEmpty
            }
            let event = try await Forwarding.sendSlackEvent(hub)
            #expect(try await receiver.waitForRequests(1).map(Forwarding.eventID) == [event], "still the running address")
        }
        await receiver.stop()
    }

    @Test("Switching the provider off pauses its destinations; switching it on resumes them")
    func providerSwitchPausesDestinations() async throws {
        let receiver = try ScriptedDestination()
        let crm = Forwarding.destination("crm", url: receiver.url)
        try await Forwarding.withHub(destinations: [crm]) { hub in
            let off = #"{"providers": {"slack": {"enabled": false, "destinations": [\#(crm)]}}}"#
            try PluginsFile.writeAtomically(Array(off.utf8), to: HotReloadTests.pluginsPath(hub))
            #expect(hub.hub.reloader.reload(.signal) == nil)
            #expect(hub.hub.deliveryWorker.table.destinations.isEmpty)
            #expect(try Self.reload(hub, destinations: [crm]) == nil)
            let event = try await Forwarding.sendSlackEvent(hub)
            #expect(try await receiver.waitForRequests(1).map(Forwarding.eventID) == [event])
            let rows = try await Self.reloadRows(hub, count: 2)
            #expect(rows == [["added": [], "removed": ["crm"], "modified": []], ["added": ["crm"], "removed": [], "modified": []]])
        }
        await receiver.stop()
    }
}
