import Foundation
import PluginAPI
import Testing

@testable import Host

@Suite("Admin page")
struct AdminPageTests {
    @Test("/admin and its assets are served with a strict Content-Security-Policy and no inline script or style", arguments: AdminPage.files.map(\.path))
    func served(path: String) async throws {
        try await withHub { (hub: TestHub) async throws in
            let response = try await hub.request("GET", path)
            #expect(response.status == 200)
            let policy = try #require(response.header("Content-Security-Policy"))
            #expect(policy.contains("default-src 'none'") && policy.contains("script-src 'self'") && !policy.contains("unsafe-inline"))
            #expect(response.header("X-Content-Type-Options") == "nosniff")
            if path == "/admin" {
                #expect(!response.text.contains("<script>") && !response.text.contains("<style") && !response.text.contains(" style="), "nothing inline")
                #expect(!response.text.contains("http://") && !response.text.contains("https://"), "no CDN")
            }
        }
    }

    @Test("The page keeps the token in sessionStorage and never in localStorage or a cookie")
    func tokenStorage() {
        #expect(AdminPage.script.contains("sessionStorage.setItem"))
        #expect(!AdminPage.script.contains("localStorage") && !AdminPage.script.contains("document.cookie"))
        #expect(!AdminPage.script.contains("innerHTML"), "data is rendered as text")
    }
}
