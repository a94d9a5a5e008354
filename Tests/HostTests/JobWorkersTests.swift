import Foundation
import PluginAPI
import PluginTesting
import Synchronization
import Testing

@testable import Host

/// A provider whose one job kind does what its payload's `mode` says and counts its side effects.
final class JobTestProvider: Provider {
    static let descriptor = ProviderDescriptor(
        id: "jobtest", displayName: "Job test", routes: [],
        jobs: [
            .job("jobtest.run", maxAttempts: 3) { (provider: JobTestProvider, payload) in
                try await provider.run(payload)
            }
        ])

    /// Side effects by payload `key`.
    let effects = Mutex<[String: Int]>([:])
    /// Rings when a `block` job has started.
    let started = Doorbell()
    /// Rung by the test to let `block` jobs finish.
    let release = Doorbell()

    init(context: ProviderContext) throws {}
    init() {}

    func run(_ payload: JSONValue) async throws -> JobResult {
        switch payload["mode"]?.stringValue ?? "ok" {
        case "throw": throw ProviderSetupError("upstream 503")
        case "fatal": return .fatal("invalid channel")
        case "retry": return .retry(after: 30)
        case "block":
            started.ring()
            await release.wait(since: 0)
            if Task.isCancelled { throw CancellationError() }
        default: break
        }
        effects.withLock { $0[payload["key"]?.stringValue ?? "", default: 0] += 1 }
        return .success
    }

    func count(_ key: String) -> Int { effects.withLock { $0[key] ?? 0 } }
}

/// Workers over a fresh queue, running ``JobTestProvider``'s kind.
struct WorkerFixture {
    let jobs: JobQueueFixture
    let provider = JobTestProvider()
    let workers: JobWorkers

    init(concurrency: Int = 2, providerAvailable: Bool = true) throws {
        jobs = try JobQueueFixture()
        let provider = provider
        workers = JobWorkers(
            queue: jobs.queue, kinds: JobTestProvider.descriptor.jobs.map { .init(providerID: "jobtest", kind: $0) },
            provider: { _ in
                guard providerAvailable else { throw ProviderSetupError("missing secret") }
                return provider
            },
            configuration: .init(concurrency: concurrency, lease: 60, pollInterval: .seconds(1)), logger: .disabled, owner: "test-worker")
    }

    var queue: JobQueue { jobs.queue }
    var clock: ManualClock { jobs.clock }
}

@Suite("Job workers")
struct JobWorkersTests {
    @Test("Due jobs run their provider's handler with the payload, concurrently, and succeed")
    func runsHandlers() async throws {
        let fixture = try WorkerFixture(concurrency: 2)
        defer { fixture.jobs.remove() }
        for key in ["a", "b", "c"] { try await fixture.queue.enqueue(kind: "jobtest.run", payload: ["key": .string(key)]) }
        let later = try await fixture.queue.enqueue(kind: "jobtest.run", payload: ["key": "later"], runAt: fixture.clock.now() + 60)
        let foreign = try await fixture.queue.enqueue(kind: "other.kind", payload: nil)
        #expect(try await fixture.workers.runDueJobs() == 3)
        #expect(["a", "b", "c", "later"].map(fixture.provider.count) == [1, 1, 1, 0])
        #expect(try await fixture.queue.jobs(state: .succeeded).count == 3)
        #expect(try await fixture.queue.job(foreign)?.state == .queued)  // No handler here: left for a host that has one.
        fixture.clock.advance(by: 60)
        #expect(try await fixture.workers.runDueJobs() == 1)
        #expect(try await fixture.queue.job(later)?.state == .succeeded)
    }

    @Test("A throwing handler is retried with backoff, then dead after the kind's max attempts")
    func throwingHandlerDies() async throws {
        let fixture = try WorkerFixture()
        defer { fixture.jobs.remove() }
        let id = try await fixture.queue.enqueue(kind: "jobtest.run", payload: ["mode": "throw"], maxAttempts: 3)
        #expect(try await fixture.workers.runDueJobs() == 1)
        #expect(try await fixture.workers.runDueJobs() == 0)  // Backing off.
        fixture.clock.advance(by: 5)
        #expect(try await fixture.workers.runDueJobs() == 1)
        fixture.clock.advance(by: 10)
        #expect(try await fixture.workers.runDueJobs() == 1)
        let job = try #require(try await fixture.queue.job(id))
        #expect(job.state == .dead && job.attempts == 3 && job.lastError == "upstream 503")
    }

