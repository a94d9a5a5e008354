import PluginAPI
import Synchronization

/// Creates providers lazily: on the first request that needs one, exactly once even when many
/// first requests arrive together. A failed creation is retried on a later request.
final class ProviderRegistry: Sendable {
    /// What a provider's routes get from the registry.
    enum Lookup {
        case ready(any Provider)
        case disabled
        case unavailable(reason: String)
    }

    enum SlotState: Sendable {
        case notCreated
        case ready(any Provider)
        case failed(reason: String)
    }

    /// One provider type's slot; creation happens inside the lock so it runs exactly once.
    /// `entry` changes when plugins.json is reloaded; it is read under the state lock when creating.
    final class Slot: Sendable {
        let type: any Provider.Type
        let entry: Mutex<ProviderEntry?>
        let state = Mutex(SlotState.notCreated)
        let creations = Atomic<Int>(0)

        init(type: any Provider.Type, entry: ProviderEntry?) {
            self.type = type
            self.entry = Mutex(entry)
        }

        var isEnabled: Bool { entry.withLock { $0?.enabled ?? false } }
    }

    let slots: [String: Slot]
    /// Rings when a reload switched a provider or changed its settings.
    let changed = Doorbell()
    private let makeContext: @Sendable (any Provider.Type, ProviderEntry) -> ProviderContext
    private let logger: Logger

    init(
        types: [any Provider.Type], configuration: PluginsConfiguration, logger: Logger,
        makeContext: @escaping @Sendable (any Provider.Type, ProviderEntry) -> ProviderContext
    ) {
        var slots: [String: Slot] = [:]
        for type in types {
            slots[type.descriptor.id] = Slot(type: type, entry: configuration.providers[type.descriptor.id])
        }
        self.slots = slots
        self.makeContext = makeContext
        self.logger = logger
    }

    /// Whether `id` is enabled in the configuration.
    func isEnabled(_ id: String) -> Bool { slots[id]?.isEnabled ?? false }

    /// How many times the provider `id` has been created (for tests and the admin API).
    func creationCount(_ id: String) -> Int { slots[id]?.creations.load(ordering: .relaxed) ?? 0 }

    /// The state of every provider, by id.
    func states() -> [(id: String, enabled: Bool, state: SlotState)] {
        slots.keys.sorted().map { id in
            let slot = slots[id]!
            return (id, slot.isEnabled, slot.state.withLock { $0 })
        }
    }

    /// The provider `id`, creating it if this is the first use.
    func provider(_ id: String) -> Lookup {
        guard let slot = slots[id] else { return .disabled }
        return slot.state.withLock { state -> Lookup in
            guard let entry = slot.entry.withLock({ $0 }), entry.enabled else { return .disabled }
            if case .ready(let provider) = state { return .ready(provider) }
            let previousFailure: String? = if case .failed(let reason) = state { reason } else { nil }
            do {
                let provider = try slot.type.init(context: makeContext(slot.type, entry))
                slot.creations.add(1, ordering: .relaxed)
                state = .ready(provider)
                logger.info("provider created", [("provider", id)])
                return .ready(provider)
            } catch {
                let reason = (error as? ProviderSetupError)?.reason ?? "\(error)"
                if reason != previousFailure {
                    logger.error("provider could not be created; its routes answer 503 until it can", [("provider", id), ("reason", reason)])
                }
                state = .failed(reason: reason)
                return .unavailable(reason: reason)
            }
        }
    }
}
