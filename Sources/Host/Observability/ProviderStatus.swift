/// A provider's state as operators see it (metrics, `GET /api/admin/providers`, the admin page).
struct ProviderStatus: Sendable {
    /// Every state name, in display order.
    static let allStates = ["disabled", "not_created", "ready", "failed"]

    let state: String
    /// Why creation failed, for `failed`.
    let reason: String?

    init(enabled: Bool, state: ProviderRegistry.SlotState) {
        switch (enabled, state) {
        case (false, _): (self.state, reason) = ("disabled", nil)
        case (true, .notCreated): (self.state, reason) = ("not_created", nil)
        case (true, .ready): (self.state, reason) = ("ready", nil)
        case (true, .failed(let why)): (self.state, reason) = ("failed", why)
        }
    }
}
