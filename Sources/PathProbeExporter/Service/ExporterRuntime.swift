import ArgumentParser
import Logging
import NIOConcurrencyHelpers
import PathProbeCore
import PathProbeEngine
import ServiceLifecycle
import UnixSignals

/// The exporter's command line (`pathprobe-exporter`, and `pathprobe exporter` which execs it).
public struct ExporterOptions: ParsableArguments {
    @Option(help: "The config file (YAML): modules and their settings.")
    public var config: String

    @Option(help: "Address and port to serve on: :PORT (every address), HOST:PORT, [IPv6]:PORT.")
    public var listen = ":\(ListenAddress.defaultPort)"

    @Option(name: .customLong("max-concurrent"), help: "Probes at once; scrapes beyond get 503 at once.")
    public var maxConcurrent = CoordinatorSettings().maxConcurrent

    @Option(name: .customLong("timeout-offset"), help: "Seconds taken off the scrape's timeout (X-Prometheus-Scrape-Timeout-Seconds) for the answer's way back.")
    public var timeoutOffset = 0.5

    @Option(name: .customLong("hop-interval"), help: "Hop probes to one target at most this often, seconds; in between, hops come from a cache (0: no pacing).")
    public var hopInterval = 60.0

    @Option(name: .customLong("hop-traces-per-second"), help: "Targets whose hops are probed per second, over all targets (a router answers a vantage point about once a second; 0: no limit).")
    public var hopTracesPerSecond = CoordinatorSettings().hopTracesPerSecond

    @Option(help: "Global probe rate limit, packets per second, shared by all probes (0: unlimited).")
    public var rate = EngineProber.Settings().rate

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    public var logLevel = "info"

    @Flag(name: .customLong("check-config"), help: "Check the config file and exit (0: fine; 2: one line saying what is wrong).")
    public var checkConfig = false

    @Flag(name: .customLong("fake-prober"), help: .hidden)
    public var fakeProber = false

    public init() {}

    public func validate() throws {
        if ListenAddress(listen) == nil { throw ValidationError("--listen '\(listen)' is not ADDR:PORT (e.g. :9799, 127.0.0.1:9799, [::1]:9799)") }
        if !(1...100_000).contains(maxConcurrent) { throw ValidationError("--max-concurrent must be between 1 and 100000") }
        if !(0...60).contains(timeoutOffset) { throw ValidationError("--timeout-offset must be between 0 and 60 seconds") }
        if !(rate >= 0) { throw ValidationError("--rate must not be negative") }
        if !(0...86_400).contains(hopInterval) { throw ValidationError("--hop-interval must be between 0 and 86400 seconds") }
        if !(0...100_000).contains(hopTracesPerSecond) { throw ValidationError("--hop-traces-per-second must be between 0 and 100000") }
        if Logger.Level(rawValue: logLevel) == nil { throw ValidationError("--log-level '\(logLevel)' is not a log level") }
    }

    var coordinatorSettings: CoordinatorSettings {
        var s = CoordinatorSettings()
        s.maxConcurrent = maxConcurrent
        s.timeoutOffset = .milliseconds(Int64(timeoutOffset * 1000))
        s.hopInterval = .milliseconds(Int64(hopInterval * 1000))
        s.hopTracesPerSecond = hopTracesPerSecond
        return s
    }
}

public enum ExporterRuntime {
    /// Runs the exporter until SIGTERM / SIGINT; returns the exit status. `writeError` gets one-line
    /// messages for the exits 2 and 3.
    public static func run(_ options: ExporterOptions, logger: Logger, writeError: @Sendable (String) -> Void) async -> ExitStatus {
        let config: ExporterConfig
        do {
            config = try ConfigLoader.load(path: options.config)
        } catch {
            writeError("\(error)")
            return .usage
        }
        if options.checkConfig {
            print("\(config.path): \(config.modules.count) modules: \(config.moduleNames.joined(separator: ", "))")
            return .ok
        }
        let listen = ListenAddress(options.listen)!
        // Every scrape connection (Prometheus keeps them open) and every probe socket is a descriptor.
        let openFiles = ResourceLimits.raiseOpenFiles()
        if openFiles < 4 * options.maxConcurrent {
            logger.warning("only \(openFiles) open files allowed (ulimit -n, LimitNOFILE=): scrapes beyond that many connections fail")
        }
        let metrics = ExporterMetrics(maxConcurrent: options.maxConcurrent)
        let store = ConfigStore(initial: config, metrics: metrics, logger: logger)
        let executor: any ProbeExecutor
        var engine: EngineProber?
        if options.fakeProber {
            executor = FakeProber()
            logger.warning("--fake-prober: probes send nothing, outcomes come from the target's name")
        } else {
            var settings = EngineProber.Settings()
            settings.rate = options.rate
            do { engine = try EngineProber(settings: settings) } catch {
                writeError(error.message)
                return .environment
            }
            executor = engine!
        }
        let coordinator = ProbeCoordinator(executor: executor, config: store, metrics: metrics, settings: options.coordinatorSettings)
        let server = HTTPServer(router: Router(coordinator: coordinator), address: listen, logger: logger)

        var groupConfig = ServiceGroupConfiguration(services: [server], logger: logger)
        // A probe may run for minutes (its module's timeout); shutdown does not wait that long.
        groupConfig.maximumGracefulShutdownDuration = .seconds(5)
        let group = ServiceGroup(configuration: groupConfig)
        let stopSignal = NIOLockedValueBox<UnixSignal?>(nil)
        let signals = await UnixSignalsSequence(trapping: .sighup, .sigterm, .sigint)

        let watcher = Task {
            for await signal in signals {
                if signal == .sighup {
                    store.reload()
                    continue
                }
                let first = stopSignal.withLockedValue { s in
                    defer { s = s ?? signal }
                    return s == nil
                }
                guard first else {
                    logger.notice("second \(signal): exiting now")
                    exitNow(signal == .sigint ? .interrupted : .terminated)
                }
                logger.notice("\(signal): shutting down (again to exit now)")
                await group.triggerGracefulShutdown()
            }
        }
        defer { watcher.cancel() }
        do {
            try await group.run()
        } catch {
            await engine?.shutdown()
            writeError("cannot serve on \(listen): \(describe(error))")
            return .environment
        }
        await engine?.shutdown()
        switch stopSignal.withLockedValue({ $0 }) {
        case .sigint?: return .interrupted
        case .sigterm?: return .terminated
        default: return .ok
        }
    }

    /// The service's own error, without ServiceGroup's wrapping.
    static func describe(_ error: any Error) -> String {
        if let e = error as? ServiceGroupError { return "\(e)" }
        return "\(error)"
    }

    static func exitNow(_ status: ExitStatus) -> Never {
        #if canImport(Glibc)
        Glibc.exit(status.rawValue)
        #endif
    }
}

#if canImport(Glibc)
import Glibc
#endif
