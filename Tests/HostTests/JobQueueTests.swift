import Foundation
import PluginAPI
import PluginTesting
import Testing

@testable import Host

/// A job queue on a fresh database in a temp dir, with a manual clock and no jitter.
final class JobQueueFixture: Sendable {
    let directory: URL
    let clock: ManualClock
    let log: EventLog
    let queue: JobQueue

    init(directory: URL? = nil, clock: ManualClock = ManualClock(1_700_000_000), random: Double = 0) throws {
        self.directory = try directory ?? TemporaryDirectory.make()
        self.clock = clock
        log = try EventLog(dataDirectory: self.directory, logger: .disabled)
        queue = JobQueue(database: log, clock: clock, retryPolicy: RetryPolicy(base: 10, cap: 3600, random: { random }))
    }

    /// Closes the database, leaving the files (to reopen them).
    func close() { log.close() }

    func remove() {
        log.close()
        try? FileManager.default.removeItem(at: directory)  // Best effort cleanup.
    }
}

@Suite("Job queue")
struct JobQueueTests {
    @Test("Enqueue, claim with a lease, complete")
    func enqueueClaimComplete() async throws {
        let fixture = try JobQueueFixture()
        defer { fixture.remove() }
        let queue = fixture.queue
        let id = try await queue.enqueue(kind: "send", payload: ["to": "x"])
        let claimed = try await queue.claim(owner: "w1", limit: 10, lease: 30)
        #expect(claimed.map(\.id) == [id])
        #expect(claimed[0].state == .running && claimed[0].attempts == 1 && claimed[0].payload == ["to": "x"])
        #expect(claimed[0].leaseOwner == "w1" && claimed[0].leaseExpiresAt == queue.now + 30_000)
        #expect(try await queue.claim(owner: "w2", limit: 10, lease: 30).isEmpty)
        #expect(try await queue.finish(id, owner: "w1", .succeeded) == .succeeded)
        let done = try #require(try await queue.job(id))
        #expect(done.state == .succeeded && done.leaseOwner == nil)
        #expect(try await queue.finish(id, owner: "w1", .succeeded) == .leaseLost)
    }

    @Test("Due jobs are claimed by priority, then due time; future and other kinds wait")
    func claimOrder() async throws {
        let fixture = try JobQueueFixture()
        defer { fixture.remove() }
        let queue = fixture.queue
        let now = fixture.clock.now()
        let low = try await queue.enqueue(kind: "a", payload: nil, runAt: now - 10)
        let high = try await queue.enqueue(kind: "a", payload: nil, priority: 5)
        let later = try await queue.enqueue(kind: "a", payload: nil, runAt: now + 60)
        let other = try await queue.enqueue(kind: "b", payload: nil)
        #expect(try await queue.claim(owner: "w", limit: 10, lease: 3600, kinds: ["a"]).map(\.id) == [high, low])
        fixture.clock.advance(by: 60)
        #expect(try await queue.claim(owner: "w", limit: 10, lease: 30, kinds: ["a"]).map(\.id) == [later])
        #expect(try await queue.claim(owner: "w", limit: 10, lease: 30).map(\.id) == [other])
    }

    @Test("Failures retry with exponential backoff, then the job is dead with its last error")
    func backoffThenDead() async throws {
        let fixture = try JobQueueFixture(random: 0)  // jitter factor 0.5
        defer { fixture.remove() }
        let queue = fixture.queue
        let id = try await queue.enqueue(kind: "k", payload: nil, maxAttempts: 3)
        var delays: [Int64] = []
        for attempt in 1...3 {
            let claimed = try await queue.claim(owner: "w", limit: 1, lease: 30)
            #expect(claimed.map(\.attempts) == [attempt])
            let outcome = try await queue.finish(id, owner: "w", .failed("boom \(attempt)"))
            if case .retrying(let at) = outcome {
                delays.append(at - queue.now)
                // Not due a millisecond early.
                fixture.clock.set(Double(at - 1) / 1000)
                #expect(try await queue.claim(owner: "w", limit: 1, lease: 30).isEmpty)
                fixture.clock.set(Double(at) / 1000)
            } else {
                #expect(outcome == .dead)
            }
        }
        #expect(delays == [5_000, 10_000])
        let dead = try #require(try await queue.job(id))
        #expect(dead.state == .dead && dead.lastError == "boom 3" && dead.attempts == 3)
        #expect(try await queue.claim(owner: "w", limit: 1, lease: 30).isEmpty)
    }

    @Test("Backoff grows exponentially, is capped, and jitter scales it within [0.5, 1)")
    func backoffPolicy() {
        let half = RetryPolicy(base: 10, cap: 100, random: { 0 })
        #expect((1...6).map { half.delay(afterAttempt: $0) } == [5, 10, 20, 40, 50, 50])
        let most = RetryPolicy(base: 10, cap: 100, random: { 0.999 })
        #expect(most.delay(afterAttempt: 2) < 20 && most.delay(afterAttempt: 2) > 19.9)
    }

