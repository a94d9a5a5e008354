import Foundation
import Synchronization

/// Environment variables as the hub reads them; tests inject their own instead of the process's.
struct HubEnvironment: Sendable {
    let lookup: @Sendable (String) -> String?

    subscript(name: String) -> String? { lookup(name) }

    /// The process environment, read at each lookup (so a value set later is seen).
    static let process = HubEnvironment { name in
        guard let value = getenv(name) else { return nil }
        return String(cString: value)
    }

    /// A fixed dictionary.
    static func values(_ values: [String: String]) -> HubEnvironment {
        HubEnvironment { values[$0] }
    }
}

/// A mutable environment for tests that change configuration while the hub runs.
final class MutableEnvironment: Sendable {
    private let values: Mutex<[String: String]>

    init(_ values: [String: String] = [:]) { self.values = Mutex(values) }

    subscript(name: String) -> String? {
        get { values.withLock { $0[name] } }
        set { values.withLock { $0[name] = newValue } }
    }

    var environment: HubEnvironment { HubEnvironment { [self] in self[$0] } }
}
