import Foundation
import NIOConcurrencyHelpers
import NIOPosix
import PathProbeCore
import PathProbeEngine
import PathProbeKit
import PathProbeNetlink

/// The real prober: pathprobe's measurements on its own epoll engine, which runs on one dedicated
/// thread for the exporter's lifetime. A probe:
///
/// 1. resolves its target and asks the kernel for its route (and, for `profile`, reads the local
///    side) on a few blocking threads: DNS and netlink never run on Swift's cooperative threads nor
///    on the engine's;
/// 2. on the engine's thread, sets the measurement up with PathProbeKit's `MTUSetup` / `ReachSetup`
///    / `ProfileSetup` (the same `prepare` the command line uses) and submits its state machines,
///    each bounded by the probe's deadline (`DeadlineMeasurement`);
/// 3. when the last one is finished (or cut short at the deadline, or cancelled), `finish` makes the
///    typed result on the engine's thread, and the probe's task maps it to a `ProbeOutcome`.
///
/// All probes share the engine's sockets, slots and global rate limit (`--rate`). Modules with
/// another `interface` or `icmp_socket` get an engine of their own on the same loop and thread.
public final class EngineProber: ProbeExecutor {
    public struct Settings: Sendable {
        /// The engine's global probe rate, packets per second (0: unlimited).
        public var rate: Double = 20_000
        /// Threads for name resolution, route lookups and reading the local side.
        public var blockingThreads = 8

        public init() {}
    }

    let host: EngineHost
    private let blocking: NIOThreadPool
    private let routes = RouteLookups()
    private let inventory = InventoryCache()

    /// Starts the engine's thread and the blocking threads.
    public init(settings: Settings = Settings()) throws(PathProbeError) {
        host = try EngineHost(rate: settings.rate)
        blocking = NIOThreadPool(numberOfThreads: settings.blockingThreads)
        blocking.start()
    }

    /// Answers what is still running ("the exporter is stopping"), ends the engine's thread and the
    /// blocking threads.
    public func shutdown() async {
        host.stop()
        try? await blocking.shutdownGracefully()
    }

    public func run(_ job: ProbeJob) async -> ProbeOutcome {
        let options = job.module.options
        let start = ContinuousClock.now
        let target: LocatedTarget
        do {
            target = try await blocking.runIfActive { [routes, inventory] in
                try LocatedTarget.locate(job, routes: routes, inventory: inventory)
            }
        } catch let error as PathProbeError {
            job.log.add(error.message)
            return .failed(error.message)
        } catch {
            let reason = host.isStopped ? EngineHost.stopping : "cancelled"
            job.log.add("\(reason) before the target was located")
            return .failed(reason, cutShort: true)
        }
        let ms = ((ContinuousClock.now - start).seconds * 10_000).rounded() / 10
        job.log.add("\(job.target) is \(target.target.address), out of \(target.target.egress.interface ?? "?") "
            + "(mtu \(target.target.egress.mtu.map(String.init) ?? "?")); resolved and routed in \(ms) ms")

        let run = ProbeRun(job: job, target: target, traceHops: options.sendsHopProbes && job.hopProbes == .send)
        let end = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                host.start(run, continuation: continuation)
            }
        } onCancel: {
            host.cancel(run)
        }
        switch end {
        case .failed(let reason, let cutShort):
            job.log.add(reason)
            return .failed(reason, cutShort: cutShort)
        case .finished(let result, let cutShort, let probes):
            job.log.add("\(cutShort ? "cut short" : "finished"): \(probes) probes sent")
            switch result {
            case .mtu(let r): return ProbeOutcome(mtu: r, cutShort: cutShort)
            case .reach(let r): return ProbeOutcome(reach: r, cutShort: cutShort)
            case .profile(let r): return ProbeOutcome(profile: r, cutShort: cutShort)
            }
        }
    }
}

