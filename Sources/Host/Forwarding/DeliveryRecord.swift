import PluginAPI

/// Where a delivery is: `pending` (waiting its turn, or a retry), `delivered` (a 2xx), or `dead`
/// (attempts used up; the destination's later events go on without it).
enum DeliveryState: String, Sendable, CaseIterable {
    case pending, delivered, dead
}

/// One try at sending a delivery. Times are milliseconds since 1970.
struct DeliveryAttempt: Sendable {
    let attemptedAt: Int64
    /// The HTTP status, nil when no response came (connection refused, timeout).
    let status: Int?
    let latencyMilliseconds: Int64
    let error: String?
}

/// A row of the `deliveries` table with its attempts. Times are milliseconds since 1970.
struct DeliveryRecord: Sendable {
    let id: Int64
    let destination: String
    let eventID: Int64
    let state: DeliveryState
    let attempts: Int
    let maxAttempts: Int
    let nextAttemptAt: Int64
    let lastError: String?
    let createdAt: Int64
    let updatedAt: Int64
    var attemptLog: [DeliveryAttempt] = []

    /// As the admin API shows it; times in seconds since 1970.
    var json: JSONValue {
        func seconds(_ milliseconds: Int64) -> JSONValue { .number(Double(milliseconds) / 1000) }
        return [
            "id": .number(Double(id)), "destination": .string(destination), "event_id": .number(Double(eventID)), "state": .string(state.rawValue),
            "attempts": .number(Double(attempts)), "max_attempts": .number(Double(maxAttempts)), "next_attempt_at": seconds(nextAttemptAt),
            "last_error": lastError.map(JSONValue.string) ?? .null, "created_at": seconds(createdAt), "updated_at": seconds(updatedAt),
            "attempt_log": .array(
                attemptLog.map { attempt in
                    [
                        "attempted_at": seconds(attempt.attemptedAt), "status": attempt.status.map { .number(Double($0)) } ?? .null,
                        "latency_ms": .number(Double(attempt.latencyMilliseconds)), "error": attempt.error.map(JSONValue.string) ?? .null,
                    ]
                }),
        ]
    }
}

/// The next delivery a destination owes, with the event it carries.
struct DueDelivery: Sendable {
    let id: Int64
    let attempts: Int
    let nextAttemptAt: Int64
    let event: StoredEvent
}

/// How one attempt went, as the delivery worker reports it.
struct AttemptOutcome: Sendable {
    let status: Int?
    let latencyMilliseconds: Int64
    /// Nil for a 2xx.
    let error: String?
    /// A 429's or 503's `Retry-After` in seconds: the next attempt waits this long instead of the
    /// backoff (at most the retry cap).
    let retryAfter: Double?

    var succeeded: Bool { error == nil }
}
