/// What a route accepts and answers, for the OpenAPI document (`GET /openapi.json`). Everything is
/// optional: an undocumented route still appears with its method, path and path parameters.
///
/// ```swift
/// .post("/api/things", summary: "Create a thing") { ... }
///     .documented(request: .json(.object(["name": .string()], required: ["name"])), responses: [201: .json(.object(["id": .string()]))], adminOnly: true)
/// ```
public struct RouteDocumentation: Sendable {
    /// A request or response body: media type and JSON Schema (nil: any content).
    public struct Body: Sendable {
        public var contentType: String
        public var schema: JSONValue?
        public var description: String

        public init(contentType: String, schema: JSONValue? = nil, description: String = "") {
            self.contentType = contentType
            self.schema = schema
            self.description = description
        }

        /// An `application/json` body.
        public static func json(_ schema: JSONValue? = nil, description: String = "") -> Body {
            Body(contentType: "application/json", schema: schema, description: description)
        }

        /// An `application/x-www-form-urlencoded` body.
        public static func form(_ schema: JSONValue? = nil, description: String = "") -> Body {
            Body(contentType: "application/x-www-form-urlencoded", schema: schema, description: description)
        }
    }

    /// One `?name=value` query parameter.
    public struct QueryParameter: Sendable {
        public var name: String
        public var schema: JSONValue
        public var isRequired: Bool
        public var description: String

        public init(_ name: String, schema: JSONValue = JSONSchema.string(), isRequired: Bool = false, description: String = "") {
            self.name = name
            self.schema = schema
            self.isRequired = isRequired
            self.description = description
        }
    }

    public var request: Body?
    public var query: [QueryParameter]
    /// Successful answers by status; errors are documented for every route as the JSON error object.
    public var responses: [Int: Body?]
    /// Whether the route needs `Authorization: Bearer <ADMIN_TOKEN>` (routes under the admin prefixes always do).
    public var adminOnly: Bool

    public init(request: Body? = nil, query: [QueryParameter] = [], responses: [Int: Body?] = [:], adminOnly: Bool = false) {
        self.request = request
        self.query = query
        self.responses = responses
        self.adminOnly = adminOnly
    }
}

/// Small JSON Schema (2020-12) builders for ``RouteDocumentation``.
public enum JSONSchema {
    public static func string(format: String? = nil, description: String? = nil) -> JSONValue {
        var schema: JSONObject = ["type": "string"]
        if let format { schema["format"] = .string(format) }
        if let description { schema["description"] = .string(description) }
        return .object(schema)
    }

    public static func integer(minimum: Int? = nil, maximum: Int? = nil) -> JSONValue {
        var schema: JSONObject = ["type": "integer"]
        if let minimum { schema["minimum"] = .number(Double(minimum)) }
        if let maximum { schema["maximum"] = .number(Double(maximum)) }
        return .object(schema)
    }

    public static func boolean() -> JSONValue { ["type": "boolean"] }

    /// Any JSON value.
    public static func any() -> JSONValue { .object([:]) }

    public static func array(_ items: JSONValue) -> JSONValue { ["type": "array", "items": items] }

    /// An object with `properties`; `required` names the members that must be present.
    public static func object(_ properties: JSONObject = [:], required: [String] = []) -> JSONValue {
        var schema: JSONObject = ["type": "object"]
        if !properties.members.isEmpty { schema["properties"] = .object(properties) }
        if !required.isEmpty { schema["required"] = .array(required.map(JSONValue.string)) }
        return .object(schema)
    }
}

extension Route {
    /// The route with its request, query, responses and admin requirement documented.
    public func documented(
        request: RouteDocumentation.Body? = nil, query: [RouteDocumentation.QueryParameter] = [], responses: [Int: RouteDocumentation.Body?] = [:],
        adminOnly: Bool = false
    ) -> Route {
        var route = self
        route.documentation = RouteDocumentation(request: request, query: query, responses: responses, adminOnly: adminOnly)
        return route
    }
}
