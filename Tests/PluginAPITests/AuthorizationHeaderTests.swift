import PluginAPI
import Testing

@Suite("Authorization header and Boolean settings")
struct AuthorizationHeaderTests {
    func request(_ values: [String]) -> Request {
        Request(method: .POST, path: "/", headers: HTTPHeaders(values.map { (name: "Authorization", value: $0) }))
    }

    @Test("The scheme is matched case-insensitively and the credentials returned")
    func credentials() throws {
        #expect(try request(["Bearer abc.def.ghi"]).authorization(scheme: "Bearer") == "abc.def.ghi")
        #expect(try request(["bearer  abc"]).authorization(scheme: "Bearer") == "abc")
        #expect(try request(["HMAC c2lnbmF0dXJl"]).authorization(scheme: "HMAC") == "c2lnbmF0dXJl")
    }

    @Test(
        "Missing, duplicated, other-scheme or empty credentials are 401",
        arguments: [[], [""], ["Basic abc"], ["Bearer"], ["Bearer "], ["Bearerabc"], ["Bearer a", "Bearer b"]])
    func refused(values: [String]) {
        let error = #expect(throws: HTTPError.self) { try request(values).authorization(scheme: "Bearer") }
        #expect(error?.status == 401)
    }

    @Test("Boolean settings accept JSON Booleans and the strings true and false")
    func booleanSettings() throws {
        let settings = ProviderSettings(
            values: ["yes": true, "no": "false", "ref": "env:FLAG", "bad": "maybe", "number": 1], specs: [],
            environment: { $0 == "FLAG" ? "true" : nil }, secrets: { _ in nil })
        #expect(try settings.bool("yes") == true)
        #expect(try settings.bool("no") == false)
        #expect(try settings.bool("ref") == true)
        #expect(try settings.bool("absent") == nil)
        #expect(throws: ProviderSetupError.self) { try settings.bool("bad") }
        #expect(throws: ProviderSetupError.self) { try settings.bool("number") }
    }
}
