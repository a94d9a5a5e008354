extension JSONValue {
    /// The value as indented JSON text (two spaces, members in order), for files people edit.
    public func prettyPrinted(indent: String = "") -> String {
        let inner = indent + "  "
        switch self {
        case .object(let object) where !object.members.isEmpty:
            let members = object.members.map { inner + String(decoding: JSONValue.string($0.key).serialized(), as: UTF8.self) + ": " + $0.value.prettyPrinted(indent: inner) }
            return "{\n" + members.joined(separator: ",\n") + "\n" + indent + "}"
        case .array(let items) where !items.isEmpty:
            return "[\n" + items.map { inner + $0.prettyPrinted(indent: inner) }.joined(separator: ",\n") + "\n" + indent + "]"
        default:
            return String(decoding: serialized(), as: UTF8.self)
        }
    }
}
