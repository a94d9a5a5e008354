import Foundation
import PluginAPI
import Testing

@testable import Host

/// The harness behind `bench/security.sh`: prints figures, asserts nothing about time.
/// Skipped unless `ATOM_BENCH=1`, so `swift test` never runs it.
@Suite("Security benchmarks", .enabled(if: ProcessInfo.processInfo.environment["ATOM_BENCH"] == "1"), .serialized)
struct SecurityBench {
    /// Runs `body` `runs` times and returns each duration in milliseconds.
    static func measure(runs: Int, _ body: () throws -> Void) rethrows -> [Double] {
        try (0..<runs).map { _ in
            let start = System.monotonicNanoseconds()
            try body()
            return Double(System.monotonicNanoseconds() - start) / 1e6
        }
    }

    static func report(_ name: String, _ samples: [Double], unit: String = "ms", scale: Double = 1) {
        let sorted = samples.map { $0 * scale }.sorted()
        let median = sorted[sorted.count / 2]
        print(String(format: "BENCH %@: median %.3f %@, min %.3f, max %.3f (%d runs)", name, median, unit, sorted.first!, sorted.last!, sorted.count))
    }

    @Test("Key derivation: PBKDF2-HMAC-SHA256 at 600,000 iterations")
    func keyDerivation() {
        let salt = SecureRandom.bytes(16)
        let samples = Self.measure(runs: 7) { _ = KeyDerivation.pbkdf2SHA256(passphrase: SecretsTests.keyA, salt: salt, iterations: KeyDerivation.defaultIterations) }
        Self.report("pbkdf2_600k", samples)
    }

    @Test("Encrypting and decrypting one 64-byte secret (AES-256-GCM, name as associated data)")
    func sealAndOpen() throws {
        let key = SecretStore.UnlockedKey(id: "key-bench", key: SecureRandom.bytes(32))
        let value = String(repeating: "s", count: 64)
        let batch = 10_000
        var sealed: [SecretStore.SealedSecret] = []
        let seal = Self.measure(runs: 5) {
            sealed = (0..<batch).map { _ in
                SecretStore.SealedSecret(name: "BENCH_SECRET", keyID: key.id, sealed: AESGCM.seal(Array(value.utf8), key: key.key, associatedData: Array("BENCH_SECRET".utf8)), updatedAt: 0)
            }
        }
        Self.report("encrypt_one_secret", seal, unit: "µs", scale: 1000 / Double(batch))
        let open = try Self.measure(runs: 5) {
            for secret in sealed { _ = try SecretStore.open(secret, with: key) }
        }
        Self.report("decrypt_one_secret", open, unit: "µs", scale: 1000 / Double(batch))
    }

    @Test("Startup with validation: launch to 'listening on', production with one stored secret vs development without keys")
    func startup() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let data = directory.appendingPathComponent("data")
        let plugins = directory.appendingPathComponent("plugins.json")
        try Data(#"{"providers": {"slack": {"enabled": true, "settings": {"signingSecret": "secret:SLACK_SIGNING"}}}}"#.utf8).write(to: plugins)
        try SecretAdministration.open(dataDirectory: data, environment: .values(["ENCRYPTION_KEY": SecretsTests.keyA])).set(name: "SLACK_SIGNING", value: TestHub.slackSecret)
        let production = SecurityEndpointTests.production.merging(["PATH": "/usr/bin:/bin"]) { $1 }
        for (name, environment) in [("startup_production_validated", production), ("startup_development_no_keys", ["PATH": "/usr/bin:/bin", "SLACK_SIGNING_SECRET": TestHub.slackSecret])] {
            var samples: [Double] = []
            for _ in 0..<7 {
                let process = HubProcess(arguments: ["--port", "0", "--data-dir", data.path, "--plugins", plugins.path], environment: environment)
                let start = System.monotonicNanoseconds()
                _ = try await Blocking.run { try process.start() }
                samples.append(Double(System.monotonicNanoseconds() - start) / 1e6)
                process.signal(SIGTERM)
                _ = await Blocking.runNonThrowing { process.waitForExit() }
            }
            Self.report(name, samples)
        }
        var validate: [Double] = []
        for _ in 0..<7 {
            let process = HubProcess(arguments: ["validate-config", "--data-dir", data.path, "--plugins", plugins.path], environment: production)
            let start = System.monotonicNanoseconds()
            let result = try await Blocking.run { try process.runCapturingOutput() }
            validate.append(Double(System.monotonicNanoseconds() - start) / 1e6)
            #expect(result.status == 0, "\(result.stdout)")
        }
        Self.report("validate_config_production", validate)
    }
}
