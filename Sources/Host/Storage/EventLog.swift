import Dispatch
import Foundation
import PluginAPI
import Synchronization

/// An event as stored in the log.
struct StoredEvent: Sendable {
    let id: Int64
    let provider: String
    let type: String
    let externalID: String
    /// Milliseconds since 1970.
    let receivedAt: Int64
    let occurredAt: Double?
    /// The normalised event, as JSON text.
    let payload: String
}

/// Why an append was not stored.
struct EventLogError: Error, CustomStringConvertible {
    let description: String

    /// The commit went through but could not be made durable (see ``WALSyncer``).
    static let notDurable = EventLogError(description: "the write could not be made durable")
}

/// The durable event log: every accepted webhook event, appended by one writer thread.
///
/// Appends from concurrent requests are queued and committed together (group commit): the writer
/// takes everything queued and writes it in one `BEGIN IMMEDIATE` transaction. The commit does not
/// fsync (`synchronous=NORMAL`): the ``WALSyncer`` fsyncs the write-ahead log on its own thread and
/// only then resumes the waiting requests, while the writer prepares the next batch. Under load,
/// batches grow on their own, so one fsync serves many webhooks. An append, and every other write
/// through this log, returns only once its commit is on disk. An event whose (provider, external id)
/// is already stored is answered `.duplicate` and stored nothing (``EventKeys``).
final class EventLog: Sendable {
    private struct PendingAppend {
        let provider: String
        let events: [NewEvent]
        /// Each event's payload as JSON text, serialized by the caller so the one writer thread does not.
        let payloads: [[UInt8]]
        let continuation: CheckedContinuation<[AppendOutcome], any Error>
    }

    /// A write that rides in the writer's next commit (see ``groupedWrite(_:)``).
    private struct GroupedWrite {
        /// Runs the write inside the open transaction, in a savepoint; returns how to answer the caller once the commit's outcome is known.
        let apply: @Sendable (SQLiteConnection) -> @Sendable (_ committed: Bool) -> Void
        /// Answers the caller when the transaction failed before the write ran.
        let abandon: @Sendable () -> Void
    }

    private struct Queue {
        var pending: [PendingAppend] = []
        var grouped: [GroupedWrite] = []
        /// Other work for the writer connection (the job queue's transactions), run after the appends taken with it.
        var work: [@Sendable (SQLiteConnection) -> Void] = []
        var closed = false
    }

    /// Appends and grouped writes queued for the writer's next batch (what a test waits for).
    var queuedWrites: Int { queue.withLock { $0.pending.count + $0.grouped.count } }

    /// Rings after every commit that stored new events, so subscriptions read them without polling.
    let committed = Doorbell()
    private let queue = Mutex(Queue())
    private let wakeWriter = DispatchSemaphore(value: 0)
    private let writerFinished = DispatchSemaphore(value: 0)
    private let checkpointer: Checkpointer
    private let syncer: WALSyncer
    /// Restricts provider statements run on the writer to their tables (see ``providerWrite(scope:_:)``).
    private let providerScope = ScopeAuthorizer()
    let reader: DatabaseReader
    private let logger: Logger
    private let fanOut: DeliveryFanOut
    /// Most appends taken into one transaction, so one huge burst cannot hold the write lock for long.
    private let maximumBatch = 1024
    /// Held while this log writes to the data dir: ``EventKeys`` needs to be the only writer of events.
    private let lock: DataDirectoryLock
    /// The de-duplication state; only the writer thread touches it.
    private let eventKeys: EventKeys

