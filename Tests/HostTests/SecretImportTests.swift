import Foundation
import PluginAPI
import Testing

@testable import Host

@Suite("secrets import: crash safe")
struct SecretImportTests {
    struct InjectedFailure: Error {}

    static let values = ["SLACK_SIGNING": "s3cr3t-one", "HUBSPOT_SECRET": "s3cr3t-two", "TEAMS_KEY": "s3cr3t-three"]

    static func writeFile(in directory: URL) throws -> URL {
        let file = directory.appendingPathComponent("secrets.json")
        let members = values.map { "\"\($0.key)\": \"\($0.value)\"" }.joined(separator: ", ")
        try Data("{\(members)}".utf8).write(to: file)
        return file
    }

    /// The names stored, each read back (nil when none are stored).
    static func stored(_ data: URL) throws -> [String: String] {
        let vault = try SecretsTests.vault(data, key: SecretsTests.keyA)
        var result: [String: String] = [:]
        for name in vault.secrets.keys { result[name] = try vault.lookup(name) }
        return result
    }

    @Test("A failure between any two steps loses nothing: all or none stored, and the file is kept until verified", arguments: SecretImport.Step.allCases)
    func failureAtEachStep(_ step: SecretImport.Step) throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let data = directory.appendingPathComponent("data")
        let file = try Self.writeFile(in: directory)
        let original = try Data(contentsOf: file)
        let administration = try SecretsTests.administration(data, ["ENCRYPTION_KEY": SecretsTests.keyA])
        var failing = SecretImport(administration: administration)
        failing.failpoint = { if $0 == step { throw InjectedFailure() } }
        #expect(throws: InjectedFailure.self) { try failing.run(file: file) }

        #expect(try Data(contentsOf: file) == original, "the plaintext file must survive a failed import")
        let stored = try Self.stored(data)
        switch step {
        case .parsed, .stored: #expect(stored.isEmpty, "nothing may be committed before the transaction ends")
        case .committed, .verified: #expect(stored == Self.values)
        }
        let audits = try AuditLog.select(AuditFilter(type: .secretsImported), on: administration.store.connection)
        #expect(audits.count == (stored.isEmpty ? 0 : 1))

        // Running it again (as an operator would after the crash) completes it.
        let names = try SecretImport(administration: administration).run(file: file)
        #expect(Set(names) == Set(Self.values.keys))
        #expect(!FileManager.default.fileExists(atPath: file.path))
        #expect(try Self.stored(data) == Self.values)
    }

    @Test("A file with a bad value or name stores nothing and is kept",
          arguments: [#"{"A": 1}"#, #"{"bad name": "x"}"#, #"{}"#, #"["A"]"#, #"{"A": "x", "A": "y"}"#, "not json", #"{"A": "x", "EMPTY": ""}"#])
    func invalidFiles(_ contents: String) throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("secrets.json")
        try Data(contents.utf8).write(to: file)
        let data = directory.appendingPathComponent("data")
        let administration = try SecretsTests.administration(data, ["ENCRYPTION_KEY": SecretsTests.keyA])
        #expect(throws: (any Error).self) { try SecretImport(administration: administration).run(file: file) }
        #expect(FileManager.default.fileExists(atPath: file.path))
        #expect(try administration.store.sealedSecrets().isEmpty)
    }

    @Test("secrets import through the real CLI stores, verifies and removes the file; the values are in no data file")
    func importThroughCLI() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = try Self.writeFile(in: directory)
        let data = directory.appendingPathComponent("data")
        let process = HubProcess(arguments: ["secrets", "import", file.path, "--data-dir", data.path], environment: ["ENCRYPTION_KEY": SecretsTests.keyA, "PATH": "/usr/bin:/bin"])
        let (status, stdout, stderr) = try await Blocking.run { try process.runCapturingOutput() }
        #expect(status == 0, "\(stderr)")
        #expect(stdout.contains("imported 3 secret(s)"))
        #expect(!FileManager.default.fileExists(atPath: file.path))
        #expect(try Self.stored(data) == Self.values)
        for value in Self.values.values {
            #expect(try SecretsTests.anyFile(in: data, contains: Array(value.utf8)).isEmpty)
        }
    }

    @Test("A real SIGKILL at each step of the CLI import (debug build) loses nothing; running it again completes it", arguments: SecretImport.Step.allCases)
    func killedAtEachStep(_ step: SecretImport.Step) async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = try Self.writeFile(in: directory)
        let original = try Data(contentsOf: file)
        let data = directory.appendingPathComponent("data")
        let environment = ["ENCRYPTION_KEY": SecretsTests.keyA, "PATH": "/usr/bin:/bin"]
        let killed = HubProcess(arguments: ["secrets", "import", file.path, "--data-dir", data.path], environment: environment.merging(["ATOM_DEBUG_KILL_AT": step.rawValue]) { $1 })
        _ = try await Blocking.run { try killed.runCapturingOutput() }
        let ended = killed.waitForExit()
        #expect(ended.reason == .uncaughtSignal && ended.status == SIGKILL)

        #expect(try Data(contentsOf: file) == original)
        let stored = try Self.stored(data)
        switch step {
        case .parsed, .stored: #expect(stored.isEmpty)
        case .committed, .verified: #expect(stored == Self.values)
        }

        let again = HubProcess(arguments: ["secrets", "import", file.path, "--data-dir", data.path], environment: environment)
        let (status, _, stderr) = try await Blocking.run { try again.runCapturingOutput() }
        #expect(status == 0, "\(stderr)")
        #expect(!FileManager.default.fileExists(atPath: file.path))
        #expect(try Self.stored(data) == Self.values)
    }
}
