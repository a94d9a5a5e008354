import PluginAPI

/// The `deliveries` and `delivery_attempts` tables: what each destination is owed, in event order.
///
/// Writes ride in the event log's group commit (``EventLog/groupedWrite(_:)``): an attempt's record
/// shares the fsync of the events committed with it instead of costing one of its own. Reads run on
/// a reader connection of their own, so they never hold up the writer. With at most one attempt in
/// flight per destination, at most one delivery write per destination joins any one commit.
/// A destination's deliveries go out strictly in id order, which is event order (rows are created
/// in the commit that stores the event; a replay appends new rows at the end).
final class DeliveryStore: Sendable {
    private let database: EventLog
    private let reader: DatabaseReader
    private let clock: any WallClock
    let retryPolicy: RetryPolicy
    let maxAttempts: Int
    /// Rings when deliveries are created (by an event commit or a replay).
    let created: Doorbell

    init(database: EventLog, reader: DatabaseReader, clock: any WallClock, retryPolicy: RetryPolicy, maxAttempts: Int, created: Doorbell) {
        self.database = database
        self.reader = reader
        self.clock = clock
        self.retryPolicy = retryPolicy
        self.maxAttempts = maxAttempts
        self.created = created
    }

    /// The current time in milliseconds.
    var now: Int64 { Int64((clock.now() * 1000).rounded(.down)) }

    /// The destination's oldest pending delivery with its event: the only one it may send now (it
    /// may not be due yet). Nil when nothing is pending.
    func head(destination: String) async throws -> DueDelivery? {
        try await reader.read { connection in
            let select = try connection.prepare(
                """
                SELECT d.id, d.attempts, d.next_attempt_at, e.id, e.provider, e.type, e.external_id, e.received_at, e.occurred_at, e.payload
                FROM deliveries d JOIN events e ON e.id = d.event_id
                WHERE d.destination = ? AND d.state = 'pending' ORDER BY d.id LIMIT 1
                """)
            defer { select.reset() }
            try select.bind(1, destination)
            guard try select.step() else { return nil }
            let event = StoredEvent(
                id: select.int64(3), provider: select.text(4) ?? "", type: select.text(5) ?? "", externalID: select.text(6) ?? "",
                receivedAt: select.int64(7), occurredAt: select.isNull(8) ? nil : select.double(8), payload: select.text(9) ?? "null")
            return DueDelivery(id: select.int64(0), attempts: Int(select.int64(1)), nextAttemptAt: select.int64(2), event: event)
        }
    }

    /// Records an attempt and moves the delivery on: `delivered` on success; otherwise `pending`
    /// again after a 429's Retry-After or else the backoff, or `dead` once attempts are used up.
    @discardableResult
    func record(_ deliveryID: Int64, attemptedAt: Int64, _ outcome: AttemptOutcome) async throws -> DeliveryState {
        let now = now
        let policy = retryPolicy
        return try await database.groupedWrite { connection in
            let current = try connection.prepare("SELECT attempts, max_attempts FROM deliveries WHERE id = ? AND state = 'pending'")
            try current.bind(1, deliveryID)
            guard try current.step() else {
                current.reset()
                throw SQLiteError(code: 0, message: "delivery \(deliveryID) is not pending", sql: nil)  // Only its own loop moves a pending delivery on.
            }
            let attempts = Int(current.int64(0)) + 1
            let maxAttempts = Int(current.int64(1))
            current.reset()
            let insert = try connection.prepare(
                "INSERT INTO delivery_attempts (delivery_id, attempted_at, status, latency_ms, error) VALUES (?, ?, ?, ?, ?)")
            try insert.bind(1, deliveryID)
            try insert.bind(2, attemptedAt)
            try insert.bind(3, outcome.status.map(Int64.init))
            try insert.bind(4, outcome.latencyMilliseconds)
            try insert.bind(5, outcome.error)
            try insert.run()
            let state: DeliveryState = outcome.succeeded ? .delivered : attempts >= maxAttempts ? .dead : .pending
            let delay = outcome.retryAfter.map(policy.bounded) ?? policy.delay(afterAttempt: attempts)
            let update = try connection.prepare(
                """
                UPDATE deliveries SET state = ?1, attempts = ?2, next_attempt_at = ?3, last_error = coalesce(?4, last_error), updated_at = ?5
                WHERE id = ?6
                """)
            try update.bind(1, state.rawValue)
            try update.bind(2, Int64(attempts))
            try update.bind(3, state == .pending ? now + Int64((delay * 1000).rounded(.up)) : now)
            try update.bind(4, outcome.error)
            try update.bind(5, now)
            try update.bind(6, deliveryID)
            try update.run()
            return state
        }
    }

    /// Queues `eventID` again for each of `destinations` (new rows, after everything already owed);
    /// returns the new deliveries' ids.
    func replay(eventID: Int64, destinations: [String]) async throws -> [Int64] {
        let now = now
        let maxAttempts = maxAttempts
        defer { created.ring() }
        return try await database.groupedWrite { connection in
            _ = try DeliveryFanOut.insert(on: connection, eventID: eventID, destinations: destinations, maxAttempts: maxAttempts, now: now)
            let last = connection.lastInsertRowID
            return (0..<Int64(destinations.count)).map { last - Int64(destinations.count) + 1 + $0 }
        }
    }

