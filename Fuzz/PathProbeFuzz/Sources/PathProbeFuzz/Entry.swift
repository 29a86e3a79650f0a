#if canImport(Glibc)
import Glibc
#endif

// libFuzzer's two entry points. libFuzzer brings its own `main` (scripts/fuzz.sh builds with
// `--sanitize fuzzer`, which makes SwiftPM compile this module with -parse-as-library and drop its
// `--defsym main=<module>_main` link step), so this module has no main and no top-level code.
//
// One binary holds every target: PATHPROBE_FUZZ_TARGET names the one to run. libFuzzer keeps the
// environment when it re-executes itself (-fork, -jobs, -minimize_crash), so the choice survives.

/// The selected target's function, set once before libFuzzer runs anything.
nonisolated(unsafe) private var selectedTarget: FuzzTarget? = nil

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutablePointer<Int32>?,
                             _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> Int32 {
    if let directory = environmentValue("PATHPROBE_FUZZ_MAKE_SEEDS") {
        exit(SeedMaker.run(into: directory))
    }
    guard let name = environmentValue("PATHPROBE_FUZZ_TARGET") else {
        printError("PATHPROBE_FUZZ_TARGET is not set; the targets are:\n" + FuzzTargets.listing)
        exit(2)
    }
    guard let target = FuzzTargets.named(name) else {
        printError("unknown fuzz target '\(name)'; the targets are:\n" + FuzzTargets.listing)
        exit(2)
    }
    selectedTarget = target
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    // libFuzzer hands over a heap copy of exactly `size` bytes: ASan reports any read past it.
    selectedTarget?.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

func environmentValue(_ name: String) -> String? {
    guard let p = getenv(name) else { return nil }
    let value = String(cString: p)
    return value.isEmpty ? nil : value
}

/// One line on standard error (fd 2: `stderr` is not concurrency-safe in Swift 6).
func printError(_ message: String) {
    let line = message.hasSuffix("\n") ? message : message + "\n"
    var bytes = Array(line.utf8)
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress! + offset, $0.count - offset) }
        if n <= 0 { return }
        offset += n
    }
}
