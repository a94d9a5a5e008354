import Dispatch
import Foundation
import PluginAPI
import Synchronization

/// Copies the write-ahead log back into the database file on its own thread and connection.
///
/// SQLite's automatic checkpoint runs inside the commit that crosses its threshold, so every webhook
/// waiting on that group commit would also wait for megabytes to be copied and the database file
/// fsynced. The event-log writer instead asks this thread for a PASSIVE checkpoint, which never blocks
/// the writer: it copies what no reader still needs, and SQLite restarts the log from its beginning
/// once a checkpoint has caught up.
final class Checkpointer: Sendable {
    /// WAL frames (pages) after which a checkpoint is requested; SQLite's own default threshold.
    static let walPagesThreshold: Int32 = 1000

    private struct State {
        var requested = false
        var closed = false
    }

    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let logger: Logger

    /// Opens a connection of its own to the database in `dataDirectory` and starts the thread.
    init(dataDirectory: URL, logger: Logger) throws {
        let connection = try SQLiteConnection(path: dataDirectory.appendingPathComponent(Database.fileName).path)
        self.logger = logger
        WriterBox.startThread(named: "atom-hub.checkpoint", owning: connection) { [self] connection in
            run(connection)
            finished.signal()
        }
    }

    /// Makes `writer` request checkpoints from this thread instead of running them itself.
    func take(over writer: SQLiteConnection) {
        writer.replaceAutomaticCheckpoint(whenWALReaches: Self.walPagesThreshold) { [self] in request() }
    }

    /// Asks for one checkpoint; requests made while one is pending are merged into it.
    func request() {
        let signal = state.withLock { state in
            defer { state.requested = true }
            return !state.requested && !state.closed
        }
        if signal { wake.signal() }
    }

    /// Runs the checkpoint still pending, if any, and stops the thread.
    func close() {
        let alreadyClosed = state.withLock { state in
            defer { state.closed = true }
            return state.closed
        }
        guard !alreadyClosed else { return }
        wake.signal()
        finished.wait()
    }

    private func run(_ connection: SQLiteConnection) {
        while true {
            wake.wait()
            let (requested, closed) = state.withLock { state in
                defer { state.requested = false }
                return (state.requested, state.closed)
            }
            if requested { checkpoint(connection) }
            if closed { return }
        }
    }

    private func checkpoint(_ connection: SQLiteConnection) {
        do {
            let statement = try connection.prepare("PRAGMA wal_checkpoint(PASSIVE)")
            defer { statement.reset() }
            guard try statement.step() else { return }
            logger.debug(
                "checkpoint", [("wal_frames", "\(statement.int64(1))"), ("copied", "\(statement.int64(2))")])
        } catch {
            // The log keeps growing until a later checkpoint succeeds; nothing acknowledged is at risk.
            logger.error("WAL checkpoint failed; will retry on the next request", [("error", "\(error)")])
        }
    }
}
