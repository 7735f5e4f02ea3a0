#!/usr/bin/env bash
# The Debian package of lagd, built with cargo-deb (pinned below) from [package.metadata.deb] in
# crates/lagd/Cargo.toml: /usr/sbin/lagd and /usr/sbin/lagctl (release, stripped), the systemd
# unit, lagd(8), lagctl(8), lagd.toml(5), shell completions (generated here by the release
# lagctl), /etc/lagd/lagd.toml (a conffile,
# commented out), the licences.
#
# Usage: scripts/deb.sh           build target/debian/lagd_*.deb
#        scripts/deb.sh --test    build it, check its contents with dpkg-deb, install it with
#                                 dpkg -i, run the installed lagd --check-config and
#                                 lagctl --version, and purge it again (root; skipped, and said,
#                                 when a lagd package is already installed)
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_DEB_VERSION=3.8.0
test_mode=0
[ "${1:-}" = "--test" ] && test_mode=1

start=$(date +%s)
if ! cargo deb --version 2>/dev/null | grep -qF "$CARGO_DEB_VERSION"; then
    echo "==> installing cargo-deb $CARGO_DEB_VERSION"
    # Without default features: no bundled liblzma to build (the package is compressed with
    # the system's xz or gzip).
    cargo install --quiet --locked --no-default-features "cargo-deb@$CARGO_DEB_VERSION"
fi
echo "==> cargo build --release (lagd, lagctl)"
cargo build --quiet --release --locked -p lagd -p lagctl
# The shell completions are generated from the lagctl just built, not committed (they are
# clap_complete's output, thousands of repetitive lines); the man pages stay in dist/man.
echo "==> lagctl gen-docs target/gen-docs (completions)"
rm -rf target/gen-docs
target/release/lagctl gen-docs target/gen-docs >/dev/null
echo "==> cargo deb"
rm -f target/debian/lagd_*.deb
# --strip: the release profile keeps line tables for profiling; the package ships none.
cargo deb --no-build --strip -p lagd
deb=$(ls target/debian/lagd_*.deb)
echo "==> $deb ($(du -k "$deb" | cut -f1) KiB, $(( $(date +%s) - start )) s)"
[ "$test_mode" -eq 1 ] || exit 0

fail() { echo "deb test: FAIL: $*" >&2; exit 1; }

# The control fields.
info=$(dpkg-deb --info "$deb")
for want in "Package: lagd" "Section: net" "Priority: optional" "Maintainer: " "Depends: " "Recommends: iproute2"; do
    grep -qF "$want" <<<"$info" || fail "control lacks '$want'"
done
# The files.
contents=$(dpkg-deb --contents "$deb" | awk '{ print $6 }')
for want in ./usr/sbin/lagd ./usr/sbin/lagctl ./etc/lagd/lagd.toml \
    lib/systemd/system/lagd.service \
    ./usr/share/man/man8/lagd.8 ./usr/share/man/man8/lagctl.8 ./usr/share/man/man8/lagctl-show-aggr.8 \
    ./usr/share/man/man5/lagd.toml.5 \
    ./usr/share/bash-completion/completions/lagctl ./usr/share/zsh/vendor-completions/_lagctl \
    ./usr/share/fish/vendor_completions.d/lagctl.fish \
    ./usr/share/doc/lagd/copyright ./usr/share/doc/lagd/LICENSE-MIT ./usr/share/doc/lagd/LICENSE-APACHE; do
    grep -qF "$want" <<<"$contents" || fail "package lacks $want"
done
# The generated completions are not empty.
for c in usr/share/bash-completion/completions/lagctl usr/share/zsh/vendor-completions/_lagctl \
    usr/share/fish/vendor_completions.d/lagctl.fish; do
    # Read whole before grep: `grep -q` would close the pipe early and fail it (pipefail).
    body=$(dpkg-deb --fsys-tarfile "$deb" | tar -xOf - "./$c")
    grep -qF lagctl <<<"$body" || fail "$c is empty"
done
# The configuration is a conffile, root-only (it may hold DT keys).
ctl=$(mktemp -d)
extracted=$(mktemp -d)
trap 'rm -rf "$ctl" "$extracted"' EXIT
dpkg-deb --control "$deb" "$ctl"
grep -qx /etc/lagd/lagd.toml "$ctl/conffiles" || fail "/etc/lagd/lagd.toml is not a conffile"
dpkg-deb --contents "$deb" | grep -E ' \./etc/lagd/lagd\.toml$' | grep -q '^-rw-------' \
    || fail "/etc/lagd/lagd.toml is not mode 0600"
# Release binaries without debug information.
dpkg-deb --extract "$deb" "$extracted"
for b in usr/sbin/lagd usr/sbin/lagctl; do
    if readelf -S --wide "$extracted/$b" | grep -qE '\.debug_(info|line|str)'; then
        fail "$b carries debug information"
    fi
done
# What is installed works from its own files, before it touches the machine.
"$extracted/usr/sbin/lagd" --check-config "$extracted/etc/lagd/lagd.toml" >/dev/null \
    || fail "the packaged lagd.toml does not validate"
echo "==> contents ok: $(wc -l <<<"$contents") entries, conffile, binaries stripped"

if [ "$(id -u)" -ne 0 ]; then
    echo "deb test: skipped: installing needs root"
    exit 0
fi
if dpkg-query -W -f='${Status}' lagd 2>/dev/null | grep -q "install ok installed"; then
    echo "deb test: skipped: a lagd package is installed on this machine already; not replacing it"
    exit 0
fi
echo "==> dpkg -i (removed again afterwards)"
trap 'dpkg --purge lagd >/dev/null 2>&1 || true; rm -rf "$ctl" "$extracted"' EXIT
dpkg -i "$deb"
out=$(/usr/sbin/lagd --check-config /etc/lagd/lagd.toml) || fail "installed lagd --check-config failed"
echo "    $out"
grep -qF "valid: 0 aggregations" <<<"$out" || fail "unexpected: $out"
v=$(/usr/sbin/lagctl --version) || fail "installed lagctl --version failed"
echo "    $v"
grep -qE '^lagctl [0-9]+\.[0-9]+\.[0-9]+' <<<"$v" || fail "unexpected: $v"
/usr/sbin/lagd --version
# The installed lagd under the installed unit's own capabilities and seccomp filter: takes
# members, carries traffic on the fast path, forms a DT pair, and restores every member exactly
# (crates/lagd/tests/unit_sandbox.rs, run against the package's files).
unit=$(dpkg -L lagd | grep -E '/systemd/system/lagd\.service$' | head -n 1)
[ -n "$unit" ] || fail "the package installed no lagd.service"
echo "==> the installed lagd under the installed unit ($unit)"
set +e
sandbox=$(LAGD_TEST_BIN=/usr/sbin/lagd LAGD_TEST_UNIT="$unit" \
    cargo test --locked -p lagd --test unit_sandbox 2>&1)
sandbox_status=$?
set -e
grep -E '^test result|FAILED|panicked' <<<"$sandbox" || true
[ "$sandbox_status" -eq 0 ] || fail "unit_sandbox against the installed package (exit $sandbox_status)"
man_ok=$(zcat -f /usr/share/man/man8/lagd.8* | grep -c '^\.SH' || true)
[ "$man_ok" -ge 5 ] || fail "lagd(8) is not installed as a page"
dpkg --purge lagd >/dev/null
[ ! -e /usr/sbin/lagd ] || fail "purge left /usr/sbin/lagd"
echo "==> deb test ok ($(( $(date +%s) - start )) s)"
