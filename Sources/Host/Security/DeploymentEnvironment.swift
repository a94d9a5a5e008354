/// Which rules the hub runs under, from `ENVIRONMENT`: `development` relaxes them; unset means
/// development (with a banner in the log); any other value (`prod`, `staging`, …) gets production rules.
struct DeploymentEnvironment: Sendable, Equatable {
    enum Mode: String, Sendable {
        case development, production
    }

    let mode: Mode
    /// `ENVIRONMENT` as given; nil when unset or empty.
    let declared: String?

    init(_ environment: HubEnvironment) {
        let value = environment["ENVIRONMENT"].flatMap { $0.isEmpty ? nil : $0 }
        declared = value
        mode = (value == nil || value == "development") ? .development : .production
    }

    var isProduction: Bool { mode == .production }
}
