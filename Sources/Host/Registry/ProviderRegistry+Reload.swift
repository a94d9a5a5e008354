import PluginAPI

extension ProviderRegistry {
    /// One provider whose entry a reload changed.
    struct Change: Sendable, Equatable {
        let id: String
        let enabled: Bool
        /// True when its settings changed (a created provider is then created again on next use).
        let settingsChanged: Bool
    }

    /// Applies a newly loaded configuration: providers switch on or off at once; a provider whose
    /// settings changed is created again, from the new settings, on its next use. Requests already
    /// running keep the instance they hold, so nothing in flight is dropped.
    @discardableResult
    func apply(_ configuration: PluginsConfiguration) -> [Change] {
        var changes: [Change] = []
        for id in slots.keys.sorted() {
            let slot = slots[id]!
            let new = configuration.providers[id]
            let old = slot.entry.withLock { entry in
                defer { entry = new }
                return entry
            }
            let settingsChanged = old?.settings != new?.settings
            guard (old?.enabled ?? false) != (new?.enabled ?? false) || settingsChanged else { continue }
            if settingsChanged { slot.state.withLock { $0 = .notCreated } }
            changes.append(Change(id: id, enabled: new?.enabled ?? false, settingsChanged: settingsChanged))
        }
        if !changes.isEmpty { changed.ring() }
        return changes
    }
}
