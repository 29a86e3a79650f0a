#!/usr/bin/env bash
# libFuzzer targets for pathprobe's parsers of untrusted bytes (docs/fuzzing.md).
#
#   scripts/fuzz.sh --ci                        build, then run every target briefly (CI; a crash exits 1)
#   scripts/fuzz.sh --minutes N [TARGET...]     run targets N minutes each (default: all)
#   scripts/fuzz.sh --seconds N [TARGET...]     the same in seconds
#   scripts/fuzz.sh --reproduce TARGET FILE...  run inputs once (a crash prints its stack)
#   scripts/fuzz.sh --crashes                   run every saved crash (Fuzz/Crashes/TARGET/*): which still crash
#   scripts/fuzz.sh --triage TARGET [DIR]       group the crashes a run found (default DIR: the run's
#                                               crash folder) by where they fail; the smallest of each
#   scripts/fuzz.sh --list                      the targets and what each covers
#   scripts/fuzz.sh --build                     only build
#
# Options:
#   --jobs J        targets run J at a time (default: 2 for --ci, 1 otherwise)
#   --out DIR       working corpora, crash artifacts and logs (default: .build-fuzz/ in the checkout)
#   --keep-corpus   add what a run found that covers new code to the seed corpus Fuzz/Corpus/TARGET
#   --keep-going    do not stop at the first crash (libFuzzer -fork=1 -ignore_crashes=1): every crash
#                   found in the time is saved; for exploring while known crashes are not fixed yet
#   -- ARGS         further libFuzzer flags for every target (e.g. -- -max_len=8192 -only_ascii=1)
#
# Environment: FUZZ_CI_SECONDS (seconds per target for --ci, default 12).
# Exit status: 0 nothing found, 1 a target crashed, leaked, timed out or ran out of memory
# (reproducer path and the input in hex printed), 2 bad usage, 3 the build failed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
command -v swift >/dev/null || export PATH=/opt/swift/usr/bin:$PATH

usage() { sed -n '2,24p' "$0" >&2; exit 2; }

jobs="" out="$root/.build-fuzz" keep_corpus=0 keep_going=0 mode="" seconds=0 extra=()
targets=()
while [[ $# -gt 0 ]]; do
    case $1 in
        --jobs) jobs=${2:?}; shift 2 ;;
        --out) out=$(mkdir -p "${2:?}" && cd "$2" && pwd); shift 2 ;;
        --keep-corpus) keep_corpus=1; shift ;;
        --keep-going) keep_going=1; shift ;;
        --ci) mode=ci; shift ;;
        --minutes) mode=run; seconds=$(( ${2:?} * 60 )); shift 2 ;;
        --seconds) mode=run; seconds=${2:?}; shift 2 ;;
        --reproduce) mode=reproduce; shift ;;
        --crashes) mode=crashes; shift ;;
        --triage) mode=triage; shift ;;
        --list) mode=list; shift ;;
        --build) mode=build; shift ;;
        --) shift; extra=("$@"); break ;;
        -h|--help) usage ;;
        -*) echo "fuzz.sh: unknown option $1" >&2; usage ;;
        *) targets+=("$1"); shift ;;
    esac
done
[[ -n $mode ]] || usage
[[ $seconds =~ ^[0-9]+$ ]] || { echo "fuzz.sh: --minutes/--seconds need a whole number" >&2; exit 2; }

# SwiftPM's --sanitize fuzzer: libFuzzer's main is linked whole-archive, executables are compiled with
# -parse-as-library and without SwiftPM's entry-point renaming (--defsym main=<module>_main).
# -sanitize=fuzzer,address as ONE swiftc flag: swiftc keeps only the last -sanitize= it is given, and
# SwiftPM passes each --sanitize as its own flag (two --sanitize = coverage or ASan, never both).
# -enable-testing: the netlink reply parsers are internal (@testable import). -assert-config Debug:
# optimized code that keeps the standard library's debug checks (unsafe buffer subscripts, ...).
build_flags=(
    --package-path Fuzz/PathProbeFuzz --scratch-path "$out/build" -c release
    --sanitize fuzzer
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing -Xswiftc -assert-config -Xswiftc Debug
    -Xswiftc -use-ld=lld
)
binary="$out/build/release/PathProbeFuzz"

build() {
    mkdir -p "$out"
    echo "fuzz.sh: building the fuzz targets (Fuzz/PathProbeFuzz, $out/build)" >&2
    local start=$SECONDS
    if ! swift build "${build_flags[@]}" >"$out/build.log" 2>&1; then
        tail -40 "$out/build.log" >&2
        echo "fuzz.sh: the build failed (log: $out/build.log)" >&2
        exit 3
    fi
    if grep -E "warning:" "$out/build.log" | grep -v "^warning: 'pathprobe'\|ld.lld" >&2; then :; fi
    echo "fuzz.sh: built in $((SECONDS - start)) s" >&2
}

