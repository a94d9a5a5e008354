import PluginAPI

/// A provider whose handler throws an error that is not an ``HTTPError``: the host must answer 500
/// JSON and keep serving other providers.
final class ConformanceFaultyProvider: Provider {
    struct Failure: Error {}
    static let path = "/conformance/faulty"
    static let descriptor = ProviderDescriptor(
        id: "conformance-faulty", displayName: "Conformance: faulty handler",
        routes: [.post(path) { (_: ConformanceFaultyProvider, _) in throw Failure() }])
    init(context: ProviderContext) throws {}
}

/// A provider that cannot be created: the host must answer its routes 503 JSON and keep serving others.
final class ConformanceBrokenProvider: Provider {
    static let path = "/conformance/broken"
    static let descriptor = ProviderDescriptor(
        id: "conformance-broken", displayName: "Conformance: fails on creation",
        routes: [.post(path) { (_: ConformanceBrokenProvider, _) in .empty() }])
    init(context: ProviderContext) throws { throw ProviderSetupError("this provider always fails to start") }
}
