import Foundation
import Synchronization
import PluginAPI
import Testing

@testable import Host

/// Test providers with clashing ids and routes.
final class FirstProvider: Provider {
    static let descriptor = ProviderDescriptor(
        id: "first", displayName: "First",
        routes: [.post("/api/webhooks/shared") { (_: FirstProvider, _) in .empty() }, .get("/api/first/{id}") { (_: FirstProvider, request) in .text(request.pathParameters["id"] ?? "") }])
    init(context: ProviderContext) throws {}
}

final class ClashingRouteProvider: Provider {
    static let descriptor = ProviderDescriptor(
        id: "second", displayName: "Second", routes: [.get("/api/first/{other}") { (_: ClashingRouteProvider, _) in .empty() }])
    init(context: ProviderContext) throws {}
}

final class SameIDProvider: Provider {
    static let descriptor = ProviderDescriptor(id: "first", displayName: "Impostor", routes: [])
    init(context: ProviderContext) throws {}
}

/// Throws from its handler, to show a failing provider yields a JSON 500 and nothing else breaks.
final class FailingHandlerProvider: Provider {
    struct Boom: Error {}
    static let descriptor = ProviderDescriptor(
        id: "failing", displayName: "Failing", routes: [.post("/api/webhooks/failing") { (_: FailingHandlerProvider, _) in throw Boom() }])
    init(context: ProviderContext) throws {}
}

@Suite("Registry, routes and plugins.json")
struct RegistryTests {
    @Test("Clashing routes stop startup, naming both providers")
    func routeClash() throws {
        let error = #expect(throws: RouteConflictError.self) {
            _ = try TestHub(plugins: #"{"providers": {}}"#, providerTypes: [FirstProvider.self, ClashingRouteProvider.self])
        }
        #expect(error?.description.contains("provider 'first'") == true)
        #expect(error?.description.contains("provider 'second'") == true)
    }

    @Test("Duplicate provider ids stop startup, naming both types")
    func duplicateIDs() throws {
        let error = #expect(throws: RouteConflictError.self) {
            _ = try TestHub(plugins: #"{"providers": {}}"#, providerTypes: [FirstProvider.self, SameIDProvider.self])
        }
        #expect(error?.description.contains("FirstProvider") == true)
        #expect(error?.description.contains("SameIDProvider") == true)
    }

    @Test("Template parameters are matched and percent-decoded")
    func templateParameters() async throws {
        try await withHub(plugins: #"{"providers": {"first": {"enabled": true}}}"#, providerTypes: [FirstProvider.self]) { hub in
            let response = try await hub.request("GET", "/api/first/a%20b")
            #expect(response.status == 200)
            #expect(response.text == "a b")
        }
    }

    @Test("A handler that throws answers a JSON 500 without details, and the hub keeps serving")
    func failingHandler() async throws {
        try await withHub(plugins: #"{"providers": {"failing": {"enabled": true}, "first": {"enabled": true}}}"#, providerTypes: [FailingHandlerProvider.self, FirstProvider.self]) { hub in
            let response = try await hub.request("POST", "/api/webhooks/failing")
            #expect(response.status == 500)
            #expect(response.errorCode == "internal_error")
            #expect(!response.text.contains("Boom"))
            #expect(hub.logs.all.contains { $0.contains("Boom") }, "the real error is logged")
            #expect(try await hub.request("POST", "/api/webhooks/shared").status == 200)
        }
    }

    static let known = ["slack", "teams"]

    @Test("plugins.json validation", arguments: [
        (#"[]"#, "top level"),
        (#"{"provider": {}}"#, "provider"),
        (#"{}"#, "providers"),
        (#"{"providers": []}"#, "providers"),
        (#"{"providers": {"slack": true}}"#, "providers.slack"),
        (#"{"providers": {"slack": {"settings": []}}}"#, "providers.slack.settings"),
        (#"{"providers": {"slack": {"enable": true}}}"#, "providers.slack.enable"),
        (#"{"providers": {"github": {"enabled": true}}}"#, "providers.github"),
        (#"{"providers": {"slack": {"enabled": 1}}}"#, "providers.slack.enabled"),
    ])
    func configurationErrors(_ document: String, _ key: String) throws {
        let error = #expect(throws: ConfigurationError.self) {
            _ = try PluginsConfiguration.parse(Array(document.utf8), file: "p.json", knownProviders: Self.known)
        }
        #expect(error?.description.hasPrefix("p.json") == true)
        #expect(error?.description.contains(key) == true, "\(error?.description ?? "")")
    }

    @Test func configurationParses() throws {
        let configuration = try PluginsConfiguration.parse(
            Array(#"{"providers": {"slack": {"enabled": false, "settings": {"a": 1}}, "teams": {}}}"#.utf8), file: "p.json", knownProviders: Self.known)
        #expect(configuration.providers["slack"]?.enabled == false)
        #expect(configuration.providers["slack"]?.settings["a"] == 1)
        #expect(configuration.providers["teams"]?.enabled == true)
    }

    @Test("A missing default plugins.json enables every provider; a missing explicit one is an error")
    func missingFile() throws {
        let path = "/nonexistent/plugins.json"
        let defaults = try PluginsConfiguration.load(path: path, isDefaultPath: true, knownProviders: Self.known)
        #expect(defaults.isDefault)
        #expect(defaults.providers.keys.sorted() == Self.known)
        #expect(throws: ConfigurationError.self) { try PluginsConfiguration.load(path: path, isDefaultPath: false, knownProviders: Self.known) }
    }
}

/// A provider whose creation blocks until the test releases it, so concurrent first requests
/// really do arrive while it is being created.
final class SlowInitProvider: Provider {
    static let initializations = Atomic<Int>(0)
    static let release = DispatchSemaphore(value: 0)
    static let descriptor = ProviderDescriptor(
        id: "slowinit", displayName: "Slow to create", routes: [.post("/api/webhooks/slowinit") { (_: SlowInitProvider, _) in .empty(200) }])

    init(context: ProviderContext) throws {
        Self.initializations.add(1, ordering: .relaxed)
        _ = Self.release.wait(timeout: .now() + 30)  // Bounded, so a broken test cannot hang the suite.
    }
}

@Suite("Lazy creation under concurrency")
struct LazyCreationTests {
    @Test("64 requests sent while the provider is being created all get it, and it is created once")
    func createdOnceWhileRequestsPileUp() async throws {
        try await withHub(plugins: #"{"providers": {"slowinit": {"enabled": true}}}"#, providerTypes: [SlowInitProvider.self]) { hub in
            let port = hub.port
            let sent = DispatchSemaphore(value: 0)
            async let statuses = withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<64 {
                    group.addTask {
                        try await Blocking.run {
                            let connection = try TestConnection(port: port)
                            try connection.send("POST /api/webhooks/slowinit HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
                            sent.signal()
                            return try connection.readResponse().status
                        }
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            // Release creation only once every request is on the wire.
            await Blocking.runNonThrowing { for _ in 0..<64 { sent.wait() } }
            SlowInitProvider.release.signal()
            let all = try await statuses
            #expect(all.count == 64 && all.allSatisfy { $0 == 200 })
            #expect(SlowInitProvider.initializations.load(ordering: .relaxed) == 1)
            #expect(hub.hub.registry.creationCount("slowinit") == 1)
        }
    }
}