    /// What ``retryDead(_:configured:)`` found.
    enum RetryOutcome: Sendable, Equatable {
        case retried(destination: String)
        case notFound
        /// Only a dead delivery can be retried; this one is `state`.
        case notDead(state: String)
        /// Its destination is no longer in plugins.json: nothing would send it.
        case destinationGone(String)
    }

    /// Makes dead delivery `id` pending again, its attempts reset and due now, when its destination is
    /// among `configured`. Being its destination's oldest pending delivery, it goes out next, with its
    /// `webhook-id` unchanged (so a receiver that did get an earlier attempt deduplicates it).
    func retryDead(_ id: Int64, configured: Set<String>) async throws -> RetryOutcome {
        let now = now
        let outcome = try await database.groupedWrite { connection -> RetryOutcome in
            let select = try connection.prepare("SELECT state, destination FROM deliveries WHERE id = ?")
            defer { select.reset() }
            try select.bind(1, id)
            guard try select.step() else { return .notFound }
            let (state, destination) = (select.text(0) ?? "", select.text(1) ?? "")
            guard state == DeliveryState.dead.rawValue else { return .notDead(state: state) }
            guard configured.contains(destination) else { return .destinationGone(destination) }
            let update = try connection.prepare(
                "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?1, updated_at = ?1 WHERE id = ?2")
            try update.bind(1, now)
            try update.bind(2, id)
            try update.run()
            return .retried(destination: destination)
        }
        if case .retried = outcome { created.ring() }
        return outcome
    }

    /// Makes every pending delivery of `destination` that waits for a retry due now (its address or
    /// key changed, so the wait earned by the old one no longer applies); returns how many.
    @discardableResult
    func retryNow(destination: String) async throws -> Int {
        let now = now
        return try await database.groupedWrite { connection in
            let update = try connection.prepare(
                "UPDATE deliveries SET next_attempt_at = ?1, updated_at = ?1 WHERE destination = ?2 AND state = 'pending' AND next_attempt_at > ?1")
            try update.bind(1, now)
            try update.bind(2, destination)
            try update.run()
            return connection.changes
        }
    }

    /// Deletes delivered deliveries last updated `age` seconds ago or earlier, with their attempts
    /// (ON DELETE CASCADE; dead and pending ones stay), `batch` per grouped write. Returns how many.
    @discardableResult
    func deleteDelivered(olderThan age: Double, batch: Int = 500) async throws -> Int {
        try await database.deleteInBatches(from: "deliveries", where: "state = 'delivered' AND updated_at <= ?1", cutoff: now - Int64(age * 1000), batch: batch)
    }

    /// Deliveries, oldest first, optionally of one destination and state, each with its attempts.
    func deliveries(destination: String?, state: DeliveryState?, limit: Int) async throws -> [DeliveryRecord] {
        try await reader.read { connection in
            let select = try connection.prepare(
                """
                SELECT id, destination, event_id, state, attempts, max_attempts, next_attempt_at, last_error, created_at, updated_at
                FROM deliveries WHERE (?1 IS NULL OR destination = ?1) AND (?2 IS NULL OR state = ?2) ORDER BY id LIMIT ?3
                """)
            try select.bind(1, destination)
            try select.bind(2, state?.rawValue)
            try select.bind(3, Int64(limit))
            var records: [DeliveryRecord] = []
            while try select.step() {
                records.append(
                    DeliveryRecord(
                        id: select.int64(0), destination: select.text(1) ?? "", eventID: select.int64(2),
                        state: DeliveryState(rawValue: select.text(3) ?? "") ?? .dead, attempts: Int(select.int64(4)), maxAttempts: Int(select.int64(5)),
                        nextAttemptAt: select.int64(6), lastError: select.isNull(7) ? nil : select.text(7), createdAt: select.int64(8), updatedAt: select.int64(9)))
            }
            select.reset()
            let attempts = try connection.prepare(
                "SELECT attempted_at, status, latency_ms, error FROM delivery_attempts WHERE delivery_id = ? ORDER BY id")
            for index in records.indices {
                attempts.reset()
                try attempts.bind(1, records[index].id)
                while try attempts.step() {
                    records[index].attemptLog.append(
                        DeliveryAttempt(
                            attemptedAt: attempts.int64(0), status: attempts.isNull(1) ? nil : Int(attempts.int64(1)),
                            latencyMilliseconds: attempts.int64(2), error: attempts.isNull(3) ? nil : attempts.text(3)))
                }
            }
            attempts.reset()
            return records
        }
    }

    /// The provider and type of event `id`, nil when there is no such event.
    func eventKind(_ id: Int64) async throws -> (provider: String, type: String)? {
        try await reader.read { connection in
            let select = try connection.prepare("SELECT provider, type FROM events WHERE id = ?")
            defer { select.reset() }
            try select.bind(1, id)
            guard try select.step() else { return nil }
            return (select.text(0) ?? "", select.text(1) ?? "")
        }
    }
}
