import Foundation
import PluginAPI

/// Zero-fills the write-ahead log to a working size before the first commit.
///
/// Commits then overwrite blocks the file already has, and an `fdatasync` of overwritten blocks needs
/// no file-system journal commit (the file's size and block map stay the same): on this project's
/// ext4 machines it costs about half as much, in latency and in kernel CPU, as one that extends the
/// file (`bench/README.md`). PostgreSQL pre-zeroes its WAL segments for the same reason. Blocks
/// reserved with `fallocate` do not help: writing one still converts an unwritten extent, a journalled
/// change.
///
/// SQLite reads the zeros like the stale frames a restarted log leaves behind: recovery stops at the
/// first frame whose salt and checksum do not match. SQLite restarts the log from its beginning
/// without shrinking the file (no `journal_size_limit`), so the zeroed size stays in use until the
/// last connection closes and deletes the log.
enum WALPreallocation {
    /// Extends the log of `writer` (at `walPath`) with zeros to `bytes`, unless it is that long already.
    /// Runs inside a write transaction, so no other connection or process appends frames meanwhile.
    /// A failure (a full disk) leaves zeros SQLite ignores and is reported to the caller, which logs it:
    /// the log still works, with costlier syncs.
    static func extend(_ writer: SQLiteConnection, walPath: String, to bytes: Int) throws {
        guard bytes > 0 else { return }
        try writer.transaction {
            let descriptor = open(walPath, O_RDWR | O_CLOEXEC)
            guard descriptor >= 0 else { throw SystemCallError(call: "open \(walPath)", code: errno) }
            defer { Glibc.close(descriptor) }
            var status = stat()
            guard fstat(descriptor, &status) == 0 else { throw SystemCallError(call: "fstat", code: errno) }
            var offset = Int(status.st_size)
            guard offset < bytes else { return }
            let zeros = [UInt8](repeating: 0, count: 1 << 20)
            while offset < bytes {
                let count = min(zeros.count, bytes - offset)
                let written = zeros.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, count, off_t(offset)) }
                if written < 0 {
                    if errno == EINTR { continue }
                    throw SystemCallError(call: "pwrite", code: errno)
                }
                offset += written
            }
            try System.dataSync(descriptor)
        }
    }
}
