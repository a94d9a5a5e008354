import Dispatch
import Foundation
import PluginAPI
import Synchronization

/// The security audit log: its own SQLite connection on its own thread, so writes (BEGIN IMMEDIATE,
/// fsync) never block a request or the cooperative pool. Recording is fire-and-forget; rows queued
/// together are committed in one transaction (group commit); queries run on the same thread after
/// everything recorded before them.
///
/// Flood-prone events (bad signatures, admin auth failures) go through ``recordThrottled(_:key:)``:
/// the first per key and minute is written, the rest are counted and written as one summary row
/// (`details.suppressed`) when the minute is over. Rows older than `retentionDays` are deleted at
/// startup and hourly.
final class AuditLog: Sendable {
    /// Work for the audit thread, in order.
    private enum Job {
        case insert(AuditEvent, timestamp: Int64)
        case run(@Sendable (SQLiteConnection) -> Void)
    }

    private struct Jobs {
        var pending: [Job] = []
        var closed = false
    }

    /// One throttling key's current minute.
    private struct Window {
        let minute: Int64
        let first: AuditEvent
        var suppressed: Int
    }

    private let jobs = Mutex(Jobs())
    private let windows = Mutex<[String: Window]>([:])
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let clock: any WallClock
    private let logger: Logger
    let retentionDays: Int
    /// Most throttling keys held; beyond it, new keys share one overflow key per event type.
    private let maximumWindows: Int

    /// Opens the database in `dataDirectory`, applies retention and starts the writer thread.
    init(dataDirectory: URL, retentionDays: Int, clock: any WallClock, logger: Logger, maximumWindows: Int = 10_000) throws {
        let connection = try Database.openWriter(dataDirectory: dataDirectory)
        self.retentionDays = retentionDays
        self.maximumWindows = maximumWindows
        self.clock = clock
        self.logger = logger
        WriterBox.startThread(named: "atom-hub.audit", owning: connection) { [self] connection in
            run(connection)
            finished.signal()
        }
        enqueue(.run { [self] connection in applyRetention(connection) })
    }

    /// Writes `event` (asynchronously, in order).
    func record(_ event: AuditEvent) {
        enqueue(.insert(event, timestamp: milliseconds()))
    }

    /// Writes `event` unless another with the same `key` was written this minute; those are counted instead.
    func recordThrottled(_ event: AuditEvent, key: String) {
        let minute = milliseconds() / 60_000
        var event = event
        let (write, summary) = windows.withLock { windows -> (Bool, AuditEvent?) in
            var key = "\(event.type.rawValue)|\(key)"
            if windows[key] == nil && windows.count >= maximumWindows {
                key = "\(event.type.rawValue)|overflow"
                event.details["overflow"] = "the throttling table is full: this row stands for many addresses and keys"
            }
            if var window = windows[key], window.minute == minute {
                window.suppressed += 1
                windows[key] = window
                return (false, nil)
            }
            let summary = windows[key].flatMap(Self.summary)
            windows[key] = Window(minute: minute, first: event, suppressed: 0)
            return (true, summary)
        }
        if let summary { record(summary) }
        if write { record(event) }
    }

    /// Writes a summary row for every finished minute that suppressed events.
    func flushFinishedWindows() {
        let minute = milliseconds() / 60_000
        let summaries = windows.withLock { windows -> [AuditEvent] in
            let finished = windows.filter { $0.value.minute < minute }
            for key in finished.keys { windows[key] = nil }
            return finished.values.compactMap(Self.summary)
        }
        summaries.forEach(record)
    }

    private static func summary(_ window: Window) -> AuditEvent? {
        guard window.suppressed > 0 else { return nil }
        var event = window.first
        event.details["suppressed"] = .number(Double(window.suppressed))
        event.details["window_start"] = .number(Double(window.minute * 60))
        event.details["note"] = "more events like this one in the same minute, not written one by one"
        return event
    }

    /// Rows matching `filter`, newest first; runs after every earlier `record`.
    func query(_ filter: AuditFilter) async throws -> [AuditRecord] {
        try await withCheckedThrowingContinuation { continuation in
            let accepted = enqueue(.run { connection in
                continuation.resume(with: Result { try Self.select(filter, on: connection) })
            })
            if !accepted { continuation.resume(throwing: EventLogError(description: "the audit log is closed")) }
        }
    }

    /// Writes pending summaries, finishes queued writes and stops the thread.
    func close() {
        let summaries = windows.withLock { windows in
            defer { windows.removeAll() }
            return windows.values.compactMap(Self.summary)
        }
        summaries.forEach(record)
        let alreadyClosed = jobs.withLock { state in
            defer { state.closed = true }
            return state.closed
        }
        guard !alreadyClosed else { return }
        wake.signal()
        finished.wait()
    }

    // MARK: - SQL, shared with the CLI (which writes its rows inside its own transactions)

