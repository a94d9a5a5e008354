import Foundation
import PluginAPI

/// The durable job queue: rows in the `jobs` table of the hub's database.
///
/// Every statement runs on the event log's writer thread: the database has one writer connection for
/// events and jobs, so job writes never contend with appends for the write lock, and no SQLite call
/// runs on the cooperative pool or an event loop. Enqueue, claim, finish, renew and release ride in
/// the writer's group commit (``EventLog/groupedWrite(_:)``, each in its own savepoint), sharing one
/// fsync with the appends and other writes committed with them; the rest run as their own short
/// `BEGIN IMMEDIATE` transactions (``EventLog/write(_:)``).
///
/// A claim takes a lease (`lease_owner`, `lease_expires_at`); a job whose worker died before it
/// finished is claimed again once its lease has expired, so a job is run at least once. Times come
/// from the injected clock, so tests move time by hand.
final class JobQueue: Sendable {
    private let database: EventLog
    private let clock: any WallClock
    let retryPolicy: RetryPolicy
    /// Rings when a job is queued (or a dead one queued again), so idle workers look at once.
    let enqueued = Doorbell()

    init(database: EventLog, clock: any WallClock, retryPolicy: RetryPolicy = RetryPolicy()) {
        self.database = database
        self.clock = clock
        self.retryPolicy = retryPolicy
    }

    /// The current time in milliseconds.
    var now: Int64 { Int64((clock.now() * 1000).rounded(.down)) }

    /// Queues a job and returns its id. With an `idempotencyKey` already used, returns that job's id
    /// and queues nothing.
    /// - Parameters:
    ///   - runAt: seconds since 1970; nil runs it as soon as a worker is free.
    ///   - priority: higher runs first among due jobs.
    @discardableResult
    func enqueue(
        kind: String, payload: JSONValue, runAt: Double? = nil, priority: Int = 0, idempotencyKey: String? = nil, maxAttempts: Int = 5
    ) async throws -> Int64 {
        let now = now
        let runAt = runAt.map { Int64(($0 * 1000).rounded(.down)) } ?? now
        let payloadText = payload.jsonString
        defer { enqueued.ring() }
        return try await database.groupedWrite { connection in
            let insert = try connection.prepare(
                """
                INSERT INTO jobs (kind, payload, state, priority, run_at, attempts, max_attempts, idempotency_key, created_at, updated_at)
                VALUES (?, ?, 'queued', ?, ?, 0, ?, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING
                """)
            try insert.bind(1, kind)
            try insert.bind(2, payloadText)
            try insert.bind(3, Int64(priority))
            try insert.bind(4, runAt)
            try insert.bind(5, Int64(max(maxAttempts, 1)))
            try insert.bind(6, idempotencyKey)
            try insert.bind(7, now)
            try insert.bind(8, now)
            try insert.run()
            if connection.changes == 1 { return connection.lastInsertRowID }
            let existing = try connection.prepare("SELECT id FROM jobs WHERE idempotency_key = ?")
            defer { existing.reset() }
            try existing.bind(1, idempotencyKey)
            guard try existing.step() else { throw SQLiteError(code: 0, message: "idempotency key conflict without a row", sql: nil) }
            return existing.int64(0)
        }
    }

    /// Claims up to `limit` due jobs for `owner`, leasing each for `lease` seconds: first jobs whose
    /// lease expired (their worker died), then queued jobs by priority and due time. `kinds` limits
    /// the claim to kinds the caller can run (nil: any). `excluding` names jobs the caller is still
    /// running: an expired lease (the clock jumped, a renewal stalled) must not start a job a second
    /// time beside itself, since its finish, under the same owner, would be taken for the new claim's.
    /// An expired job that has used all its attempts goes to `dead` instead, so a job that kills its
    /// worker cannot loop forever.
    func claim(owner: String, limit: Int, lease: Double, kinds: Set<String>? = nil, excluding: Set<Int64> = []) async throws -> [JobRecord] {
        let now = now
        let expires = now + Int64(lease * 1000)
        let kindsJSON = kinds.map { JSONValue.array($0.sorted().map(JSONValue.string)).jsonString }
        let excludedJSON = JSONValue.array(excluding.sorted().map { .number(Double($0)) }).jsonString
        return try await database.groupedWrite { connection in
            var claimed: [JobRecord] = []
            for sql in [
                """
                SELECT id, attempts >= max_attempts FROM jobs WHERE state = 'running' AND lease_expires_at <= ?1
                AND (?2 IS NULL OR kind IN (SELECT value FROM json_each(?2))) AND id NOT IN (SELECT value FROM json_each(?4))
                ORDER BY lease_expires_at, id LIMIT ?3
                """,
                """
                SELECT id, 0 FROM jobs WHERE state = 'queued' AND run_at <= ?1
                AND (?2 IS NULL OR kind IN (SELECT value FROM json_each(?2))) AND id NOT IN (SELECT value FROM json_each(?4))
                ORDER BY priority DESC, run_at, id LIMIT ?3
                """,
            ] where claimed.count < limit {
                let select = try connection.prepare(sql)
                try select.bind(1, now)
                try select.bind(2, kindsJSON)
                try select.bind(3, Int64(limit - claimed.count))
                try select.bind(4, excludedJSON)
                var candidates: [(id: Int64, exhausted: Bool)] = []
                while try select.step() { candidates.append((select.int64(0), select.int64(1) != 0)) }
                select.reset()
                for candidate in candidates {
                    if candidate.exhausted {
                        try Self.update(
                            connection, candidate.id, state: .dead, now: now,
                            error: "its worker stopped before finishing (lease expired) and it has no attempts left")
                        continue
                    }
                    let lease = try connection.prepare(
                        "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = ?, lease_expires_at = ?, updated_at = ? WHERE id = ?")
                    try lease.bind(1, owner)
                    try lease.bind(2, expires)
                    try lease.bind(3, now)
                    try lease.bind(4, candidate.id)
                    try lease.run()
                    if let record = try Self.record(candidate.id, on: connection) { claimed.append(record) }
                }
            }
            return claimed
        }
    }