    @Test("A fatal error sends the job straight to dead")
    func fatalIsDead() async throws {
        let fixture = try JobQueueFixture()
        defer { fixture.remove() }
        let id = try await fixture.queue.enqueue(kind: "k", payload: nil, maxAttempts: 10)
        _ = try await fixture.queue.claim(owner: "w", limit: 1, lease: 30)
        #expect(try await fixture.queue.finish(id, owner: "w", .fatal("invalid channel")) == .dead)
        let job = try #require(try await fixture.queue.job(id))
        #expect(job.state == .dead && job.lastError == "invalid channel" && job.attempts == 1)
    }

    @Test("retry(after:) waits exactly as long as asked (429 Retry-After), not the backoff")
    func retryAfterHonoured() async throws {
        let fixture = try JobQueueFixture()
        defer { fixture.remove() }
        let queue = fixture.queue
        let id = try await queue.enqueue(kind: "k", payload: nil)
        _ = try await queue.claim(owner: "w", limit: 1, lease: 30)
        let start = queue.now
        #expect(try await queue.finish(id, owner: "w", .retry(after: 120, reason: "429")) == .retrying(at: start + 120_000))
        fixture.clock.advance(by: 119.999)
        #expect(try await queue.claim(owner: "w", limit: 1, lease: 30).isEmpty)
        fixture.clock.advance(by: 0.001)
        #expect(try await queue.claim(owner: "w", limit: 1, lease: 30).map(\.id) == [id])
        #expect(try await queue.job(id)?.lastError == "429")
    }

    @Test("retry(after:) is bounded by the retry cap: a huge, infinite or NaN wait neither traps nor parks the job for years")
    func retryAfterBounded() async throws {
        let fixture = try JobQueueFixture()
        defer { fixture.remove() }
        let queue = fixture.queue
        for (after, expected) in [(1e300, Int64(3_600_000)), (.infinity, 3_600_000), (-5, 0), (.nan, 0)] as [(Double, Int64)] {
            let id = try await queue.enqueue(kind: "k", payload: nil)
            _ = try await queue.claim(owner: "w", limit: 1, lease: 30)
            #expect(try await queue.finish(id, owner: "w", .retry(after: after, reason: "429")) == .retrying(at: queue.now + expected), "\(after)")
            #expect(try await queue.cancel(id))
        }
    }

    @Test("Cancel stops a queued job and voids a running job's result")
    func cancel() async throws {
        let fixture = try JobQueueFixture()
        defer { fixture.remove() }
        let queue = fixture.queue
        let queued = try await queue.enqueue(kind: "k", payload: nil, runAt: fixture.clock.now() + 60)
        let running = try await queue.enqueue(kind: "k", payload: nil)
        _ = try await queue.claim(owner: "w", limit: 1, lease: 30)
        #expect(try await queue.cancel(queued))
        #expect(try await queue.cancel(running))
        #expect(try await queue.finish(running, owner: "w", .succeeded) == .leaseLost)
        fixture.clock.advance(by: 3600)
        #expect(try await queue.claim(owner: "w", limit: 10, lease: 30).isEmpty)
        #expect(try await queue.jobs(state: .cancelled).map(\.id) == [queued, running])
        #expect(try await !queue.cancel(queued))
    }

    @Test("A dead job can be retried by hand, with its attempts reset")
    func manualRetryOfDead() async throws {
        let fixture = try JobQueueFixture()
        defer { fixture.remove() }
        let queue = fixture.queue
        let id = try await queue.enqueue(kind: "k", payload: nil, maxAttempts: 1)
        #expect(try await !queue.retryDead(id))
        _ = try await queue.claim(owner: "w", limit: 1, lease: 30)
        #expect(try await queue.finish(id, owner: "w", .failed("down")) == .dead)
        #expect(try await queue.retryDead(id))
        let again = try await queue.claim(owner: "w", limit: 1, lease: 30)
        #expect(again.map(\.id) == [id] && again[0].attempts == 1)
        #expect(try await queue.finish(id, owner: "w", .succeeded) == .succeeded)
    }

    @Test("An idempotency key returns the existing job and never queues a second")
    func idempotencyKey() async throws {
        let fixture = try JobQueueFixture()
        defer { fixture.remove() }
        let queue = fixture.queue
        let first = try await queue.enqueue(kind: "k", payload: ["n": 1], idempotencyKey: "order-42")
        let second = try await queue.enqueue(kind: "k", payload: ["n": 2], idempotencyKey: "order-42")
        let unkeyed = try await queue.enqueue(kind: "k", payload: nil)
        #expect(first == second && unkeyed != first)
        #expect(try await queue.jobs().count == 2)
        #expect(try await queue.job(first)?.payload == ["n": 1])
    }

