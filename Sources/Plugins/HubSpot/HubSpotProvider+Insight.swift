import PluginAPI

extension HubSpotProvider {
    /// Most stored events one insight reads.
    static let insightEventLimit = 10_000

    /// `GET /api/hubspot/contacts/{id}/insight` (admin token): the contact's engagement, computed only
    /// from the contact events the hub stored; 404 when there are none.
    func contactInsight(_ request: Request) async throws -> Response {
        try requireAdmin(request)
        let id = request.pathParameters["id"] ?? ""
        guard !id.isEmpty, id.utf8.count <= 20, id.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else {
            throw HTTPError.badRequest("a HubSpot contact id is a whole number")
        }
        let matching = try await storedEvents.events(whereField: "objectId", equals: id, limit: Self.insightEventLimit)
        let events = matching.filter { $0.type.hasPrefix("contact.") || $0.payload["objectTypeId"]?.stringValue == "0-1" }
        let insight = ContactInsight(contactID: id, events: events, now: clock.now(), isTruncated: matching.count == Self.insightEventLimit)
        guard let insight else {
            throw HTTPError(
                status: 404, error: "unknown_contact",
                detail: "no HubSpot events are stored for contact \(id); insights are computed only from webhooks the hub received")
        }
        return .json(insight.json)
    }
}
