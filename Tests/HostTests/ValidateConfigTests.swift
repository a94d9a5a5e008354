import Foundation
import PluginAPI
import Testing

@testable import Host

@Suite("atom-hub validate-config")
struct ValidateConfigTests {
    /// Runs `atom-hub validate-config` (or `serve`) against a fresh directory.
    /// `prepare` runs first, with the data dir (not yet created).
    static func run(
        _ command: String, _ extra: [String: String], plugins: String = #"{"providers": {"slack": {"enabled": true}}}"#, prepare: (URL) throws -> Void = { _ in }
    ) async throws -> (status: Int32, stdout: String, stderr: String, files: [String]) {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("plugins.json")
        try Data(plugins.utf8).write(to: path)
        var environment = ["PATH": "/usr/bin:/bin"]
        for (name, value) in extra { environment[name] = value }
        let data = directory.appendingPathComponent("data")
        try prepare(data)
        let process = HubProcess(arguments: [command, "--port", "0", "--data-dir", data.path, "--plugins", path.path], environment: environment)
        let result = try await Blocking.run { try process.runCapturingOutput() }
        let files = (try? FileManager.default.contentsOfDirectory(atPath: data.path)) ?? []
        return (result.status, result.stdout, result.stderr, files)
    }

    static func production(_ overrides: [String: String?]) -> [String: String] {
        var environment = SecurityEndpointTests.production
        for (name, value) in overrides { environment[name] = value }
        return environment
    }

    @Test("A sound production configuration exits 0 with every check ok")
    func healthy() async throws {
        let result = try await Self.run("validate-config", Self.production([:]))
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("SEVERITY"))
        #expect(result.stdout.contains("result: healthy under production rules"))
        #expect(!result.stdout.contains("critical"))
    }

    @Test(
        "A critical finding in production exits 1 (and serve refuses with 78)",
        arguments: [
            ("SECRET_KEY", nil), ("SECRET_KEY", "changeme"), ("ENCRYPTION_KEY", "short"), ("ADMIN_TOKEN", "changeme"),
            ("ATOM_DEV_SKIP_SIGNATURES", "1"), ("SLACK_SIGNING_SECRET", nil), ("METRICS_TOKEN", "m"),
        ] as [(String, String?)])
    func criticalInProduction(variable: String, value: String?) async throws {
        let environment = Self.production([variable: value])
        let validated = try await Self.run("validate-config", environment)
        #expect(validated.status == 1, "\(validated.stdout)")
        #expect(validated.stdout.contains("critical"))
        #expect(validated.stdout.contains("serve would refuse to start"))
        let served = try await Self.run("serve", environment)
        #expect(served.status == 78, "\(served.stderr)")
        for secret in SecurityEndpointTests.sensitive { #expect(!validated.stdout.contains(secret) && !served.stderr.contains(secret)) }
    }

    @Test("The same findings in development exit 0 with warnings, and validate-config writes no key file")
    func developmentWarnsOnly() async throws {
        let result = try await Self.run("validate-config", ["ENVIRONMENT": "development", "SECRET_KEY": "changeme"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("warning"))
        #expect(result.stdout.contains("result: critical under development rules"))  // Slack has no signing secret.
        let unset = try await Self.run("validate-config", [:])
        #expect(unset.status == 0)
        #expect(unset.stdout.contains("serve will generate a development key"))
        #expect(unset.files.isEmpty)
    }

    @Test("An unusable key file exits 1 in development too, as serve refuses it there (78)")
    func unusableKeyFile() async throws {
        let groupReadable: (URL) throws -> Void = { data in
            try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let key = data.appendingPathComponent("secret.key")
            try Data(String(repeating: "ab", count: 32).utf8).write(to: key)
            try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: key.path)
        }
        let validated = try await Self.run("validate-config", ["ENVIRONMENT": "development"], prepare: groupReadable)
        #expect(validated.status == 1, "\(validated.stdout)")
        #expect(validated.stdout.contains("serve would refuse to start"))
        let served = try await Self.run("serve", ["ENVIRONMENT": "development"], prepare: groupReadable)
        #expect(served.status == 78, "\(served.stderr)")
        #expect(served.stderr.contains("refusing to start:") && !served.stderr.contains("production"), "\(served.stderr)")
    }

    @Test("An unusable plugins.json exits 1 in any environment")
    func brokenPlugins() async throws {
        let result = try await Self.run("validate-config", [:], plugins: #"{"providers": {"nosuch": {}}}"#)
        #expect(result.status == 1)
        #expect(result.stdout.contains("plugins.json"))
    }
}
