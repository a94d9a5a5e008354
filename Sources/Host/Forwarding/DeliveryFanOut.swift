/// Creates the delivery rows for a newly stored event inside the event log's commit transaction, so
/// an acknowledged event can never miss its deliveries (and a rolled-back one never has any).
struct DeliveryFanOut: Sendable {
    /// The destinations in force when the event is stored.
    let table: ForwardingTable
    let maxAttempts: Int
    /// Rung after a commit that created deliveries, so the delivery worker looks at once.
    let created: Doorbell

    /// A fan-out to no destination.
    static func none() -> DeliveryFanOut { DeliveryFanOut(table: ForwardingTable([]), maxAttempts: 1, created: Doorbell()) }

    /// Inserts one pending delivery per destination that takes `provider`'s `type`, due at `now` (ms);
    /// returns how many it inserted.
    func insert(on connection: SQLiteConnection, eventID: Int64, provider: String, type: String, now: Int64) throws -> Int {
        let matching = table.destinations.filter { $0.matches(provider: provider, type: type) }
        return try Self.insert(on: connection, eventID: eventID, destinations: matching.map(\.id), maxAttempts: maxAttempts, now: now)
    }

    /// Inserts one pending delivery of `eventID` per destination id, in order; returns how many.
    static func insert(on connection: SQLiteConnection, eventID: Int64, destinations: [String], maxAttempts: Int, now: Int64) throws -> Int {
        guard !destinations.isEmpty else { return 0 }
        let statement = try connection.prepare(
            """
            INSERT INTO deliveries (destination, event_id, state, attempts, max_attempts, next_attempt_at, created_at, updated_at)
            VALUES (?1, ?2, 'pending', 0, ?3, ?4, ?4, ?4)
            """)
        for destination in destinations {
            statement.reset()
            try statement.bind(1, destination)
            try statement.bind(2, eventID)
            try statement.bind(3, Int64(max(maxAttempts, 1)))
            try statement.bind(4, now)
            try statement.run()
        }
        return destinations.count
    }
}
