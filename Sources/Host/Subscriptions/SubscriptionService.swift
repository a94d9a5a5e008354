import Dispatch
import PluginAPI
import Synchronization

/// Runs providers' event subscriptions: one loop per subscription that reads the log from its
/// persisted cursor, hands each event to the handler and advances the cursor only after the handler
/// returned (at-least-once). It sleeps on the event log's commit doorbell when caught up, so new
/// events are handled at once and an idle hub does no work. A failing handler is logged and the
/// same event retried with exponential backoff; later events wait behind it (order is kept).
///
/// Every declared subscription has a loop. While its provider is disabled the loop reads nothing and
/// waits for a reload (its cursor stays where it was); once enabled it catches up from there.
final class SubscriptionService: Sendable {
    /// A declared subscription and the provider whose instance handles it.
    struct Registration: Sendable {
        let providerID: String
        let subscription: EventSubscription

        /// The cursor's name: `<provider id>.<subscription name>`.
        var cursorName: String { "\(providerID).\(subscription.name)" }

        /// Every subscription the given providers declare; names must be unique per provider.
        static func all(of types: [any Provider.Type]) throws -> [Registration] {
            var seen: Set<String> = []
            var registrations: [Registration] = []
            for type in types {
                for subscription in type.descriptor.subscriptions {
                    let registration = Registration(providerID: type.descriptor.id, subscription: subscription)
                    guard seen.insert(registration.cursorName).inserted else {
                        throw RouteConflictError(description: "provider '\(registration.providerID)' declares the subscription '\(subscription.name)' twice")
                    }
                    registrations.append(registration)
                }
            }
            return registrations
        }
    }

    /// Events read per batch; the cursor is written once per batch.
    static let batchSize = 256
    /// The first retry delay after a failure, doubled per consecutive failure up to ``maximumBackoff``.
    static let initialBackoff: Duration = .milliseconds(100)
    static let maximumBackoff: Duration = .seconds(30)

    private let registrations: [Registration]
    private let store: SubscriptionStore
    private let doorbell: Doorbell
    private let provider: @Sendable (String) throws -> any Provider
    private let isEnabled: @Sendable (String) -> Bool
    /// Rings when providers are switched on or off.
    private let reloaded: Doorbell
    private let logger: Logger
    private let service = Mutex<Task<Void, Never>?>(nil)

    init(
        registrations: [Registration], store: SubscriptionStore, provider: @escaping @Sendable (String) throws -> any Provider,
        isEnabled: @escaping @Sendable (String) -> Bool, reloaded: Doorbell, logger: Logger
    ) {
        self.registrations = registrations
        self.store = store
        doorbell = store.eventLog.committed
        self.provider = provider
        self.isEnabled = isEnabled
        self.reloaded = reloaded
        self.logger = logger
    }

    /// Starts one loop per subscription (once).
    func start() {
        guard !registrations.isEmpty else { return }
        service.withLock { service in
            guard service == nil else { return }
            service = Task { [self] in
                await withTaskGroup(of: Void.self) { group in
                    for registration in registrations { group.addTask { await self.run(registration) } }
                }
            }
        }
    }

    /// Cancels the loops and waits for them, at most `deadline` seconds (a running handler sees
    /// cancellation). A handler that ignores it is left behind, logged: its batch's cursor was not
    /// advanced, so those events are handled again at the next start. Blocks: call it from a plain
    /// thread, before the event log closes.
    func shutdown(deadline: Double) {
        guard let task = service.withLock({ $0 }) else { return }
        task.cancel()
        let finished = DispatchSemaphore(value: 0)
        Task {
            await task.value
            finished.signal()
        }
        if finished.wait(timeout: .now() + deadline) == .timedOut {
            logger.error(
                "a subscription handler did not stop within the shutdown deadline; shutting down without it, its events are handled again at the next start",
                [("deadline_s", String(deadline))])
        }
    }

    private func run(_ registration: Registration) async {
        let name = registration.cursorName
        var failures = 0
        var cursor: Int64?
        while !Task.isCancelled {
            let switched = reloaded.generation
            guard isEnabled(registration.providerID) else {
                await reloaded.wait(since: switched)
                continue
            }
            let generation = doorbell.generation
            do {
                let start: Int64
                if let cursor { start = cursor } else { start = try await store.cursor(name) }
                cursor = start
                let events = try await store.events(after: start, for: registration.subscription, limit: Self.batchSize)
                if events.isEmpty {
                    failures = 0
                    await doorbell.wait(since: generation, or: reloaded, since: switched)
                    continue
                }
                let (handled, failure) = await handle(events, registration)
                if let handled {
                    try await store.advance(name, to: handled)
                    cursor = handled
                }
                if let failure { throw failure }
                failures = 0
            } catch {
                if Task.isCancelled { return }
                failures += 1
                let delay = Self.backoff(afterFailures: failures)
                logger.error(
                    "subscription failed; retrying the same event after a delay",
                    [("subscription", name), ("after_event", "\(cursor ?? 0)"), ("retry_in", "\(delay)"), ("error", "\(error)")])
                try? await Task.sleep(for: delay)  // A retry delay, not a wait for a signal; cancellation ends it.
            }
        }
    }

    /// Hands `events` to the handler in order; returns the last one handled and the error that stopped it.
    private func handle(_ events: [SubscribedEvent], _ registration: Registration) async -> (handled: Int64?, failure: (any Error)?) {
        var handled: Int64?
        do {
            let instance = try provider(registration.providerID)
            for event in events {
                if Task.isCancelled { break }
                do { try await registration.subscription.handler(instance, event) } catch {
                    throw SubscriptionHandlerError(eventID: event.id, provider: event.provider, type: event.type, underlying: error)
                }
                handled = event.id
            }
            return (handled, nil)
        } catch {
            return (handled, error)
        }
    }

    /// 100 ms, 200 ms, 400 ms, … up to 30 s.
    static func backoff(afterFailures failures: Int) -> Duration {
        let exponent = min(max(failures - 1, 0), 20)
        return min(initialBackoff * (1 << exponent), maximumBackoff)
    }
}

/// A subscription handler threw for one event.
struct SubscriptionHandlerError: Error, CustomStringConvertible {
    let eventID: Int64
    let provider: String
    let type: String
    let underlying: any Error

    var description: String { "handling event \(eventID) (\(provider) \(type)) failed: \(underlying)" }
}