    /// Opens (creating and migrating) the database in `dataDirectory` and starts the writer thread.
    /// `fanOut` creates each new event's deliveries in the transaction that stores it. `walPath`
    /// names another file for the syncer to fsync instead of the log (tests make it fail).
    /// `walPreallocation` bytes of zeros are written to the log before the first commit (see ``WALPreallocation``).
    /// `keyMergeThreshold` is how many new events' keys are held in memory before they are merged
    /// into the sorted de-duplication table, whose Bloom filter has at least `minimumKeyFilterBits`
    /// (see ``EventKeys``).
    init(
        dataDirectory: URL, logger: Logger, fanOut: DeliveryFanOut = .none(), walPath: String? = nil, walPreallocation: Int = 0,
        backgroundCheckpoints: Bool = true, keyMergeThreshold: Int = 32_768, minimumKeyFilterBits: Int = 1 << 24
    ) throws {
        lock = try DataDirectoryLock(dataDirectory: dataDirectory)
        let writer = try Database.openWriter(dataDirectory: dataDirectory)
        eventKeys = try EventKeys(
            connection: writer, mergeThreshold: keyMergeThreshold, dataDirectory: dataDirectory, logger: logger, minimumFilterBits: minimumKeyFilterBits)
        // Commits append to the log without an fsync; the syncer makes them durable before anyone hears of them.
        try writer.execute("PRAGMA synchronous = NORMAL")
        let logPath = dataDirectory.appendingPathComponent(Database.fileName).path + "-wal"
        do {
            try WALPreallocation.extend(writer, walPath: logPath, to: walPreallocation)
        } catch {
            logger.warning(
                "could not zero-fill the write-ahead log ahead of use; commits still work, their fsyncs cost more",
                [("bytes", String(walPreallocation)), ("error", "\(error)")])
        }
        syncer = WALSyncer(walPath: walPath ?? logPath, logger: logger)
        reader = try DatabaseReader(connection: Database.openReader(dataDirectory: dataDirectory), label: "atom-hub.events.reader")
        checkpointer = try Checkpointer(dataDirectory: dataDirectory, zeroedBytes: walPreallocation, background: backgroundCheckpoints, logger: logger)
        checkpointer.take(over: writer)
        providerScope.install(on: writer)
        self.logger = logger
        self.fanOut = fanOut
        WriterBox.startThread(named: "atom.writer", owning: writer) { [self] connection in
            runWriter(connection)
            writerFinished.signal()
        }
    }

    /// Appends `events` for `provider` and returns once they are durable.
    func append(provider: String, events: [NewEvent]) async throws -> [AppendOutcome] {
        if events.isEmpty { return [] }
        // A payload is about as long as the body it came from: room for that at once saves the buffer regrowing.
        let payloads = events.map { $0.payload.serialized(reservingCapacity: $0.rawBody.count + 64) }
        return try await withCheckedThrowingContinuation { continuation in
            let accepted = queue.withLock { state in
                guard !state.closed else { return false }
                state.pending.append(PendingAppend(provider: provider, events: events, payloads: payloads, continuation: continuation))
                return true
            }
            if accepted {
                wakeWriter.signal()
            } else {
                continuation.resume(throwing: EventLogError(description: "the event log is closed"))
            }
        }
    }

    /// Whether the de-duplication filter is in, and how many keys have been looked up in `event_keys`
    /// (read on the writer thread; what a test looks at).
    func keyFilterState() async throws -> (ready: Bool, tableLookups: Int) {
        try await write { [eventKeys] _ in (eventKeys.filterIsReady, eventKeys.tableLookups) }
    }

