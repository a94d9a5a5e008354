import Foundation
import PluginAPI

#if canImport(Glibc)
import Glibc
#endif

/// `atom-hub secrets import FILE`: a plaintext JSON object `{"NAME": "value"}` into the store.
///
/// The steps are ordered so that a failure or kill anywhere loses nothing and leaves no partial
/// state: (1) parse and validate everything, touching nothing; (2) encrypt and store all values in
/// one transaction (all or none); (3) read every value back, decrypt and compare; (4) only then
/// remove the plaintext file (and fsync its directory). Until (4) the file is intact, and running
/// the import again is harmless (it stores the same values).
struct SecretImport {
    /// The points between steps, where tests inject failures.
    enum Step: String, Sendable, CaseIterable {
        case parsed
        /// Inside the transaction, after every value is written, before the commit.
        case stored
        case committed
        case verified
    }

    /// Why an import stopped; the file is left in place.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    let administration: SecretAdministration
    /// Called at each step; a throw stops the import there (tests only).
    var failpoint: (Step) throws -> Void = { _ in }

    /// Imports `file`; returns the names stored.
    func run(file: URL) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: file.path) else { throw Failure(description: "cannot read \(file.path)") }
        let values = try Self.parse(Array(data), file: file.path)
        try failpoint(.parsed)
        let key = try administration.importValues(values, source: file.lastPathComponent) { try failpoint(.stored) }
        try failpoint(.committed)
        let stored = Dictionary(uniqueKeysWithValues: try administration.store.sealedSecrets().map { ($0.name, $0) })
        for (name, value) in values {
            guard let sealed = stored[name], try SecretStore.open(sealed, with: key) == value else {
                throw Failure(description: "secret '\(name)' did not read back as imported; \(file.path) was kept")
            }
        }
        try failpoint(.verified)
        try Self.remove(file)
        return values.map(\.name)
    }

    /// The name/value pairs of an import file; every value must be a string, every name valid.
    static func parse(_ bytes: [UInt8], file: String) throws -> [(name: String, value: String)] {
        let document: JSONValue
        do { document = try JSONValue.parse(bytes) } catch { throw Failure(description: "\(file) is not valid JSON (\(error))") }
        guard let object = document.objectValue else { throw Failure(description: "\(file) must hold a JSON object {\"NAME\": \"value\"}") }
        var seen = Set<String>()
        var values: [(name: String, value: String)] = []
        for (name, value) in object.members {
            guard let text = value.stringValue, !text.isEmpty else {
                throw Failure(description: "\(file): the value of '\(name.prefix(64))' must be a non-empty string (as `secrets set` requires)")
            }
            guard seen.insert(name).inserted else { throw Failure(description: "\(file): '\(name.prefix(64))' appears twice") }
            try SecretStoreError.validate(name: name)
            values.append((name, text))
        }
        guard !values.isEmpty else { throw Failure(description: "\(file) holds no secrets") }
        return values
    }

    /// Unlinks `file` and fsyncs its directory, so the removal itself is durable.
    private static func remove(_ file: URL) throws {
        guard unlink(file.path) == 0 else { throw Failure(description: "stored and verified, but \(file.path) could not be removed: \(System.errorDescription(errno))") }
        let directory = open(file.deletingLastPathComponent().path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directory >= 0 else { return }
        fsync(directory)
        close(directory)
    }
}
