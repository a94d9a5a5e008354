import PluginAPI

/// The job scheduler a provider gets: the shared queue, limited to the kinds that provider declared
/// (with each kind's max attempts).
struct ProviderJobScheduler: JobScheduler {
    let provider: String
    let kinds: [String: JobKind]
    let queue: JobQueue

    init(provider: String, kinds: [JobKind], queue: JobQueue) {
        self.provider = provider
        self.kinds = Dictionary(kinds.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.queue = queue
    }

    func enqueue(_ kind: String, payload: JSONValue, runAt: Double?, priority: Int, idempotencyKey: String?) async throws -> Int64 {
        guard let declared = kinds[kind] else {
            throw ProviderSetupError("provider '\(provider)' did not declare the job kind '\(kind)'")
        }
        // A due time the queue's millisecond column cannot hold would trap.
        if let runAt, !JobTime.range.contains(runAt) {
            throw ProviderSetupError("provider '\(provider)' asked for job kind '\(kind)' to run at \(runAt), not a time from 1970 to 9999")
        }
        return try await queue.enqueue(
            kind: kind, payload: payload, runAt: runAt, priority: priority, idempotencyKey: idempotencyKey, maxAttempts: declared.maxAttempts)
    }

    func job(_ id: Int64) async throws -> JobStatus? {
        guard let record = try await queue.job(id), kinds[record.kind] != nil else { return nil }
        return JobStatus(
            id: record.id, kind: record.kind, state: record.state.rawValue, payload: record.payload, runAt: Double(record.runAt) / 1000,
            attempts: record.attempts, maxAttempts: record.maxAttempts, lastError: record.lastError)
    }

    func cancel(_ id: Int64) async throws -> Bool {
        // Only this provider's kinds: another provider's job id reads as not cancellable.
        guard try await job(id) != nil else { return false }
        return try await queue.cancel(id)
    }
}

extension JobWorkers.Registration {
    /// Every job kind `types` declare; throws when a name is empty or declared twice, naming both providers.
    static func all(of types: [any Provider.Type]) throws(RouteConflictError) -> [JobWorkers.Registration] {
        var owners: [String: String] = [:]
        var registrations: [JobWorkers.Registration] = []
        for type in types {
            let id = type.descriptor.id
            for kind in type.descriptor.jobs {
                if kind.name.isEmpty { throw RouteConflictError(description: "provider '\(id)' declares a job kind without a name") }
                if let other = owners[kind.name] {
                    throw RouteConflictError(description: "job kind '\(kind.name)' is declared by both provider '\(other)' and provider '\(id)'")
                }
                owners[kind.name] = id
                registrations.append(JobWorkers.Registration(providerID: id, kind: kind))
            }
        }
        return registrations
    }
}