    @Test("fatal → dead at once; retry(after:) → queued for exactly that long")
    func fatalAndRetryAfter() async throws {
        let fixture = try WorkerFixture()
        defer { fixture.jobs.remove() }
        let fatal = try await fixture.queue.enqueue(kind: "jobtest.run", payload: ["mode": "fatal"])
        let retry = try await fixture.queue.enqueue(kind: "jobtest.run", payload: ["mode": "retry"])
        let start = fixture.queue.now
        #expect(try await fixture.workers.runDueJobs() == 2)
        let dead = try #require(try await fixture.queue.job(fatal))
        #expect(dead.state == .dead && dead.attempts == 1 && dead.lastError == "invalid channel")
        let waiting = try #require(try await fixture.queue.job(retry))
        #expect(waiting.state == .queued && waiting.runAt == start + 30_000)
    }

    @Test("An unavailable provider counts as a failed attempt, retried later")
    func unavailableProvider() async throws {
        let fixture = try WorkerFixture(providerAvailable: false)
        defer { fixture.jobs.remove() }
        let id = try await fixture.queue.enqueue(kind: "jobtest.run", payload: nil)
        #expect(try await fixture.workers.runDueJobs() == 1)
        let job = try #require(try await fixture.queue.job(id))
        #expect(job.state == .queued && job.lastError == "missing secret")
    }

    @Test("The same idempotency key queued twice runs the side effect once")
    func idempotentSideEffect() async throws {
        let fixture = try WorkerFixture()
        defer { fixture.jobs.remove() }
        for _ in 0..<3 { try await fixture.queue.enqueue(kind: "jobtest.run", payload: ["key": "invoice-7"], idempotencyKey: "invoice-7") }
        #expect(try await fixture.workers.runDueJobs() == 1)
        #expect(try await fixture.workers.runDueJobs() == 0)
        #expect(fixture.provider.count("invoice-7") == 1)
    }

    @Test("Started workers pick up a newly queued job; shutdown lets a running job finish")
    func shutdownWaitsForRunningJob() async throws {
        let fixture = try WorkerFixture()
        defer { fixture.jobs.remove() }
        let started = fixture.provider.started.generation
        fixture.workers.start()
        let id = try await fixture.queue.enqueue(kind: "jobtest.run", payload: ["mode": "block", "key": "k"])
        await fixture.provider.started.wait(since: started)
        let workers = fixture.workers
        async let stopped: Void = Blocking.runNonThrowing { workers.shutdown(deadline: 600) }
        fixture.provider.release.ring()
        await stopped
        #expect(try await fixture.queue.job(id)?.state == .succeeded)
        #expect(fixture.provider.count("k") == 1)
    }

    @Test("At the shutdown deadline, unfinished jobs go back to the queue without counting the attempt")
    func shutdownReleasesUnfinished() async throws {
        let fixture = try WorkerFixture()
        defer { fixture.jobs.remove() }
        let started = fixture.provider.started.generation
        fixture.workers.start()
        let id = try await fixture.queue.enqueue(kind: "jobtest.run", payload: ["mode": "block"])
        await fixture.provider.started.wait(since: started)
        let workers = fixture.workers
        await Blocking.runNonThrowing { workers.shutdown(deadline: 0) }
        let job = try #require(try await fixture.queue.job(id))
        #expect(job.state == .queued && job.attempts == 0 && job.leaseOwner == nil)
    }
    @Test("Renewed leases keep a long-running job from being claimed again; a stale owner cannot renew")
    func leaseRenewal() async throws {
        let fixture = try WorkerFixture()
        defer { fixture.jobs.remove() }
        let id = try await fixture.queue.enqueue(kind: "jobtest.run", payload: ["mode": "block"])
        let generation = fixture.provider.started.generation
        let workers = fixture.workers
        let running = Task { try await workers.runDueJobs() }
        await fixture.provider.started.wait(since: generation)
        fixture.clock.advance(by: 50)  // The lease is 60 s.
        try await workers.renewLeases()
        fixture.clock.advance(by: 50)
        #expect(try await fixture.queue.claim(owner: "other", limit: 1, lease: 60).isEmpty)
        #expect(try await fixture.queue.renew([id], owner: "other", lease: 60) == 0)
        fixture.provider.release.ring()
        #expect(try await running.value == 1)
        #expect(try await fixture.queue.job(id)?.state == .succeeded)
    }

