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
# MUTANTS_OUT (default mutants.out).
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=27.1.0
jobs=${MUTANTS_JOBS:-1}
timeout=${MUTANTS_TIMEOUT:-300}
out=${MUTANTS_OUT:-mutants.out}

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

summary=()
status=0
for pkg in "${packages[@]}"; do
    dir="$out/$pkg"
    mkdir -p "$dir"
    echo "==> cargo mutants -p $pkg ${extra[*]:-}"
    set +e
    nice -n 10 cargo mutants --package "$pkg" --jobs "$jobs" --timeout "$timeout" \
        --output "$dir" --no-times "${extra[@]}"
    rc=$?
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
