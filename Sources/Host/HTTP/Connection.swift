import PluginAPI

/// One client connection's state. Owned by its event loop and touched only on that loop's thread.
final class Connection {
    enum Phase {
        /// Waiting for (more of) a request head; `idle` when no byte of the next request has arrived.
        case readingHead
        case readingBody
        /// A handler is producing the response; nothing more is read (pipelined requests wait).
        case handling
        /// The response is partly written.
        case writing
        /// The response is sent and the write side shut; unread input is drained until EOF or a deadline,
        /// so the client sees the response rather than a reset.
        case lingering
    }

    let fd: Int32
    let id: UInt64
    let remoteAddress: String
    /// The TLS session when the server terminates TLS.
    var tls: TLSSession?
    var phase = Phase.readingHead
    /// Bytes received and not yet consumed.
    var inbound: [UInt8] = []
    /// Where the search for the end of the head resumes.
    var headScanOffset = 0
    var head: RequestHead?
    /// Where the current request goes, decided once its head is parsed.
    var route: HTTPRoute?
    var chunked: ChunkedDecoder?
    /// Bytes of the current response not yet written.
    var outbound: [UInt8] = []
    var outboundOffset = 0
    /// Close once the current response is written.
    var closeAfterWrite = false
    /// Monotonic deadline for the current phase, in nanoseconds; 0 when none.
    var deadline: UInt64 = 0
    /// Whether any byte of the current request has arrived (distinguishes idle from slow).
    var requestStarted = false
    /// Whether the socket may hold unread input: false only after a read found it drained, true
    /// again when epoll reports input that was not read then (a response was being produced).
    var inputPending = true

    init(fd: Int32, id: UInt64, remoteAddress: String) {
        self.fd = fd
        self.id = id
        self.remoteAddress = remoteAddress
    }

    /// Drops consumed bytes, and the buffer's capacity too when it is empty or large, so no connection
    /// keeps the room a big body needed: a client that always leaves a byte of its next request behind
    /// would otherwise hold it for as long as it keeps the connection busy.
    func consumeInbound(_ count: Int) {
        if count >= inbound.count {
            inbound = []
        } else if count > 0 {
            if inbound.capacity > Self.keptCapacity { inbound = Array(inbound[count...]) } else { inbound.removeFirst(count) }
        }
        headScanOffset = 0
    }

    /// The most buffer capacity a connection keeps once what filled it is consumed.
    static let keptCapacity = 64 * 1024
}
