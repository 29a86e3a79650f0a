import PathProbeCore
// The reply parsers are internal to PathProbeNetlink (scripts/fuzz.sh builds with -enable-testing).
@testable import PathProbeNetlink

/// Netlink replies, one message as libnl hands it to the valid-message callback. The kernel is the
/// only sender, but a parser that trusts lengths it reads is one kernel change away from a crash.
enum NetlinkTargets {
    static func message(_ b: UnsafeRawBufferPointer) {
        let bytes = b.bytes
        guard let message = NetlinkMessage(bytes: bytes) else { return }
        if let link = LinkRecord(message) {
            keep(link.displayKind)
            if let parameters = link.encapsulation { keep(Encapsulation.of(parameters)) }
        }
        if let address = AddressRecord(message) {
            keep(address.text)
        }
        if let route = RouteReply(message) {
            keep(route.prefix)
            keep(route.mtuLocked)
            for ticks in [0, 1, 100] { keep(route.exception(ticksPerSecond: ticks)) }
        }
        // The attributes after every family header size in use (ifinfomsg 16, rtmsg 12, ifaddrmsg 8),
        // and every attribute read as a nested run.
        for header in [8, 12, 16] {
            let attributes = message.attributes(afterHeader: header)
            for attribute in attributes.all {
                keep(NetlinkAttributes(attribute.value).all.count)
            }
        }
    }
}
