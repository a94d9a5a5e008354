import Foundation
import PluginAPI
import Plugins
import Testing

@testable import Host

@Suite("Startup security: ENVIRONMENT and SECRET_KEY")
struct SecurityStartupTests {
    static let strongKey = "4f1c2a9be07d3865c1f0a7d24e9b5c38a6d0f1e2b3c4d5e6f708192a3b4c5d6e"

    static func environment(_ extra: [String: String]) -> [String: String] {
        var environment = ProcessTests.environment
        for (name, value) in extra { environment[name] = value }
        return environment
    }

    /// Runs `atom-hub serve` to exit in a fresh directory; returns status, stderr and the directory.
    static func serveToExit(_ environment: [String: String]) async throws -> (status: Int32, stderr: String) {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let plugins = directory.appendingPathComponent("plugins.json")
        try Data(#"{"providers": {"slack": {"enabled": true}}}"#.utf8).write(to: plugins)
        let hub = HubProcess(arguments: ["--port", "0", "--data-dir", directory.appendingPathComponent("data").path, "--plugins", plugins.path], environment: environment)
        return try await Blocking.run { try hub.runToExit() }
    }

    @Test(
        "Production refuses a missing, placeholder, short or low-variety SECRET_KEY with exit 78",
        arguments: [
            ("production", nil), ("production", "atom-secret-key-change-in-production"), ("production", "your-secret-key-here-change-in-production"),
            ("production", "changeme"), ("production", "s3kr1t"), ("production", "0123456789abcdef"), ("production", String(repeating: "ab", count: 20)),
            ("staging", nil), ("prod", "changeme"),
        ] as [(String, String?)])
    func productionRefusesWeakKeys(environmentName: String, key: String?) async throws {
        var extra = ["ENVIRONMENT": environmentName]
        extra["SECRET_KEY"] = key
        let (status, stderr) = try await Self.serveToExit(Self.environment(extra))
        #expect(status == 78, "\(stderr)")
        #expect(stderr.contains("SECRET_KEY"), "\(stderr)")
        #expect(stderr.contains("openssl rand -hex 32"), "\(stderr)")
        if let key { #expect(!stderr.contains(key), "the key itself must not be printed") }
    }

    @Test("Production with a strong SECRET_KEY starts")
    func productionStartsWithStrongKey() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let plugins = directory.appendingPathComponent("plugins.json")
        try Data(#"{"providers": {"slack": {"enabled": true}}}"#.utf8).write(to: plugins)
        let process = HubProcess(
            arguments: ["--port", "0", "--data-dir", directory.appendingPathComponent("data").path, "--plugins", plugins.path],
            environment: Self.environment(["ENVIRONMENT": "production", "SECRET_KEY": Self.strongKey]))
        _ = try await Blocking.run { try process.start() }
        process.signal(SIGTERM)
        let exit = await Blocking.runNonThrowing { process.waitForExit() }
        #expect(exit.status == 0)
    }

    @Test("Development accepts a weak SECRET_KEY with a warning in the log", arguments: ["changeme", "wk-Q7"])
    func developmentWarnsAboutWeakKey(_ key: String) async throws {
        try await withHub(environment: ["SLACK_SIGNING_SECRET": TestHub.slackSecret, "ADMIN_TOKEN": TestHub.adminToken, "ENVIRONMENT": "development", "SECRET_KEY": key]) { hub in
            let health = try await hub.request("GET", "/healthz")
            #expect(health.status == 200)
            #expect(hub.logs.all.contains { $0.hasPrefix("warning") && $0.contains("SECRET_KEY") })
            #expect(!hub.logs.all.contains { $0.contains(key) }, "the key itself is never logged")
        }
    }

    @Test("Development without SECRET_KEY generates one (0600), says so, and reuses it after a restart")
    func developmentGeneratesKeyOnce() async throws {
        try await withHub { hub in
            #expect(hub.logs.all.contains { $0.contains("DEVELOPMENT MODE") })
            #expect(hub.logs.all.contains { $0.contains("generated a development key") })
            let file = hub.dataDirectory.appendingPathComponent("secret.key")
            let attributes = try FileManager.default.attributesOfItem(atPath: file.path)
            #expect((attributes[.posixPermissions] as? Int) == 0o600)
            let first = try String(contentsOf: file, encoding: .utf8)
            #expect(KeyStrength.problem(first.trimmingCharacters(in: .whitespacesAndNewlines)) == nil)

            let development = DeploymentEnvironment(.values([:]))
            let again = try SecretKeyStatus.resolve(deployment: development, environment: .values([:]), dataDirectory: hub.dataDirectory, create: true)
            #expect(again.origin == .generated(path: file.path, created: false))
            #expect(try String(contentsOf: file, encoding: .utf8) == first)
        }
    }

    @Test("Unset, development, production and anything else", arguments: [(nil, false), ("", false), ("development", false), ("production", true), ("staging", true), ("Development", true)] as [(String?, Bool)])
    func environmentNames(_ value: String?, isProduction: Bool) {
        var values: [String: String] = [:]
        values["ENVIRONMENT"] = value
        #expect(DeploymentEnvironment(.values(values)).isProduction == isProduction)
    }

    @Test("A refused production start writes a configuration_refused audit row")
    func refusalIsAudited() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        var options = HubOptions()
        options.dataDirectory = directory.appendingPathComponent("data")
        options.pluginsPath = directory.appendingPathComponent("missing-default.json").path
        #expect(throws: StartupRefusal.self) {
            _ = try Hub(options: options, environment: .values(["ENVIRONMENT": "production", "SECRET_KEY": "changeme"]), logger: .disabled)
        }
        let connection = try Database.openWriter(dataDirectory: options.dataDirectory)
        let rows = try AuditLog.select(AuditFilter(type: .configurationRefused), on: connection)
        #expect(rows.count == 1)
        #expect(rows.first?.event.severity == .critical)
        #expect(rows.first.map { "\($0.json)".contains("SECRET_KEY") } == true)
        #expect(rows.first.map { "\($0.json)".contains("changeme") } == false)
    }

    @Test("A development key file readable by others is refused (exit 78), never silently used")
    func exposedKeyFileIsRefused() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let data = directory.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        let file = data.appendingPathComponent("secret.key")
        try Data((Self.strongKey + "\n").utf8).write(to: file)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file.path)
        let hub = HubProcess(arguments: ["--port", "0", "--data-dir", data.path], environment: ProcessTests.environment)
        let (status, stderr) = try await Blocking.run { try hub.runToExit() }
        #expect(status == 78, "\(stderr)")
        #expect(stderr.contains("chmod 600"))
        #expect(!stderr.contains(Self.strongKey))
    }
}
