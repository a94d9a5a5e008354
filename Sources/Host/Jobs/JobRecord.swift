import PluginAPI

/// Where a job is in its life: `queued` → `running` → `succeeded`, back to `queued` for a retry, or
/// `dead` (attempts used up, or a fatal error) and `cancelled`.
enum JobState: String, Sendable, CaseIterable {
    case queued, running, succeeded, dead, cancelled
}

/// A row of the `jobs` table. Times are milliseconds since 1970.
struct JobRecord: Sendable {
    let id: Int64
    let kind: String
    let payload: JSONValue
    let state: JobState
    let priority: Int
    let runAt: Int64
    /// Claims so far, including the one running now.
    let attempts: Int
    let maxAttempts: Int
    let idempotencyKey: String?
    let leaseOwner: String?
    let leaseExpiresAt: Int64?
    let lastError: String?
    let createdAt: Int64
    let updatedAt: Int64
}

/// How a claimed job ended, as the worker reports it.
enum JobCompletion: Sendable {
    case succeeded
    /// An error worth retrying: backoff with jitter, `dead` once attempts are used up.
    case failed(String)
    /// Retry no sooner than `after` seconds (a 429's Retry-After); still counts as an attempt.
    case retry(after: Double, reason: String)
    /// Never retry: straight to `dead`.
    case fatal(String)
}

/// What the queue did with a completion.
enum JobFinish: Sendable, Equatable {
    case succeeded
    /// Queued again to run at this time (ms).
    case retrying(at: Int64)
    case dead
    /// The job is no longer this worker's (its lease expired and another worker claimed it, it was
    /// cancelled, or it was released): the completion is ignored.
    case leaseLost
}

/// Exponential backoff with jitter: attempt `n` waits `min(cap, base · 2^(n-1))`, scaled by a random
/// factor in [0.5, 1) so many jobs failing together do not retry together.
struct RetryPolicy: Sendable {
    var base: Double = 10
    var cap: Double = 3600
    /// A number in [0, 1); tests inject a fixed one.
    var random: @Sendable () -> Double = { Double.random(in: 0..<1) }

    /// Seconds to wait after the `attempt`-th failure (1-based).
    func delay(afterAttempt attempt: Int) -> Double {
        let exponential = min(cap, base * Double(1 << min(max(attempt - 1, 0), 30)))
        return exponential * (0.5 + min(max(random(), 0), 1) / 2)
    }

    /// A wait someone else asked for (a handler's `.retry(after:)`, a `Retry-After` header), clamped to
    /// `0...cap`: a huge or non-finite value can neither overflow the due time nor park the work for years.
    func bounded(_ seconds: Double) -> Double {
        seconds.isNaN ? 0 : min(max(seconds, 0), cap)
    }
}
