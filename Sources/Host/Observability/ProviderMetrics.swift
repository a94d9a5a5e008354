import PluginAPI

/// Per-provider counters, lock-free like ``RequestMetrics``: signature checks by result, and events
/// stored or acknowledged as duplicates. Providers are known before any of them is created.
final class ProviderMetrics: Sendable {
    /// Verification results: `ok` or the refusal's error code; other codes count as `other`.
    static let verificationResults = ["ok", "missing_signature", "invalid_signature", "stale_timestamp", "other"]

    let providers: [String]
    private let providerIndex: [String: Int]
    private let verifications: AtomicCounters
    private let stored: AtomicCounters
    private let duplicates: AtomicCounters

    init(providers: [String]) {
        self.providers = providers
        providerIndex = Dictionary(uniqueKeysWithValues: providers.enumerated().map { ($1, $0) })
        verifications = AtomicCounters(count: providers.count * Self.verificationResults.count)
        stored = AtomicCounters(count: providers.count)
        duplicates = AtomicCounters(count: providers.count)
    }

    /// Counts one signature check of `provider`: `failure` nil when it passed.
    func recordVerification(provider: String, failure: String?) {
        guard let index = providerIndex[provider] else { return }
        let result = Self.verificationResults.firstIndex(of: failure ?? "ok") ?? Self.verificationResults.count - 1
        verifications.add(index * Self.verificationResults.count + result)
    }

    /// Counts the outcome of appending events for `provider`.
    func recordAppends(provider: String, _ outcomes: [AppendOutcome]) {
        guard let index = providerIndex[provider] else { return }
        for outcome in outcomes {
            if case .stored = outcome { stored.add(index) } else { duplicates.add(index) }
        }
    }

    /// Current values, for one scrape.
    func snapshot() -> (verifications: [(provider: String, result: String, count: Int)], events: [(provider: String, stored: Int, duplicates: Int)]) {
        let verificationCounts = providers.enumerated().flatMap { index, provider in
            Self.verificationResults.enumerated().map { result, name in
                (provider: provider, result: name, count: verifications[index * Self.verificationResults.count + result])
            }
        }
        let events = providers.enumerated().map { index, provider in (provider: provider, stored: stored[index], duplicates: duplicates[index]) }
        return (verificationCounts, events)
    }
}
