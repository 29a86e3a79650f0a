import Logging
import NIOConcurrencyHelpers

/// The config in use; `reload()` (SIGHUP, POST /-/reload) swaps it only when the file loads cleanly.
public final class ConfigStore: Sendable {
    public let path: String
    private let metrics: ExporterMetrics
    private let logger: Logger
    private let state: NIOLockedValueBox<(config: ExporterConfig, lastError: ConfigError?)>

    public init(initial: ExporterConfig, metrics: ExporterMetrics, logger: Logger) {
        path = initial.path
        self.metrics = metrics
        self.logger = logger
        state = NIOLockedValueBox((initial, nil))
        metrics.register(modules: initial.moduleNames)
        metrics.configLoaded(success: true, reload: false)
    }

    public var current: ExporterConfig { state.withLockedValue { $0.config } }

    /// The error of the last reload when it failed (the old config is still in use).
    public var lastError: ConfigError? { state.withLockedValue { $0.lastError } }

    @discardableResult
    public func reload() -> Result<ExporterConfig, ConfigError> {
        do {
            let config = try ConfigLoader.load(path: path)
            state.withLockedValue { $0 = (config, nil) }
            metrics.register(modules: config.moduleNames)
            metrics.configLoaded(success: true, reload: true)
            logger.info("config reloaded", metadata: ["file": "\(path)", "modules": "\(config.moduleNames.joined(separator: ","))"])
            return .success(config)
        } catch {
            state.withLockedValue { $0.lastError = error }
            metrics.configLoaded(success: false, reload: true)
            logger.error("config reload failed, keeping the config in use: \(error)")
            return .failure(error)
        }
    }
}
