import PluginAPI

/// The admin page at `/admin`: static HTML, CSS and vanilla JavaScript compiled into the binary (no
/// build step, no CDN), served under a strict Content-Security-Policy. The page itself is public and
/// holds no data; it calls the admin API with the token the operator enters, kept in sessionStorage.
enum AdminPage {
    /// Only our own script and style, API calls to this origin, no framing, no forms elsewhere.
    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

    static let files: [(path: String, contentType: String, body: String)] = [
        ("/admin", "text/html; charset=utf-8", html),
        ("/admin/app.css", "text/css; charset=utf-8", css),
        ("/admin/app.js", "text/javascript; charset=utf-8", script),
    ]

    /// Adds `GET /admin` and its two assets.
    static func register(in router: inout Router) throws(RouteConflictError) {
        for file in files {
            let response = Response(
                status: 200,
                headers: [
                    "Content-Type": file.contentType, "Content-Security-Policy": contentSecurityPolicy, "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY", "Cache-Control": "no-cache",
                ], body: Array(file.body.utf8))
            try router.add(
                method: .GET, template: file.path, maxBodyBytes: 0, owner: .host { _ in response }, declaredBy: "the host",
                summary: file.path == "/admin" ? "The admin page (enter the admin token in the page)" : "Admin page asset",
                documentation: RouteDocumentation(responses: [200: RouteDocumentation.Body(contentType: String(file.contentType.prefix { $0 != ";" }), schema: JSONSchema.string())]))
        }
    }
}