    @Test(
        "A job whose lease expired while it still runs here (a clock jump, a stalled renewal) is not started a second time beside itself",
        .timeLimit(.minutes(1)))
    func expiredLeaseOfARunningJobIsNotClaimedByItsOwnProcess() async throws {
        let fixture = try WorkerFixture()
        defer { fixture.jobs.remove() }
        let id = try await fixture.queue.enqueue(kind: "jobtest.run", payload: ["mode": "block", "key": "k"])
        let generation = fixture.provider.started.generation
        let workers = fixture.workers
        let running = Task { try await workers.runDueJobs() }
        await fixture.provider.started.wait(since: generation)
        fixture.clock.advance(by: 61)  // Past the 60 s lease, not renewed.
        #expect(try await workers.runDueJobs() == 0, "the running job is not claimed again (without the exclusion this blocks in a second run)")
        #expect(try await fixture.queue.job(id)?.attempts == 1)
        fixture.provider.release.ring()
        #expect(try await running.value == 1)
        #expect(try await fixture.queue.job(id)?.state == .succeeded)
        #expect(fixture.provider.count("k") == 1)
    }

    @Test("Lease expiry: a second worker set completes every job a hung worker set held, queued or running; the hung workers' late results are ignored")
    func leaseExpiryTakeover() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }  // Best effort cleanup.
        let clock = ManualClock(1_700_000_000)
        let before = try JobQueueFixture(directory: directory, clock: clock)
        var ids: [Int64] = []
        for n in 0..<2 { ids.append(try await before.queue.enqueue(kind: "jobtest.run", payload: ["mode": "block", "key": .string("b\(n)")], priority: 9)) }
        for n in 0..<5 { ids.append(try await before.queue.enqueue(kind: "jobtest.run", payload: ["key": .string("q\(n)")])) }
        let stuck = JobTestProvider()
        let crashed = JobWorkers(
            queue: before.queue, kinds: JobTestProvider.descriptor.jobs.map { .init(providerID: "jobtest", kind: $0) }, provider: { _ in stuck },
            configuration: .init(concurrency: 2, lease: 60), logger: .disabled, owner: "crashed")
        let generation = stuck.started.generation
        let hung = Task { try await crashed.runDueJobs() }
        while stuck.started.generation < generation + 2 { await stuck.started.wait(since: stuck.started.generation) }
        #expect(try await before.queue.jobs(state: .running).count == 2)

        // Another worker set on the same database, a minute later: one process writes a data dir at a
        // time (DataDirectoryLock), so this is what takes over once leases expire. A real restart: JobsCrashTests.
        clock.advance(by: 61)
        let after = JobQueue(database: before.log, clock: clock, retryPolicy: RetryPolicy(base: 10, cap: 3600, random: { 0 }))
        let healthy = JobTestProvider()
        healthy.release.ring()  // Its block jobs do not block.
        let restarted = JobWorkers(
            queue: after, kinds: JobTestProvider.descriptor.jobs.map { .init(providerID: "jobtest", kind: $0) }, provider: { _ in healthy },
            configuration: .init(concurrency: 2, lease: 60), logger: .disabled, owner: "restarted")
        #expect(try await restarted.runDueJobs() == 7)
        #expect((0..<2).map { healthy.count("b\($0)") } + (0..<5).map { healthy.count("q\($0)") } == Array(repeating: 1, count: 7))
        let jobs = try await after.jobs(limit: 100)
        #expect(jobs.map(\.id) == ids && jobs.allSatisfy { $0.state == .succeeded })

        stuck.release.ring()
        #expect(try await hung.value == 2)  // Its results came back as lease lost: nothing changes.
        #expect(try await after.jobs(state: .succeeded, limit: 100).count == 7)
        before.close()
    }
}

@Suite("Doorbell")
struct DoorbellTests {
    @Test("A ring between reading the generation and waiting is not lost; cancellation ends a wait")
    func noLostWakeUp() async {
        let bell = Doorbell()
        let generation = bell.generation
        bell.ring()
        await bell.wait(since: generation)  // Returns at once.
        let waiter = Task { await bell.wait(since: bell.generation) }
        waiter.cancel()
        await waiter.value
    }
}