/// A probe's target, resolved and routed, and for `profile` the local side (on a blocking thread).
struct LocatedTarget: Sendable {
    var target: ProbeTarget
    var local: ProfileReport.LocalSide?

    static func locate(_ job: ProbeJob, routes: RouteLookups, inventory: InventoryCache) throws(PathProbeError) -> LocatedTarget {
        let options = job.module.options
        let interface = options.probe.interface
        let address = try ProbeTarget.resolveAddress(job.target, family: options.family.family)
        if job.module.prober == .profile {
            let (route, egress) = try routes.with { cache throws(PathProbeError) in
                do { return try cache.route(to: address, target: job.target, interface: interface) } catch { throw PathProbeError.from(error) }
            }
            let (read, error) = inventory.current()
            let local = ProfileSetup.localSide(route: route, inventory: read, interface: interface, error: error)
            return LocatedTarget(target: ProbeTarget(text: job.target, address: address, egress: egress), local: local)
        }
        let egress = try routes.with { cache throws(PathProbeError) in
            do { return try cache.lookup(to: address, interface: interface) } catch { throw PathProbeError.from(error) }
        }
        return LocatedTarget(target: ProbeTarget(text: job.target, address: address, egress: egress), local: nil)
    }
}

/// The typed result of a finished probe, handed from the engine's thread to the probe's task.
enum ProbeResultDocument: Sendable {
    case mtu(PathMTUResult)
    case reach(ReachResult)
    case profile(ProfileReport)
}

/// How a probe on the engine ended.
enum ProbeRunEnd: Sendable {
    case finished(ProbeResultDocument, cutShort: Bool, probes: Int)
    case failed(String, cutShort: Bool)
}

/// One probe on the engine. Its measurement state is touched on the engine's thread only; the
/// continuation is resumed exactly once (`resume`), from whichever thread ends the probe.
final class ProbeRun: @unchecked Sendable {
    let job: ProbeJob
    let target: LocatedTarget
    let traceHops: Bool
    /// The deadline on the engine's clock.
    let deadline: Nanoseconds

    private let continuation = NIOLockedValueBox<CheckedContinuation<ProbeRunEnd, Never>?>(nil)

    // Engine thread only.
    var engine: ProbeEngine?
    var measurements: [DeadlineMeasurement] = []
    var remaining = 0
    var cancelled = false
    var finish: (() -> (ProbeResultDocument, probes: Int))?

    init(job: ProbeJob, target: LocatedTarget, traceHops: Bool) {
        self.job = job
        self.target = target
        self.traceHops = traceHops
        let left = job.deadline - ContinuousClock.now
        let ns = max(0, left.components.seconds * 1_000_000_000 + left.components.attoseconds / 1_000_000_000)
        deadline = MonotonicClock.now() + Nanoseconds(ns)
    }

    func setContinuation(_ c: CheckedContinuation<ProbeRunEnd, Never>) {
        continuation.withLockedValue { $0 = c }
    }

    /// Resumes the waiting task; later calls do nothing.
    func resume(_ end: ProbeRunEnd) {
        continuation.withLockedValue { c in
            c?.resume(returning: end)
            c = nil
        }
    }

    /// The module's measurements for this target, set up as the command line sets them up.
    /// Engine thread (opening the engine's sockets touches its state).
    func prepare(on engine: ProbeEngine) throws(PathProbeError) -> [any PathProbeCore.Measurement] {
        let t = target.target
        switch job.module.options {
        case let o as MTUProberOptions:
            let setup = try MTUSetup.prepare(t, o.mtu, probe: o.probe, traceHops: traceHops, engine: engine)
            finish = {
                let r = setup.finish()  // ICMP / UDP probes, or TCP connections (-P tcp)
                return (.mtu(r), r.probesSent)
            }
            return [setup.measurement]
        case let o as ReachProberOptions:
            let setup = try ReachSetup.prepare(t, o.reach, probe: o.probe, engine: engine)
            finish = {
                let r = setup.finish()
                return (.reach(r), r.probesSent)
            }
            return setup.measurements
        case let o as ProfileProberOptions:
            let setup = try ProfileSetup.prepare(t, o.profile, local: target.local ?? ProfileReport.LocalSide(), traceHops: traceHops, engine: engine)
            finish = {
                let r = setup.finish(includeInventory: false)
                return (.profile(r), r.mtu.probesSent + (r.reach?.probesSent ?? 0))
            }
            return setup.measurements
        default:
            throw .usage("the \(job.module.prober.rawValue) prober cannot run in this build")
        }
    }
}

