import Foundation
import PluginAPI
import Plugins
import Testing

@testable import Host

/// A hub running in this process on 127.0.0.1 with a fresh temporary data dir.
final class TestHub: Sendable {
    let hub: Hub
    let port: Int
    let directory: URL
    let environment: MutableEnvironment
    let logs: LogCapture

    var dataDirectory: URL { directory.appendingPathComponent("data") }

    /// Starts a hub; `beforeStart` can prepare its data dir first, `configure` change its options. `plugins` is written to the temp dir as plugins.json (nil: no file, non-default path).
    init(
        plugins: String? = #"{"providers": {"slack": {"enabled": true}}}"#,
        environment: [String: String] = ["SLACK_SIGNING_SECRET": TestHub.slackSecret, "ADMIN_TOKEN": TestHub.adminToken],
        clock: any WallClock = SystemClock(),
        server: ServerConfiguration = ServerConfiguration(),
        providerTypes: [any Provider.Type] = allProviders,
        beforeStart: (URL) throws -> Void = { _ in },
        configure: (inout HubOptions) -> Void = { _ in }
    ) throws {
        directory = try TemporaryDirectory.make()
        try beforeStart(directory.appendingPathComponent("data"))
        let pluginsPath = directory.appendingPathComponent("plugins.json").path
        if let plugins { try Data(plugins.utf8).write(to: URL(fileURLWithPath: pluginsPath)) }
        var options = HubOptions()
        options.server = server
        options.server.port = 0
        options.server.eventLoops = 2
        options.dataDirectory = directory.appendingPathComponent("data")
        options.pluginsPath = pluginsPath
        options.pluginsPathIsDefault = false
        options.walPreallocation = 0  // 64 MiB of zeros per test hub would cost seconds of disk writes across the suite.
        configure(&options)
        options.keyDerivationIterations = 1000  // A key the hub creates (OAuth) costs no CPU in tests; its count is stored with it.
        self.environment = MutableEnvironment(environment)
        logs = LogCapture()
        hub = try Hub(options: options, environment: self.environment.environment, clock: clock, logger: logs.logger, providerTypes: providerTypes)
        port = try hub.start()
    }

    static let slackSecret = "8f742231b10e8888abcd99yyyzzz85a5"
    static let adminToken = "test-admin-token-0123456789abcdef"

    /// Sends a request on a new connection and reads the response.
    func request(
        _ method: String, _ target: String, headers: [(String, String)] = [], body: [UInt8] = []
    ) async throws -> TestResponse {
        var head = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if !body.isEmpty || method == "POST" || method == "PUT" { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        return try await raw(Array(head.utf8) + body)
    }

    /// Sends raw bytes on a new connection and reads one response.
    func raw(_ bytes: [UInt8]) async throws -> TestResponse {
        let port = port
        return try await Blocking.run {
            let connection = try TestConnection(port: port)
            try connection.send(bytes)
            return try connection.readResponse()
        }
    }

    /// A GET to an admin route with the admin token.
    func admin(_ target: String) async throws -> TestResponse {
        try await request("GET", target, headers: [("Authorization", "Bearer \(TestHub.adminToken)")])
    }

    /// The events the admin API lists for `provider`.
    func storedEvents(provider: String = "slack") async throws -> [JSONValue] {
        let response = try await admin("/api/admin/events?provider=\(provider)&limit=1000")
        #expect(response.status == 200)
        return try #require(response.json()["events"]?.arrayValue, "the admin API answered without an events array")
    }

    /// Shuts the hub down on a GCD thread (shutdown blocks until in-flight handlers, which need the
    /// cooperative pool, have finished) and removes the temp dir.
    func stop() async {
        let (hub, directory) = (hub, directory)
        await Blocking.runNonThrowing {
            hub.shutdown()
            try? FileManager.default.removeItem(at: directory)  // Best effort: a leftover temp dir is harmless.
        }
    }
}

/// Runs `body` with a started hub and always stops it.
func withHub<T>(
    plugins: String? = #"{"providers": {"slack": {"enabled": true}}}"#,
    environment: [String: String] = ["SLACK_SIGNING_SECRET": TestHub.slackSecret, "ADMIN_TOKEN": TestHub.adminToken],
    clock: any WallClock = SystemClock(),
    server: ServerConfiguration = ServerConfiguration(),
    providerTypes: [any Provider.Type] = allProviders,
    beforeStart: (URL) throws -> Void = { _ in },
    configure: (inout HubOptions) -> Void = { _ in },
    _ body: (TestHub) async throws -> T
) async throws -> T {
    let hub = try TestHub(
        plugins: plugins, environment: environment, clock: clock, server: server, providerTypes: providerTypes, beforeStart: beforeStart,
        configure: configure)
    do {
        let result = try await body(hub)
        await hub.stop()
        return result
    } catch {
        await hub.stop()
        throw error
    }
}

/// Collects log lines in memory so tests can assert on them.
final class LogCapture: Sendable {
    private let lines = Mutex<[String]>([])

    var logger: Logger {
        Logger(label: "test", minimumLevel: .debug) { [self] level, label, message, metadata in
            let line = "\(level.name) \(label) \(message) " + metadata.map { "\($0)=\($1)" }.joined(separator: " ")
            lines.withLock { $0.append(line) }
        }
    }

    var all: [String] { lines.withLock { $0 } }
}

import Synchronization

/// Temporary directories for tests.
enum TemporaryDirectory {
    static func make() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("atom-hub-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// Runs blocking work (sockets, processes) on a thread of its own. Not on the cooperative pool,
/// nor on GCD's global queues: on Linux the pool runs on those same few threads, so blocking them
/// would starve the server's handlers.
enum Blocking {
    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }

    static func runNonThrowing<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: body()) }.start()
        }
    }
}
