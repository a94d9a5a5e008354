#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

/// An exclusive lock on a data dir, held by the one event log that writes events to it (so, by one
/// hub at a time). The log's de-duplication keeps its newest keys in memory (``EventKeys``): a second
/// writer would not see them and would store duplicates. The kernel drops the lock when the process
/// ends, however it ends.
final class DataDirectoryLock: Sendable {
    /// The lock file inside the data dir (empty; only its lock matters).
    static let fileName = "atom-hub.lock"

    /// The locked file's descriptor; -1 once released.
    private let descriptor: Mutex<Int32>

    /// Takes the lock, or throws at once if another event log holds it (in this process or another).
    init(dataDirectory: URL) throws {
        let path = dataDirectory.appendingPathComponent(Self.fileName).path
        let opened = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard opened >= 0 else { throw EventLogError(description: "cannot open \(path): \(System.errorDescription(errno))") }
        guard flock(opened, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            Glibc.close(opened)
            throw EventLogError(
                description: code == EWOULDBLOCK
                    ? "another atom-hub is using the data dir \(dataDirectory.path) (it holds the lock on \(path))"
                    : "cannot lock \(path): \(System.errorDescription(code))")
        }
        descriptor = Mutex(opened)
    }

    deinit { release() }

    /// Gives the lock up (closing the file); later calls do nothing.
    func release() {
        descriptor.withLock { descriptor in
            guard descriptor >= 0 else { return }
            Glibc.close(descriptor)
            descriptor = -1
        }
    }
}
