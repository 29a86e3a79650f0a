import CPathProbe
import PathProbeCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Something the event loop calls back: readiness of the descriptors it watches, its timers, and
/// (for participants) one turn per loop iteration. Handlers run on the loop's thread only.
protocol EventLoopHandler: AnyObject {
    /// A descriptor watched with `token` is ready.
    func ready(token: UInt32, events: EventLoop.Events)
    /// A timer set with `token` and `generation` is due.
    func timerFired(token: UInt32, generation: UInt32, now: Nanoseconds)
    /// Participants only: called once per iteration before the loop waits; does what is due and
    /// returns when it next needs a turn (nil: only when a descriptor or timer wakes the loop).
    func turn(now: Nanoseconds) -> Nanoseconds?
}

extension EventLoopHandler {
    func timerFired(token: UInt32, generation: UInt32, now: Nanoseconds) {}
    func turn(now: Nanoseconds) -> Nanoseconds? { nil }
}

/// The one event loop: epoll over every socket pathprobe uses (probe sockets, stream probes, the
/// responder), a timer heap, and an eventfd through which other threads submit work (`execute`),
/// stop it (`stop`), and a signal wakes it (`SignalWatcher`). It runs on one thread; only
/// `execute` and `stop` may be called from others.
///
/// An iteration ("turn"): run the work other threads submitted; fire due timers; give every
/// participant its turn (the probe engine sends its queued probes and fires its probe timeouts
/// there); then wait in epoll_pwait2 until the earliest deadline, and dispatch what is ready.
/// Registration is allocation-free once warm: a handler is a table index, each descriptor carries
/// (handler index << 32 | the handler's own token) as its epoll data, timers are heap entries.
public final class EventLoop: @unchecked Sendable {
    public struct Events: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let readable = Events(rawValue: cpp_EPOLLIN)
        public static let writable = Events(rawValue: cpp_EPOLLOUT)
        public static let error = Events(rawValue: cpp_EPOLLERR)
        public static let hangup = Events(rawValue: cpp_EPOLLHUP)
        /// The peer shut down its side (EPOLLRDHUP).
        public static let readHangup = Events(rawValue: cpp_EPOLLRDHUP)
    }

    typealias HandlerID = Int32

    private let epollFD: Int32
    /// eventfd: work submitted, stop asked, or a signal arrived.
    let wakeFD: Int32
    private static let wakeData = UInt64.max

    /// The loop does not retain handlers (they own the loop or its registrations, not the reverse).
    private struct HandlerRef {
        unowned(unsafe) let handler: EventLoopHandler
    }
    private var handlers: [HandlerRef?] = []
    private var freeHandlers: [HandlerID] = []
    private var participants: [HandlerID] = []
    private var timers = TimerHeap(capacity: 1024)
    private let events: UnsafeMutablePointer<cpp_epoll_event>
    private static let eventCapacity = 64

    private let tasks = Mutex<[@Sendable () -> Void]>([])
    private let stopRequested = Atomic<Bool>(false)
    private var signals: SignalWatcher? = nil

    public init() throws(SystemError) {
        epollFD = try Syscall.run("epoll_create1") { cpp_epoll_create() }
        do {
            wakeFD = try Syscall.run("eventfd") { cpp_eventfd() }
        } catch {
            close(epollFD)
            throw error
        }
        events = .allocate(capacity: Self.eventCapacity)
        do {
            _ = try Syscall.run("epoll_ctl(eventfd)") { cpp_epoll_add(epollFD, wakeFD, cpp_EPOLLIN, Self.wakeData) }
        } catch {
            close(wakeFD)
            close(epollFD)
            events.deallocate()
            throw error
        }
    }

    deinit {
        signals?.detach(wakeFD)
        close(wakeFD)
        close(epollFD)
        events.deallocate()
    }

    public var now: Nanoseconds { MonotonicClock.now() }

    // MARK: handlers, descriptors, timers (loop thread)

    /// Adds a handler; `participant` ones get a `turn` every iteration. The loop does not retain
    /// it: a handler removes itself (`remove`) before it goes away.
    func add(_ handler: EventLoopHandler, participant: Bool = false) -> HandlerID {
        let id: HandlerID
        if let free = freeHandlers.popLast() {
            id = free
            handlers[Int(id)] = HandlerRef(handler: handler)
        } else {
            id = HandlerID(handlers.count)
            handlers.append(HandlerRef(handler: handler))
        }
        if participant { participants.append(id) }
        return id
    }

    func remove(_ id: HandlerID) {
        guard Int(id) < handlers.count, handlers[Int(id)] != nil else { return }
        handlers[Int(id)] = nil
        participants.removeAll { $0 == id }
        freeHandlers.append(id)
    }

    /// Watches `fd` for `interest` (errors and hang-ups are always reported).
    func watch(_ fd: Int32, _ interest: Events, handler: HandlerID, token: UInt32) throws(SystemError) {
        _ = try Syscall.run("epoll_ctl(add)") { cpp_epoll_add(epollFD, fd, interest.rawValue, Self.data(handler, token)) }
    }

    func change(_ fd: Int32, _ interest: Events, handler: HandlerID, token: UInt32) throws(SystemError) {
        _ = try Syscall.run("epoll_ctl(modify)") { cpp_epoll_modify(epollFD, fd, interest.rawValue, Self.data(handler, token)) }
    }

    /// Stops watching `fd` (closing a descriptor also does it).
    func unwatch(_ fd: Int32) {
        _ = try? Syscall.run("epoll_ctl(delete)") { cpp_epoll_delete(epollFD, fd) }
    }

    /// Calls the handler's `timerFired(token:generation:)` at (or soon after) `deadline`. Timers
    /// are not cancelled: the handler ignores one whose generation is stale.
    func setTimer(at deadline: Nanoseconds, handler: HandlerID, token: UInt32, generation: UInt32) {
        timers.push(.init(deadline: deadline, id: handler, generation: generation, token: token))
    }

    private static func data(_ handler: HandlerID, _ token: UInt32) -> UInt64 { UInt64(UInt32(bitPattern: handler)) << 32 | UInt64(token) }

    // MARK: other threads

    /// Runs `task` on the loop's thread at its next turn, waking it. Thread-safe.
    public func execute(_ task: @escaping @Sendable () -> Void) {
        tasks.withLock { $0.append(task) }
        cpp_eventfd_signal(wakeFD)
    }

    /// Ends `run()` / `run(until:)` at the next turn (or the next one that starts). Thread-safe.
    public func stop() {
        stopRequested.store(true, ordering: .releasing)
        cpp_eventfd_signal(wakeFD)
    }

    /// SIGINT / SIGTERM (as installed by `watcher`) wake this loop and end its run.
    public func stop(on watcher: SignalWatcher) {
        signals = watcher
        watcher.attach(wakeFD)
    }

    // MARK: running

    /// Runs until `stop()` is called (from any thread) or a watched signal arrives: the long-running
    /// mode, where other threads submit work with `execute`.
    public func run() { run(stopWhen: { false }, polling: false) }

    /// Runs until `shouldStop` returns true (checked every turn, and at least every 100 ms), `stop()`
    /// is called, or a watched signal arrives.
    public func run(until shouldStop: () -> Bool) { run(stopWhen: shouldStop, polling: true) }

    /// `polling`: the stop condition is a closure, looked at least every 100 ms.
    private func run(stopWhen shouldStop: () -> Bool, polling: Bool) {
        defer { stopRequested.store(false, ordering: .relaxed) }
        while true {
            runTasks()
            if stopRequested.load(ordering: .acquiring) || signals?.received ?? 0 != 0 { return }
            if shouldStop() { return }
            var now = self.now
            fireTimers(now)
            var next: Nanoseconds? = timers.first?.deadline
            var i = 0
            while i < participants.count {
                if let h = handlers[Int(participants[i])]?.handler, let d = h.turn(now: now) { next = min(next ?? d, d) }
                i += 1
            }
            if shouldStop() { return }
            now = self.now
            var wait: Int64 = -1
            if let next { wait = next > now ? Int64(clamping: next - now) : 0 }
            if polling {
                wait = wait < 0 ? 100_000_000 : min(wait, 100_000_000)
            }
            poll(waitNs: wait)
        }
    }

    /// Waits up to `waitNs` (negative: until something happens) and dispatches what is ready.
    /// The probe engine also calls it with 0 to read answers before it declares probes lost.
    func poll(waitNs: Int64) {
        let n = cpp_epoll_wait_ns(epollFD, events, Int32(Self.eventCapacity), waitNs)
        guard n > 0 else { return }  // 0: timeout; -1: EINTR (a signal), the next turn looks at it
        for i in 0..<Int(n) {
            let e = events[i]
            if e.data == Self.wakeData {
                _ = cpp_eventfd_drain(wakeFD)
                continue
            }
            let index = Int(Int32(truncatingIfNeeded: e.data >> 32))
            guard index < handlers.count, let h = handlers[index]?.handler else { continue }
            h.ready(token: UInt32(truncatingIfNeeded: e.data), events: Events(rawValue: e.events))
        }
    }

    private func fireTimers(_ now: Nanoseconds) {
        while let t = timers.first, t.deadline <= now {
            timers.pop()
            guard Int(t.id) < handlers.count, let h = handlers[Int(t.id)]?.handler else { continue }
            h.timerFired(token: t.token, generation: t.generation, now: now)
        }
    }

    private func runTasks() {
        let pending = tasks.withLock { t -> [@Sendable () -> Void] in
            if t.isEmpty { return [] }
            defer { t.removeAll(keepingCapacity: true) }
            return t
        }
        for task in pending { task() }
    }
}