    @Test("A job whose lease expired is claimed again by another worker; the old worker's result is ignored")
    func expiredLeaseReclaimed() async throws {
        let fixture = try JobQueueFixture()
        defer { fixture.remove() }
        let queue = fixture.queue
        let id = try await queue.enqueue(kind: "k", payload: nil)
        _ = try await queue.claim(owner: "dead-worker", limit: 1, lease: 30)
        fixture.clock.advance(by: 29.999)
        #expect(try await queue.claim(owner: "w2", limit: 1, lease: 30).isEmpty)
        fixture.clock.advance(by: 0.001)
        let reclaimed = try await queue.claim(owner: "w2", limit: 1, lease: 30)
        #expect(reclaimed.map(\.id) == [id] && reclaimed[0].attempts == 2 && reclaimed[0].leaseOwner == "w2")
        #expect(try await queue.finish(id, owner: "dead-worker", .succeeded) == .leaseLost)
        #expect(try await queue.finish(id, owner: "w2", .succeeded) == .succeeded)
    }

    @Test("A job that keeps losing its worker goes dead once its attempts are used up")
    func expiredLeaseExhausted() async throws {
        let fixture = try JobQueueFixture()
        defer { fixture.remove() }
        let queue = fixture.queue
        let id = try await queue.enqueue(kind: "k", payload: nil, maxAttempts: 1)
        _ = try await queue.claim(owner: "w1", limit: 1, lease: 30)
        fixture.clock.advance(by: 30)
        #expect(try await queue.claim(owner: "w2", limit: 1, lease: 30).isEmpty)
        let job = try #require(try await queue.job(id))
        #expect(job.state == .dead && job.lastError?.contains("lease expired") == true)
    }

    @Test("Release gives a running job back without counting the attempt")
    func release() async throws {
        let fixture = try JobQueueFixture()
        defer { fixture.remove() }
        let queue = fixture.queue
        let id = try await queue.enqueue(kind: "k", payload: nil)
        _ = try await queue.claim(owner: "w", limit: 1, lease: 30)
        #expect(try await queue.release(id, owner: "w"))
        #expect(try await !queue.release(id, owner: "w"))
        let again = try await queue.claim(owner: "w", limit: 1, lease: 30)
        #expect(again.map(\.attempts) == [1])
    }

    @Test("Finished jobs past retention are deleted in batches; dead and queued jobs stay")
    func retention() async throws {
        let fixture = try JobQueueFixture()
        defer { fixture.remove() }
        let queue = fixture.queue
        var finished: [Int64] = []
        for n in 0..<5 { finished.append(try await queue.enqueue(kind: "k", payload: ["n": .number(Double(n))])) }
        let dead = try await queue.enqueue(kind: "k", payload: nil, priority: 1)
        for job in try await queue.claim(owner: "w", limit: 10, lease: 60) {
            try await queue.finish(job.id, owner: "w", job.id == dead ? .fatal("no") : .succeeded)
        }
        let cancelled = try await queue.enqueue(kind: "k", payload: nil, runAt: fixture.clock.now() + 60)
        try await queue.cancel(cancelled)
        fixture.clock.advance(by: 86_400)
        let fresh = try await queue.enqueue(kind: "k", payload: nil)
        #expect(try await queue.deleteFinished(olderThan: 86_400.001) == 0)
        #expect(try await queue.deleteFinished(olderThan: 86_400, batch: 2) == 6)
        #expect(try await queue.jobs().map(\.id) == [dead, fresh])
    }

    @Test("Jobs survive a crash: queued and half-run jobs all complete after the database is reopened")
    func crashRecovery() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }  // Best effort cleanup.
        let clock = ManualClock(1_700_000_000)
        let before = try JobQueueFixture(directory: directory, clock: clock)
        var ids: [Int64] = []
        for n in 0..<10 { ids.append(try await before.queue.enqueue(kind: "k", payload: ["n": .number(Double(n))])) }
        // A worker claims four and dies without finishing them; one finished before the crash.
        let claimed = try await before.queue.claim(owner: "crashed", limit: 4, lease: 60)
        #expect(try await before.queue.finish(claimed[0].id, owner: "crashed", .succeeded) == .succeeded)
        before.close()  // The queue object is abandoned; only the file remains.

        clock.advance(by: 61)
        let after = try JobQueueFixture(directory: directory, clock: clock)
        defer { after.close() }
        var finished: Set<Int64> = [claimed[0].id]
        while true {
            let batch = try await after.queue.claim(owner: "restarted", limit: 3, lease: 60)
            if batch.isEmpty { break }
            for job in batch {
                #expect(try await after.queue.finish(job.id, owner: "restarted", .succeeded) == .succeeded)
                #expect(finished.insert(job.id).inserted)
            }
        }
        #expect(finished == Set(ids))
        #expect(try await after.queue.jobs(state: .succeeded, limit: 100).count == 10)
    }
}
