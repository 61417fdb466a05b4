#!/bin/sh
# Instructions per hot-path call, by callgrind: each peer run with N and 2N calls, the
# difference over N (set-up and the first fill cancel out). Needs valgrind.
# Run from bench-peers/: ./callgrind.sh [N]   (default N = 100000)
set -eu
n=${1:-100000}
cargo build --release --bin instructions
bin=${CARGO_TARGET_DIR:-target}/release/instructions
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
count() {
    valgrind --tool=callgrind --callgrind-out-file="$out/cg" "$bin" "$1" "$2" 2>"$out/log"
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$out/log"
}
printf '| call | instructions/op | vs propusk_get |\n|---|---:|---:|\n'
base=
for peer in propusk_get propusk_fresh smithy moka_get moka_try_get_with; do
    one=$(count "$peer" "$n")
    two=$(count "$peer" $((2 * n)))
    per=$(echo "scale=3; ($two - $one) / $n" | bc)
    [ -n "$base" ] || base=$per
    printf '| %s | %.0f | %.2f× |\n' "$peer" "$per" "$(echo "scale=3; $per / $base" | bc)"
done