/// The engine's thread and its loop, the engines on it (one per `interface` / `icmp_socket` pair),
/// and the probes running there.
final class EngineHost: @unchecked Sendable {
    let loop: EventLoop
    let rate: Double
    private var thread: Thread?
    /// Probes started and not yet answered: answered at `stop`.
    private let active = NIOLockedValueBox<(runs: [ObjectIdentifier: ProbeRun], stopped: Bool)>(([:], false))

    // Engine thread only.
    private var engines: [EngineKey: ProbeEngine] = [:]
    private var failedEngines: [EngineKey: PathProbeError] = [:]

    struct EngineKey: Hashable {
        var icmpSocket: ICMPSocketPreference
        var interface: String?
    }

    init(rate: Double) throws(PathProbeError) {
        do { loop = try EventLoop() } catch { throw error.pathProbeError }
        self.rate = rate
        let thread = Thread { [loop] in loop.run() }
        thread.name = "pathprobe-engine"
        thread.start()
        self.thread = thread
    }

    /// Sets the probe up and starts it on the engine's thread; `continuation` gets its end.
    func start(_ run: ProbeRun, continuation: CheckedContinuation<ProbeRunEnd, Never>) {
        run.setContinuation(continuation)
        let admitted = active.withLockedValue { a in
            if a.stopped { return false }
            a.runs[ObjectIdentifier(run)] = run
            return true
        }
        guard admitted else {
            run.resume(.failed(Self.stopping, cutShort: true))
            return
        }
        loop.execute { self.begin(run) }
    }

    /// Cuts a probe short (its task was cancelled): its measurements end now, with what they have.
    func cancel(_ run: ProbeRun) {
        loop.execute {
            run.cancelled = true
            guard let engine = run.engine else { return }
            for m in run.measurements where !m.isFinished { engine.cancel(m) }
        }
    }

    static let stopping = "the exporter is stopping"

    var isStopped: Bool { active.withLockedValue { $0.stopped } }

    /// Answers every probe still running, then ends the engine's thread.
    func stop() {
        let runs = active.withLockedValue { a in
            a.stopped = true
            defer { a.runs = [:] }
            return Array(a.runs.values)
        }
        for run in runs { run.resume(.failed(Self.stopping, cutShort: true)) }
        loop.stop()
    }

    private func end(_ run: ProbeRun, _ end: ProbeRunEnd) {
        _ = active.withLockedValue { $0.runs.removeValue(forKey: ObjectIdentifier(run)) }
        run.resume(end)
    }

    // MARK: engine thread

    private func begin(_ run: ProbeRun) {
        if run.cancelled { return end(run, .failed("cancelled", cutShort: true)) }
        let probe = run.job.module.options.probe
        let engine: ProbeEngine
        do { engine = try self.engine(EngineKey(icmpSocket: probe.icmpSocket, interface: probe.interface)) } catch {
            return end(run, .failed(error.message, cutShort: false))
        }
        let measurements: [any PathProbeCore.Measurement]
        do { measurements = try run.prepare(on: engine) } catch {
            return end(run, .failed(error.message, cutShort: false))
        }
        run.engine = engine
        run.measurements = measurements.map { DeadlineMeasurement($0, deadline: run.deadline) }
        run.remaining = run.measurements.count
        for m in run.measurements {
            engine.submit(m) { _ in self.measurementEnded(run) }
        }
    }

