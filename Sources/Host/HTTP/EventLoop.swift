import CLinux
import Foundation
import PluginAPI
import Synchronization

/// One event-loop thread: an epoll set with the shared listening socket and this loop's connections.
///
/// The loop is also a `TaskExecutor`: a complete request is answered by a task that prefers this
/// executor, so the handler runs on this thread (no hop to the shared pool) and the response is
/// written right where it is produced. Work resumed from elsewhere (a storage commit finishing on the
/// writer thread) is queued here and wakes the loop through an eventfd.
final class EventLoop: TaskExecutor, @unchecked Sendable {
    // Safe: `connections`, `encoder`, `scratch`, `draining` and `nextConnectionID` are touched only on this
    // loop's thread (inside `run` and the jobs it runs); other threads use only `queue` (a Mutex),
    // `wakePending` and `load` (atomics) and `wakeFD` (a write to an eventfd).

    private let server: HTTPServer
    private let configuration: ServerConfiguration
    private let responder: any HTTPResponder
    private let logger: Logger
    private let epollFD: Int32
    private let wakeFD: Int32
    private let listenFD: Int32
    private var connections: [Int32: Connection] = [:]
    private var encoder = ResponseEncoder()
    private var nextConnectionID: UInt64 = 0
    private let scratchSize = 64 * 1024
    private let scratch: UnsafeMutableRawBufferPointer
    private let queue = Mutex(Inbox())
    /// Connections this loop owns or has been handed and not yet closed; the accepting loop gives a new
    /// connection to the loop with the fewest (``HTTPServer/loopForNewConnection(acceptedBy:)``).
    let load = Atomic<Int>(0)
    /// True while a wake-up is written and not yet consumed, so concurrent enqueuers write the eventfd once.
    private let wakePending = Atomic<Bool>(false)
    /// The loop thread's pthread id, once it runs.
    private let thread = Atomic<UInt>(0)
    private var draining = false
    /// Handler tasks started and not yet finished; the loop outlives them so none is stranded on it.
    private var tasksInFlight = 0
    /// Connections that used up their read budget with input still waiting (edge-triggered epoll will
    /// not report them again), served again on the next pass so one fast sender cannot hold the loop.
    private var readAgain: [Connection] = []
    /// Reads of 64 KiB one connection gets per pass.
    private let readBudget = 16
    /// Set when accept failed for lack of file descriptors; the listener is re-armed on the next sweep.
    private var acceptPaused = false
    private var drainDeadline: UInt64 = 0
    private let headParser: RequestHeadParser
    private let clientAddress: ClientAddress
    private let tls: TLSContext?

    init(
        server: HTTPServer, listenFD: Int32, configuration: ServerConfiguration, tls: TLSContext?, responder: any HTTPResponder,
        logger: Logger
    ) throws {
        self.tls = tls
        self.server = server
        self.listenFD = listenFD
        self.configuration = configuration
        self.responder = responder
        self.logger = logger
        headParser = RequestHeadParser(maxHeaderCount: configuration.maxHeaderCount)
        clientAddress = ClientAddress(trustedProxies: Set(configuration.trustedProxies))
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epollFD >= 0 else { throw ServerError.system("epoll_create1", errno) }
        wakeFD = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        guard wakeFD >= 0 else { throw ServerError.system("eventfd", errno) }
        scratch = .allocate(byteCount: scratchSize, alignment: 16)
        try register(wakeFD, events: EPOLLIN.rawValue)
        try register(listenFD, events: EPOLLIN.rawValue | EPOLLEXCLUSIVE.rawValue)
    }

    deinit {
        scratch.deallocate()
        close(epollFD)
        close(wakeFD)
    }

