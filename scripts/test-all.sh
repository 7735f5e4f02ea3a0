#!/usr/bin/env bash
# Installs what the tests need (when missing) and runs every test of the workspace.
# Usage: scripts/test-all.sh            (as root: the namespace tests need it)
# This is the README's test command; .ci/run calls it.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v tshark >/dev/null 2>&1 || need_apt+=(tshark)
command -v ip >/dev/null 2>&1 || need_apt+=(iproute2)
command -v ping >/dev/null 2>&1 || need_apt+=(iputils-ping)
command -v ovs-vswitchd >/dev/null 2>&1 || need_apt+=(openvswitch-switch)
command -v iperf3 >/dev/null 2>&1 || need_apt+=(iperf3)
# The unit-sandbox tests apply dist/lagd.service's seccomp filters with libseccomp's Python
# binding (crates/lagd/tests/data/seccomp_exec.py); setpriv and nsenter come with util-linux.
/usr/bin/python3 -c 'import seccomp' >/dev/null 2>&1 || need_apt+=(python3-seccomp)
command -v setpriv >/dev/null 2>&1 || need_apt+=(util-linux)
if [ "${#need_apt[@]}" -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ]; then
        echo "==> installing ${need_apt[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
        apt-get install -y -qq "${need_apt[@]}" >/dev/null
    else
        echo "==> missing ${need_apt[*]} (run as root to install them); tests that need them will say so"
    fi
fi

echo "==> cargo build"
cargo build --workspace --all-targets --locked 2>&1 | tail -n 3

# The claims issue 13 made, checked: no import circle between the files of a crate, and the
# documentation of the workspace built without a warning (broken or ambiguous intra-doc links,
# bad HTML...). A failure here fails the run, after the tests have run.
checks=0
echo "==> import circles (scripts/import_cycles.py)"
python3 scripts/import_cycles.py || { echo "import circles: FAILED"; checks=1; }

echo "==> cargo doc (warnings denied)"
doc_start=$SECONDS
set +e
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked 2>&1 | grep -vE '^ +(Compiling|Checking|Documenting|Generated) '
doc_status=${PIPESTATUS[0]}
set -e
echo "cargo doc: $((SECONDS - doc_start)) s"
if [ "$doc_status" -ne 0 ]; then
    echo "cargo doc: FAILED (exit $doc_status)"
    checks=1
fi

echo "==> cargo test"
log=$(mktemp /tmp/lagd-test.XXXXXX.log)
set +e
cargo test --workspace --locked --no-fail-fast 2>&1 | tee "$log" | grep --line-buffered -E '^(test result|running|error|failures:|---- )|panicked|FAILED|skipped'
status=${PIPESTATUS[0]}
set -e

# One closing line summing every test binary's results.
# The Debian package: built with cargo-deb, its contents checked, installed with dpkg -i, the
# installed lagd run under the installed unit's sandbox, purged (root only; scripts/deb.sh).
if [ "$(id -u)" -eq 0 ] && command -v dpkg >/dev/null 2>&1; then
    echo "==> Debian package (scripts/deb.sh --test)"
    set +e
    bash scripts/deb.sh --test 2>&1 | tee -a "$log" | grep --line-buffered -E '^(==>|deb test|test result)|FAILED|panicked'
    deb_status=${PIPESTATUS[0]}
    set -e
    if [ "$deb_status" -ne 0 ]; then
        echo "deb test: FAILED (exit $deb_status)"
        status=1
    fi
fi

if [ "$checks" -ne 0 ]; then
    echo "checks: FAILED (import circles or cargo doc, above)"
    status=1
fi

awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed;?$/) p += $(i-1); if ($i ~ /^failed;?$/) f += $(i-1); if ($i ~ /^ignored;?$/) s += $(i-1) } }
     END { printf "%d passed, %d failed, %d skipped\n", p, f, s }' "$log"
exit "$status"