# Ask the binary for its targets.
all_targets() { { PATHPROBE_FUZZ_TARGET= "$binary" 2>&1 || true; } | sed -n 's/^  \([a-z0-9-]*\)  .*/\1/p'; }

export SWIFT_BACKTRACE=enable=no  # libFuzzer prints the stack; Swift's backtracer would only slow a crash down
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:symbolize=1}

hexdump_input() {  # the crashing input, at most 512 bytes, in hex and as text ('.' for the unprintable)
    local f=$1 size
    size=$(stat -c %s "$f")
    echo "input ($size bytes$([[ $size -gt 512 ]] && echo ", the first 512")), hex:"
    head -c 512 "$f" | od -An -tx1 -v | sed 's/^ /  /'
    echo "as text: $(head -c 512 "$f" | LC_ALL=C tr -c '[:print:]' '.')"
}

# run_target NAME SECONDS: fuzz one target; its log in $out/logs/NAME.log. Returns libFuzzer's status.
run_target() {
    local name=$1 secs=$2
    local corpus="$out/corpus/$name" seeds="$root/Fuzz/Corpus/$name" artifacts="$out/crashes/$name/"
    mkdir -p "$corpus" "$artifacts" "$out/logs"
    local dirs=("$corpus")
    [[ -d $seeds ]] && dirs+=("$seeds")
    local status=0 mode_flags=()
    [[ $keep_going -eq 1 ]] && mode_flags=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
    [[ -f $root/Fuzz/Dictionaries/$name.dict ]] && mode_flags+=(-dict="$root/Fuzz/Dictionaries/$name.dict")
    PATHPROBE_FUZZ_TARGET=$name "$binary" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$artifacts" "${mode_flags[@]}" "${extra[@]}" "${dirs[@]}" \
        >"$out/logs/$name.log" 2>&1 || status=$?
    return $status
}

# report NAME STATUS: one line per target; on failure the reproducer, the input in hex and the stack.
report() {
    local name=$1 status=$2 log="$out/logs/$1.log"
    local execs rate cov
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+(/[0-9]+[a-zA-Z]*)?' "$log" | tail -1 || true)
    if [[ -z $execs ]]; then  # -fork mode: "#RUNS: cov: .. exec/s: N .. time: Ts"
        execs=$(grep -oE '^#[0-9]+:' "$log" | tail -1 | tr -d '#:' || true)
        local t
        t=$(grep -oE '^#[0-9]+: .* time: [0-9]+s' "$log" | tail -1 | sed 's/.* time: \([0-9]*\)s/\1/' || true)
        [[ -n $execs && -n $t && $t -gt 0 ]] && rate=$((execs / t))
    fi
    if [[ $status -eq 0 ]]; then
        printf '%-18s ok     %10s runs %8s/s  %s\n' "$name" "${execs:-?}" "${rate:-?}" "$cov"
        return 0
    fi
    printf '%-18s FAILED (libFuzzer status %s)  %s runs %s/s\n' "$name" "$status" "${execs:-?}" "${rate:-?}"
    if [[ $keep_going -eq 1 ]]; then
        echo "  $(find "$out/crashes/$name" -type f | wc -l) inputs saved in $out/crashes/$name/ (several per bug: -fork does not deduplicate)"
    fi
    local artifact
    artifact=$(sed -n "s/.*Test unit written to \(.*\)$/\1/p" "$log" | tail -1)
    grep -E "ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer)|Fatal error|fuzz property|SUMMARY" "$log" | head -5 | sed 's/^/  /'
    # The stack from the failure down to the target (libFuzzer's and libc's frames left out), demangled.
    grep -E '^ +#[0-9]+ ' "$log" | grep -E 'Swift runtime failure|/Sources/|/Fuzz/' | head -14 \
        | sed -E 's/ 0x[0-9a-f]+ in / /' | { swift demangle --simplified 2>/dev/null || cat; } | sed 's/^ */    /' || true
    if [[ -n $artifact && -f $artifact ]]; then
        echo "  reproducer: $artifact"
        echo "  run again:  scripts/fuzz.sh --reproduce $name $artifact"
        hexdump_input "$artifact" | sed 's/^/  /'
    fi
    echo "  log: $log"
    return 1
}

