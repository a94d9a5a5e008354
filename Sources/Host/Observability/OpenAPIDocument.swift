import PluginAPI

/// Builds the OpenAPI 3.1 document from the route table: every host route and the routes of every
/// enabled provider, with path parameters from the templates and the shapes routes declare.
struct OpenAPIDocument {
    let entries: [Router.Entry]
    let version: String

    /// The document; `isEnabled` decides which providers' routes appear.
    func json(isEnabled: (String) -> Bool) -> JSONValue {
        var paths = JSONObject()
        let visible = entries.filter { entry in
            if case .provider(let id, _) = entry.owner { return isEnabled(id) }
            return true
        }
        for template in Set(visible.map(\.template)).sorted() {
            var operations = JSONObject()
            for entry in visible.filter({ $0.template == template }).sorted(by: { $0.method.rawValue < $1.method.rawValue }) {
                operations[entry.method.rawValue.lowercased()] = operation(entry)
            }
            paths[template] = .object(operations)
        }
        return [
            "openapi": "3.1.0",
            "info": [
                "title": "Atom Hub", "version": .string(version),
                "description": "Webhooks in, verified and stored durably; admin routes need Authorization: Bearer <ADMIN_TOKEN>.",
            ],
            "paths": .object(paths),
            "components": [
                "securitySchemes": ["adminToken": ["type": "http", "scheme": "bearer"]],
                "schemas": [
                    "Error": JSONSchema.object(["error": JSONSchema.string(), "detail": JSONSchema.string()], required: ["error", "detail"])
                ],
            ],
        ]
    }

    private func operation(_ entry: Router.Entry) -> JSONValue {
        let docs = entry.documentation
        var operation: JSONObject = ["operationId": .string(Self.operationID(entry))]
        if !entry.summary.isEmpty { operation["summary"] = .string(entry.summary) }
        let tag: String = if case .provider(let id, _) = entry.owner { id } else { "host" }
        operation["tags"] = [.string(tag)]
        let pathParameters: [JSONValue] = entry.segments.compactMap { segment in
            guard case .parameter(let name) = segment else { return nil }
            return ["name": .string(name), "in": "path", "required": true, "schema": JSONSchema.string()]
        }
        let queryParameters: [JSONValue] = docs.query.map { parameter in
            var object: JSONObject = ["name": .string(parameter.name), "in": "query", "required": .bool(parameter.isRequired), "schema": parameter.schema]
            if !parameter.description.isEmpty { object["description"] = .string(parameter.description) }
            return .object(object)
        }
        if !(pathParameters + queryParameters).isEmpty { operation["parameters"] = .array(pathParameters + queryParameters) }
        if let body = docs.request {
            operation["requestBody"] = ["required": true, "content": Self.content(body)]
        }
        var responses = JSONObject()
        for status in docs.responses.keys.sorted() {
            let body = docs.responses[status] ?? nil
            var response: JSONObject = ["description": .string(body.map { $0.description.isEmpty ? "success" : $0.description } ?? "success")]
            if let body { response["content"] = Self.content(body) }
            responses[String(status)] = .object(response)
        }
        if docs.responses.isEmpty { responses["2XX"] = ["description": "success"] }
        responses["default"] = ["description": "an error", "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Error"]]]]
        operation["responses"] = .object(responses)
        if docs.adminOnly || AdminGate.covers(entry.template) || entry.template == MetricsEndpoint.path {
            operation["security"] = .array([.object(["adminToken": .array([])])])
        }
        return .object(operation)
    }

    private static func content(_ body: RouteDocumentation.Body) -> JSONValue {
        .object(JSONObject([(key: body.contentType, value: .object(["schema": body.schema ?? JSONSchema.any()]))]))
    }

    /// `get_api_admin_jobs_id` for `GET /api/admin/jobs/{id}`.
    static func operationID(_ entry: Router.Entry) -> String {
        let words = entry.template.split { !$0.isLetter && !$0.isNumber }.map(String.init)
        return ([entry.method.rawValue.lowercased()] + words).joined(separator: "_")
    }
}
