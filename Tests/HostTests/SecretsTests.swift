import Foundation
import PluginAPI
import Plugins
import Testing

@testable import Host

@Suite("Encrypted secrets store")
struct SecretsTests {
    static let keyA = "a3f1c9e27b5d40618fe2d3c4b5a69788d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6"
    static let keyB = "b7e2d1c0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2"

    /// A store in a fresh directory, with cheap key derivation (real PBKDF2, fewer rounds) for speed.
    static func administration(_ directory: URL, _ environment: [String: String]) throws -> SecretAdministration {
        var administration = try SecretAdministration.open(dataDirectory: directory, environment: .values(environment))
        administration.iterations = 1000
        return administration
    }

    static func vault(_ directory: URL, key: String?) throws -> SecretVault {
        let source = EncryptionKeySource(passphrase: key, origin: key == nil ? .absent : .environment)
        return try SecretVault.load(dataDirectory: directory, keySource: source)
    }

    /// Whether any file in `directory` (database, WAL, SHM, key files) contains `needle`.
    static func anyFile(in directory: URL, contains needle: [UInt8]) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { name in
            let bytes = try [UInt8](Data(contentsOf: directory.appendingPathComponent(name)))
            return bytes.count >= needle.count && (0...(bytes.count - needle.count)).contains { bytes[$0..<($0 + needle.count)].elementsEqual(needle) }
        }
    }

    @Test("secrets set through the real CLI: the value is read from stdin and appears in no file of the data dir")
    func setThroughCLILeavesNoPlaintext() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let data = directory.appendingPathComponent("data")
        let value = "xoxb-plaintext-canary-\(UUID().uuidString)"
        let environment = ["ENCRYPTION_KEY": Self.keyA, "PATH": "/usr/bin:/bin"]
        // Hold a connection open, as a running hub would, so the WAL and SHM files stay and are scanned too.
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        let held = try Database.openWriter(dataDirectory: data)
        defer { withExtendedLifetime(held) {} }
        let set = HubProcess(arguments: ["secrets", "set", "SLACK_SIGNING", "--data-dir", data.path], environment: environment, input: Array((value + "\n").utf8))
        let (status, stdout, stderr) = try await Blocking.run { try set.runCapturingOutput() }
        #expect(status == 0, "\(stderr)")
        #expect(stdout.contains("stored SLACK_SIGNING"))
        #expect(!stdout.contains(value) && !stderr.contains(value))
        let files = try FileManager.default.contentsOfDirectory(atPath: data.path)
        #expect(Set(files).isSuperset(of: [Database.fileName, Database.fileName + "-wal", Database.fileName + "-shm"]), "\(files)")
        for name in files {
            let mode = try FileManager.default.attributesOfItem(atPath: data.appendingPathComponent(name).path)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(name) is readable by others")
        }
        #expect(try Self.anyFile(in: data, contains: Array(value.utf8)).isEmpty)
        #expect(try Self.anyFile(in: data, contains: Array(Self.keyA.utf8)).isEmpty)

        let list = HubProcess(arguments: ["secrets", "list", "--data-dir", data.path], environment: environment)
        let listed = try await Blocking.run { try list.runCapturingOutput() }
        #expect(listed.status == 0)
        #expect(listed.stdout.contains("SLACK_SIGNING\tkey-"))
        #expect(!listed.stdout.contains(value))

        let vault = try Self.vault(data, key: Self.keyA)
        #expect(try vault.lookup("SLACK_SIGNING") == value)
        let audit = try AuditLog.select(AuditFilter(type: .secretSet), on: Database.openWriter(dataDirectory: data))
        #expect(audit.count == 1)
        #expect(audit.first?.event.details["name"]?.stringValue == "SLACK_SIGNING")
        #expect(audit.first.map { "\($0.json)".contains(value) } == false)
    }

    @Test("Production without ENCRYPTION_KEY, or with a weak one, refuses to store secrets (exit 78)", arguments: [nil, "changeme", "short-key"] as [String?])
    func productionRefusesWithoutKey(_ key: String?) async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        var environment = ["ENVIRONMENT": "production", "PATH": "/usr/bin:/bin"]
        environment["ENCRYPTION_KEY"] = key
        let set = HubProcess(arguments: ["secrets", "set", "X", "--data-dir", directory.path], environment: environment, input: Array("value".utf8))
        let (status, _, stderr) = try await Blocking.run { try set.runCapturingOutput() }
        #expect(status == 78, "\(stderr)")
        #expect(stderr.contains("ENCRYPTION_KEY"))
        #expect(stderr.contains("openssl rand -hex 32"))
        let connection = try Database.openWriter(dataDirectory: directory)
        #expect(try SecretStore(connection: connection).sealedSecrets().isEmpty)
        let refused = try AuditLog.select(AuditFilter(type: .configurationRefused), on: connection)
        #expect(refused.first?.event.details["command"]?.stringValue == "secrets set")
    }

    @Test("In development without ENCRYPTION_KEY, secrets set generates a key file the hub then uses")
    func developmentKeyFile() async throws {
        let plugins = #"{"providers": {"slack": {"enabled": true, "settings": {"signingSecret": "secret:SLACK_SIGNING"}}}}"#
        try await withHub(plugins: plugins, environment: ["ADMIN_TOKEN": TestHub.adminToken], beforeStart: { data in
            try Self.administration(data, [:]).set(name: "SLACK_SIGNING", value: TestHub.slackSecret)
            let attributes = try FileManager.default.attributesOfItem(atPath: data.appendingPathComponent("encryption.key").path)
            #expect((attributes[.posixPermissions] as? Int) == 0o600)
        }) { hub in
            let body = SlackSigner.eventBody()
            let response = try await hub.request("POST", "/api/webhooks/slack", headers: SlackSigner().headers(body: body), body: body)
            #expect(response.status == 200)
            let secrets = try await hub.admin("/api/security/secrets").json()
            #expect(secrets["key_source"]?.stringValue == "development key file")
        }
    }

    @Test("A rotation that meets a tampered value rolls back: the old key and every value stay as they were")
    func rotationRollsBack() throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let administration = try Self.administration(directory, ["ENCRYPTION_KEY": Self.keyA])
        for name in ["A", "B", "C"] { try administration.set(name: name, value: "value of \(name)") }
        try administration.store.connection.execute("UPDATE secrets SET nonce = zeroblob(12) WHERE name = 'B'")
        let before = try administration.store.sealedSecrets()
        let rotator = try Self.administration(directory, ["ENCRYPTION_KEY": Self.keyB, "OLD_ENCRYPTION_KEY": Self.keyA])
        #expect(throws: SecretStoreError.tampered(name: "B")) { try rotator.rotate() }
        #expect(try rotator.store.sealedSecrets().map(\.sealed) == before.map(\.sealed))
        #expect(try rotator.store.keyRecords().count == 1)
        #expect(try Self.vault(directory, key: Self.keyA).lookup("C") == "value of C")
    }

    @Test("A secret: setting in plugins.json resolves through the store and verifies Slack requests")
    func secretReferenceResolves() async throws {
        let plugins = #"{"providers": {"slack": {"enabled": true, "settings": {"signingSecret": "secret:SLACK_SIGNING"}}}}"#
        try await withHub(plugins: plugins, environment: ["ENCRYPTION_KEY": Self.keyA, "ADMIN_TOKEN": TestHub.adminToken], beforeStart: { data in
            try Self.administration(data, ["ENCRYPTION_KEY": Self.keyA]).set(name: "SLACK_SIGNING", value: TestHub.slackSecret)
        }) { hub in
            let body = SlackSigner.eventBody()
            let response = try await hub.request("POST", "/api/webhooks/slack", headers: SlackSigner().headers(body: body), body: body)
            #expect(response.status == 200)
            let secrets = try await hub.admin("/api/security/secrets")
            #expect(secrets.status == 200)
            #expect(try secrets.json()["secret_count"]?.numberValue == 1)
            #expect(try secrets.json()["status"]?.stringValue == "ready")
            #expect(!secrets.text.contains(TestHub.slackSecret))
        }
    }

    @Test("Rotation re-encrypts every value in one transaction, keeps them readable, and leaves no old-key ciphertext")
    func rotation() throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let values = ["ONE": "first value", "TWO": "second", "THREE": String(repeating: "long ", count: 50)]
        let before = try Self.administration(directory, ["ENCRYPTION_KEY": Self.keyA])
        for (name, value) in values { try before.set(name: name, value: value) }
        let oldSealed = try before.store.sealedSecrets()
        let oldKey = try #require(try before.store.keyRecords().first)
        #expect(try before.store.checkpoint())
        #expect(try !Self.anyFile(in: directory, contains: oldSealed[0].sealed.ciphertextAndTag).isEmpty, "the scan must see stored ciphertext")

        let rotator = try Self.administration(directory, ["ENCRYPTION_KEY": Self.keyB, "OLD_ENCRYPTION_KEY": Self.keyA])
        let (oldID, newID, count) = try rotator.rotate()
        #expect(oldID == oldKey.id && newID != oldID && count == 3)
        #expect(try rotator.store.keyRecords().map(\.id) == [newID])
        #expect(try rotator.store.sealedSecrets().allSatisfy { $0.keyID == newID })

        let vault = try Self.vault(directory, key: Self.keyB)
        for (name, value) in values { #expect(try vault.lookup(name) == value) }
        guard case .unavailable(.wrongKey) = try Self.vault(directory, key: Self.keyA).status else {
            Issue.record("the old key still unlocks the store")
            return
        }
        for sealed in oldSealed {
            #expect(try Self.anyFile(in: directory, contains: sealed.sealed.ciphertextAndTag).isEmpty, "old ciphertext of \(sealed.name) remains")
        }
        #expect(try Self.anyFile(in: directory, contains: oldKey.check.ciphertextAndTag).isEmpty)
        #expect(try Self.anyFile(in: directory, contains: oldKey.salt).isEmpty)
        let audit = try AuditLog.select(AuditFilter(type: .secretsRotated), on: rotator.store.connection)
        #expect(audit.first?.event.details["count"]?.numberValue == 3)
    }

    @Test("Rotation with the wrong OLD_ENCRYPTION_KEY changes nothing and says why")
    func rotationWithWrongOldKey() throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        try Self.administration(directory, ["ENCRYPTION_KEY": Self.keyA]).set(name: "ONE", value: "v")
        let rotator = try Self.administration(directory, ["ENCRYPTION_KEY": Self.keyB, "OLD_ENCRYPTION_KEY": Self.keyB])
        #expect {
            try rotator.rotate()
        } throws: { error in
            guard case .wrongKey(_, let variable) = error as? SecretStoreError else { return false }
            return variable == "OLD_ENCRYPTION_KEY"
        }
        #expect(try Self.vault(directory, key: Self.keyA).lookup("ONE") == "v")
    }

    @Test("Tampered ciphertext, a value moved to another name, and a wrong key all fail loudly")
    func tamperingAndWrongKeys() throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let administration = try Self.administration(directory, ["ENCRYPTION_KEY": Self.keyA])
        try administration.set(name: "ONE", value: "first")
        try administration.set(name: "TWO", value: "second")
        let connection = administration.store.connection
        try connection.execute("UPDATE secrets SET ciphertext = CAST(ciphertext AS BLOB) || x'00' WHERE name = 'ONE'")
        try connection.execute("UPDATE secrets SET (nonce, ciphertext) = (SELECT nonce, ciphertext FROM secrets WHERE name = 'ONE') WHERE name = 'TWO'")

        let vault = try Self.vault(directory, key: Self.keyA)
        #expect(throws: SecretStoreError.tampered(name: "ONE")) { try vault.lookup("ONE") }
        #expect(throws: SecretStoreError.tampered(name: "TWO")) { try vault.lookup("TWO") }
        #expect(Set(vault.damaged.keys) == ["ONE", "TWO"])
        #expect(try vault.lookup("THREE") == nil)

        let wrong = try Self.vault(directory, key: Self.keyB)
        #expect {
            try wrong.lookup("ONE")
        } throws: { error in
            if case .wrongKey = error as? SecretStoreError { return true }
            return false
        }
        #expect(throws: SecretStoreError.noEncryptionKey) { try Self.vault(directory, key: nil).lookup("ONE") }
        #expect {
            try Self.administration(directory, ["ENCRYPTION_KEY": Self.keyB]).set(name: "X", value: "y")
        } throws: { error in
            if case .wrongKey = error as? SecretStoreError { return true }
            return false
        }
    }

    @Test("AES-256-GCM: each seal uses a fresh nonce; any changed byte, key or associated data fails")
    func aesGCM() throws {
        let key = SecureRandom.bytes(32)
        let first = AESGCM.seal(Array("value".utf8), key: key, associatedData: Array("NAME".utf8))
        let second = AESGCM.seal(Array("value".utf8), key: key, associatedData: Array("NAME".utf8))
        #expect(first.nonce.count == 12 && first.nonce != second.nonce && first.ciphertextAndTag != second.ciphertextAndTag)
        #expect(try AESGCM.open(first, key: key, associatedData: Array("NAME".utf8)) == Array("value".utf8))
        #expect(try AESGCM.open(AESGCM.seal([], key: key, associatedData: []), key: key, associatedData: []) == [])
        for index in 0..<first.ciphertextAndTag.count {
            var bytes = first.ciphertextAndTag
            bytes[index] ^= 0x01
            #expect(throws: AESGCM.AuthenticationFailure.self) { try AESGCM.open(.init(nonce: first.nonce, ciphertextAndTag: bytes), key: key, associatedData: Array("NAME".utf8)) }
        }
        #expect(throws: AESGCM.AuthenticationFailure.self) { try AESGCM.open(first, key: key, associatedData: Array("OTHER".utf8)) }
        #expect(throws: AESGCM.AuthenticationFailure.self) { try AESGCM.open(first, key: SecureRandom.bytes(32), associatedData: Array("NAME".utf8)) }
    }

    @Test("PBKDF2-HMAC-SHA256 matches RFC 7914's test vector")
    func pbkdf2Vector() {
        // RFC 7914 §11: PBKDF2-HMAC-SHA256, P="passwd", S="salt", c=1, dkLen=64 (first 32 bytes).
        let key = KeyDerivation.pbkdf2SHA256(passphrase: "passwd", salt: Array("salt".utf8), iterations: 1)
        #expect(Hex.encode(key) == "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc")
    }
}