# run_all SECONDS NAMES...: J targets at a time; returns 1 if any failed.
run_all() {
    local secs=$1; shift
    local failed=0 name
    declare -A pids=()
    for name in "$@"; do
        while [[ ${#pids[@]} -ge $jobs ]]; do
            wait_one || failed=1
        done
        run_target "$name" "$secs" &
        pids[$name]=$!
    done
    while [[ ${#pids[@]} -gt 0 ]]; do wait_one || failed=1; done
    return $failed
}

# Waits for any running target, reports it; returns its report's status.
wait_one() {
    local finished="" status=0 name
    wait -n -p finished "${pids[@]}" || status=$?
    for name in "${!pids[@]}"; do
        [[ ${pids[$name]} == "$finished" ]] || continue
        unset "pids[$name]"
        report "$name" "$status" || return 1
        keep_found "$name"
        return 0
    done
    return 0
}

# --keep-corpus: add to the seed corpus what the run found that covers something new (libFuzzer
# -merge=1 copies into the first folder only inputs that add coverage; existing seeds stay as they are).
keep_found() {
    [[ $keep_corpus -eq 1 ]] || return 0
    local name=$1 before
    mkdir -p "$root/Fuzz/Corpus/$name"
    before=$(find "$root/Fuzz/Corpus/$name" -type f | wc -l)
    PATHPROBE_FUZZ_TARGET=$name "$binary" -merge=1 "$root/Fuzz/Corpus/$name" "$out/corpus/$name" >/dev/null 2>&1 || true
    echo "  Fuzz/Corpus/$name: $before -> $(find "$root/Fuzz/Corpus/$name" -type f | wc -l) files"
}

check_targets() {
    local known name
    known=" $(all_targets | tr '\n' ' ') "
    for name in "$@"; do
        [[ $known == *" $name "* ]] || { echo "fuzz.sh: no target '$name'; scripts/fuzz.sh --list" >&2; exit 2; }
    done
}

case $mode in
    build)
        build ;;
    list)
        [[ -x $binary ]] || build
        { PATHPROBE_FUZZ_TARGET= "$binary" 2>&1 || true; } | tail -n +2 ;;
    reproduce)
        [[ ${#targets[@]} -ge 2 ]] || usage
        [[ -x $binary ]] || build
        name=${targets[0]}
        check_targets "$name"
        PATHPROBE_FUZZ_TARGET=$name "$binary" "${extra[@]}" "${targets[@]:1}" ;;
    triage)
        [[ ${#targets[@]} -ge 1 ]] || usage
        [[ -x $binary ]] || build
        name=${targets[0]}
        check_targets "$name"
        dir=${targets[1]:-$out/crashes/$name}
        declare -A smallest=() count=()
        for f in "$dir"/*; do
            [[ -f $f ]] || continue
            log=$(PATHPROBE_FUZZ_TARGET=$name "$binary" "$f" 2>&1 || true)
            # Where it fails: the runtime's message (numbers blanked) and the first frame in pathprobe's sources.
            # (a property's details and all numbers left out: one line per kind of failure)
            why=$(grep -m1 -oE "Fatal error: .*|Swift runtime failure: [a-z ]+[a-z]|ERROR: AddressSanitizer: [a-z-]+|ERROR: LeakSanitizer" <<<"$log" \
                | sed -E 's/(fuzz property violated: [^:]*):.*/\1/; s/[0-9]+/N/g' | cut -c1-100 || true)
            frame=$(grep -E '^ +#[0-9]+ ' <<<"$log" | grep -E '/Sources/' | grep -v '/Fuzz/' | head -1 \
                | sed -E 's/.* in ([^ ]+) ([^ ]+)$/\1 \2/' | { swift demangle --simplified 2>/dev/null || cat; } || true)
            [[ -n $why$frame ]] || { why="no crash (fixed?)"; frame="-"; }
            key="$frame | $why"
            count[$key]=$(( ${count[$key]:-0} + 1 ))
            if [[ -z ${smallest[$key]:-} ]] || [[ $(stat -c %s "$f") -lt $(stat -c %s "${smallest[$key]}") ]]; then
                smallest[$key]=$f
            fi
        done
        for key in "${!count[@]}"; do
            echo "${count[$key]} x $key"
            echo "    smallest: ${smallest[$key]} ($(stat -c %s "${smallest[$key]}") bytes)"
        done ;;
    crashes)
        [[ -x $binary ]] || build
        still=0
        for dir in "$root"/Fuzz/Crashes/*/; do
            name=$(basename "$dir")
            for f in "$dir"*; do
                [[ -f $f && $(basename "$f") != README.md ]] || continue
                if PATHPROBE_FUZZ_TARGET=$name "$binary" "$f" >"$out/crash-check.log" 2>&1; then
                    printf '%-18s fixed    %s\n' "$name" "${f#$root/}"
                else
                    printf '%-18s CRASHES  %s\n' "$name" "${f#$root/}"
                    still=1
                fi
            done
        done
        exit $still ;;
    ci|run)
        build
        [[ ${#targets[@]} -gt 0 ]] || mapfile -t targets < <(all_targets)
        check_targets "${targets[@]}"
        if [[ $mode == ci ]]; then
            seconds=${FUZZ_CI_SECONDS:-12}
            jobs=${jobs:-2}
        fi
        jobs=${jobs:-1}
        echo "fuzz.sh: ${#targets[@]} targets, $seconds s each, $jobs at a time (logs: $out/logs)" >&2
        start=$SECONDS
        status=0
        run_all "$seconds" "${targets[@]}" || status=1
        echo "fuzz.sh: $((SECONDS - start)) s of fuzzing; $([[ $status -eq 0 ]] && echo "nothing found" || echo "FOUND CRASHES (above)")" >&2
        exit $status ;;
esac