    /// Records how a job claimed by `owner` ended.
    @discardableResult
    func finish(_ id: Int64, owner: String, _ completion: JobCompletion) async throws -> JobFinish {
        let now = now
        let policy = retryPolicy
        return try await database.groupedWrite { connection in
            let current = try connection.prepare("SELECT attempts, max_attempts FROM jobs WHERE id = ? AND state = 'running' AND lease_owner = ?")
            try current.bind(1, id)
            try current.bind(2, owner)
            guard try current.step() else {
                current.reset()
                return .leaseLost
            }
            let (attempts, maxAttempts) = (Int(current.int64(0)), Int(current.int64(1)))
            current.reset()
            let retryDelay: Double
            let error: String
            switch completion {
            case .succeeded:
                try Self.update(connection, id, state: .succeeded, now: now, error: nil, keepError: true)
                return .succeeded
            case .fatal(let message):
                try Self.update(connection, id, state: .dead, now: now, error: message)
                return .dead
            case .failed(let message):
                (retryDelay, error) = (policy.delay(afterAttempt: attempts), message)
            case .retry(let after, let reason):
                (retryDelay, error) = (policy.bounded(after), reason)
            }
            if attempts >= maxAttempts {
                try Self.update(connection, id, state: .dead, now: now, error: error)
                return .dead
            }
            let runAt = now + Int64((retryDelay * 1000).rounded(.up))
            try Self.update(connection, id, state: .queued, now: now, error: error, runAt: runAt)
            return .retrying(at: runAt)
        }
    }

    /// Extends the leases `owner` holds on `ids` to `lease` seconds from now, so a long handler is not
    /// claimed again while it runs; returns how many it still held.
    @discardableResult
    func renew(_ ids: [Int64], owner: String, lease: Double) async throws -> Int {
        let now = now
        let idsJSON = JSONValue.array(ids.map { .number(Double($0)) }).jsonString
        return try await database.groupedWrite { connection in
            let statement = try connection.prepare(
                """
                UPDATE jobs SET lease_expires_at = ?, updated_at = ?
                WHERE id IN (SELECT value FROM json_each(?)) AND state = 'running' AND lease_owner = ?
                """)
            try statement.bind(1, now + Int64(lease * 1000))
            try statement.bind(2, now)
            try statement.bind(3, idsJSON)
            try statement.bind(4, owner)
            try statement.run()
            return connection.changes
        }
    }

    /// Gives a running job back to the queue without counting the attempt (graceful shutdown).
    @discardableResult
    func release(_ id: Int64, owner: String) async throws -> Bool {
        let now = now
        return try await database.groupedWrite { connection in
            let statement = try connection.prepare(
                """
                UPDATE jobs SET state = 'queued', attempts = max(attempts - 1, 0), run_at = ?, lease_owner = NULL,
                lease_expires_at = NULL, updated_at = ? WHERE id = ? AND state = 'running' AND lease_owner = ?
                """)
            try statement.bind(1, now)
            try statement.bind(2, now)
            try statement.bind(3, id)
            try statement.bind(4, owner)
            try statement.run()
            return connection.changes == 1
        }
    }

    /// Cancels a queued or running job; a running handler is not interrupted, but its result is ignored.
    @discardableResult
    func cancel(_ id: Int64) async throws -> Bool {
        try await transition(id, from: [.queued, .running], to: .cancelled, resetAttempts: false)
    }

