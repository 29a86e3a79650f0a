import PathProbeCore
import PathProbeEngine

#if canImport(Glibc)
import Glibc
#endif

/// Host names for `pathprobe bulk`, resolved off the event loop. getaddrinfo blocks (seconds for a
/// dead name server), and a blocked event loop would see answers waiting in its sockets as timeouts;
/// so names go to a few worker threads and the target polls for its answer.
final class BulkResolver: @unchecked Sendable {
    static let maxThreads = 8

    private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let work = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var queue: [(ticket: Int, name: String)] = []
    private var queueHead = 0
    private var results: [Int: Result<IPAddress, PathProbeError>] = [:]
    private var nextTicket = 0
    private var threads = 0
    private var idle = 0
    private var stopping = false
    let family: AddressFamily?

    init(family: AddressFamily?) {
        self.family = family
        pthread_mutex_init(lock, nil)
        pthread_cond_init(work, nil)
    }

    deinit {
        pthread_cond_destroy(work)
        pthread_mutex_destroy(lock)
        lock.deallocate()
        work.deallocate()
    }

    /// Queues `name`; poll `take` with the returned ticket.
    func submit(_ name: String) -> Int {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        let ticket = nextTicket
        nextTicket += 1
        queue.append((ticket, name))
        if idle == 0 && threads < Self.maxThreads { startThread() }
        pthread_cond_signal(work)
        return ticket
    }

    /// The answer for `ticket` once there is one (then forgotten).
    func take(_ ticket: Int) -> Result<IPAddress, PathProbeError>? {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        return results.removeValue(forKey: ticket)
    }

    /// Lets the workers end (one still inside getaddrinfo ends when it returns).
    func shutdown() {
        pthread_mutex_lock(lock)
        stopping = true
        pthread_cond_broadcast(work)
        pthread_mutex_unlock(lock)
    }

    private func startThread() {
        let context = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        if pthread_create(&thread, nil, { raw in
            let resolver = Unmanaged<BulkResolver>.fromOpaque(raw!).takeRetainedValue()
            resolver.serve()
            return nil
        }, context) == 0 {
            pthread_detach(thread)
            threads += 1
        } else {
            Unmanaged<BulkResolver>.fromOpaque(context).release()
        }
    }

    private func serve() {
        pthread_mutex_lock(lock)
        while true {
            while queueHead == queue.count && !stopping {
                idle += 1
                pthread_cond_wait(work, lock)
                idle -= 1
            }
            if stopping { break }
            let job = queue[queueHead]
            queueHead += 1
            if queueHead == queue.count {
                queue.removeAll(keepingCapacity: true)
                queueHead = 0
            }
            pthread_mutex_unlock(lock)
            let result: Result<IPAddress, PathProbeError>
            do { result = .success(try Resolver.resolve(job.name, family: family)) } catch {
                result = .failure(PathProbeError.from(error))
            }
            pthread_mutex_lock(lock)
            results[job.ticket] = result
        }
        threads -= 1
        pthread_mutex_unlock(lock)
    }
}
