import Foundation
import PluginAPI
import Plugins
import Synchronization
import Testing

@testable import Host

/// A provider that subscribes to Slack messages and records what it handles; it can be told to fail.
final class ListeningProvider: Provider {
    static let descriptor = ProviderDescriptor(
        id: "listener", displayName: "Listener", routes: [],
        subscriptions: [
            .subscribe("messages", providers: ["slack"], types: ["message"]) { (listener: ListeningProvider, event) in
                let fail = ListeningProvider.state.withLock { state in
                    state.attempts.append(event.externalID)
                    if state.failuresLeft > 0 {
                        state.failuresLeft -= 1
                        return true
                    }
                    state.handled.append(event.externalID)
                    return false
                }
                ListeningProvider.bell.ring()
                if fail { throw ProviderSetupError("told to fail") }
                if ListeningProvider.state.withLock({ $0.hangs }) {
                    // Ignores cancellation: waits until the test resumes it.
                    await withCheckedContinuation { continuation in
                        ListeningProvider.state.withLock { $0.hung.append(continuation) }
                        ListeningProvider.bell.ring()
                    }
                }
            }
        ])

    struct State {
        var attempts: [String] = []
        var handled: [String] = []
        var failuresLeft = 0
        /// When set, each handler waits, deaf to cancellation, until its continuation in `hung` is resumed.
        var hangs = false
        var hung: [CheckedContinuation<Void, Never>] = []
    }

    static let state = Mutex(State())
    static let bell = Doorbell()
    let database: any ProviderDatabase

    init(context: ProviderContext) throws { database = context.database }

    /// Waits (bounded) until `predicate` holds for the recorded state.
    static func wait(until predicate: (State) -> Bool, sourceLocation: SourceLocation = #_sourceLocation) async {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            let generation = bell.generation
            if state.withLock({ predicate($0) }) { return }
            await bell.wait(since: generation, timeout: .seconds(1))
        }
        Issue.record("the subscription did not reach the expected state: \(state.withLock { $0 })", sourceLocation: sourceLocation)
    }
}

@Suite("Event subscriptions", .serialized)
struct EventSubscriptionTests {
    static let plugins = #"{"providers": {"slack": {"enabled": true}, "listener": {"enabled": true}}}"#
    let signer = SlackSigner()

    init() { ListeningProvider.state.withLock { $0 = ListeningProvider.State() } }

    func post(_ hub: TestHub, id: String) async throws {
        let body = SlackSigner.eventBody(id: id)
        #expect(try await hub.request("POST", "/api/webhooks/slack", headers: signer.headers(body: body), body: body).status == 200)
    }

