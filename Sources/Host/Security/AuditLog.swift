import Dispatch
import Foundation
import PluginAPI
import Synchronization

/// The security audit log. It has no connection of its own: rows are written through the event
/// log's single writer, as grouped writes that ride in its next group commit (one fsync shared with
/// the webhooks committed alongside, never one of their own). Recording never blocks or suspends:
/// rows are buffered in order, and one grouped write at a time takes the whole buffer. Queries run on
/// the writer after every row recorded before them has committed.
///
/// Flood-prone events (bad signatures, admin auth failures) go through ``recordThrottled(_:key:)``:
/// the first per key and minute is written, the rest are counted and written as one summary row
/// (`details.suppressed`) when the minute is over. Rows older than `retentionDays` are deleted at
/// startup and hourly, 500 per grouped write.
final class AuditLog: Sendable {
    /// Rows recorded and not yet taken by a grouped write.
    private struct Buffer {
        var rows: [Row] = []
        /// Whether a grouped write that will take `rows` is queued (so `record` queues no other).
        var flushQueued = false
        var closed = false
    }

    private struct Row {
        let event: AuditEvent
        let timestamp: Int64
    }

    /// The rows one grouped write took, so its completion can report them if the commit failed.
    private final class TakenRows: Sendable {
        let rows = Mutex<[Row]?>(nil)
    }

    /// One throttling key's current minute.
    private struct Window {
        let minute: Int64
        let first: AuditEvent
        var suppressed: Int
    }

    private struct Background {
        var startupRetention: Task<Void, Never>?
        var maintenance: Task<Void, Never>?
    }

    private let buffer = Mutex(Buffer())
    private let windows = Mutex<[String: Window]>([:])
    private let background = Mutex(Background())
    private let database: EventLog
    private let clock: any WallClock
    private let logger: Logger
    let retentionDays: Int
    /// Most throttling keys held; beyond it, new keys share one overflow key per event type.
    private let maximumWindows: Int
    private static let retentionBatch = 500

    /// Writes through `database`'s writer; applies retention now and hourly, and writes finished
    /// throttling minutes' summaries every minute, until ``close()``.
    init(database: EventLog, retentionDays: Int, clock: any WallClock, logger: Logger, maximumWindows: Int = 10_000) {
        self.database = database
        self.retentionDays = retentionDays
        self.maximumWindows = maximumWindows
        self.clock = clock
        self.logger = logger
        let startupRetention = Task { [self] in await applyRetention() }
        let maintenance = Task { [self] in
            var minutes = 0
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(60))  // Cancellation ends the sleep at once.
                if Task.isCancelled { return }
                flushFinishedWindows()
                minutes += 1
                if minutes % 60 == 0 { await applyRetention() }
            }
        }
        background.withLock { $0 = Background(startupRetention: startupRetention, maintenance: maintenance) }
    }

    /// Writes `event` (asynchronously, in order).
    func record(_ event: AuditEvent) {
        let row = Row(event: event, timestamp: milliseconds())
        let queue: Bool? = buffer.withLock { buffer in
            guard !buffer.closed else { return nil }
            buffer.rows.append(row)
            defer { buffer.flushQueued = true }
            return !buffer.flushQueued
        }
        switch queue {
        case nil: logger.error("an audit event recorded after the audit log closed is not written", [("event_type", event.type.rawValue)])
        case true?: queueFlush()
        case false?: break  // The queued grouped write has not taken the buffer yet: it takes this row too.
        }
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

    /// Rows matching `filter`, newest first; runs after every earlier `record` has committed and
    /// after the startup retention pass.
    func query(_ filter: AuditFilter) async throws -> [AuditRecord] {
        await background.withLock { $0.startupRetention }?.value
        return try await database.write { connection in try Self.select(filter, on: connection) }
    }

    /// Writes pending summaries, stops the background work, and returns once every row recorded
    /// before it has committed (or its failure has been logged). Call before closing the event log.
    func close() {
        let summaries = windows.withLock { windows in
            defer { windows.removeAll() }
            return windows.values.compactMap(Self.summary)
        }
        summaries.forEach(record)
        let alreadyClosed = buffer.withLock { buffer in
            defer { buffer.closed = true }
            return buffer.closed
        }
        guard !alreadyClosed else { return }
        background.withLock { background in
            background.startupRetention?.cancel()
            background.maintenance?.cancel()
        }
        // Grouped writes complete in order: once this one has, every earlier one has too.
        let flushed = DispatchSemaphore(value: 0)
        queueFlush { flushed.signal() }
        flushed.wait()
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

    // MARK: - Writing through the event log

    /// Queues a grouped write that takes every buffered row and inserts it in the event log's next
    /// transaction; a failure is logged with the rows it lost (the audit log never fails a request).
    private func queueFlush(then done: (@Sendable () -> Void)? = nil) {
        let taken = TakenRows()
        database.submitGroupedWrite({ [self] connection in
            let rows = takeBuffered()
            taken.rows.withLock { $0 = rows }
            for row in rows { try Self.insert(row.event, timestamp: row.timestamp, on: connection) }
        }) { [self] result in
            if case .failure(let error) = result {
                // Never applied: the rows are still buffered, and no other grouped write was queued for them.
                let lost = taken.rows.withLock { $0 } ?? takeBuffered()
                if let first = lost.first {
                    logger.error(
                        "audit rows could not be written",
                        [("rows", "\(lost.count)"), ("first_event_type", first.event.type.rawValue), ("error", "\(error)")])
                }
            }
            done?()
        }
    }

    /// Empties the buffer for the grouped write that writes its rows.
    private func takeBuffered() -> [Row] {
        buffer.withLock { buffer in
            defer {
                buffer.rows.removeAll()
                buffer.flushQueued = false
            }
            return buffer.rows
        }
    }

    /// Deletes rows older than `retentionDays`, `retentionBatch` per grouped write so no commit grows large.
    private func applyRetention() async {
        do {
            let deleted = try await database.deleteInBatches(
                from: "security_audit_log", where: "timestamp < ?1", cutoff: milliseconds() - Int64(retentionDays) * 86_400_000, batch: Self.retentionBatch)
            if deleted > 0 {
                logger.info("deleted audit rows past retention", [("rows", "\(deleted)"), ("retention_days", "\(retentionDays)")])
            }
        } catch {
            logger.error("audit retention failed", [("error", "\(error)")])
        }
    }

    private func milliseconds() -> Int64 { Int64(clock.now() * 1000) }
}
