import Foundation
import PluginAPI

#if canImport(Glibc)
import Glibc
#endif

/// Edits plugins.json in place for the admin API: only the one value changes, every other member
/// (order, settings, keys this version does not know) is kept, and the file is replaced atomically.
enum PluginsFile {
    /// A rewrite that could not be done; nothing was changed.
    struct WriteError: Error, CustomStringConvertible {
        let description: String
    }

    /// Sets `providers.<id>.enabled` to `enabled` and writes the file atomically. The result must
    /// still validate. A missing file (the default path, where every provider is on) starts from the
    /// running flags, `running`, so switching one provider leaves the others as they are.
    static func setEnabled(_ enabled: Bool, provider id: String, path: String, knownProviders: [String], running: [String: Bool]) throws -> JSONValue {
        let existing: JSONValue =
            if FileManager.default.fileExists(atPath: path) {
                try JSONValue.parse(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
            } else {
                ["providers": .object(JSONObject(running.keys.sorted().map { (key: $0, value: ["enabled": .bool(running[$0]!)]) }))]
            }
        guard case .object(var root) = existing, case .object(var providers)? = root["providers"] else {
            throw WriteError(description: "\(path) has no \"providers\" object to edit")
        }
        var entry: JSONObject = if case .object(let object)? = providers["\(id)"] { object } else { [:] }
        replace(&entry, key: "enabled", with: .bool(enabled))
        replace(&providers, key: id, with: .object(entry))
        replace(&root, key: "providers", with: .object(providers))
        let document = JSONValue.object(root)
        let text = Array((document.prettyPrinted() + "\n").utf8)
        _ = try PluginsConfiguration.parse(text, file: path, knownProviders: knownProviders)
        try writeAtomically(text, to: path)
        return document
    }

    /// Replaces the member `key` where it is, or appends it.
    private static func replace(_ object: inout JSONObject, key: String, with value: JSONValue) {
        var members = object.members
        if let index = members.lastIndex(where: { $0.key == key }) { members[index].value = value } else { members.append((key: key, value: value)) }
        object = JSONObject(members)
    }

    /// Temp file in the same directory (same mode as the old file), write, fsync, rename over `path`,
    /// fsync the directory: a crash leaves either the old file or the new one, never a torn one.
    static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        var info = stat()
        let mode = stat(path, &info) == 0 ? info.st_mode & 0o7777 : 0o644
        let temporary = directory + "/." + url.lastPathComponent + ".\(getpid()).\(Hex.encode(SecureRandom.bytes(6))).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw WriteError(description: "cannot create \(temporary): \(String(cString: strerror(errno)))") }
        var written = 0
        var failure: String?
        while written < bytes.count, failure == nil {
            let count = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if count > 0 { written += count } else if errno != EINTR { failure = "write: \(String(cString: strerror(errno)))" }
        }
        if failure == nil, fsync(fd) != 0 { failure = "fsync: \(String(cString: strerror(errno)))" }
        close(fd)
        if failure == nil, rename(temporary, path) != 0 { failure = "rename: \(String(cString: strerror(errno)))" }
        if let failure {
            unlink(temporary)
            throw WriteError(description: "cannot replace \(path): \(failure)")
        }
        let directoryFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryFD >= 0 {
            fsync(directoryFD)
            close(directoryFD)
        }
    }
}
