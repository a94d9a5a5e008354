import Dispatch
import Foundation
import PluginAPI

extension CommandLineInterface {
    /// `atom-hub serve`: starts the hub and blocks until SIGTERM or SIGINT has drained it.
    static func serve(_ options: HubOptions, environment: HubEnvironment) -> ExitCode {
        let logger = LogOutput.standardError(label: "host", level: options.logLevel, format: options.logFormat)
        signal(SIGPIPE, SIG_IGN)
        signal(SIGHUP, SIG_IGN)  // Handled below, once the hub exists: reloads plugins.json.
        let hub: Hub
        do {
            hub = try Hub(options: options, environment: environment, logger: logger)
        } catch let error as ConfigurationError {
            printError("atom-hub: configuration error: \(error)")
            return .config
        } catch let error as RouteConflictError {
            printError("atom-hub: configuration error: \(error)")
            return .config
        } catch let error as StartupRefusal {
            printError("atom-hub: \(error)")
            return .config
        } catch {
            printError("atom-hub: cannot start: \(error)")
            return .failure
        }
        let stop = DispatchSemaphore(value: 0)
        var sources: [any DispatchSourceSignal] = []
        for signalNumber in [SIGTERM, SIGINT] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { stop.signal() }
            source.resume()
            sources.append(source)
        }
        let reload = DispatchSource.makeSignalSource(signal: SIGHUP, queue: DispatchQueue(label: "atom-hub.sighup"))
        reload.setEventHandler { hub.reloader.reload(.signal) }
        reload.resume()
        sources.append(reload)
        let port: Int
        do {
            port = try hub.start()
        } catch let error as TLSError {
            printError("atom-hub: configuration error: TLS: \(error)")
            hub.shutdown()
            return .config
        } catch {
            printError("atom-hub: cannot listen: \(error)")
            hub.shutdown()
            return .failure
        }
        let host = options.server.host.contains(":") ? "[\(options.server.host)]" : options.server.host
        let scheme = options.server.tlsCertificatePath == nil ? "http" : "https"
        printError("listening on \(scheme)://\(host):\(port)")
        stop.wait()
        logger.info("shutting down: finishing in-flight requests")
        hub.shutdown()
        logger.info("stopped")
        sources.forEach { $0.cancel() }
        return .success
    }
}
