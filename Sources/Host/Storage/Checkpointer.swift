import CSQLite
import Dispatch
import Foundation
import PluginAPI
import Synchronization

/// Copies the write-ahead log back into the database file on its own thread and connection, and
/// keeps the log from growing without end.
///
/// SQLite's automatic checkpoint runs inside the commit that crosses its threshold, so every webhook
/// waiting on that group commit would also wait for megabytes to be copied and the database file
/// fsynced. The event-log writer instead asks this thread for a PASSIVE checkpoint every
/// ``walPagesThreshold`` frames, which never blocks the writer: it copies what no reader still needs.
/// (Not after every commit once the log holds that many, which is how SQLite's own threshold works:
/// under steady load the log never restarts, and that meant one checkpoint, with two fsyncs, per commit.)
///
/// SQLite restarts the log from its beginning only when a write transaction begins with every frame
/// copied, which a writer that never pauses does not see. So once the log holds `wrapFrames`, the
/// writer finishes a checkpoint itself between two commits (``wrapIfDue(_:)``: the frames this thread
/// has not copied yet and two fsyncs, a few milliseconds), and its next transaction starts the log
/// over, inside the zeros ``WALPreallocation`` wrote.
///
/// SQLite flushes the database file only after a checkpoint that copied the whole log, which under
/// steady load is only the writer's wrap: megabytes of pages written all over the file would pile up
/// in the page cache for it (10–20 ms of fsync, every webhook waiting), or leave in bursts that hold
/// up the log's fsyncs. So this thread flushes the database file after each of its checkpoints.
final class Checkpointer: Sendable {
    /// WAL frames (pages) added after which a checkpoint is requested. A quarter of SQLite's default:
    /// small copies spread the database file's writes, so its fsyncs do not hold up the log's (with
    /// 1000, p99 latency at 64 connections went from 9 to 15–21 ms).
    static let walPagesThreshold: Int32 = 250

    /// Bytes of a frame's header; a frame is that and one page.
    static let frameHeaderBytes = 24

    /// Where the log wraps when it was not zero-filled.
    static let defaultWrapBytes = 64 << 20

    private struct State {
        var requested = false
        var closed = false
        /// The log has reached `wrapFrames`: the writer should finish a checkpoint so it restarts.
        var wrapDue = false
        /// The log's frames when the last checkpoint was requested (0 after it restarted).
        var framesAtLastRequest: Int32 = 0
    }

    /// Frames at which the writer wraps the log.
    let wrapFrames: Int32
    /// Whether this thread checkpoints every ``walPagesThreshold`` frames; without, only the writer's
    /// wrap copies the log (a test's way to see the wrap every time, not only when this thread falls behind).
    private let background: Bool

    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let logger: Logger

    /// Opens a connection of its own to the database in `dataDirectory` and starts the thread. The
    /// log wraps ahead of the end of `zeroedBytes` (what ``WALPreallocation`` wrote) by a tenth of it,
    /// and at least two steps (``walPagesThreshold`` frames each): the wrap comes at the first step
    /// past that mark, right after the commit that crossed it, and a reader may postpone it by a step.
    /// Without zeros it wraps at ``defaultWrapBytes``. Frames are counted in the database's own page
    /// size (a database made by another tool may not use 4096 bytes).
    init(dataDirectory: URL, zeroedBytes: Int, background: Bool = true, logger: Logger) throws {
        let connection = try SQLiteConnection(path: dataDirectory.appendingPathComponent(Database.fileName).path)
        self.logger = logger
        self.background = background
        guard let pageSize = try connection.scalarText("PRAGMA page_size").flatMap({ Int($0) }), pageSize > 0 else {
            throw SQLiteError(code: SQLITE_ERROR, message: "PRAGMA page_size gave no page size", sql: "PRAGMA page_size")
        }
        let frameBytes = pageSize + Self.frameHeaderBytes
        let zeroedFrames = zeroedBytes / frameBytes
        let frames = zeroedBytes > 0 ? zeroedFrames - max(2 * Int(Self.walPagesThreshold), zeroedFrames / 10) : Self.defaultWrapBytes / frameBytes
        wrapFrames = Int32(clamping: max(Int(Self.walPagesThreshold), frames))
        WriterBox.startThread(named: "atom.checkpoint", owning: connection) { [self] connection in
            run(connection)
            finished.signal()
        }
    }

    /// Makes `writer` request checkpoints from this thread instead of running them itself.
    func take(over writer: SQLiteConnection) {
        writer.replaceAutomaticCheckpoint { [self] frames in noteCommit(frames: frames) }
    }

    /// After each commit of the writer: every ``walPagesThreshold`` new frames, requests a checkpoint
    /// and, once the log holds `wrapFrames`, marks the wrap due (so a reader that keeps the log from
    /// restarting costs one wrap attempt per step, not one per commit).
    private func noteCommit(frames: Int32) {
        let signal = state.withLock { state in
            if frames < state.framesAtLastRequest { state.framesAtLastRequest = 0 }  // The log restarted.
            guard frames - state.framesAtLastRequest >= Self.walPagesThreshold else { return false }
            state.framesAtLastRequest = frames
            if frames >= wrapFrames {
                state.wrapDue = true  // The writer checkpoints this step itself; this thread would only collide with it.
                return false
            }
            guard background else { return false }
            defer { state.requested = true }
            return !state.requested && !state.closed
        }
        if signal { wake.signal() }
    }

    /// On the writer's thread, between transactions: once the log has reached `wrapFrames`, copies
    /// what is left of it into the database, so the next transaction restarts the log. A checkpoint
    /// still running on this thread makes SQLite answer "busy" at once, without any I/O: the wrap is
    /// tried again after the next commit. A reader still using the log's frames (or a failure) defers
    /// the restart to the next step.
    func wrapIfDue(_ writer: SQLiteConnection) {
        guard state.withLock({ $0.wrapDue }) else { return }
        // Failing, the log keeps growing past the zeroed part until a later step succeeds; nothing acknowledged is at risk.
        let busy = passiveCheckpoint(on: writer, named: "wrap checkpoint", retry: "after the next step of the log")
        if !busy { state.withLock { $0.wrapDue = false } }
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
            // Failing, the log keeps growing until a later checkpoint succeeds; nothing acknowledged is at risk.
            if requested && !passiveCheckpoint(on: connection, named: "checkpoint", retry: "on the next request") {
                do {
                    try connection.syncDatabaseFile()
                    logger.debug("database file flushed")
                } catch {
                    // Only pacing: SQLite flushes the file itself before the log restarts, and sees the error too.
                    logger.error("flushing the database file after a checkpoint failed; will retry after the next one", [("error", "\(error)")])
                }
            }
            if closed { return }
        }
    }

    /// Runs a PASSIVE checkpoint on `connection` and logs its outcome as `name`; a failure is logged
    /// as retried `retry`. Returns whether another checkpoint was running, so this one did nothing.
    @discardableResult
    private func passiveCheckpoint(on connection: SQLiteConnection, named name: String, retry: String) -> Bool {
        do {
            let statement = try connection.prepare("PRAGMA wal_checkpoint(PASSIVE)")
            defer { statement.reset() }
            guard try statement.step() else { return false }
            let busy = statement.int64(0) != 0
            logger.debug(name, [("busy", busy ? "1" : "0"), ("wal_frames", "\(statement.int64(1))"), ("copied", "\(statement.int64(2))")])
            return busy
        } catch {
            logger.error("WAL \(name) failed; will retry \(retry)", [("error", "\(error)")])
            return false
        }
    }
}
