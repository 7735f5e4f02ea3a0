#!/usr/bin/env bash
# Regenerates crates/lagd/tests/data/systemd-syscall-groups.txt: systemd's syscall groups
# (`@system-service`, `@privileged`, ...) as `systemd-analyze syscall-filter` prints them, so
# the unit-sandbox tests (crates/lagd/tests/unit_sandbox.rs) can build the unit's
# SystemCallFilter= on CI machines without systemd. Groups may name other groups; the tests
# expand them. `@known` (every syscall the kernel has) is left out.
set -euo pipefail
cd "$(dirname "$0")/.."
out=crates/lagd/tests/data/systemd-syscall-groups.txt
{
    echo "# $(systemd-analyze --version | head -n 1): systemd-analyze syscall-filter"
    echo "# regenerate with scripts/gen-syscall-groups.sh"
    systemd-analyze syscall-filter 2>/dev/null | sed '/^@known/,$d'
} > "$out"
echo "wrote $out ($(grep -c '^@' "$out") groups)"
