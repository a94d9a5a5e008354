import PluginAPI

extension SlackProvider {
    /// `POST /api/webhooks/slack/commands`: answer Slack's SSL check, otherwise verify over the raw
    /// form bytes, store the command (once per `trigger_id`) and reply ephemerally.
    func receiveCommand(_ request: Request) async throws -> Response {
        // Slack's certificate probe (`ssl_check=1`) only needs a 200, and Slack's own Bolt answers it
        // before verifying the signature: the probe may come unsigned. Nothing is stored or run for it.
        if Self.isCertificateProbe(request.body) { return .empty(200) }
        try verify(request)
        let form = Self.formFields(request)
        guard let triggerID = form["trigger_id"]?.stringValue, !triggerID.isEmpty else {
            throw HTTPError.badRequest("slash command without trigger_id")
        }
        guard let command = form["command"]?.stringValue, !command.isEmpty else {
            throw HTTPError.badRequest("slash command without command")
        }
        var payload = JSONObject()
        for (name, value) in form.members where name != "token" { payload[name] = value }
        _ = try await events.append([NewEvent(externalID: triggerID, type: "slash_command", rawBody: request.body, payload: .object(payload))])
        return .json(["response_type": "ephemeral", "text": .string("Received \(command)")])
    }

    /// `POST /api/webhooks/slack/interactions`: verify over the raw form bytes, then store the
    /// `payload` JSON with its `type`, once per `trigger_id` (or per identical payload when it has none).
    func receiveInteraction(_ request: Request) async throws -> Response {
        try verify(request)
        guard let text = Self.formFields(request)["payload"]?.stringValue else {
            throw HTTPError.badRequest("interaction without a payload field")
        }
        let interaction: JSONValue
        do { interaction = try JSONValue.parse(text) } catch { throw HTTPError.badRequest("the payload field is not valid JSON: \(error)") }
        guard var payload = interaction.objectValue, let type = payload["type"]?.stringValue, !type.isEmpty else {
            throw HTTPError.badRequest("interaction payload without a type")
        }
        payload["token"] = nil
        // An empty trigger_id is no id: keyed by it, every such interaction would be a duplicate of the first.
        let triggerID = payload["trigger_id"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        let externalID = triggerID ?? "sha256:" + Hex.encode(Digest.sha256(Array(text.utf8)))
        _ = try await events.append([NewEvent(externalID: externalID, type: type, rawBody: request.body, payload: .object(payload))])
        return .empty(200)
    }

    /// The form fields of a verified body, first occurrence of each name (a set of the names seen keeps
    /// it linear: a lookup in a `JSONObject` is not).
    private static func formFields(_ request: Request) -> JSONObject {
        var seen = Set<String>()
        var fields: [(key: String, value: JSONValue)] = []
        for (name, value) in FormURLEncoded.decode(String(decoding: request.body, as: UTF8.self)) where seen.insert(name).inserted {
            fields.append((name, .string(value)))
        }
        return JSONObject(fields)
    }

    /// Whether a form body holds the pair `ssl_check=1`. It runs before the signature check, on
    /// whatever anyone sends: one pass over the raw bytes, no decoding.
    static func isCertificateProbe(_ body: [UInt8]) -> Bool {
        let probe = "ssl_check=1".utf8
        var start = 0
        while start <= body.count {
            let end = body[start...].firstIndex(of: UInt8(ascii: "&")) ?? body.count
            if body[start..<end].elementsEqual(probe) { return true }
            start = end + 1
        }
        return false
    }
}
