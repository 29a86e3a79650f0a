// swift-tools-version:6.1
import PackageDescription

// Layout (see README "Code map"):
//   CPathProbe       C shim for what Swift cannot import (cmsg, errqueue, sendmmsg/recvmmsg, epoll, ethtool ioctl)
//   CNetlink         libnl-3 / libnl-route-3 system library, imported only by PathProbeNetlink
//   PathProbeCore    pure Swift: addresses, packets, JSON, the measurement state machines, reports, advisor
//   PathProbeEngine  sockets and the one event loop that runs Core measurements against the network
//   PathProbeNetlink interfaces, routes, cached PMTU, offloads, sysctls
//   pathprobe        the thin command line
//   PathProbeExporter / pathprobe-exporter  the Prometheus exporter (NIO HTTP/1, swift-prometheus, Yams);
//                    a separate executable because Yams imports full Foundation (issue 14)

/// swift-nio's HTTP/1 pieces: the exporter's server, its tests' client.
let nioHTTP: [Target.Dependency] = ["NIOCore", "NIOPosix", "NIOHTTP1"].map { .product(name: $0, package: "swift-nio") }

let package = Package(
    name: "pathprobe",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "pathprobe", targets: ["pathprobe"]),
        .library(name: "PathProbeCore", targets: ["PathProbeCore"]),
        .library(name: "PathProbeEngine", targets: ["PathProbeEngine"]),
        .library(name: "PathProbeNetlink", targets: ["PathProbeNetlink"]),
        .executable(name: "pathprobe-exporter", targets: ["pathprobe-exporter"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // The exporter only (issue 12).
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),  // already pulled in by service-lifecycle
    ],
    targets: [
        .target(name: "CPathProbe"),
        .systemLibrary(
            name: "CNetlink",
            pkgConfig: "libnl-route-3.0",
            providers: [.apt(["libnl-3-dev", "libnl-route-3-dev"])]
        ),
        .target(name: "PathProbeCore"),
        .target(name: "PathProbeEngine", dependencies: ["PathProbeCore", "CPathProbe"]),
        .target(name: "PathProbeNetlink", dependencies: ["PathProbeCore", "CNetlink", "CPathProbe"]),
        .executableTarget(
            name: "pathprobe",
            dependencies: [
                "PathProbeCore", "PathProbeEngine", "PathProbeNetlink",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(
            name: "PathProbeExporter",
            dependencies: [
                "PathProbeCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ] + nioHTTP
        ),
        .executableTarget(name: "pathprobe-exporter", dependencies: ["PathProbeExporter", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .testTarget(name: "PathProbeCoreTests", dependencies: ["PathProbeCore"]),
        .testTarget(name: "PathProbeEngineTests", dependencies: ["PathProbeEngine", "PathProbeCore"]),
        .testTarget(name: "PathProbeNetlinkTests", dependencies: ["PathProbeNetlink", "PathProbeCore"]),
        .testTarget(name: "LabTests", dependencies: ["PathProbeCore"]),
        .testTarget(name: "ExporterTests", dependencies: ["PathProbeExporter"] + nioHTTP),
    ],
    swiftLanguageModes: [.v6]
)
