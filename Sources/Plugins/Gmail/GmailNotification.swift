import PluginAPI

/// A Gmail push notification inside a Cloud Pub/Sub push envelope:
/// `{"message": {"data": base64({"emailAddress", "historyId"}), "messageId", "publishTime"}, "subscription"}`.
struct GmailNotification: Sendable, Equatable {
    /// The mailbox that changed.
    var emailAddress: String
    /// The mailbox's new history id (decimal); fetch changes since the previous one with `history.list`.
    var historyId: String
    /// Pub/Sub's message id: the same for every redelivery, so it is the event's external id.
    var messageID: String
    var publishTime: String?
    var subscription: String?

    /// Decodes an envelope; 400 `bad_request` naming what is wrong.
    init(envelope: JSONValue) throws(HTTPError) {
        guard let message = envelope["message"], message.objectValue != nil else { throw .badRequest("the Pub/Sub envelope has no message object") }
        // Pub/Sub sends both spellings; either is enough.
        guard let messageID = (message["messageId"] ?? message["message_id"])?.stringValue, !messageID.isEmpty else {
            throw .badRequest("the Pub/Sub message has no messageId")
        }
        guard let data = message["data"]?.stringValue else { throw .badRequest("the Pub/Sub message has no data") }
        (emailAddress, historyId) = try Self.decode(data: data)
        self.messageID = messageID
        publishTime = (message["publishTime"] ?? message["publish_time"])?.stringValue
        subscription = envelope["subscription"]?.stringValue
    }

    /// Decodes `message.data`: base64 (standard or URL-safe, padded or not) of a JSON object with
    /// `emailAddress` and `historyId` (a number in Gmail's guide, a string in some clients).
    static func decode(data: String) throws(HTTPError) -> (emailAddress: String, historyId: String) {
        guard let bytes = Base64.decode(data) else { throw .badRequest("message.data is not base64") }
        guard let notification = try? JSONValue.parse(bytes), notification.objectValue != nil else {  // The parser's detail is about decoded bytes the sender cannot see.
            throw .badRequest("message.data does not decode to a JSON object")
        }
        guard let emailAddress = notification["emailAddress"]?.stringValue, !emailAddress.isEmpty else {
            throw .badRequest("message.data has no emailAddress")
        }
        let historyId: String
        switch notification["historyId"] {
        case .number(let value) where value >= 0 && value.rounded() == value && value < 9.0e15:
            historyId = String(UInt64(value))
        case .string(let value) where !value.isEmpty && value.utf8.count <= 20 && value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }):
            historyId = value
        default:
            throw .badRequest("message.data has no historyId (a non-negative integer)")
        }
        return (emailAddress, historyId)
    }

    /// The event stored for this notification.
    func event(rawBody: [UInt8]) -> NewEvent {
        var payload: JSONObject = ["emailAddress": .string(emailAddress), "historyId": .string(historyId), "messageId": .string(messageID)]
        if let publishTime { payload["publishTime"] = .string(publishTime) }
        if let subscription { payload["subscription"] = .string(subscription) }
        // Pub/Sub's publishTime is when Gmail published the change: the event's own time.
        return NewEvent(
            externalID: messageID, type: "gmail.history", occurredAt: publishTime.flatMap(RFC3339.parse), rawBody: rawBody, payload: .object(payload))
    }
}
