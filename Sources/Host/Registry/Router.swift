import PluginAPI

/// A startup problem with the route table or provider list; startup stops naming both parties.
struct RouteConflictError: Error, CustomStringConvertible {
    let description: String
}

/// The immutable route table, built once at startup from host routes and provider descriptors.
struct Router: Sendable {
    /// Who answers a route.
    enum Owner: Sendable {
        case host(@Sendable (Request) async throws -> Response)
        case provider(id: String, route: Route)
    }

    /// A route. A class: every request's match carries its entry, and a reference costs one retain
    /// where a copy of every field would cost one each.
    final class Entry: Sendable {
        let method: HTTPMethod
        let template: String
        let segments: [Segment]
        let maxBodyBytes: Int
        let owner: Owner
        /// Who declared it, for conflict messages.
        let declaredBy: String
        /// A one-line description and the shapes it accepts and answers, for the OpenAPI document.
        let summary: String
        let documentation: RouteDocumentation

        init(
            method: HTTPMethod, template: String, segments: [Segment], maxBodyBytes: Int, owner: Owner, declaredBy: String, summary: String,
            documentation: RouteDocumentation
        ) {
            self.method = method
            self.template = template
            self.segments = segments
            self.maxBodyBytes = maxBodyBytes
            self.owner = owner
            self.declaredBy = declaredBy
            self.summary = summary
            self.documentation = documentation
        }
    }

    enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
    }

    enum Match {
        case found(Entry, parameters: [String: String])
        case methodNotAllowed(allowed: [HTTPMethod])
        case notFound
    }

    private var staticRoutes: [String: [HTTPMethod: Entry]] = [:]
    private var templateRoutes: [Entry] = []

    /// Adds a route; throws when another route has the same method and shape.
    mutating func add(
        method: HTTPMethod, template: String, maxBodyBytes: Int, owner: Owner, declaredBy: String, summary: String = "",
        documentation: RouteDocumentation = RouteDocumentation()
    ) throws(RouteConflictError) {
        guard template.hasPrefix("/") else {
            throw RouteConflictError(description: "\(declaredBy) declares route '\(template)', which does not start with '/'")
        }
        let segments = Self.segments(of: template)
        let entry = Entry(
            method: method, template: template, segments: segments, maxBodyBytes: maxBodyBytes, owner: owner, declaredBy: declaredBy, summary: summary,
            documentation: documentation)
        let shape = Self.shape(segments)
        let clash = (staticRoutes.values.flatMap(\.values) + templateRoutes).first {
            $0.method == method && Self.shape($0.segments) == shape
        }
        if let clash {
            throw RouteConflictError(
                description: "route \(method.rawValue) \(template) is declared by both \(clash.declaredBy) (as \(clash.template)) and \(declaredBy)")
        }
        if segments.allSatisfy({ if case .literal = $0 { true } else { false } }) {
            staticRoutes[template, default: [:]][method] = entry
        } else {
            templateRoutes.append(entry)
        }
    }

    /// Every entry, static ones first.
    var entries: [Entry] { staticRoutes.values.flatMap(\.values) + templateRoutes }

    /// Finds the route for `method` and `path`.
    func match(method: HTTPMethod, path: String) -> Match {
        var allowed: [HTTPMethod] = []
        if let byMethod = staticRoutes[path] {
            if let entry = byMethod[method] ?? (method == .HEAD ? byMethod[.GET] : nil) { return .found(entry, parameters: [:]) }
            allowed = Array(byMethod.keys)
        }
        if !templateRoutes.isEmpty {
            let parts = Self.segments(of: path)
            for entry in templateRoutes {
                guard let parameters = Self.bind(entry.segments, to: parts) else { continue }
                if entry.method == method || (method == .HEAD && entry.method == .GET) { return .found(entry, parameters: parameters) }
                allowed.append(entry.method)
            }
        }
        return allowed.isEmpty ? .notFound : .methodNotAllowed(allowed: allowed.sorted { $0.rawValue < $1.rawValue })
    }

    private static func segments(of path: String) -> [Segment] {
        path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map { part in
            if part.hasPrefix("{") && part.hasSuffix("}") && part.count > 2 {
                return .parameter(String(part.dropFirst().dropLast()))
            }
            return .literal(String(part))
        }
    }

    /// The template with parameter names erased, so `/a/{x}` and `/a/{y}` clash.
    private static func shape(_ segments: [Segment]) -> [String] {
        segments.map { if case .literal(let text) = $0 { text } else { "{}" } }
    }

    private static func bind(_ template: [Segment], to parts: [Segment]) -> [String: String]? {
        guard template.count == parts.count else { return nil }
        var parameters: [String: String] = [:]
        for (expected, actual) in zip(template, parts) {
            guard case .literal(let text) = actual else { return nil }
            switch expected {
            case .literal(let literal): guard literal == text else { return nil }
            case .parameter(let name):
                guard !text.isEmpty else { return nil }
                parameters[name] = FormURLEncoded.percentDecode(text, plusAsSpace: false)
            }
        }
        return parameters
    }
}