    /// Runs `body` with the writer connection on the writer thread and returns its result; other
    /// stores in the same database (the job queue) share this one writer instead of opening another.
    /// `body` opens its own transaction and must be short: appends wait behind it.
    func write<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let accepted = queue.withLock { state in
                guard !state.closed else { return false }
                state.work.append { [syncer] connection in
                    let result = Result { try body(connection) }
                    syncer.afterSync { durable in continuation.resume(with: durable ? result : .failure(EventLogError.notDurable)) }
                }
                return true
            }
            if accepted {
                wakeWriter.signal()
            } else {
                continuation.resume(throwing: EventLogError(description: "the event log is closed"))
            }
        }
    }

    /// Runs `body` inside the writer's next transaction, shared with queued appends and other grouped
    /// writes (one fsync for all), and returns its result once that transaction has committed. For
    /// small bookkeeping writes (delivery attempts) that must not cost an fsync of their own.
    /// `body` runs in a savepoint: if it throws, only its own changes are rolled back.
    func groupedWrite<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            submitGroupedWrite(body) { continuation.resume(with: $0) }
        }
    }

    /// ``groupedWrite(_:)`` without waiting: queues `body` at once, in call order, and calls
    /// `completion` on the writer thread once the transaction's outcome is known (for callers that
    /// must not block or suspend, such as the audit log).
    func submitGroupedWrite<T: Sendable>(
        _ body: @escaping @Sendable (SQLiteConnection) throws -> T, completion: @escaping @Sendable (Result<T, any Error>) -> Void
    ) {
        let write = GroupedWrite(
            apply: { connection in
                let result = Result { try Self.savepoint(connection) { try body(connection) } }
                return { committed in
                    completion(committed ? result : .failure(EventLogError(description: "the write's transaction did not commit")))
                }
            },
            abandon: { completion(.failure(EventLogError(description: "the write's transaction did not commit"))) })
        let accepted = queue.withLock { state in
            guard !state.closed else { return false }
            state.grouped.append(write)
            return true
        }
        if accepted {
            wakeWriter.signal()
        } else {
            completion(.failure(EventLogError(description: "the event log is closed")))
        }
    }

    /// Runs a provider's statements (`body`, which prepares them uncached) in the writer's next
    /// group commit, in a savepoint of their own, restricted to `scope`'s tables; returns once committed.
    func providerWrite<T: Sendable>(scope: TableScope, _ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        try await groupedWrite { [providerScope] connection in try providerScope.run(scope) { try body(connection) } }
    }

    /// Runs `body` between `SAVEPOINT` and `RELEASE`, rolling back to the savepoint when it throws.
    private static func savepoint<T>(_ connection: SQLiteConnection, _ body: () throws -> T) throws -> T {
        try connection.execute("SAVEPOINT grouped_write")
        do {
            let result = try body()
            try connection.execute("RELEASE grouped_write")
            return result
        } catch {
            try connection.execute("ROLLBACK TO grouped_write; RELEASE grouped_write")
            throw error
        }
    }

    /// The newest events, optionally of one provider.
    func recent(provider: String?, limit: Int) async throws -> [StoredEvent] {
        try await reader.read { connection in
            let statement = try connection.prepare(
                provider == nil
                    ? "SELECT id, provider, type, external_id, received_at, occurred_at, payload FROM events ORDER BY id DESC LIMIT ?"
                    : "SELECT id, provider, type, external_id, received_at, occurred_at, payload FROM events WHERE provider = ? ORDER BY id DESC LIMIT ?"
            )
            defer { statement.reset() }
            var index: Int32 = 1
            if let provider {
                try statement.bind(1, provider)
                index = 2
            }
            try statement.bind(index, Int64(limit))
            return try Self.rows(statement)
        }
    }

    /// The newest `limit` events of `provider` whose payload member `field` equals `value` as text, oldest first.
    func events(provider: String, whereField field: String, equals value: String, limit: Int) async throws -> [StoredEvent] {
        try EventReadError.checkField(field)
        return try await reader.read { connection in
            let statement = try connection.prepare(
                """
                SELECT * FROM (
                    SELECT id, provider, type, external_id, received_at, occurred_at, payload FROM events
                    WHERE provider = ? AND CAST(json_extract(payload, ?) AS TEXT) = ? ORDER BY id DESC LIMIT ?
                ) ORDER BY id
                """)
            defer { statement.reset() }
            try statement.bind(1, provider)
            try statement.bind(2, "$.\"\(field)\"")
            try statement.bind(3, value)
            try statement.bind(4, Int64(limit))
            return try Self.rows(statement)
        }
    }

    private static func rows(_ statement: Statement) throws -> [StoredEvent] {
        var events: [StoredEvent] = []
        while try statement.step() {
            events.append(
                StoredEvent(
                    id: statement.int64(0), provider: statement.text(1) ?? "", type: statement.text(2) ?? "",
                    externalID: statement.text(3) ?? "", receivedAt: statement.int64(4),
                    occurredAt: statement.isNull(5) ? nil : statement.double(5), payload: statement.text(6) ?? "null"))
        }
        return events
    }

    /// Stops taking appends, commits what is queued, and waits for the writer to finish.
    func close() {
        let alreadyClosed = queue.withLock { state in
            defer { state.closed = true }
            return state.closed
        }
        guard !alreadyClosed else { return }
        wakeWriter.signal()
        writerFinished.wait()
        syncer.close()
        checkpointer.close()
        lock.release()
    }

    // MARK: - Writer thread

    private func runWriter(_ connection: SQLiteConnection) {
        while true {
            wakeWriter.wait()
            while true {
                syncer.waitUntilTaken()  // At most one commit ahead of the disk; meanwhile the next batch gathers.
                let (batch, grouped, work, closed) = queue.withLock { state in
                    let count = min(state.pending.count, maximumBatch)
                    let batch = Array(state.pending.prefix(count))
                    state.pending.removeFirst(count)
                    let (grouped, work) = (state.grouped, state.work)
                    state.grouped.removeAll()
                    state.work.removeAll()
                    return (batch, grouped, work, state.closed && state.pending.isEmpty)
                }
                if !batch.isEmpty || !grouped.isEmpty { commit(batch, grouped, on: connection) }
                for item in work { item(connection) }
                checkpointer.wrapIfDue(connection)
                if closed { return }
                if batch.isEmpty && grouped.isEmpty && work.isEmpty { break }
            }
        }
    }

    private func commit(_ batch: [PendingAppend], _ grouped: [GroupedWrite], on connection: SQLiteConnection) {
        let keys = eventKeys
        let receivedAt = Int64(Date().timeIntervalSince1970 * 1000)
        var deliveries = 0
        var answers: [@Sendable (Bool) -> Void] = []
        var storedKeys = Set<EventKeys.Key>()
        var latestEvent: Int64 = 0
        var mergeStep: EventKeys.MergeStep?
        do {
            let outcomes = try connection.transaction {
                for write in grouped {
                    answers.append(write.apply(connection))
                    // A statement that rolled back the whole transaction (INSERT OR ROLLBACK, an I/O error)
                    // must fail the batch: what follows would otherwise commit statement by statement,
                    // outside any transaction, while everyone is told it was not stored.
                    guard connection.isInTransaction else { throw EventLogError(description: "a write in the batch rolled back its transaction") }
                }
                let insert = try connection.prepare(
                    """
                    INSERT INTO events (provider, external_id, type, received_at, occurred_at, raw_body, payload)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """)
                let outcomes = try batch.map { append in
                    try zip(append.events, append.payloads).map { event, payload in
                        let key = EventKeys.Key(provider: append.provider, externalID: event.externalID)
                        if try storedKeys.contains(key) || keys.contains(key, on: connection) { return AppendOutcome.duplicate }
                        try insert.bind(1, append.provider)
                        try insert.bind(2, event.externalID)
                        try insert.bind(3, event.type)
                        try insert.bind(4, receivedAt)
                        try insert.bind(5, event.occurredAt)
                        try insert.run(borrowing: event.rawBody, at: 6, utf8Text: payload, at: 7)
                        let id = connection.lastInsertRowID
                        storedKeys.insert(key)
                        latestEvent = id
                        deliveries += try fanOut.insert(on: connection, eventID: id, provider: append.provider, type: event.type, now: receivedAt)
                        return .stored(id: id)
                    }
                }
                mergeStep = try keys.mergeStep(on: connection, pace: storedKeys.count)
                return outcomes
            }
            keys.committed(stored: storedKeys, latestEvent: latestEvent, step: mergeStep)
            // Everyone hears of the commit once it is on disk: the callers, and the readers of new events.
            let (createdDeliveries, storedEvents) = (deliveries > 0, outcomes.contains(where: { $0.contains { $0 != .duplicate } }))
            syncer.afterSync { [fanOut, committed, logger, answers] durable in
                guard durable else {
                    for answer in answers { answer(false) }
                    logger.error("event log commit not durable; the webhooks in it are not acknowledged", [("appends", "\(batch.count)")])
                    for append in batch { append.continuation.resume(throwing: EventLogError.notDurable) }
                    return
                }
                if createdDeliveries { fanOut.created.ring() }
                for (append, result) in zip(batch, outcomes) { append.continuation.resume(returning: result) }
                for answer in answers { answer(true) }
                if storedEvents { committed.ring() }
            }
        } catch {
            for answer in answers { answer(false) }
            for write in grouped.dropFirst(answers.count) { write.abandon() }
            logger.error("event log commit failed; the webhooks in it are not acknowledged", [("error", "\(error)"), ("appends", "\(batch.count)")])
            for append in batch { append.continuation.resume(throwing: EventLogError(description: "the event could not be stored")) }
        }
    }
}

/// Moves a writer connection into its thread; after `init` only that thread touches it.
final class WriterBox: @unchecked Sendable {  // Safe: handed over once, then confined to the writer thread.
    private let connection: SQLiteConnection
    private init(connection: SQLiteConnection) { self.connection = connection }

    /// Starts a thread named `name` that owns `connection` and runs `body` with it.
    static func startThread(named name: String, owning connection: SQLiteConnection, _ body: @escaping @Sendable (SQLiteConnection) -> Void) {
        let box = WriterBox(connection: connection)
        System.startThread(named: name) { body(box.connection) }
    }
}

/// A read-only connection confined to its own serial queue, so blocking SQLite calls never run on
/// the cooperative thread pool.
final class DatabaseReader: @unchecked Sendable {  // Safe: `connection` is only used on `queue`.
    private let connection: SQLiteConnection
    private let queue: DispatchQueue

    init(connection: SQLiteConnection, label: String) {
        self.connection = connection
        queue = DispatchQueue(label: label)
    }

    /// Runs `body` with the connection on the reader's queue.
    func read<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { [self] in
                continuation.resume(with: Result { try body(connection) })
            }
        }
    }
}