    private func register(_ fd: Int32, events: UInt32) throws {
        var event = epoll_event()
        event.events = events
        event.data.fd = fd
        guard epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &event) == 0 else { throw ServerError.system("epoll_ctl", errno) }
    }

    /// What other threads leave for the loop.
    private struct Inbox {
        var jobs: [UnownedJob] = []
        /// Connections another loop accepted for this one: descriptor and peer address.
        var handed: [(fd: Int32, address: String)] = []
        var stopping = false
        /// The loop has returned; a connection handed now would never be served.
        var finished = false
    }

    // MARK: - Cross-thread entry points

    /// Queues a job to run on this loop's thread (any thread; the TaskExecutor requirement).
    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.withLock { $0.jobs.append(job) }
        if !isLoopThread { wake() }  // On the loop thread the job runs before the loop next sleeps.
    }

    /// Gives this loop a connection another loop accepted (any thread); false when the loop has
    /// already finished, and the caller still owns the descriptor.
    func hand(_ fd: Int32, address: String) -> Bool {
        let accepted = queue.withLock { inbox in
            guard !inbox.finished else { return false }
            inbox.handed.append((fd, address))
            return true
        }
        if accepted { wake() }
        return accepted
    }

    /// Asks the loop to stop accepting and finish in-flight requests (any thread).
    func beginShutdown() {
        queue.withLock { $0.stopping = true }
        wake()
    }

    private var isLoopThread: Bool { thread.load(ordering: .relaxed) == UInt(pthread_self()) }

    private func wake() {
        guard !wakePending.exchange(true, ordering: .acquiringAndReleasing) else { return }
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    // MARK: - The loop

    /// Runs until shutdown has drained every connection.
    func run() {
        thread.store(UInt(pthread_self()), ordering: .relaxed)
        var events = [epoll_event](repeating: epoll_event(), count: 256)
        let tickMilliseconds = Int32(configuration.tick.nanoseconds / 1_000_000)
        var nextSweep = System.monotonicNanoseconds() + configuration.tick.nanoseconds
        while true {
            let pending = !readAgain.isEmpty || queue.withLock { !$0.jobs.isEmpty || !$0.handed.isEmpty }
            let count = epoll_wait(epollFD, &events, Int32(events.count), pending ? 0 : tickMilliseconds)
            if count < 0 && errno != EINTR {
                logger.error("epoll_wait failed; the event loop stops", [("errno", System.errorDescription(errno))])
                break
            }
            for i in 0..<max(0, Int(count)) {
                let event = events[i]
                let fd = event.data.fd
                if fd == wakeFD {
                    var value: UInt64 = 0
                    _ = read(wakeFD, &value, 8)
                    wakePending.store(false, ordering: .releasing)
                } else if fd == listenFD {
                    if !draining { acceptConnections() }
                } else if let connection = connections[fd] {
                    handle(event.events, on: connection)
                }
            }
            let again = readAgain
            readAgain.removeAll(keepingCapacity: true)
            for connection in again where connections[connection.fd] === connection { readAvailable(connection) }
            runJobs()
            let now = System.monotonicNanoseconds()
            if now >= nextSweep {
                sweepDeadlines(now: now)
                if acceptPaused { resumeAccepting() }
                nextSweep = now + configuration.tick.nanoseconds
            }
            if draining {
                if now >= drainDeadline {
                    // Out of time: drop the remaining connections, but let handler tasks already running
                    // finish (briefly), so none is stranded on an executor that no longer runs jobs.
                    for connection in Array(connections.values) { closeConnection(connection) }
                }
                if connections.isEmpty && (tasksInFlight == 0 || now >= drainDeadline + Self.taskGrace) { break }
            }
        }
        for connection in Array(connections.values) { closeConnection(connection) }
        let stranded = queue.withLock { inbox in
            inbox.finished = true
            defer { inbox.handed = [] }
            return inbox.handed
        }
        for connection in stranded { discardHanded(connection.fd) }
    }

    /// How long, past the drain deadline, the loop keeps running handler tasks that are still in flight.
    private static let taskGrace: UInt64 = 2_000_000_000

    /// Runs queued jobs (handlers resuming) and adopts handed connections, a bounded number of rounds
    /// so sockets are not starved.
    private func runJobs() {
        for _ in 0..<8 {
            let (jobs, handed, stopping) = queue.withLock { inbox in
                defer {
                    inbox.jobs.removeAll(keepingCapacity: true)
                    inbox.handed.removeAll()
                }
                return (inbox.jobs, inbox.handed, inbox.stopping)
            }
            if stopping && !draining { startDraining() }
            for connection in handed {
                if draining { discardHanded(connection.fd) } else { adopt(connection.fd, address: connection.address) }
            }
            if jobs.isEmpty { return }
            for job in jobs { job.runSynchronously(on: asUnownedTaskExecutor()) }
        }
    }

    /// Writes a handler's response (on the loop thread, where the handler's task runs).
    private func deliver(_ response: Response, fd: Int32, id: UInt64) {
        assert(isLoopThread, "a handler's task must resume on its event loop")
        tasksInFlight -= 1
        guard let connection = connections[fd], connection.id == id, connection.phase == .handling else {
            return  // The client went away while its request was handled.
        }
        sendResponse(response, on: connection)
    }

    private func startDraining() {
        draining = true
        drainDeadline = System.monotonicNanoseconds() + configuration.shutdownGracePeriod.nanoseconds
        var event = epoll_event()
        epoll_ctl(epollFD, EPOLL_CTL_DEL, listenFD, &event)
        for connection in Array(connections.values) where isIdle(connection) {
            closeConnection(connection)
        }
    }

    private func isIdle(_ connection: Connection) -> Bool {
        (connection.phase == .readingHead && !connection.requestStarted) || connection.phase == .lingering
    }

    // MARK: - Accepting

    private func acceptConnections() {
        var address = [CChar](repeating: 0, count: 64)
        while true {
            let fd = atom_accept(listenFD, &address, address.count)
            if fd < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                if errno == EMFILE || errno == ENFILE {
                    // Out of file descriptors: the level-triggered listener would report the same pending
                    // connection again at once, so stop watching it until the next sweep.
                    pauseAccepting()
                    return
                }
                // EINVAL: the listener was shut down; the loop's own stop message is on its way.
                if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINVAL {
                    logger.warning("accept failed", [("errno", System.errorDescription(errno))])
                }
                return
            }
            guard server.reserveConnectionSlot() else {
                rejectOverCapacity(fd)
                continue
            }
            let remote = String(decoding: address.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let owner = server.loopForNewConnection(acceptedBy: self)
            if owner === self {
                adopt(fd, address: remote)
            } else if !owner.hand(fd, address: remote) {
                owner.discardHanded(fd)  // Thread-safe: a close, an atomic and the server's atomic.
            }
        }
    }

    /// Starts serving an accepted connection on this loop (its slot and `load` are already counted).
    private func adopt(_ fd: Int32, address: String) {
        var session: TLSSession?
        if let tls {
            session = tls.makeSession(fd: fd)
            if session == nil {
                logger.error("could not create a TLS session for a new connection")
                discardHanded(fd)
                return
            }
        }
        _ = atom_setsockopt_int(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
        nextConnectionID += 1
        let connection = Connection(fd: fd, id: nextConnectionID, remoteAddress: address)
        connection.tls = session
        var event = epoll_event()
        event.events = EPOLLIN.rawValue | EPOLLOUT.rawValue | EPOLLRDHUP.rawValue | EPOLLET.rawValue
        event.data.fd = fd
        guard epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &event) == 0 else {
            logger.error("epoll_ctl(ADD) failed for a new connection", [("errno", System.errorDescription(errno))])
            discardHanded(fd)
            return
        }
        connections[fd] = connection
        connection.deadline = System.monotonicNanoseconds() + configuration.idleTimeout.nanoseconds
        readAvailable(connection)
    }

    /// Closes a connection counted for this loop but never served (shutdown, setting it up failed, or
    /// the loop had finished when it was handed over). Safe on any thread.
    private func discardHanded(_ fd: Int32) {
        close(fd)
        load.subtract(1, ordering: .relaxed)
        server.releaseConnectionSlot()
    }

    private func pauseAccepting() {
        guard !acceptPaused else { return }
        acceptPaused = true
        var event = epoll_event()
        epoll_ctl(epollFD, EPOLL_CTL_DEL, listenFD, &event)
        logger.error("out of file descriptors: not accepting new connections until some close", [("errno", System.errorDescription(errno))])
    }

    private func resumeAccepting() {
        acceptPaused = false
        guard !draining else { return }
        var event = epoll_event()
        event.events = EPOLLIN.rawValue | EPOLLEXCLUSIVE.rawValue
        event.data.fd = listenFD
        epoll_ctl(epollFD, EPOLL_CTL_ADD, listenFD, &event)
    }

    /// Past the connection limit: answer 503 and close, so the client learns why (TLS clients are just
    /// closed: a handshake would cost more than the connection is worth).
    private func rejectOverCapacity(_ fd: Int32) {
        guard tls == nil else {
            close(fd)
            return
        }
        responder.rejected(status: 503, reason: "over capacity: the connection limit is reached", remoteAddress: "")
        let body = #"{"error":"over_capacity","detail":"the server has too many open connections; retry later"}"#
        let response = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nRetry-After: 1\r\nConnection: close\r\n\r\n\(body)"
        _ = response.withCString { Glibc.send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        close(fd)
    }

    // MARK: - Reading

    private func handle(_ events: UInt32, on connection: Connection) {
        if events & (EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0 && connection.phase != .handling {
            closeConnection(connection)
            return
        }
        if let session = connection.tls, !session.handshakeComplete {
            switch session.handshake() {
            case .wouldBlock: return
            case .closed, .failed:
                logger.debug("TLS handshake failed", [("remote", connection.remoteAddress)])
                closeConnection(connection)
                return
            case .bytes: break  // Complete: application data may already be waiting.
            }
        }
        if events & EPOLLOUT.rawValue != 0 && connection.phase == .writing {
            flush(connection)
        }
        if events & (EPOLLIN.rawValue | EPOLLRDHUP.rawValue) != 0 {
            readAvailable(connection)
        }
    }

    /// Reads until the socket would block, processing requests as they complete.
    private func readAvailable(_ connection: Connection) {
        var reads = 0
        while connections[connection.fd] === connection {
            if reads == readBudget {
                readAgain.append(connection)
                return
            }
            reads += 1
            switch connection.phase {
            case .handling, .writing:
                connection.inputPending = true  // Not read now: the response's flush reads it.
                return
            case .readingHead, .readingBody, .lingering: break
            }
            if let session = connection.tls, !session.handshakeComplete { return }
            switch receive(on: connection) {
            case .bytes(let count):
                // A plain socket that filled less than the buffer is drained: edge-triggered epoll
                // reports the next bytes to arrive, so no read to collect EAGAIN is needed (one
                // system call per request saved). TLS may hold decrypted bytes back; read on.
                let drained = connection.tls == nil && count < scratchSize
                connection.inputPending = !drained
                if connection.phase == .lingering {  // Discard input after the final response.
                    if drained { return }
                    continue
                }
                connection.inbound.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[0..<count]))
                process(connection)
                if drained { return }
            case .wouldBlock:
                connection.inputPending = false
                return
            case .closed, .failed:
                closeConnection(connection)  // EOF or error: mid-request or idle, nothing more can be answered.
                return
            }
        }
    }

    /// Advances the request state machine over buffered input.
    private func process(_ connection: Connection) {
        while connections[connection.fd] === connection {
            switch connection.phase {
            case .readingHead:
                guard processHead(connection) else { return }
            case .readingBody:
                guard processBody(connection) else { return }
            case .handling, .writing, .lingering:
                return
            }
        }
    }

    /// Returns true when the state changed and processing should continue.
    private func processHead(_ connection: Connection) -> Bool {
        // RFC 9112 §2.2: ignore empty lines before a request line.
        var skip = 0
        while skip + 1 < connection.inbound.count, connection.inbound[skip] == HTTPGrammar.cr, connection.inbound[skip + 1] == HTTPGrammar.lf {
            skip += 2
        }
        if skip > 0 { connection.consumeInbound(skip) }
        if connection.inbound.isEmpty { return false }
        if !connection.requestStarted {
            connection.requestStarted = true
            connection.deadline = System.monotonicNanoseconds() + configuration.headerReadTimeout.nanoseconds
        }
        let limit = configuration.maxHeaderBytes
        let result: Result<RequestHead?, HTTPParseError> = connection.inbound.withUnsafeBufferPointer { buffer in
            do throws(HTTPParseError) {
                let searchable = UnsafeBufferPointer(rebasing: buffer[0..<min(buffer.count, limit + 4)])
                guard let end = try RequestHeadParser.headEnd(in: searchable, from: max(0, connection.headScanOffset - 3)) else {
                    connection.headScanOffset = searchable.count
                    if buffer.count > limit { throw HTTPParseError.headerTooLarge("the request head is larger than \(limit) bytes") }
                    return .success(nil)
                }
                let head = try headParser.parse(UnsafeBufferPointer(rebasing: buffer[0..<end]))
                connection.headScanOffset = end
                return .success(head)
            } catch {
                return .failure(error)
            }
        }
        switch result {
        case .failure(let error):
            fail(connection, error)
            return false
        case .success(nil):
            return false
        case .success(let head?):
            connection.consumeInbound(connection.headScanOffset)
            return beginBody(connection, head: head)
        }
    }

    private func beginBody(_ connection: Connection, head: RequestHead) -> Bool {
        connection.head = head
        let route = responder.route(method: head.method, path: head.path)
        connection.route = route
        switch head.framing {
        case .none:
            dispatch(connection, body: [])
            return false
        case .length(let length):
            guard length <= route.maxBodyBytes else {
                fail(connection, .bodyTooLarge(limit: route.maxBodyBytes))
                return false
            }
        case .chunked:
            connection.chunked = ChunkedDecoder(
                maxBodyBytes: route.maxBodyBytes, maxTrailerBytes: configuration.maxHeaderBytes,
                maxTrailerCount: configuration.maxHeaderCount)
        }
        if head.expectsContinue && head.isHTTP11 && connection.inbound.isEmpty {
            // 25 bytes on a socket with nothing else queued; if they cannot all go out now, the stream
            // would be corrupt (and a TLS write could not be retried with another buffer), so give up.
            let sent = Self.continueLine.withUnsafeBytes { transmit($0.baseAddress!, count: $0.count, on: connection) }
            guard case .bytes(Self.continueLine.count) = sent else {
                closeConnection(connection)
                return false
            }
        }
        connection.phase = .readingBody
        connection.deadline = System.monotonicNanoseconds() + configuration.bodyReadTimeout.nanoseconds
        return true
    }

    private func processBody(_ connection: Connection) -> Bool {
        guard let head = connection.head else { return false }
        switch head.framing {
        case .length(let length):
            guard connection.inbound.count >= length else { return false }
            let body = Array(connection.inbound[0..<length])
            connection.consumeInbound(length)
            dispatch(connection, body: body)
        case .chunked:
            // Take the decoder out of the connection while feeding it, so its body has one owner and
            // appending never triggers a copy-on-write of everything decoded so far.
            guard var decoder = connection.chunked else { return false }
            connection.chunked = nil
            let fed = connection.inbound.withUnsafeBufferPointer { buffer in
                Result { () throws(HTTPParseError) in try decoder.feed(buffer) }
            }
            switch fed {
            case .failure(let error):
                fail(connection, error)
                return false
            case .success(let consumed):
                connection.consumeInbound(consumed)
                if decoder.isDone {
                    dispatch(connection, body: decoder.body)
                } else {
                    connection.chunked = decoder
                    return false
                }
            }
        case .none:
            dispatch(connection, body: [])
        }
        return false
    }

    /// Hands the complete request to the responder.
    private func dispatch(_ connection: Connection, body: [UInt8]) {
        guard let head = connection.head else { return }
        connection.phase = .handling
        connection.deadline = 0  // A request being answered is never timed out.
        let request = Request(
            method: head.method, path: head.path, query: head.query, headers: head.headers, body: body,
            remoteAddress: clientAddress.resolve(peer: connection.remoteAddress, headers: head.headers))
        guard let route = connection.route else { return }
        connection.route = nil
        let (fd, id) = (connection.fd, connection.id)
        tasksInFlight += 1
        Task(executorPreference: self) { [self] in
            let response = await route.respond(request)
            deliver(response, fd: fd, id: id)
        }
    }

    // MARK: - Writing

    private func sendResponse(_ response: Response, on connection: Connection) {
        let head = connection.head
        let keepAlive = (head?.keepAlive ?? false) && !draining && !connection.closeAfterWrite
        connection.closeAfterWrite = !keepAlive
        connection.outbound = encoder.encode(
            response, keepAlive: keepAlive, isHTTP11: head?.isHTTP11 ?? true,
            includeBody: head?.method != .HEAD, logger: logger)
        connection.outboundOffset = 0
        connection.phase = .writing
        connection.deadline = System.monotonicNanoseconds() + configuration.writeTimeout.nanoseconds
        flush(connection)
    }

    /// Writes pending output; when done, starts the next request or closes.
    private func flush(_ connection: Connection) {
        while connection.outboundOffset < connection.outbound.count {
            let result = connection.outbound.withUnsafeBytes { buffer in
                transmit(buffer.baseAddress! + connection.outboundOffset, count: buffer.count - connection.outboundOffset, on: connection)
            }
            switch result {
            case .bytes(let written): connection.outboundOffset += written
            case .wouldBlock: return  // EPOLLOUT (edge-triggered) resumes us.
            case .closed, .failed:
                closeConnection(connection)
                return
            }
        }
        connection.outbound = []
        connection.outboundOffset = 0
        connection.head = nil
        if connection.closeAfterWrite || draining {
            linger(connection)
            return
        }
        connection.phase = .readingHead
        connection.requestStarted = false
        connection.deadline = System.monotonicNanoseconds() + configuration.idleTimeout.nanoseconds
        process(connection)  // A pipelined request may already be buffered.
        if connections[connection.fd] === connection, connection.inputPending,
            connection.phase == .readingHead || connection.phase == .readingBody
        {
            readAvailable(connection)
        }
    }

    /// Answers a protocol error and closes.
    private func fail(_ connection: Connection, _ error: HTTPParseError) {
        let code: String
        switch error.status {
        case 408: code = "request_timeout"
        case 413: code = "body_too_large"
        case 417: code = "expectation_failed"
        case 431: code = "headers_too_large"
        case 501: code = "not_implemented"
        case 505: code = "http_version_not_supported"
        default: code = "bad_request"
        }
        responder.rejected(status: error.status, reason: error.reason, remoteAddress: connection.remoteAddress)
        connection.closeAfterWrite = true
        connection.inbound = []
        sendResponse(HTTPError(status: error.status, error: code, detail: error.reason).response, on: connection)
    }

    private func linger(_ connection: Connection) {
        connection.tls?.close()
        shutdown(connection.fd, Int32(SHUT_WR))
        connection.phase = .lingering
        connection.inbound = []
        connection.deadline = System.monotonicNanoseconds() + 2_000_000_000
        readAvailable(connection)
    }

    // MARK: - Transport (plain or TLS)

    private static let continueLine = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    /// Reads into the loop's scratch buffer.
    private func receive(on connection: Connection) -> TransportResult {
        if let session = connection.tls { return session.read(into: scratch.baseAddress!, count: scratchSize) }
        while true {
            let count = read(connection.fd, scratch.baseAddress, scratchSize)
            if count > 0 { return .bytes(count) }
            if count == 0 { return .closed }
            if errno == EINTR { continue }
            return errno == EAGAIN || errno == EWOULDBLOCK ? .wouldBlock : .failed
        }
    }

    private func transmit(_ bytes: UnsafeRawPointer, count: Int, on connection: Connection) -> TransportResult {
        if let session = connection.tls { return session.write(bytes, count: count) }
        while true {
            let written = Glibc.send(connection.fd, bytes, count, Int32(MSG_NOSIGNAL))
            if written >= 0 { return .bytes(written) }
            if errno == EINTR { continue }
            return errno == EAGAIN || errno == EWOULDBLOCK ? .wouldBlock : .failed
        }
    }

    private func closeConnection(_ connection: Connection) {
        guard connections.removeValue(forKey: connection.fd) != nil else { return }
        close(connection.fd)
        load.subtract(1, ordering: .relaxed)
        server.releaseConnectionSlot()
    }

    // MARK: - Timeouts

    private func sweepDeadlines(now: UInt64) {
        for connection in Array(connections.values) where connection.deadline != 0 && now >= connection.deadline {
            switch connection.phase {
            case .readingHead where connection.requestStarted, .readingBody:
                // A slow client: tell it, then close (slowloris, slow POST).
                fail(connection, HTTPParseError(status: 408, reason: "the request was not received in time"))
            case .writing:
                // A reader that stopped reading: reset rather than close, so the kernel drops the unsent
                // response at once instead of holding it (and the socket) for a peer that will not take it.
                _ = atom_set_linger_reset(connection.fd)
                closeConnection(connection)
            case .readingHead, .lingering, .handling:
                closeConnection(connection)
            }
        }
    }
}
