#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Foundation
import PluginAPI

/// Makes the event log's commits durable on a thread of its own, so the writer does not wait for the
/// disk between two batches.
///
/// The writer connection commits with `synchronous=NORMAL`: a commit appends its frames to the
/// write-ahead log and returns without an fsync. The writer then hands the commit's answers here;
/// this thread takes every answer handed over so far, `fdatasync`s the log file and only then runs
/// them. An answer therefore runs only after an fsync that began after its commit's writes had
/// returned: what `synchronous=FULL` guarantees by syncing inside each commit. (SQLite still syncs
/// the log's header when it starts the file over, and the database file after a checkpoint.)
///
/// The writer runs at most one commit ahead: before taking its next batch it waits until this thread
/// has taken the answers of the previous one (their fsync has begun). So the writer's work on one
/// batch overlaps the fsync of the one before, commits do not race ahead in tiny batches, and a batch
/// holds what arrived during one fsync.
///
/// An fsync that fails leaves the log's state on disk unknown (the kernel may have dropped the dirty
/// pages), so from then on every answer is told "not durable": the hub stops acknowledging writes
/// until it is restarted and SQLite recovers the log.
final class WALSyncer: @unchecked Sendable {  // Safe: `answers` and `closed` are only touched with `condition` locked.
    private var answers: [@Sendable (_ durable: Bool) -> Void] = []
    private var closed = false
    private let condition = NSCondition()
    private let path: String
    private let logger: Logger
    private let finished = DispatchSemaphore(value: 0)

    /// Syncs the write-ahead log at `walPath` (the database file's path plus `-wal`).
    init(walPath: String, logger: Logger) {
        path = walPath
        self.logger = logger
        System.startThread(named: "atom.wal-sync") { [self] in
            run()
            finished.signal()
        }
    }

    /// Runs `answer` (on this syncer's thread) once everything committed so far is on disk, with
    /// `durable` false when that could not be ensured. Call it after the commit has returned.
    func afterSync(_ answer: @escaping @Sendable (_ durable: Bool) -> Void) {
        condition.lock()
        let accepted = !closed
        if accepted {
            answers.append(answer)
            condition.broadcast()
        }
        condition.unlock()
        if !accepted { answer(false) }
    }

    /// Blocks until every answer handed over has been taken into an fsync that has begun.
    func waitUntilTaken() {
        condition.lock()
        while !answers.isEmpty && !closed { condition.wait() }
        condition.unlock()
    }

    /// Syncs and answers what was handed over, then stops the thread.
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
        finished.wait()
    }

    private func run() {
        var log = LogFile(path: path)
        var failed = false
        while true {
            condition.lock()
            while answers.isEmpty && !closed { condition.wait() }
            let taken = answers
            answers.removeAll(keepingCapacity: true)
            let stop = closed
            condition.broadcast()  // The writer may take its next batch.
            condition.unlock()
            if !taken.isEmpty {
                if !failed {
                    do {
                        try log.sync()
                    } catch {
                        failed = true
                        logger.error(
                            "the event log could not be made durable; no write is acknowledged until the hub restarts",
                            [("path", path), ("error", "\(error)")])
                    }
                }
                for answer in taken { answer(!failed) }
            }
            if stop { break }
        }
        log.close()
    }
}

/// The write-ahead log file, opened by path for `fdatasync` (which flushes the file whichever
/// descriptor names it), and opened again if SQLite has replaced the file.
private struct LogFile {
    let path: String
    private var descriptor: Int32 = -1
    private var inode: ino_t = 0

    init(path: String) { self.path = path }

    mutating func sync() throws(SystemCallError) {
        var current = stat()
        guard stat(path, &current) == 0 else { throw SystemCallError(call: "stat", code: errno) }
        if descriptor < 0 || current.st_ino != inode {
            close()
            descriptor = open(path, O_RDWR | O_CLOEXEC)
            guard descriptor >= 0 else { throw SystemCallError(call: "open", code: errno) }
            guard fstat(descriptor, &current) == 0 else { throw SystemCallError(call: "fstat", code: errno) }
            inode = current.st_ino
        }
        try System.dataSync(descriptor)
    }

    mutating func close() {
        if descriptor >= 0 { Glibc.close(descriptor) }
        descriptor = -1
    }
}
