#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for SECONDS_PER_TARGET seconds (default 60), one
# after the other, in one process each (libFuzzer's default: one core); prints the executions per target and exits
# non-zero if any target crashed (its input is then in fuzz/artifacts/<target>/:
# minimise it with `cargo +nightly fuzz tmin <target> <input>`, commit it under
# tests/fuzz_inputs/<target>/ and tests/fuzz_replay.rs replays it on stable).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# FUZZ_SANITIZER (default none: the crates fuzzed forbid unsafe code, and without
# a sanitizer a target runs 2-3 times as many inputs) may be address, leak, ...
#
# Corpora grow in fuzz/corpus/<target>/ (not committed), seeded from
# tests/fuzz_inputs/<target>/. Needs the nightly toolchain; installs cargo-fuzz
# when it is missing.
set -euo pipefail

seconds="${1:-60}"
shift || true
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/fuzz"

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz
fi

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo +nightly fuzz list)
fi

export CARGO_INCREMENTAL=0
sanitizer="${FUZZ_SANITIZER:-none}"
cargo +nightly fuzz build --sanitizer="$sanitizer"

failed=()
summary=()
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target"
    log="$(mktemp)"
    echo "== $target: ${seconds}s" >&2
    set +e
    cargo +nightly fuzz run --sanitizer="$sanitizer" "$target" "corpus/$target" "$root/tests/fuzz_inputs/$target" -- \
        -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1
    status=$?
    set -e
    runs="$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}' | tail -1)"
    if [ "$status" -ne 0 ]; then
        failed+=("$target")
        tail -40 "$log" >&2
        summary+=("$target: CRASH after ${runs:-?} executions (see fuzz/artifacts/$target/)")
    else
        summary+=("$target: ${runs:-?} executions in ${seconds}s, 0 crashes")
    fi
    rm -f "$log"
done

printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -ne 0 ]; then
    echo "crashed: ${failed[*]}" >&2
    exit 1
fi
