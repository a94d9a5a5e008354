import Dispatch
import Foundation
import PluginAPI
import Synchronization

/// Runs queued jobs with the handlers providers declared: `concurrency` slots, each claiming one due
/// job at a time under a lease and recording how it ended.
///
/// ``start()`` runs the slots until ``shutdown(deadline:)``, which stops claiming, lets running jobs
/// finish within the deadline and gives the rest back to the queue (their attempt not counted).
/// Tests call ``runDueJobs()`` instead, which runs everything due now and returns.
final class JobWorkers: Sendable {
    struct Configuration: Sendable {
        /// Jobs run at once.
        var concurrency = 4
        /// Seconds a claim lasts. Running jobs' leases are renewed every third of it, so only a job whose
        /// process died (or hung without yielding) is claimed again.
        var lease: Double = 300
        /// How often idle slots look for jobs that became due (retries, scheduled jobs).
        var pollInterval: Duration = .seconds(1)
        /// Seconds succeeded and cancelled jobs are kept (deleted at start and hourly); dead jobs are kept.
        var retainFinished: Double = 7 * 86_400
    }

    /// A declared job kind and the provider whose instance runs it.
    struct Registration: Sendable {
        let providerID: String
        let kind: JobKind
    }

    private struct State {
        var stopping = false
        var running: Set<Int64> = []
        var service: Task<Void, Never>?
    }

    let queue: JobQueue
    /// This process's lease owner name.
    let owner: String
    private let kinds: [String: Registration]
    /// Whether a provider's kinds are claimed now (plugins.json can be reloaded while the workers run).
    private let isEnabled: @Sendable (String) -> Bool
    private let provider: @Sendable (String) throws -> any Provider
    private let configuration: Configuration
    private let logger: Logger
    private let state = Mutex(State())
    private let stopped = DispatchSemaphore(value: 0)

