import Dispatch
import Foundation
import PluginAPI
import Synchronization

/// Sends stored events to their destinations, signed per Standard Webhooks: one loop (a lane) per
/// destination, so each has at most one request in flight and receives its events in order (a later
/// event waits until the one before is delivered or dead).
///
/// The lanes follow the ``ForwardingTable``: a reload that adds a destination starts its lane; one
/// that removes or modifies a destination ends its lane once any attempt in flight is recorded, and a
/// modified destination's new lane starts only then (never two attempts at once for one id). A removed
/// destination's pending deliveries stay pending, unsent, until a destination with its id returns.
///
/// Every attempt is recorded (status, latency, error). A 2xx delivers; a 429 waits its Retry-After;
/// any other answer or a transport failure is retried with exponential backoff and jitter until the
/// attempts are used up, then the delivery is dead and the destination moves on.
///
/// ``shutdown(deadline:)`` mirrors ``JobWorkers``: no new attempt starts, an attempt in flight may
/// finish within the deadline. An attempt cut off is not recorded, so it is sent again (same
/// `webhook-id`) at the next start: delivery is at least once, and receivers dedupe by `webhook-id`.
final class DeliveryWorker: Sendable {
    struct Configuration: Sendable {
        /// Attempts before a delivery is dead.
        var maxAttempts = 8
        /// Backoff after the first failure, doubling up to ``retryCap`` (both in seconds), with jitter.
        var retryBase: Double = 5
        var retryCap: Double = 3600
        /// Seconds one request may take.
        var timeout: Double = 10
        /// Seconds delivered deliveries (and their attempts) are kept; deleted at start and hourly.
        /// Dead and pending ones are kept.
        var retainDelivered: Double = 7 * 86_400

        var retryPolicy: RetryPolicy { RetryPolicy(base: retryBase, cap: retryCap) }
    }

    private struct State {
        var stopping = false
        var service: Task<Void, Never>?
        /// Every loop has returned (``stopped`` was signalled).
        var finished = false
    }

    let store: DeliveryStore
    let table: ForwardingTable
    private let http: any HTTPClient
    private let clock: any WallClock
    private let configuration: Configuration
    private let logger: Logger
    private let state = Mutex(State())
    /// Rung by shutdown, by the supervisor after the table changed, and by a lane that ended, so every
    /// loop waiting (for a retry time, for the table) looks again.
    private let recheck = Doorbell()
    /// Destination ids whose lane is running.
    private let lanes = Mutex<Set<String>>([])
    private let stopped = DispatchSemaphore(value: 0)

    init(store: DeliveryStore, table: ForwardingTable, http: any HTTPClient, clock: any WallClock, configuration: Configuration, logger: Logger) {
        self.store = store
        self.table = table
        self.http = http
        self.clock = clock
        self.configuration = configuration
        self.logger = logger
    }

    /// Starts the lanes and the hourly retention (once; not after shutdown).
    func start() {
        state.withLock { state in
            guard state.service == nil, !state.stopping else { return }
            state.service = Task { [self] in
                await withTaskGroup(of: Void.self) { group in
                    // Also with no destination: deliveries to removed ones age out too.
                    group.addTask { await self.deleteDeliveredHourly() }
                    await superviseLanes(in: &group)
                }
                self.state.withLock { $0.finished = true }
                stopped.signal()
            }
        }
    }

    /// Stops starting attempts (returns at once); ``shutdown(deadline:)`` then waits.
    func beginShutdown() {
        state.withLock { $0.stopping = true }
        recheck.ring()
        store.created.ring()
    }

    /// Stops starting attempts and waits up to `deadline` seconds for those in flight; then cancels
    /// the loops (an unrecorded attempt is sent again at the next start). Blocks: call it from a plain thread.
    func shutdown(deadline: Double) {
        beginShutdown()
        // Never started, or already stopped (by an earlier call that took the signal).
        guard let service = state.withLock({ $0.finished ? nil : $0.service }) else { return }
        guard stopped.wait(timeout: .now() + max(deadline, 0)) == .timedOut else { return }
        logger.warning("a delivery attempt was still in flight at the shutdown deadline; it is sent again at the next start")
        service.cancel()
        // The cancelled attempt records nothing (see ``attempt(_:to:)``); wait, briefly, for the lanes to
        // return, so none touches storage after the hub closes it.
        if stopped.wait(timeout: .now() + Self.cancellationGrace) == .timedOut {
            logger.warning("a delivery lane did not end within \(Self.cancellationGrace) s of its cancellation")
        }
    }

