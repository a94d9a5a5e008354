import PluginAPI
import Testing

@Suite("Settings resolution")
struct SettingsResolutionTests {
    static let specs = [SettingSpec(name: "sources", summary: "per-source secrets", isSecret: true, isRequired: true)]

    func settings(_ values: JSONObject, environment: [String: String]) -> ProviderSettings {
        ProviderSettings(values: values, specs: Self.specs, environment: { environment[$0] }, secrets: { _ in nil })
    }

    @Test("An object-valued setting resolves when each of its references does")
    func objectSetting() throws {
        let values: JSONObject = ["sources": ["billing": "env:BILLING_SECRET", "crm": "whsec_literal"]]
        try settings(values, environment: ["BILLING_SECRET": "whsec_x"]).checkResolves("sources")
        let error = #expect(throws: ProviderSetupError.self) { try settings(values, environment: [:]).checkResolves("sources") }
        #expect(error?.reason.contains("sources.billing") == true)
        #expect(error?.reason.contains("BILLING_SECRET") == true)
    }

    @Test("A missing required setting names itself")
    func missing() {
        let error = #expect(throws: ProviderSetupError.self) { try settings([:], environment: [:]).checkResolves("sources") }
        #expect(error?.reason.contains("sources") == true)
    }
}
