import PluginAPI
import Synchronization

/// An in-memory job scheduler for provider tests: records what a provider queues (once per
/// idempotency key, as the hub does) and runs the queued jobs with the provider's own handlers.
///
/// ```swift
/// let jobs = RecordingJobScheduler(kinds: SlackProvider.descriptor.jobs)
/// let slack = try SlackProvider(context: context(jobs: jobs))
/// try await slack.handleSomething()
/// #expect(try await jobs.runQueued(on: slack) == [.success])
/// ```
public final class RecordingJobScheduler: JobScheduler {
    /// One queued job.
    public struct QueuedJob: Sendable {
        public let id: Int64
        public let kind: String
        public let payload: JSONValue
        public let runAt: Double?
        public let priority: Int
        public let idempotencyKey: String?
    }

    private struct State {
        var queued: [QueuedJob] = []
        var all: [QueuedJob] = []
        var cancelled: Set<Int64> = []
    }

    private let kinds: [String: JobKind]
    private let state = Mutex(State())

    /// A scheduler that accepts the given kinds (a provider's `descriptor.jobs`) and refuses others, as the hub does.
    public init(kinds: [JobKind]) {
        self.kinds = Dictionary(kinds.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    public func enqueue(_ kind: String, payload: JSONValue, runAt: Double?, priority: Int, idempotencyKey: String?) async throws -> Int64 {
        guard kinds[kind] != nil else { throw ProviderSetupError("the job kind '\(kind)' is not declared") }
        return state.withLock { state in
            if let idempotencyKey, let existing = state.all.first(where: { $0.idempotencyKey == idempotencyKey }) { return existing.id }
            let job = QueuedJob(
                id: Int64(state.all.count + 1), kind: kind, payload: payload, runAt: runAt, priority: priority, idempotencyKey: idempotencyKey)
            state.all.append(job)
            state.queued.append(job)
            return job.id
        }
    }

    /// A queued job reads as `queued` until it runs (then `succeeded`, whatever its handler returned),
    /// or `cancelled`.
    public func job(_ id: Int64) async throws -> JobStatus? {
        state.withLock { state in
            guard let job = state.all.first(where: { $0.id == id }) else { return nil }
            let status =
                state.cancelled.contains(id) ? "cancelled" : state.queued.contains(where: { $0.id == id }) ? "queued" : "succeeded"
            return JobStatus(
                id: id, kind: job.kind, state: status, payload: job.payload, runAt: job.runAt ?? 0, attempts: status == "succeeded" ? 1 : 0,
                maxAttempts: kinds[job.kind]?.maxAttempts ?? 5, lastError: nil)
        }
    }

    /// Cancels a job that has not run yet.
    public func cancel(_ id: Int64) async throws -> Bool {
        state.withLock { state in
            guard let index = state.queued.firstIndex(where: { $0.id == id }) else { return false }
            state.queued.remove(at: index)
            state.cancelled.insert(id)
            return true
        }
    }

    /// Every job queued so far (including ones already run), in order.
    public var jobs: [QueuedJob] { state.withLock { $0.all } }

    /// Runs the jobs queued and not yet run, in order, with their kinds' handlers; returns each
    /// handler's result (a thrown error propagates). Jobs queued by those handlers wait for the next call.
    public func runQueued(on provider: any Provider) async throws -> [JobResult] {
        let batch = state.withLock { state in
            defer { state.queued.removeAll() }
            return state.queued
        }
        var results: [JobResult] = []
        for job in batch {
            guard let kind = kinds[job.kind] else { continue }
            results.append(try await kind.handler(provider, job.payload))
        }
        return results
    }
}
