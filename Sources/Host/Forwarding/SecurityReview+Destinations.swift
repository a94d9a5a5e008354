import PluginAPI

extension SecurityReview {
    /// The destinations of `configuration`'s enabled providers with their secrets resolved (`env:`,
    /// `secret:`) and checked as `whsec_` keys. Throws naming the key when one does not resolve: serve
    /// stops (exit 78), validate-config reports it, and a reload keeps the last good configuration.
    func forwardingTargets(of configuration: PluginsConfiguration, file: String) throws(ConfigurationError) -> [ForwardingTarget] {
        var targets: [ForwardingTarget] = []
        for type in providerTypes {
            let id = type.descriptor.id
            guard let entry = configuration.providers[id], entry.enabled else { continue }
            let settings = settings(for: type, entry: entry)
            for (index, destination) in entry.destinations.enumerated() {
                let key = "providers.\(id).destinations[\(index)].secret"
                let secret: String
                do { secret = try settings.resolve(destination.secret, setting: "destinations.\(destination.id).secret") } catch {
                    throw ConfigurationError(file: file, key: key, problem: error.reason)
                }
                do { targets.append(ForwardingTarget(destination: destination, signature: try StandardWebhookSignature(secret: secret))) } catch {
                    throw ConfigurationError(file: file, key: key, problem: "the resolved value is not usable: \(error)")
                }
            }
        }
        return targets
    }
}