    /// Queues a dead job again, by hand, with its attempts reset.
    @discardableResult
    func retryDead(_ id: Int64) async throws -> Bool {
        defer { enqueued.ring() }
        return try await transition(id, from: [.dead], to: .queued, resetAttempts: true)
    }

    /// Deletes succeeded and cancelled jobs last updated `age` seconds ago or earlier (dead jobs stay
    /// until an admin acts), `batch` per grouped write, so event appends on the shared writer never
    /// wait long. Returns how many it deleted.
    @discardableResult
    func deleteFinished(olderThan age: Double, batch: Int = 500) async throws -> Int {
        try await database.deleteInBatches(
            from: "jobs", where: "state IN ('succeeded', 'cancelled') AND updated_at <= ?1", cutoff: now - Int64(age * 1000), batch: batch)
    }

    /// The job `id`, if it exists.
    func job(_ id: Int64) async throws -> JobRecord? {
        try await database.write { connection in try Self.record(id, on: connection) }
    }

    /// Jobs in `state` (any when nil), oldest first.
    func jobs(state: JobState? = nil, limit: Int = 100) async throws -> [JobRecord] {
        try await database.write { connection in
            let select = try connection.prepare("SELECT \(Self.columns) FROM jobs WHERE ?1 IS NULL OR state = ?1 ORDER BY id LIMIT ?2")
            defer { select.reset() }
            try select.bind(1, state?.rawValue)
            try select.bind(2, Int64(limit))
            var records: [JobRecord] = []
            while try select.step() { records.append(try Self.decode(select)) }
            return records
        }
    }

    // MARK: - SQL

    private func transition(_ id: Int64, from: Set<JobState>, to: JobState, resetAttempts: Bool) async throws -> Bool {
        let now = now
        let fromJSON = JSONValue.array(from.map { .string($0.rawValue) }).jsonString
        return try await database.write { connection in
            try connection.transaction {
                let statement = try connection.prepare(
                    """
                    UPDATE jobs SET state = ?1, attempts = CASE WHEN ?2 THEN 0 ELSE attempts END, run_at = CASE WHEN ?2 THEN ?3 ELSE run_at END,
                    lease_owner = NULL, lease_expires_at = NULL, updated_at = ?3
                    WHERE id = ?4 AND state IN (SELECT value FROM json_each(?5))
                    """)
                try statement.bind(1, to.rawValue)
                try statement.bind(2, Int64(resetAttempts ? 1 : 0))
                try statement.bind(3, now)
                try statement.bind(4, id)
                try statement.bind(5, fromJSON)
                try statement.run()
                return connection.changes == 1
            }
        }
    }

    /// Moves `id` to `state`, dropping its lease; `runAt` reschedules it.
    private static func update(
        _ connection: SQLiteConnection, _ id: Int64, state: JobState, now: Int64, error: String?, keepError: Bool = false, runAt: Int64? = nil
    ) throws {
        let statement = try connection.prepare(
            """
            UPDATE jobs SET state = ?1, last_error = CASE WHEN ?2 THEN last_error ELSE ?3 END, run_at = coalesce(?4, run_at),
            lease_owner = NULL, lease_expires_at = NULL, updated_at = ?5 WHERE id = ?6
            """)
        try statement.bind(1, state.rawValue)
        try statement.bind(2, Int64(keepError ? 1 : 0))
        try statement.bind(3, error)
        try statement.bind(4, runAt)
        try statement.bind(5, now)
        try statement.bind(6, id)
        try statement.run()
    }

    private static let columns =
        "id, kind, payload, state, priority, run_at, attempts, max_attempts, idempotency_key, lease_owner, lease_expires_at, last_error, created_at, updated_at"

    private static func record(_ id: Int64, on connection: SQLiteConnection) throws -> JobRecord? {
        let select = try connection.prepare("SELECT \(columns) FROM jobs WHERE id = ?")
        defer { select.reset() }
        try select.bind(1, id)
        return try select.step() ? decode(select) : nil
    }

    private static func decode(_ row: Statement) throws -> JobRecord {
        JobRecord(
            id: row.int64(0), kind: row.text(1) ?? "", payload: try JSONValue.parse(Array((row.text(2) ?? "null").utf8)),
            state: JobState(rawValue: row.text(3) ?? "") ?? .dead, priority: Int(row.int64(4)), runAt: row.int64(5), attempts: Int(row.int64(6)),
            maxAttempts: Int(row.int64(7)), idempotencyKey: row.text(8), leaseOwner: row.text(9),
            leaseExpiresAt: row.isNull(10) ? nil : row.int64(10), lastError: row.text(11), createdAt: row.int64(12), updatedAt: row.int64(13))
    }
}
