import Foundation
import PluginAPI

#if canImport(Glibc)
import Glibc
#endif

/// A development key generated once and kept in the data dir (mode 0600), so restarts keep working.
struct GeneratedKeyFile {
    let url: URL

    /// Why a key file cannot be used.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Returns the stored key, creating it (64 hex digits) when the file does not exist yet.
    /// `created` is true when this call wrote it. Creation is atomic: a temp file is written, fsynced
    /// and linked into place, so two processes starting together agree on one key.
    func loadOrCreate() throws(Failure) -> (value: String, created: Bool) {
        if let existing = try read() { return (existing, false) }
        let value = Hex.encode(SecureRandom.bytes(32))
        let temporary = url.path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Failure(description: "cannot create \(temporary): \(System.errorDescription(errno))") }
        defer { unlink(temporary) }
        let bytes = Array((value + "\n").utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == bytes.count, synced else { throw Failure(description: "cannot write \(temporary): \(System.errorDescription(errno))") }
        if link(temporary, url.path) != 0 {
            guard errno == EEXIST, let existing = try read() else {
                throw Failure(description: "cannot create \(url.path): \(System.errorDescription(errno))")
            }
            return (existing, false)  // Another process created it first; use theirs.
        }
        return (value, true)
    }

    private func read() throws(Failure) -> String? {
        var status = stat()
        guard stat(url.path, &status) == 0 else {
            if errno == ENOENT { return nil }
            throw Failure(description: "cannot read \(url.path): \(System.errorDescription(errno))")
        }
        guard status.st_mode & 0o077 == 0 else {
            throw Failure(description: "\(url.path) is readable by other users; run: chmod 600 \(url.path)")
        }
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw Failure(description: "cannot read \(url.path)")
        }
        let value = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard KeyStrength.problem(value) == nil else { throw Failure(description: "\(url.path) does not hold a usable key; delete it to generate a new one") }
        return value
    }
}