    private func measurementEnded(_ run: ProbeRun) {
        run.remaining -= 1
        guard run.remaining == 0, let finish = run.finish else { return }
        let (document, probes) = finish()
        let cutShort = run.cancelled || run.measurements.contains { $0.cutShort }
        end(run, .finished(document, cutShort: cutShort, probes: probes))
    }

    private func engine(_ key: EngineKey) throws(PathProbeError) -> ProbeEngine {
        if let e = engines[key] { return e }
        if let error = failedEngines[key] { throw error }
        do {
            let e = try ProbeEngine(options: EngineOptions(rate: rate, icmpSocket: key.icmpSocket, interface: key.interface), loop: loop)
            engines[key] = e
            return e
        } catch {
            failedEngines[key] = error
            throw error
        }
    }
}

/// A measurement bounded by a deadline: at the deadline it is finished, with what it has (the
/// engine then drops its queued probes and closes its connections). Made, run and read on the
/// engine's thread only (`@unchecked Sendable` so that the probe can keep it for `cancel`).
final class DeadlineMeasurement: PathProbeCore.Measurement, @unchecked Sendable {
    let inner: any PathProbeCore.Measurement
    let deadline: Nanoseconds
    private var armed = false
    private(set) var cutShort = false

    init(_ inner: any PathProbeCore.Measurement, deadline: Nanoseconds) {
        self.inner = inner
        self.deadline = deadline
    }

    var isFinished: Bool { cutShort || inner.isFinished }

    func advance<S: ProbeScheduler>(_ s: inout S) {
        guard !isFinished else { return }
        if s.now >= deadline {
            cutShort = true
            return
        }
        if !armed {
            armed = true
            s.wake(at: deadline)
        }
        inner.advance(&s)
    }

    func handle<S: ProbeScheduler>(_ r: ProbeResult, _ s: inout S) {
        if !isFinished { inner.handle(r, &s) }
    }

    func handle<S: ProbeScheduler>(_ e: ConnectionResult, _ s: inout S) {
        if !isFinished { inner.handle(e, &s) }
    }
}

/// Route lookups from the blocking threads: each thread borrows a `RouteLookup.Cache` (one netlink
/// socket, interface MTUs read once), which is renewed after a minute so that a changed interface
/// MTU is seen.
final class RouteLookups: @unchecked Sendable {
    private let lock = NIOLock()
    private var idle: [(cache: RouteLookup.Cache, made: ContinuousClock.Instant)] = []
    static let lifetime: Duration = .seconds(60)

    func with<T>(_ body: (RouteLookup.Cache) throws(PathProbeError) -> T) throws(PathProbeError) -> T {
        let now = ContinuousClock.now
        let borrowed = lock.withLock { () -> (RouteLookup.Cache, ContinuousClock.Instant)? in
            while let last = idle.popLast() {
                if now - last.made < Self.lifetime { return last }
            }
            return nil
        } ?? (RouteLookup.Cache(), now)
        defer { lock.withLock { idle.append(borrowed) } }
        return try body(borrowed.0)
    }
}

/// The namespace's local inventory for `profile` (interfaces, tunnels, offloads, sysctls), read at
/// most every 30 seconds rather than for every probe.
final class InventoryCache: @unchecked Sendable {
    private let lock = NIOLock()
    private var last: (inventory: LocalInventory?, error: String?, at: ContinuousClock.Instant)?
    static let lifetime: Duration = .seconds(30)

    func current() -> (LocalInventory?, String?) {
        lock.withLock {
            if let last, ContinuousClock.now - last.at < Self.lifetime { return (last.inventory, last.error) }
            let read: (LocalInventory?, String?)
            do { read = (try LocalInventory.read(), nil) } catch { read = (nil, "\(error)") }
            last = (read.0, read.1, ContinuousClock.now)
            return read
        }
    }
}
