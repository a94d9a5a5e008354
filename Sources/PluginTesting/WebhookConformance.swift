import PluginAPI
import Testing

/// Signs a request exactly as the real sender would, at the current system time.
public typealias RequestSigner = @Sendable (Request) -> Request

/// Checks that a webhook provider verifies its deliveries and behaves as the hub expects; every
/// failure is recorded as a Swift Testing issue at the caller's line.
///
/// It checks that a correctly signed delivery is accepted (2xx) and stored; that the same delivery
/// again is accepted and stored once; that unsigned, tampered-body, wrongly keyed, stale and
/// future-dated deliveries get 401 JSON and store nothing (a scheme that cannot detect a case by
/// design marks it `notApplicable`, with the reason); that every declared route is reachable
/// (not 404/405 from the router); that without its settings the provider is not created and its
/// routes answer 503 JSON; and that a provider that fails on creation (503) or throws in a handler
/// (500 JSON) does not affect it.
///
/// ```swift
/// await expectWebhookConformance(
///     GenericProvider.self, settings: ["sources": ["billing": "whsec_..."]],
///     delivery: { id in Request(method: .POST, path: "/api/webhooks/generic/billing", headers: ["webhook-id": id], body: ...) },
///     signer: { sign($0, secret: good) }, wrongKeySigner: { sign($0, secret: other) })
/// ```
///
/// - Parameters:
///   - provider: The provider type under test.
///   - settings: Its `plugins.json` settings; values may be `env:` references into `environment`.
///   - environment: Environment variables the host sees.
///   - publicBaseURL: The hub's public base URL, for schemes that sign the URL.
///   - delivery: An unsigned delivery carrying one new event, for a fresh id made of digits.
///   - signer: Signs with the configured secret.
///   - wrongKeySigner: Signs the same way with another secret.
///   - replayWindow: How long after signing a delivery is still accepted, in seconds (the timestamp
///     tolerance, or a token's lifetime plus its clock skew); the kit sends at twice this far off.
///   - notApplicable: Refusal cases the scheme cannot pass by design, each with the reason (not empty).
///   - host: In memory (the default) or a live hub.
public func expectWebhookConformance<P: Provider>(
    _ provider: P.Type,
    settings: JSONObject,
    environment: [String: String] = [:],
    publicBaseURL: String? = nil,
    delivery: @escaping @Sendable (_ id: String) -> Request,
    signer: @escaping RequestSigner,
    wrongKeySigner: @escaping RequestSigner,
    replayWindow: Double = 300,
    notApplicable: [ConformanceCase: String] = [:],
    host: any ProviderHosting = InMemoryHost(),
    sourceLocation: SourceLocation = #_sourceLocation
) async {
    let clock = ManualClock()
    let check = ConformanceCheck(
        id: P.descriptor.id, routes: P.descriptor.routes, delivery: delivery, signer: signer, clock: clock, sourceLocation: sourceLocation)
    func setup(_ providers: [HostSetup.Entry], environment: [String: String]) -> HostSetup {
        HostSetup(providers: providers, environment: environment, clock: clock, publicBaseURL: publicBaseURL)
    }
    let underTest = HostSetup.Entry(type: P.self, settings: settings)
    for (exempted, reason) in notApplicable where reason.allSatisfy(\.isWhitespace) {
        Issue.record("[\(P.descriptor.id)] '\(exempted)' is marked not applicable without a reason", sourceLocation: sourceLocation)
    }
    do {
        try await host.withTransport(setup([underTest], environment: environment)) { transport in
            try await check.deliveries(
                transport, wrongKeySigner: wrongKeySigner, replayWindow: replayWindow, notApplicable: Set(notApplicable.keys))
            try await check.routesReachable(transport)
        }
        try await host.withTransport(setup([HostSetup.Entry(type: P.self, settings: [:])], environment: [:])) { transport in
            try await check.unavailableWithoutSettings(transport)
        }
        let neighbours = [
            HostSetup.Entry(type: ConformanceFaultyProvider.self, settings: [:]),
            HostSetup.Entry(type: ConformanceBrokenProvider.self, settings: [:]),
        ]
        try await host.withTransport(setup([underTest] + neighbours, environment: environment)) { transport in
            try await check.isolatedFromFailingProviders(transport)
        }
    } catch {
        Issue.record(error, "conformance of '\(P.descriptor.id)' could not run", sourceLocation: sourceLocation)
    }
}
