// swift-tools-version:6.1
import PackageDescription

// Benchmarks live in their own package so that ordinary builds of pathprobe do not pay for
// ordo-one/benchmark. Run from this folder:
//   swift package --disable-sandbox benchmark                 all benchmarks
//   swift package --disable-sandbox benchmark --filter Bulk   only the bulk ones
// The network-level figures (10,000 lab targets beside fping and scamper) come from
// scripts/bench-bulk.sh, which needs root and network namespaces.
let package = Package(
    name: "PathProbeBenchmarks",
    dependencies: [
        .package(name: "pathprobe", path: "../"),
        .package(url: "https://github.com/ordo-one/benchmark", exact: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "PathProbeBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "PathProbeCore", package: "pathprobe"),
                .product(name: "PathProbeEngine", package: "pathprobe"),
                .product(name: "PathProbeKit", package: "pathprobe"),
            ],
            path: "PathProbeBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