    /// Inserts one row on `connection`.
    static func insert(_ event: AuditEvent, timestamp: Int64, on connection: SQLiteConnection) throws {
        let statement = try connection.prepare(
            """
            INSERT INTO security_audit_log (timestamp, event_type, severity, user_id, details, request_id, ip_address, user_agent)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """)
        try statement.bind(1, timestamp)
        try statement.bind(2, event.type.rawValue)
        try statement.bind(3, event.severity.rawValue)
        try statement.bind(4, event.userID)
        try statement.bind(5, JSONValue.object(event.details).jsonString)
        try statement.bind(6, event.requestID)
        try statement.bind(7, event.ipAddress)
        try statement.bind(8, event.userAgent)
        try statement.run()
    }

    /// Rows matching `filter` on `connection`, newest first.
    static func select(_ filter: AuditFilter, on connection: SQLiteConnection) throws -> [AuditRecord] {
        let statement = try connection.prepare(
            """
            SELECT id, timestamp, event_type, severity, user_id, details, request_id, ip_address, user_agent FROM security_audit_log
            WHERE timestamp >= ?1 AND (?2 IS NULL OR event_type = ?2) AND (?3 IS NULL OR severity = ?3)
            ORDER BY timestamp DESC, id DESC LIMIT ?4
            """)
        defer { statement.reset() }
        try statement.bind(1, filter.since ?? 0)
        try statement.bind(2, filter.type?.rawValue)
        try statement.bind(3, filter.severity?.rawValue)
        try statement.bind(4, Int64(filter.limit))
        var records: [AuditRecord] = []
        while try statement.step() {
            // Rows are written by this code; a row with an unknown type or bad JSON was edited by hand and is skipped.
            guard let type = statement.text(2).flatMap(AuditEvent.Kind.init(rawValue:)),
                let severity = statement.text(3).flatMap(AuditEvent.Severity.init(rawValue:)),
                let details = statement.text(5).flatMap({ try? JSONValue.parse(Array($0.utf8)) })?.objectValue
            else { continue }
            let event = AuditEvent(
                type, severity: severity, userID: statement.text(4), details: details, requestID: statement.text(6),
                ipAddress: statement.text(7), userAgent: statement.text(8))
            records.append(AuditRecord(id: statement.int64(0), timestamp: statement.int64(1), event: event))
        }
        return records
    }

    // MARK: - Writer thread

    @discardableResult
    private func enqueue(_ job: Job) -> Bool {
        let accepted = jobs.withLock { state in
            guard !state.closed else { return false }
            state.pending.append(job)
            return true
        }
        if accepted { wake.signal() }
        return accepted
    }

    private func run(_ connection: SQLiteConnection) {
        var lastFlush = System.monotonicNanoseconds()
        var lastRetention = lastFlush
        while true {
            _ = wake.wait(timeout: .now() + .seconds(60))
            let now = System.monotonicNanoseconds()
            if now - lastFlush >= 60_000_000_000 {
                flushFinishedWindows()
                lastFlush = now
            }
            if now - lastRetention >= 3_600_000_000_000 {
                applyRetention(connection)
                lastRetention = now
            }
            let (batch, closed) = jobs.withLock { state in
                defer { state.pending.removeAll() }
                return (state.pending, state.closed)
            }
            var rows: [(AuditEvent, Int64)] = []
            for job in batch {
                switch job {
                case .insert(let event, let timestamp):
                    rows.append((event, timestamp))
                case .run(let work):
                    commit(rows, on: connection)
                    rows.removeAll()
                    work(connection)
                }
            }
            commit(rows, on: connection)
            if closed { return }
        }
    }

    /// Writes `rows` in one transaction; a failure is logged (the audit log never fails a request).
    private func commit(_ rows: [(AuditEvent, Int64)], on connection: SQLiteConnection) {
        guard !rows.isEmpty else { return }
        do {
            try connection.transaction {
                for (event, timestamp) in rows { try Self.insert(event, timestamp: timestamp, on: connection) }
            }
        } catch {
            logger.error("audit rows could not be written", [("rows", "\(rows.count)"), ("first_event_type", rows[0].0.type.rawValue), ("error", "\(error)")])
        }
    }

    private func applyRetention(_ connection: SQLiteConnection) {
        let cutoff = milliseconds() - Int64(retentionDays) * 86_400_000
        do {
            // In batches, each its own short transaction: the event log's writer shares this database
            // and must never wait long for the write lock behind a large delete.
            let statement = try connection.prepare(
                "DELETE FROM security_audit_log WHERE id IN (SELECT id FROM security_audit_log WHERE timestamp < ? LIMIT 500)")
            var deleted = 0
            repeat {
                statement.reset()
                try statement.bind(1, cutoff)
                try statement.run()
                deleted += connection.changes
            } while connection.changes == 500
            if deleted > 0 {
                logger.info("deleted audit rows past retention", [("rows", "\(deleted)"), ("retention_days", "\(retentionDays)")])
            }
        } catch {
            logger.error("audit retention failed", [("error", "\(error)")])
        }
    }

    private func milliseconds() -> Int64 { Int64(clock.now() * 1000) }
}