    @Test("A stored event reaches the subscriber; events stored before start are caught up; the cursor survives a restart")
    func deliveredAndResumed() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let keep = sharedDataDirectory(directory)
        try await withHub(plugins: Self.plugins, providerTypes: allProviders + [ListeningProvider.self], beforeStart: keep) { hub in
            try await post(hub, id: "EvSUB1")
            try await post(hub, id: "EvSUB2")
            await ListeningProvider.wait { $0.handled == ["EvSUB1", "EvSUB2"] }
        }
        try await withHub(plugins: Self.plugins, providerTypes: allProviders + [ListeningProvider.self], beforeStart: keep) { hub in
            try await post(hub, id: "EvSUB3")
            await ListeningProvider.wait { $0.handled.count >= 3 }
            #expect(ListeningProvider.state.withLock { $0.handled } == ["EvSUB1", "EvSUB2", "EvSUB3"], "the restarted hub resumed after the cursor")
        }
    }

    @Test("A subscriber enabled by a reload catches up from its cursor, and again after being switched off and on, without failing meanwhile")
    func followsReload() async throws {
        let listenerOff = #"{"providers": {"slack": {"enabled": true}, "listener": {"enabled": false}}}"#
        try await withHub(plugins: listenerOff, providerTypes: allProviders + [ListeningProvider.self]) { hub in
            func switchListener(_ on: Bool) async throws {
                let response = try await hub.request(
                    "PUT", "/api/admin/providers/listener", headers: [("Authorization", "Bearer \(TestHub.adminToken)")],
                    body: Array(#"{"enabled": \#(on)}"#.utf8))
                #expect(response.status == 200)
            }
            try await post(hub, id: "EvOFF1")
            try await switchListener(true)
            await ListeningProvider.wait { $0.handled == ["EvOFF1"] }
            try await post(hub, id: "EvON2")
            await ListeningProvider.wait { $0.handled == ["EvOFF1", "EvON2"] }

            try await switchListener(false)
            try await post(hub, id: "EvOFF3")
            try await switchListener(true)
            await ListeningProvider.wait { $0.handled == ["EvOFF1", "EvON2", "EvOFF3"] }
            #expect(ListeningProvider.state.withLock { $0.attempts } == ["EvOFF1", "EvON2", "EvOFF3"], "each event handled once")
            #expect(!hub.logs.all.contains { $0.contains("subscription failed") }, "a disabled subscriber waits; it does not fail")
        }
    }

    @Test("A failing handler is retried with the same event, and later events wait behind it")
    func retriedAfterFailure() async throws {
        ListeningProvider.state.withLock { $0.failuresLeft = 2 }
        try await withHub(plugins: Self.plugins, providerTypes: allProviders + [ListeningProvider.self]) { hub in
            try await post(hub, id: "EvFAIL1")
            try await post(hub, id: "EvFAIL2")
            await ListeningProvider.wait { $0.handled == ["EvFAIL1", "EvFAIL2"] }
            #expect(ListeningProvider.state.withLock { $0.attempts.prefix(3) } == ["EvFAIL1", "EvFAIL1", "EvFAIL1"])
            #expect(hub.logs.all.contains { $0.contains("subscription failed") && $0.contains("told to fail") }, "failures are logged, not swallowed")
        }
    }

    @Test("Shutdown waits for a handler that ignores cancellation only until its deadline, and says so", .timeLimit(.minutes(1)))
    func shutdownLeavesAStuckHandlerBehind() async throws {
        ListeningProvider.state.withLock { $0.hangs = true }
        let hub = try TestHub(
            plugins: Self.plugins, providerTypes: allProviders + [ListeningProvider.self], configure: { $0.jobShutdownDeadline = 0.2 })
        try await post(hub, id: "EvHANG1")
        await ListeningProvider.wait { !$0.hung.isEmpty }
        await hub.stop()  // Without a deadline of its own, this waited for the handler for ever.
        #expect(hub.logs.all.contains { $0.contains("did not stop within the shutdown deadline") })
        for handler in ListeningProvider.state.withLock({ state in defer { state.hung = [] }; return state.hung }) { handler.resume() }
    }

    @Test("A provider's database reaches only its own tables")
    func scopedDatabase() async throws {
        try await withHub(plugins: Self.plugins, providerTypes: allProviders + [ListeningProvider.self]) { hub in
            guard case .ready(let provider) = hub.hub.registry.provider("listener"), let listener = provider as? ListeningProvider else {
                Issue.record("the listener provider was not created")
                return
            }
            for sql in ["SELECT * FROM events", "SELECT * FROM search_documents", "PRAGMA journal_mode = DELETE", "CREATE TABLE listener_x (a)"] {
                await #expect(throws: ProviderDatabaseError.self, "\(sql)") { _ = try await listener.database.read(sql, []) }
            }
            // Writes run on the event log's writer connection: the scope holds there too, including for the
            // exact text of a statement the host itself has prepared and cached (the event insert).
            try await post(hub, id: "EvSCOPE1")
            let hostInsert = """
                INSERT INTO events (provider, external_id, type, received_at, occurred_at, raw_body, payload)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """
            let refused = [
                SQLStatement("DELETE FROM events"), SQLStatement("UPDATE jobs SET state = 'dead'"), SQLStatement("DROP TABLE search_documents"),
                SQLStatement("CREATE TABLE listener_x (a)"), SQLStatement("PRAGMA foreign_keys = OFF"), SQLStatement("SAVEPOINT mine"),
                SQLStatement("COMMIT"), SQLStatement(hostInsert, [.text("slack"), .text("EvFORGED"), .text("message"), .integer(0), .null, .blob([]), .text("{}")]),
            ]
            for statement in refused {
                await #expect(throws: ProviderDatabaseError.self, "\(statement.sql)") { try await listener.database.write([statement]) }
            }
            try await post(hub, id: "EvSCOPE2")  // The host's own writes are unrestricted again.
            let stored = try await hub.admin("/api/admin/events?provider=slack").json()["events"]?.arrayValue ?? []
            #expect(Set(stored.compactMap { $0["external_id"]?.stringValue }) == ["EvSCOPE1", "EvSCOPE2"], "nothing forged, nothing deleted")
        }
    }

    @Test("A subscription to an empty list of providers or types matches nothing, and reads without an error")
    func emptyListsMatchNothing() async throws {
        try await withHub(plugins: Self.plugins, providerTypes: allProviders + [ListeningProvider.self]) { hub in
            try await post(hub, id: "EvEmptyList")
            let store = try SubscriptionStore(eventLog: hub.hub.eventLog, dataDirectory: hub.dataDirectory)
            func read(providers: [String]?, types: [String]?) async throws -> [String] {
                let subscription = EventSubscription(name: "probe", providers: providers, types: types) { _, _ in }
                return try await store.events(after: 0, for: subscription, limit: 10).map(\.externalID)
            }
            #expect(try await read(providers: ["slack"], types: ["message"]) == ["EvEmptyList"])
            #expect(try await read(providers: [], types: ["message"]).isEmpty)
            #expect(try await read(providers: ["slack"], types: []).isEmpty)
        }
    }

    @Test("Backoff doubles from 100 ms and stops at 30 s")
    func backoff() {
        #expect(SubscriptionService.backoff(afterFailures: 1) == .milliseconds(100))
        #expect(SubscriptionService.backoff(afterFailures: 3) == .milliseconds(400))
        #expect(SubscriptionService.backoff(afterFailures: 40) == .seconds(30))
    }
}
