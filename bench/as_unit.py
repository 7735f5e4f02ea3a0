#!/usr/bin/python3
"""Runs a command (lagd) under what dist/lagd.service grants, without systemd (PID 1 is not
systemd on the bench machines), as crates/lagd/tests/unit_sandbox.rs does for the tests:

  - the unit's CapabilityBoundingSet=/AmbientCapabilities= and NoNewPrivileges= by setpriv;
  - its SystemCallFilter= (systemd's groups expanded from
    crates/lagd/tests/data/systemd-syscall-groups.txt), RestrictAddressFamilies=,
    RestrictNamespaces= and MemoryDenyWriteExecute= by crates/lagd/tests/data/seccomp_exec.py
    (Debian's python3-seccomp; a denied syscall kills the process, as without
    SystemCallErrorNumber=);
  - the unit's scheduling: nice 0 (it sets no Nice=) and the normal policy (it sets no
    CPUSchedulingPolicy=; RestrictRealtime=yes), whatever the caller's niceness.

Usage (as root, e.g. after `ip netns exec NS`):
  /usr/bin/python3 bench/as_unit.py [--unit FILE] [--scratch DIR] -- COMMAND [ARGS...]
"""
import argparse
import os
import sys
import tempfile

WS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(WS, "crates/lagd/tests/data")


def unit_values(text, key):
    """Every value of `key` in [Service], in order (an empty assignment resets the list)."""
    out, service = [], False
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("["):
            service = line == "[Service]"
            continue
        if not service or line.startswith(("#", ";")) or "=" not in line:
            continue
        k, v = line.split("=", 1)
        if k.strip() == key:
            v = v.strip()
            out = [] if not v else out + [v]
    return out


def groups():
    g, cur = {}, None
    with open(os.path.join(DATA, "systemd-syscall-groups.txt")) as fh:
        for line in fh:
            t = line.strip()
            if not t or t.startswith("#"):
                continue
            if not line.startswith(" ") and t.startswith("@"):
                cur = t
                g.setdefault(t, [])
            elif cur:
                g[cur].append(t)
    return g


def expand(g, name, out):
    if name in g:
        for m in g[name]:
            expand(g, m, out)
    elif name.startswith("@"):
        sys.exit(f"as_unit.py: unknown syscall group {name}")
    else:
        out.add(name)


def allow_list(lines):
    """As systemd: the first line decides allow-list (@default implied); later lines add or
    (with ~) remove."""
    if lines[0].startswith("~"):
        sys.exit("as_unit.py: only an allow-list SystemCallFilter= is emulated")
    g, allow = groups(), set()
    expand(g, "@default", allow)
    for line in lines:
        deny = line.startswith("~")
        these = set()
        for item in line.lstrip("~").split():
            expand(g, item.split(":")[0], these)
        allow = allow - these if deny else allow | these
    return allow


def caps(values):
    return "-all" + "".join(
        ",+" + c.removeprefix("CAP_").lower() for v in values for c in v.split()
    )


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--unit", default=os.path.join(WS, "dist/lagd.service"))
    p.add_argument("--scratch", help="directory for the expanded syscall list")
    p.add_argument("command", nargs=argparse.REMAINDER)
    a = p.parse_args()
    cmd = a.command[1:] if a.command[:1] == ["--"] else a.command
    if not cmd:
        p.error("no command")
    text = open(a.unit).read()
    v = lambda k: unit_values(text, k)  # noqa: E731
    if not v("CapabilityBoundingSet") or v("NoNewPrivileges")[-1:] != ["yes"]:
        sys.exit("as_unit.py: the unit must set CapabilityBoundingSet= and NoNewPrivileges=yes")
    for k in ("Nice", "CPUSchedulingPolicy", "CPUSchedulingPriority", "IOSchedulingClass"):
        if v(k):
            sys.exit(f"as_unit.py: {k}= is not emulated")
    wrap = ["setpriv", "--bounding-set", caps(v("CapabilityBoundingSet")),
            "--inh-caps", caps(v("AmbientCapabilities")),
            "--ambient-caps", caps(v("AmbientCapabilities")), "--no-new-privs",
            "/usr/bin/python3", os.path.join(DATA, "seccomp_exec.py")]
    if v("SystemCallFilter"):
        fd, path = tempfile.mkstemp(prefix="syscalls.", suffix=".allow", dir=a.scratch)
        with os.fdopen(fd, "w") as fh:
            fh.write("\n".join(sorted(allow_list(v("SystemCallFilter")))) + "\n")
        wrap += ["--allow", path]
    fams = [f for x in v("RestrictAddressFamilies") for f in x.split()]
    if fams:
        if fams[0].startswith("~"):
            sys.exit("as_unit.py: only an allow-list RestrictAddressFamilies= is emulated")
        wrap += ["--families", ",".join(fams)]
    if v("RestrictNamespaces")[-1:] == ["yes"]:
        wrap.append("--restrict-namespaces")
    if v("MemoryDenyWriteExecute")[-1:] == ["yes"]:
        wrap.append("--mdwe")
    # The unit's scheduling: nice 0, the normal policy (the caller may be niced; root may
    # lower it before setpriv drops CAP_SYS_NICE).
    os.setpriority(os.PRIO_PROCESS, 0, 0)
    os.execvp(wrap[0], wrap + ["--"] + cmd)


if __name__ == "__main__":
    main()