    /// Seconds shutdown waits for cancelled lanes to return.
    private static let cancellationGrace = 5.0

    private var isStopping: Bool { state.withLock { $0.stopping } }

    /// Keeps a lane running for every target in the table until shutdown. A lane is started for an id
    /// only while none runs for it: a modified destination's old lane ends first (it sees it is no
    /// longer current and rings ``recheck``), then its new one starts.
    private func superviseLanes(in group: inout TaskGroup<Void>) async {
        var started: [String: ForwardingTarget] = [:]  // The target each id's lane last ran with.
        var announced = table.changed.generation  // The table generation the lanes have been told of.
        while true {
            let tableGeneration = table.changed.generation
            if tableGeneration != announced {
                // The table changed (perhaps while this loop was busy): lanes look whether they are still current.
                announced = tableGeneration
                recheck.ring()
            }
            let recheckGeneration = recheck.generation  // After the ring above, before looking: no ring is missed.
            guard !isStopping && !Task.isCancelled else { return }
            for target in table.current where lanes.withLock({ $0.insert(target.destination.id).inserted }) {
                let id = target.destination.id
                if let previous = started[id], previous != target {
                    // A new address or key: the backoff the old one earned does not apply to it.
                    do { try await store.retryNow(destination: id) } catch {
                        logger.error("could not make a modified destination's waiting deliveries due now", [("destination", id), ("error", "\(error)")])
                    }
                }
                started[id] = target
                group.addTask { await self.lane(target) }
            }
            // Woken by a reload (announced above, next time round) or by a lane that ended (its id may start again).
            await table.changed.wait(since: tableGeneration, or: recheck, since: recheckGeneration)
        }
    }

    /// One destination's lane: sends its oldest pending delivery when due, else waits; ends at shutdown
    /// or once `target` is no longer in the table as it is.
    private func lane(_ target: ForwardingTarget) async {
        let id = target.destination.id
        defer {
            lanes.withLock { _ = $0.remove(id) }
            recheck.ring()
        }
        while true {
            // Read before the checks: a shutdown or reload after them rings a newer generation, so no wait below misses it.
            let generation = store.created.generation
            let recheckGeneration = recheck.generation
            guard !isStopping && !Task.isCancelled && table.isCurrent(target) else { return }
            let head: DueDelivery?
            do { head = try await store.head(destination: id) } catch {
                logger.error("reading pending deliveries failed", [("destination", id), ("error", "\(error)")])
                await recheck.wait(since: recheckGeneration, timeout: .seconds(1))
                continue
            }
            guard let head else {
                await store.created.wait(since: generation, or: recheck, since: recheckGeneration)
                continue
            }
            let wait = head.nextAttemptAt - store.now
            if wait > 0 {
                // New deliveries queue behind this one; a dead one retried by an admin (a lower id) goes
                // out after this wait, ahead of it.
                await recheck.wait(since: recheckGeneration, timeout: .milliseconds(wait))
                continue
            }
            if isStopping || !table.isCurrent(target) { return }
            if await !attempt(head, to: target) {
                // Not recorded (storage trouble): pause rather than resend at once in a tight loop.
                await recheck.wait(since: recheckGeneration, timeout: .seconds(1))
            }
        }
    }

