internal import CNetlink

#if canImport(Glibc)
import Glibc
#endif

/// A NETLINK_ROUTE socket from libnl. libnl builds and sends requests, checks sequence numbers,
/// reads multipart dumps and ACKs; every received message is copied out as bytes and parsed in Swift
/// (libnl's route objects do not expose IFLA_MIN_MTU/IFLA_MAX_MTU or RTA_CACHEINFO).
/// Synchronous, one request at a time.
final class NetlinkSocket {
    private let handle: OpaquePointer

    init() throws {
        guard let h = nl_socket_alloc() else { throw NetlinkError.system("nl_socket_alloc", reason: "out of memory") }
        let rc = nl_connect(h, NETLINK_ROUTE)
        if rc < 0 {
            nl_socket_free(h)
            throw NetlinkError.system("nl_connect(NETLINK_ROUTE)", reason: NetlinkSocket.libnlText(rc))
        }
        // Only changes ask for an ACK (see `request`): a GET costs one send and one receive.
        nl_socket_disable_auto_ack(h)
        handle = h
    }

    deinit { nl_socket_free(handle) }

    /// What the callbacks collect during one request.
    private final class Exchange {
        var messages: [NetlinkMessage] = []
        /// The kernel's errno from an NLMSG_ERROR (positive), 0 when none came.
        var kernelErrno: Int32 = 0
    }

    /// Thrown when the kernel answers a request with an error; callers map the errno.
    struct KernelError: Error {
        let errno: Int32
    }

    /// Sends one request (`header` is the family header: ifinfomsg, rtmsg...) and returns the replies.
    /// `dump` asks for every object (NLM_F_DUMP); `ack` is for changes, which get no reply but the
    /// kernel's acknowledgement.
    func request(type: Int, header: [UInt8], attributes: [(type: Int, value: [UInt8])] = [], dump: Bool = false,
                 ack: Bool = false) throws -> [NetlinkMessage] {
        guard let msg = nlmsg_alloc_simple(Int32(type), (dump ? NLM_F_DUMP : 0) | (ack ? NLM_F_ACK : 0)) else {
            throw NetlinkError.system("nlmsg_alloc_simple", reason: "out of memory")
        }
        defer { nlmsg_free(msg) }
        let body = header + [UInt8](repeating: 0, count: NetlinkBytes.align(header.count) - header.count)
            + NetlinkAttributes.encode(attributes)
        let appended = body.withUnsafeBytes { raw in
            nlmsg_append(msg, UnsafeMutableRawPointer(mutating: raw.baseAddress), body.count, Int32(NLMSG_ALIGNTO))
        }
        guard appended == 0 else { throw NetlinkError.system("nlmsg_append", reason: NetlinkSocket.libnlText(appended)) }

        let exchange = Exchange()
        return try withExtendedLifetime(exchange) {
            let context = Unmanaged.passUnretained(exchange).toOpaque()
            nl_socket_modify_cb(handle, NL_CB_VALID, NL_CB_CUSTOM, { msg, arg in
                guard let msg, let arg, let header = nlmsg_hdr(msg) else { return Int32(NL_SKIP.rawValue) }
                let exchange = Unmanaged<Exchange>.fromOpaque(arg).takeUnretainedValue()
                let bytes = Array(UnsafeRawBufferPointer(start: header, count: Int(header.pointee.nlmsg_len)))
                if let m = NetlinkMessage(bytes: bytes) { exchange.messages.append(m) }
                return Int32(NL_OK.rawValue)
            }, context)
            nl_socket_modify_err_cb(handle, NL_CB_CUSTOM, { _, error, arg in
                if let error, let arg {
                    Unmanaged<Exchange>.fromOpaque(arg).takeUnretainedValue().kernelErrno = -error.pointee.error
                }
                return Int32(NL_STOP.rawValue)
            }, context)
            // A change asks for an ACK and gets only that; a GET gets its answer (or an error), a dump
            // its parts then NLMSG_DONE. libnl checks the sequence numbers.
            let sent = nl_send_auto(handle, msg)
            guard sent >= 0 else { throw NetlinkError.system("nl_send_auto", reason: NetlinkSocket.libnlText(sent)) }
            let rc = ack ? nl_wait_for_ack(handle) : nl_recvmsgs_default(handle)
            if exchange.kernelErrno != 0 { throw KernelError(errno: exchange.kernelErrno) }
            guard rc >= 0 else { throw NetlinkError.system("nl_recvmsgs", reason: NetlinkSocket.libnlText(rc)) }
            return exchange.messages
        }
    }

    static func libnlText(_ code: Int32) -> String { String(cString: nl_geterror(code)) }
}
