// swift-tools-version:6.1
import PackageDescription

// Layout (see README "Code map"):
//   CPathProbe       C shim for what Swift cannot import (cmsg, errqueue, sendmmsg/recvmmsg, epoll, ethtool ioctl)
//   CNetlink         libnl-3 / libnl-route-3 system library, imported only by PathProbeNetlink
//   PathProbeCore    pure Swift: addresses, packets, JSON, the measurement state machines, reports, advisor
//   PathProbeEngine  sockets and the one event loop that runs Core measurements against the network
//   PathProbeNetlink interfaces, routes, cached PMTU, offloads, sysctls
//   COpenSSL         OpenSSL 3 system library (libssl-dev), imported only by PathProbeTLS
//   PathProbeTLS     TLS client over memory BIOs (sans-IO) and certificate facts, for the RDP check
//   pathprobe        the thin command line
let package = Package(
    name: "pathprobe",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "pathprobe", targets: ["pathprobe"]),
        .library(name: "PathProbeCore", targets: ["PathProbeCore"]),
        .library(name: "PathProbeEngine", targets: ["PathProbeEngine"]),
        .library(name: "PathProbeNetlink", targets: ["PathProbeNetlink"]),
        .library(name: "PathProbeTLS", targets: ["PathProbeTLS"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .target(name: "CPathProbe"),
        .systemLibrary(
            name: "CNetlink",
            pkgConfig: "libnl-route-3.0",
            providers: [.apt(["libnl-3-dev", "libnl-route-3-dev"])]
        ),
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(name: "PathProbeCore"),
        .target(name: "PathProbeTLS", dependencies: ["PathProbeCore", "COpenSSL"]),
        .target(name: "PathProbeEngine", dependencies: ["PathProbeCore", "CPathProbe"]),
        .target(name: "PathProbeNetlink", dependencies: ["PathProbeCore", "CNetlink", "CPathProbe"]),
        .executableTarget(
            name: "pathprobe",
            dependencies: [
                "PathProbeCore", "PathProbeEngine", "PathProbeNetlink",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "PathProbeCoreTests", dependencies: ["PathProbeCore"]),
        .testTarget(name: "PathProbeEngineTests", dependencies: ["PathProbeEngine", "PathProbeCore"]),
        .testTarget(name: "PathProbeNetlinkTests", dependencies: ["PathProbeNetlink", "PathProbeCore"]),
        .testTarget(name: "PathProbeTLSTests", dependencies: ["PathProbeTLS", "PathProbeCore"]),
        .testTarget(
            name: "LabTests",
            dependencies: ["PathProbeCore"],
            exclude: ["Support/rdgw_emulator.py"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