    /// Applies ``Configuration/retainDelivered`` now and every hour until shutdown begins.
    private func deleteDeliveredHourly() async {
        let hour: UInt64 = 3_600_000_000_000
        var due = System.monotonicNanoseconds()
        while true {
            let recheckGeneration = recheck.generation  // Before the check, as in ``lane(_:)``.
            guard !isStopping && !Task.isCancelled else { return }
            if System.monotonicNanoseconds() >= due {
                do {
                    let deleted = try await store.deleteDelivered(olderThan: configuration.retainDelivered)
                    if deleted > 0 { logger.info("deleted delivered deliveries past retention", [("deliveries", "\(deleted)")]) }
                } catch {
                    logger.error("deleting delivered deliveries failed", [("error", "\(error)")])
                }
                due = System.monotonicNanoseconds() + hour
            }
            // The bell also rings for reloads and lanes that end; only the hour (or shutdown) matters here.
            let left = due - min(due, System.monotonicNanoseconds())
            await recheck.wait(since: recheckGeneration, timeout: .nanoseconds(Int64(left)))
        }
    }

    /// Sends one delivery and records the attempt; false when the record failed.
    private func attempt(_ delivery: DueDelivery, to target: ForwardingTarget) async -> Bool {
        let destination = target.destination
        let attemptedAt = store.now
        let request = Self.request(for: delivery, to: target, timestamp: Int64(clock.now()), timeout: configuration.timeout)
        let start = System.monotonicNanoseconds()
        let outcome: AttemptOutcome
        do {
            let response = try await http.send(request)
            let latency = Int64((System.monotonicNanoseconds() - start) / 1_000_000)
            let delivered = (200..<300).contains(response.status)
            outcome = AttemptOutcome(
                status: response.status, latencyMilliseconds: latency, error: delivered ? nil : "HTTP \(response.status)",
                retryAfter: [429, 503].contains(response.status) ? response.retryAfter : nil)
        } catch {
            let latency = Int64((System.monotonicNanoseconds() - start) / 1_000_000)
            let reason = (error as? OutboundError)?.reason ?? "\(error)"
            outcome = AttemptOutcome(status: nil, latencyMilliseconds: latency, error: reason.replacing(destination.url, with: "<destination url>"), retryAfter: nil)
        }
        // Cut off by shutdown's deadline: not recorded, so it is sent again (same webhook-id) at the next start.
        if Task.isCancelled { return true }
        let metadata = [("destination", destination.id), ("delivery", "\(delivery.id)"), ("event", "\(delivery.event.id)"), ("attempt", "\(delivery.attempts + 1)")]
        do {
            switch try await store.record(delivery.id, attemptedAt: attemptedAt, outcome) {
            case .delivered: logger.debug("event delivered", metadata + [("status", "\(outcome.status ?? 0)")])
            case .pending: logger.info("delivery will be retried", metadata + [("error", outcome.error ?? "")])
            case .dead: logger.error("delivery is dead after its last attempt", metadata + [("error", outcome.error ?? "")])
            }
            return true
        } catch {
            logger.error("a delivery attempt could not be recorded; it is sent again", metadata + [("error", "\(error)")])
            return false
        }
    }

    /// The signed request: the event as JSON, with `webhook-id` (stable across retries of one
    /// delivery), `webhook-timestamp` (this attempt) and `webhook-signature`.
    static func request(for delivery: DueDelivery, to target: ForwardingTarget, timestamp: Int64, timeout: Double) -> OutboundRequest {
        let body = Array(body(of: delivery.event).jsonString.utf8)
        let messageID = "dlv_\(delivery.id)"
        let timestampText = String(timestamp)
        let headers: HTTPHeaders = [
            "Content-Type": "application/json", "User-Agent": "atom-hub/\(CommandLineInterface.version)",
            StandardWebhookSignature.idHeader: messageID, StandardWebhookSignature.timestampHeader: timestampText,
            StandardWebhookSignature.signatureHeader: target.signature.sign(id: messageID, timestamp: timestampText, body: body),
        ]
        return OutboundRequest(method: .POST, url: target.destination.url, headers: headers, body: body, timeout: .milliseconds(Int64(timeout * 1000)))
    }

    /// What a destination receives: the event's id, provider, type, received_at (seconds) and payload.
    static func body(of event: StoredEvent) -> JSONValue {
        [
            "id": .number(Double(event.id)), "provider": .string(event.provider), "type": .string(event.type),
            "received_at": .number(Double(event.receivedAt) / 1000), "payload": event.payloadJSON,
        ]
    }
}
