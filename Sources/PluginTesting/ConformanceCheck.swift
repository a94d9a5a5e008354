import PluginAPI
import Synchronization
import Testing

/// The individual checks behind ``expectWebhookConformance(_:settings:environment:publicBaseURL:delivery:signer:wrongKeySigner:replayWindow:notApplicable:host:sourceLocation:)``.
struct ConformanceCheck: Sendable {
    let id: String
    let routes: [Route]
    let delivery: @Sendable (String) -> Request
    let signer: RequestSigner
    let clock: ManualClock
    let sourceLocation: SourceLocation
    private let ids = IDSequence()

    init(
        id: String, routes: [Route], delivery: @escaping @Sendable (String) -> Request, signer: @escaping RequestSigner, clock: ManualClock,
        sourceLocation: SourceLocation
    ) {
        self.id = id
        self.routes = routes
        self.delivery = delivery
        self.signer = signer
        self.clock = clock
        self.sourceLocation = sourceLocation
    }

    /// Accepted, stored once, and every kind of unverifiable delivery refused without a side effect.
    func deliveries(
        _ transport: any ProviderTransport, wrongKeySigner: RequestSigner, replayWindow: Double, notApplicable: Set<ConformanceCase>
    ) async throws {
        let signed = signer(delivery(ids.next()))
        let before = try await transport.storedEvents(provider: id).count
        let accepted = try await send(signed, transport)
        expectSuccess(accepted, "a correctly signed delivery")
        let stored = try await transport.storedEvents(provider: id).count
        #expect(stored > before, "[\(id)] a correctly signed delivery was accepted but no event was stored", sourceLocation: sourceLocation)

        let again = try await send(signed, transport)
        expectSuccess(again, "a repeated delivery")
        #expect(
            try await transport.storedEvents(provider: id).count == stored, "[\(id)] a repeated delivery was stored again",
            sourceLocation: sourceLocation)

        var refusals: [(what: String, request: Request, clockOffset: Double)] = [
            ("an unsigned delivery", delivery(ids.next()), 0),
            ("a delivery signed with another key", wrongKeySigner(delivery(ids.next())), 0),
        ]
        if !notApplicable.contains(.tamperedBody) {
            var tampered = signer(delivery(ids.next()))
            if tampered.body.isEmpty {
                Issue.record("[\(id)] the delivery has an empty body, so tampering cannot be checked", sourceLocation: sourceLocation)
            } else {
                tampered.body[tampered.body.count / 2] ^= 0x01
            }
            refusals.append(("a delivery whose body changed after signing", tampered, 0))
        }
        if !notApplicable.contains(.replay) {
            // Twice the window: far outside it, yet robust to however long signing and sending take.
            let skew = replayWindow * 2
            refusals.append(("a delivery signed \(Int(skew)) s ago", signer(delivery(ids.next())), skew))
            refusals.append(("a delivery dated \(Int(skew)) s ahead", signer(delivery(ids.next())), -skew))
        }
        for refusal in refusals {
            let response = try await send(refusal.request, transport, clockOffset: refusal.clockOffset)
            expectJSONError(response, status: 401, refusal.what)
        }
        #expect(
            try await transport.storedEvents(provider: id).count == stored, "[\(id)] a refused delivery stored an event",
            sourceLocation: sourceLocation)
    }

    /// Every declared route reaches the provider: the router answers neither 404 nor 405.
    func routesReachable(_ transport: any ProviderTransport) async throws {
        for route in routes {
            let path = concretePath(route)
            let response = try await send(Request(method: route.method, path: path), transport)
            let unrouted = response.status == 405 || (response.status == 404 && response.body == HTTPError.noRoute(route.method, path).response.body)
            #expect(
                !unrouted, "[\(id)] the declared route \(route.method.rawValue) \(route.path) is not reachable: \(describe(response))",
                sourceLocation: sourceLocation)
        }
    }

    /// Without its settings the provider must not be created: every route answers 503 JSON.
    func unavailableWithoutSettings(_ transport: any ProviderTransport) async throws {
        for route in routes {
            let response = try await send(Request(method: route.method, path: concretePath(route)), transport)
            expectJSONError(response, status: 503, "\(route.method.rawValue) \(route.path) without settings", error: "provider_unavailable")
        }
    }

    /// A neighbour that throws (500 JSON) or cannot be created (503 JSON) leaves this provider working.
    func isolatedFromFailingProviders(_ transport: any ProviderTransport) async throws {
        let faulty = try await send(Request(method: .POST, path: ConformanceFaultyProvider.path), transport)
        expectJSONError(faulty, status: 500, "a neighbouring provider whose handler throws", error: "internal_error")
        let broken = try await send(Request(method: .POST, path: ConformanceBrokenProvider.path), transport)
        expectJSONError(broken, status: 503, "a neighbouring provider that cannot be created", error: "provider_unavailable")
        let response = try await send(signer(delivery(ids.next())), transport)
        expectSuccess(response, "next to failing providers, a signed delivery")
        #expect(
            try await transport.storedEvents(provider: id).count == 1, "[\(id)] next to failing providers, the delivery was not stored",
            sourceLocation: sourceLocation)
    }

    /// The route's path with its parameters taken from the delivery's path when it fits, else `conformance`.
    private func concretePath(_ route: Route) -> String {
        let parameters = RouteTemplate.match(route.path, delivery(ids.next()).path) ?? [:]
        return route.path.split(separator: "/", omittingEmptySubsequences: false).map { segment in
            guard segment.hasPrefix("{"), segment.hasSuffix("}") else { return String(segment) }
            return parameters[String(segment.dropFirst().dropLast())] ?? "conformance"
        }.joined(separator: "/")
    }

    /// Sends with the provider's clock at the system time plus `clockOffset` seconds.
    private func send(_ request: Request, _ transport: any ProviderTransport, clockOffset: Double = 0) async throws -> Response {
        clock.set(SystemClock().now() + clockOffset)
        return try await transport.send(request)
    }

    private func expectSuccess(_ response: Response, _ what: String) {
        #expect(
            (200..<300).contains(response.status), "[\(id)] \(what) was answered \(describe(response)), expected 2xx", sourceLocation: sourceLocation)
    }

    private func expectJSONError(_ response: Response, status: Int, _ what: String, error: String? = nil) {
        let json = try? JSONValue.parse(response.body)  // Not JSON is itself the failure reported below.
        let code = json?["error"]?.stringValue
        let ok =
            response.status == status && response.headers["Content-Type"] == "application/json"
            && code?.isEmpty == false && json?["detail"]?.stringValue?.isEmpty == false && (error == nil || code == error)
        #expect(
            ok,
            "[\(id)] \(what) was answered \(describe(response)), expected \(status) JSON {\"error\", \"detail\"}\(error.map { " with error \($0)" } ?? "")",
            sourceLocation: sourceLocation)
    }

    private func describe(_ response: Response) -> String {
        "\(response.status) \(String(decoding: response.body.prefix(200), as: UTF8.self))"
    }
}

/// Fresh delivery ids: digits only, so they fit numeric id fields too.
private final class IDSequence: Sendable {
    private let counter = Mutex(1000)
    func next() -> String {
        counter.withLock {
            $0 += 1
            return String($0)
        }
    }
}