    /// - Parameters:
    ///   - provider: the provider instance for an id (created on first use); throws when it is unavailable.
    ///   - isEnabled: asked at every claim; kinds of providers it rejects stay queued.
    init(
        queue: JobQueue, kinds: [Registration], provider: @escaping @Sendable (String) throws -> any Provider, configuration: Configuration = Configuration(),
        logger: Logger, owner: String = JobWorkers.defaultOwner(), isEnabled: @escaping @Sendable (String) -> Bool = { _ in true }
    ) {
        self.queue = queue
        self.kinds = Dictionary(kinds.map { ($0.kind.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.isEnabled = isEnabled
        self.provider = provider
        self.configuration = configuration
        self.logger = logger
        self.owner = owner
    }

    /// `host:pid:random`, unique per process run (the host name from `gethostname`, never a DNS lookup).
    static func defaultOwner() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        let host =
            gethostname(&buffer, buffer.count - 1) == 0
            ? String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "unknown-host"
        return "\(host):\(getpid()):\(UInt32.random(in: 0...UInt32.max))"
    }

    /// Runs every job due now (and any that become due while they run, such as a zero-delay retry),
    /// `concurrency` at a time, and returns how many runs it made. For tests and one-shot use.
    @discardableResult
    func runDueJobs() async throws -> Int {
        var runs = 0
        while true {
            let jobs = try await claim(limit: configuration.concurrency)
            if jobs.isEmpty { return runs }
            await withTaskGroup(of: Void.self) { group in
                for job in jobs { group.addTask { await self.execute(job) } }
            }
            runs += jobs.count
        }
    }

    /// Starts the slots (once; not after shutdown); they run until ``shutdown(deadline:)``.
    func start() {
        guard !kinds.isEmpty else { return }
        // Created under the lock, so a shutdown racing with start always sees the service.
        state.withLock { state in
            guard state.service == nil, !state.stopping else { return }
            state.service = Task { [self] in
                await withTaskGroup(of: Void.self) { service in
                    service.addTask { await self.renewWhileRunning() }
                    service.addTask { await self.deleteFinishedHourly() }
                    await withTaskGroup(of: Void.self) { slots in
                        for _ in 0..<max(configuration.concurrency, 1) { slots.addTask { await self.runSlot() } }
                    }
                    service.cancelAll()  // The slots are done: no lease left to renew.
                }
                stopped.signal()
            }
        }
    }

    /// Stops claiming, waits up to `deadline` seconds for running jobs, then gives the unfinished ones
    /// back to the queue and cancels their handlers. Blocks: call it from a plain thread, never from
    /// the cooperative pool. Call after ``start()``.
    func shutdown(deadline: Double) {
        let alreadyStopping = state.withLock { state in
            defer { state.stopping = true }
            return state.stopping
        }
        // Never started (or nothing to run): nothing to wait for.
        guard !alreadyStopping, state.withLock({ $0.service }) != nil else { return }
        queue.enqueued.ring()
        guard stopped.wait(timeout: .now() + deadline) == .timedOut else { return }
        let (unfinished, service) = state.withLock { ($0.running, $0.service) }
        logger.warning("jobs still running at the shutdown deadline are given back to the queue", [("jobs", "\(unfinished.count)")])
        let released = DispatchSemaphore(value: 0)
        Task { [self] in
            for id in unfinished { await giveBack(id) }
            released.signal()
        }
        released.wait()
        // After the release, so a handler that ends on cancellation cannot count an attempt first.
        service?.cancel()
    }

    // MARK: - Running

    private var isStopping: Bool { state.withLock { $0.stopping } }

    private func runSlot() async {
        while !isStopping && !Task.isCancelled {
            let generation = queue.enqueued.generation
            let jobs: [JobRecord]
            do { jobs = try await claim(limit: 1) } catch {
                logger.error("claiming jobs failed", [("error", "\(error)")])
                jobs = []
            }
            if let job = jobs.first, isStopping {
                // Shutdown began while the claim was on its way: give the job back rather than start it.
                await giveBack(job.id)
            } else if let job = jobs.first {
                await execute(job)
            } else if !isStopping {
                await queue.enqueued.wait(since: generation, timeout: configuration.pollInterval)
            }
        }
    }

    /// Renews the leases of the jobs running here (every third of the lease while started; tests call it directly).
    func renewLeases() async throws {
        let running = state.withLock { Array($0.running) }
        guard !running.isEmpty else { return }
        try await queue.renew(running, owner: owner, lease: configuration.lease)
    }

    /// Renews leases every third of the lease until cancelled.
    private func renewWhileRunning() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(Int64(configuration.lease * 1000 / 3)))  // Cancellation ends the sleep at once.
            if Task.isCancelled { return }
            do { try await renewLeases() } catch {
                logger.error("renewing job leases failed", [("error", "\(error)")])
            }
        }
    }

    /// Applies ``Configuration/retainFinished`` now and every hour until cancelled.
    private func deleteFinishedHourly() async {
        while !Task.isCancelled {
            do {
                let deleted = try await queue.deleteFinished(olderThan: configuration.retainFinished)
                if deleted > 0 { logger.info("deleted finished jobs past retention", [("jobs", "\(deleted)")]) }
            } catch {
                logger.error("deleting finished jobs failed", [("error", "\(error)")])
            }
            try? await Task.sleep(for: .seconds(3600))  // Cancellation ends the sleep at once.
        }
    }

    /// Releases a claimed job to the queue; on failure its lease expiry brings it back instead.
    private func giveBack(_ id: Int64) async {
        do { try await queue.release(id, owner: owner) } catch {
            logger.error("a job could not be given back; it runs again when its lease expires", [("job", "\(id)"), ("error", "\(error)")])
        }
        _ = state.withLock { $0.running.remove(id) }
    }

    private func claim(limit: Int) async throws -> [JobRecord] {
        let claimable = Set(kinds.values.filter { isEnabled($0.providerID) }.map(\.kind.name))
        let running = state.withLock { $0.running }
        let jobs = try await queue.claim(owner: owner, limit: limit, lease: configuration.lease, kinds: claimable, excluding: running)
        state.withLock { state in
            for job in jobs { state.running.insert(job.id) }
        }
        return jobs
    }

    /// Runs one claimed job's handler and records the outcome.
    private func execute(_ job: JobRecord) async {
        defer { _ = state.withLock { $0.running.remove(job.id) } }
        let completion: JobCompletion
        if let registration = kinds[job.kind] {
            do {
                let instance = try provider(registration.providerID)
                switch try await registration.kind.handler(instance, job.payload) {
                case .success: completion = .succeeded
                case .retry(let after): completion = .retry(after: after, reason: "the handler asked to retry after \(after) s")
                case .fatal(let reason): completion = .fatal(reason)
                }
            } catch {
                completion = .failed("\(error)")
            }
        } else {
            completion = .fatal("no handler for job kind '\(job.kind)'")
        }
        let metadata = [("job", "\(job.id)"), ("kind", job.kind), ("attempt", "\(job.attempts)")]
        do {
            switch try await queue.finish(job.id, owner: owner, completion) {
            case .succeeded: logger.debug("job succeeded", metadata)
            case .retrying(let at): logger.info("job will be retried", metadata + [("run_at_ms", "\(at)"), ("reason", Self.reason(completion))])
            case .dead: logger.error("job is dead", metadata + [("error", Self.reason(completion))])
            case .leaseLost: logger.warning("job finished after it was cancelled, released or claimed again; result ignored", metadata)
            }
        } catch {
            logger.error("a job's result could not be recorded; it runs again when its lease expires", metadata + [("error", "\(error)")])
        }
    }

    private static func reason(_ completion: JobCompletion) -> String {
        switch completion {
        case .succeeded: ""
        case .failed(let reason), .retry(_, let reason), .fatal(let reason): reason
        }
    }
}
