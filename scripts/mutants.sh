#!/usr/bin/env bash
# Mutation testing of the protocol cores with cargo-mutants (pinned), one package at a time.
#
# Usage: scripts/mutants.sh [PACKAGE...] [-- EXTRA CARGO-MUTANTS ARGS]
#   scripts/mutants.sh                         lagd-lacp, lagd-wire, lagd-distrib, lagd-dt
#   scripts/mutants.sh lagd-wire               one package
#   scripts/mutants.sh lagd-lacp -- --file crates/proto/lacp/src/receive.rs
#                                              one file (while iterating on tests)
#
# Results go to mutants.out/PACKAGE/ (caught.txt, missed.txt, timeout.txt, unviable.txt,
# outcomes.json); a one-line summary per package is printed at the end. Only the mutated
# package's own tests are run against its mutants: a clause is guarded when a test of its
# crate fails when the clause is broken. Surviving mutants that are equivalent to the original
# are listed, with the reason, in docs/CONFORMANCE.md ("Mutation testing").
#
# The machine is shared: the run is niced, one job at a time, with a per-mutant timeout.
# Environment: MUTANTS_JOBS (default 1), MUTANTS_TIMEOUT (seconds, default 300),
# MUTANTS_OUT (default mutants.out), MUTANTS_TARGET (default target/mutants-cache).
#
# What makes a mutant cheap (docs/CONFORMANCE.md has the figures): a mutant costs one rebuild
# of the package and of its test targets. They are built incrementally (CARGO_INCREMENTAL=1
# here, whatever the caller's setting: a one-operator mutant then recompiles little), in the
# `mutants` profile (no debug info, .cargo/mutants.toml), into a target directory kept
# between runs (MUTANTS_TARGET) so the dependencies are not rebuilt by every run's baseline.
# With MUTANTS_JOBS > 1 each job builds in its own scratch copy instead.
# The workspace's own artifacts there (each run builds them from another scratch copy) and
# the incremental caches are removed after each package.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=27.1.0
jobs=${MUTANTS_JOBS:-1}
timeout=${MUTANTS_TIMEOUT:-300}
out=${MUTANTS_OUT:-mutants.out}
target=${MUTANTS_TARGET:-$PWD/target/mutants-cache}
case $target in /*) ;; *) target=$PWD/$target ;; esac

packages=()
extra=()
while [ $# -gt 0 ]; do
    case "$1" in
    --) shift; extra=("$@"); break ;;
    *) packages+=("$1"); shift ;;
    esac
done
[ "${#packages[@]}" -gt 0 ] || packages=(lagd-lacp lagd-wire lagd-distrib lagd-dt)

have=$(cargo mutants --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$VERSION" ]; then
    echo "==> installing cargo-mutants $VERSION (found: ${have:-none})"
    cargo install --locked "cargo-mutants@$VERSION"
fi

# The workspace's own crates and targets (artifact names use _ for -).
own=$(cargo metadata --no-deps --format-version 1 --offline 2>/dev/null | python3 -c '
import json, sys
names = set()
for p in json.load(sys.stdin)["packages"]:
    names.add(p["name"])
    names.update(t["name"] for t in p["targets"])
print(" ".join(sorted({n.replace("-", "_") for n in names} | names)))
' || true)
# Removes what one run built of the workspace from the kept target directory.
prune() {
    local d=$target/mutants
    rm -rf "$d/incremental"
    [ -d "$d" ] || return 0
    for n in $own; do
        rm -rf "$d/deps/$n"-* "$d/deps/lib$n"-* "$d/.fingerprint/$n"-* "$d/build/$n"-*
    done
}

# Parallel jobs build in scratch copies of their own: sharing one target directory would
# serialize them on its lock.
shared=()
[ "$jobs" != 1 ] || shared=(CARGO_TARGET_DIR="$target")

summary=()
status=0
for pkg in "${packages[@]}"; do
    dir="$out/$pkg"
    mkdir -p "$dir"
    echo "==> cargo mutants -p $pkg ${extra[*]:-}"
    set +e
    env "${shared[@]}" CARGO_INCREMENTAL=1 \
        nice -n 10 cargo mutants --package "$pkg" --jobs "$jobs" --timeout "$timeout" \
        --output "$dir" --no-times "${extra[@]}"
    rc=$?
    prune
    set -e
    # 0: every mutant caught; 2: some missed; 3: some timed out; anything else is a failure
    # of the run itself (e.g. the tests fail on the unmutated tree).
    case $rc in 0 | 2 | 3) ;; *) status=$rc ;; esac
    m="$dir/mutants.out"
    # grep -c prints 0 and fails on an empty list: count the lines without the failure.
    count() { if [ -f "$m/$1" ]; then grep -c . "$m/$1" || true; else echo 0; fi; }
    summary+=("$pkg: caught $(count caught.txt), missed $(count missed.txt), timeout $(count timeout.txt), unviable $(count unviable.txt)")
done
echo "==> summary"
printf '%s\n' "${summary[@]}"
exit "$status"
