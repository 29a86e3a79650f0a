import PathProbeCore
import PathProbeEngine

#if canImport(Glibc)
import Glibc
#endif

// pathprobe-bench: the figures that have no command of their own, measured in-process.
//
//   pathprobe-bench echo FILE [--count N] [--reps R] [--warmup W]
//       ICMP echo round trips/s through the engine: every address of FILE gets N echoes (default
//       20), one in flight per target - the job of fping -c N -p 1 and of Benchmarks/limit/echo-limit.c.
//       Run it inside a namespace with `ip netns exec`. Fails when more than 1% go unanswered.
//   pathprobe-bench micro [--filter TEXT] [--reps R] [--warmup W]
//       the per-target work of `pathprobe bulk` outside the engine (input, dedupe, records, resume,
//       summary) on 10,000 synthetic targets, in seconds per 10,000.
//
// Output: Harness.swift's tab-separated line per benchmark. Exit 1 with the reason on stderr when a
// benchmark fails or measures nothing; 2 for bad usage; 3 when a socket cannot be opened.

func fail(_ status: Int32, _ message: String) -> Never {
    let text = "pathprobe-bench: \(message)\n"
    text.withCString { _ = write(2, $0, strlen($0)) }
    exit(status)
}

var arguments = Array(CommandLine.arguments.dropFirst())
let command = arguments.isEmpty ? "help" : arguments.removeFirst()
do {
    var harness = try Harness(arguments: &arguments)
    switch command {
    case "echo":
        let count = try Harness.take("--count", from: &arguments).map(Harness.int) ?? 20
        guard arguments.count == 1 else { fail(2, "usage: pathprobe-bench echo FILE [--count N] [--reps R] [--warmup W]") }
        try EchoBenchmark(file: arguments[0], count: count).run(&harness)
    case "micro":
        guard arguments.isEmpty else { fail(2, "usage: pathprobe-bench micro [--filter TEXT] [--reps R] [--warmup W]") }
        try BulkMicroBenchmarks.run(&harness)
    case "help", "-h", "--help":
        print("usage: pathprobe-bench echo FILE [--count N] | micro [--filter TEXT]   (both: [--reps R] [--warmup W])")
        exit(0)
    default:
        fail(2, "unknown command \(command) (echo, micro)")
    }
    try harness.finish()
} catch let e as Harness.Failure {
    fail(1, e.description)
} catch {
    fail(3, "\(error)")
}
