import Foundation
import Synchronization
import PluginAPI
import Testing

@testable import Host

@Suite("The atom-hub executable")
struct ProcessTests {
    static let environment = ["SLACK_SIGNING_SECRET": TestHub.slackSecret, "ADMIN_TOKEN": TestHub.adminToken, "PATH": "/usr/bin:/bin"]

    @Test("Malformed plugins.json stops startup with exit 78 naming the file and problem")
    func malformedConfiguration() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let cases: [(String, String)] = [
            (#"{"providers": {"slack": {"enabled": tru}}}"#, "not valid JSON"),
            (#"{"providers": {"nosuch": {"enabled": true}}}"#, "providers.nosuch"),
            (#"{"providers": {"slack": {"enabled": "yes"}}}"#, "providers.slack.enabled"),
        ]
        for (contents, expected) in cases {
            let path = directory.appendingPathComponent("plugins.json")
            try Data(contents.utf8).write(to: path)
            let hub = HubProcess(arguments: ["--port", "0", "--data-dir", directory.appendingPathComponent("data").path, "--plugins", path.path], environment: Self.environment)
            let (status, stderr) = try await Blocking.run { try hub.runToExit() }
            #expect(status == 78, "\(contents)")
            #expect(stderr.contains(path.path), "\(stderr)")
            #expect(stderr.contains(expected), "\(stderr)")
        }
    }

    @Test("An explicitly named plugins.json that does not exist is exit 78")
    func missingExplicitConfiguration() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let hub = HubProcess(arguments: ["--port", "0", "--data-dir", directory.path, "--plugins", "/nonexistent/plugins.json"], environment: Self.environment)
        let (status, stderr) = try await Blocking.run { try hub.runToExit() }
        #expect(status == 78)
        #expect(stderr.contains("does not exist"))
    }

    @Test(
        "Bad flags print usage and exit 64",
        arguments: [
            ["--port", "eighty"], ["--bogus"], ["launch"], ["--port"], ["validate-config", "--bogus"], ["secrets"], ["secrets", "set"],
            ["secrets", "set", "A", "B"], ["secrets", "list", "--data-dir"], ["secrets", "shred"], ["secrets", "import"],
        ])
    func badFlags(_ arguments: [String]) async throws {
        let hub = HubProcess(arguments: arguments, environment: Self.environment)
        let (status, stderr) = try await Blocking.run { try hub.runToExit() }
        #expect(status == 64)
        #expect(stderr.contains("Usage: atom-hub"))
    }

    @Test("version and --help exit 0")
    func versionAndHelp() async throws {
        for arguments in [["version"], ["--help"]] {
            let hub = HubProcess(arguments: arguments, environment: Self.environment)
            let (status, _) = try await Blocking.run { try hub.runToExit() }
            #expect(status == 0)
        }
    }

    @Test("SIGTERM stops the process with exit 0 (draining in-flight requests is tested in ShutdownTests)")
    func gracefulShutdown() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let process = HubProcess(arguments: ["--port", "0", "--data-dir", directory.appendingPathComponent("data").path], environment: Self.environment)
        let port = try await Blocking.run { try process.start() }
        let status = try await Blocking.run {
            let connection = try TestConnection(port: port)
            try connection.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            return try connection.readResponse().status
        }
        #expect(status == 200)
        process.signal(SIGTERM)
        let exit = await Blocking.runNonThrowing { process.waitForExit() }
        #expect(exit.reason == .exit)
        #expect(exit.status == 0)
    }

    @Test("Every acknowledged event survives SIGKILL right after a burst")
    func acknowledgedEventsSurviveKill() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let dataDirectory = directory.appendingPathComponent("data")
        let plugins = directory.appendingPathComponent("plugins.json")
        try Data(#"{"providers": {"slack": {"enabled": true}}}"#.utf8).write(to: plugins)
        let process = HubProcess(arguments: ["--port", "0", "--data-dir", dataDirectory.path, "--plugins", plugins.path], environment: Self.environment)
        let port = try await Blocking.run { try process.start() }

        // 16 clients send events back to back on keep-alive connections and record every 200. The client
        // that sees the 300th acknowledgement kills the hub while the others are still mid-request, so
        // commits are in flight at the moment of the kill.
        let acknowledgements = SharedCounter()
        let acknowledged = try await withThrowingTaskGroup(of: [String].self) { group in
            for client in 0..<16 {
                group.addTask {
                    try await Blocking.run {
                        let connection = try TestConnection(port: port)
                        var acked: [String] = []
                        for index in 0..<200 {
                            let id = "EvKILL-\(client)-\(index)"
                            let body = SlackSigner.eventBody(id: id)
                            let headers = SlackSigner().headers(body: body).map { "\($0.0): \($0.1)\r\n" }.joined()
                            do {
                                try connection.send(Array("POST /api/webhooks/slack HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.count)\r\n\(headers)\r\n".utf8) + body)
                                guard try connection.readResponse().status == 200 else { continue }
                            } catch {
                                break  // The hub was killed: this request was never acknowledged.
                            }
                            acked.append(id)
                            if acknowledgements.increment() == 300 { process.signal(SIGKILL) }
                        }
                        return acked
                    }
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        _ = await Blocking.runNonThrowing { process.waitForExit() }
        #expect(acknowledged.count >= 300 && acknowledged.count < 3200, "the kill came in the middle of the burst")

        // Reopen the same database (as a restart would) and look for every acknowledged id.
        let log = try EventLog(dataDirectory: dataDirectory, logger: .disabled)
        defer { log.close() }
        let stored = Set(try await log.recent(provider: "slack", limit: 10_000).map(\.externalID))
        let missing = acknowledged.filter { !stored.contains($0) }
        #expect(missing.isEmpty, "acknowledged but lost: \(missing.prefix(10))")
    }
}


/// A counter several test threads bump.
final class SharedCounter: Sendable {
    private let value = Atomic<Int>(0)

    /// Adds one and returns the new value.
    func increment() -> Int { value.add(1, ordering: .relaxed).newValue }
}
