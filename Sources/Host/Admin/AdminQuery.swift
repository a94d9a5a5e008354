import PluginAPI

/// The query parameters the admin listings share, each checked the same way (400 naming it otherwise).
extension Request {
    /// `limit`: a whole number from 1 to 1000; `defaultValue` when absent.
    func limitParameter(default defaultValue: Int) throws(HTTPError) -> Int {
        guard let text = queryParameters["limit"] else { return defaultValue }
        guard let value = Int(text), (1...1000).contains(value) else { throw .badRequest("limit must be a whole number from 1 to 1000") }
        return value
    }

    /// `name` as one of `T`'s raw values; nil when absent.
    func enumParameter<T: RawRepresentable & CaseIterable>(_ name: String, as type: T.Type) throws(HTTPError) -> T? where T.RawValue == String {
        guard let text = queryParameters[name] else { return nil }
        guard let value = T(rawValue: text) else {
            throw .badRequest("\(name) must be one of: \(T.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return value
    }
}
