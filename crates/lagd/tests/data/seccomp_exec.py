#!/usr/bin/python3
"""Runs a command under the seccomp filters systemd installs for a unit (PID 1 is not systemd on
the test machines). Each option is one filter, built the way systemd 252 builds it
(src/shared/seccomp-util.c), and the kernel applies the strictest verdict of all:

  --allow FILE             SystemCallFilter=: only the syscalls listed in FILE (one per line,
                           already expanded from the unit's groups); anything else kills the
                           process (SIGSYS), as without SystemCallErrorNumber=.
  --families AF_X,AF_Y     RestrictAddressFamilies=: socket(2) of another family fails with
                           EAFNOSUPPORT.
  --restrict-namespaces    RestrictNamespaces=yes: setns(2) and namespace flags of unshare(2)
                           and clone(2) fail with EPERM; clone3(2) with ENOSYS (libc falls back
                           to clone).
  --mdwe                   MemoryDenyWriteExecute=yes: writable+executable mappings and
                           PROT_EXEC by mprotect(2) fail with EPERM.

Usage: seccomp_exec.py [OPTIONS] -- COMMAND [ARGS...]   (needs Debian's python3-seccomp and
no_new_privs, e.g. under `setpriv --no-new-privs`, as NoNewPrivileges=yes gives).
"""
import argparse
import errno
import os
import socket
import sys

import seccomp

CLONE_NEW = [
    0x00020000,  # CLONE_NEWNS
    0x02000000,  # CLONE_NEWCGROUP
    0x04000000,  # CLONE_NEWUTS
    0x08000000,  # CLONE_NEWIPC
    0x10000000,  # CLONE_NEWUSER
    0x20000000,  # CLONE_NEWPID
    0x40000000,  # CLONE_NEWNET
    0x00000080,  # CLONE_NEWTIME
]
PROT_WRITE, PROT_EXEC, SHM_EXEC = 0x2, 0x4, 0o100000


def syscall_filter(path):
    f = seccomp.SyscallFilter(defaction=seccomp.KILL_PROCESS)
    skipped = []
    with open(path) as fh:
        for line in fh:
            name = line.strip()
            if not name or name.startswith("#"):
                continue
            try:
                f.add_rule(seccomp.ALLOW, name)
            except (RuntimeError, ValueError, OSError):
                skipped.append(name)  # not a syscall of this architecture
    return f


def family_filter(names):
    allowed = sorted(getattr(socket, n) for n in names)
    f = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    deny = seccomp.ERRNO(errno.EAFNOSUPPORT)
    first, last = allowed[0], allowed[-1]
    f.add_rule(deny, "socket", seccomp.Arg(0, seccomp.LT, first))
    f.add_rule(deny, "socket", seccomp.Arg(0, seccomp.GT, last))
    for af in range(first + 1, last):
        if af not in allowed:
            f.add_rule(deny, "socket", seccomp.Arg(0, seccomp.EQ, af))
    return f


def namespace_filter():
    f = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    f.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    f.add_rule(seccomp.ERRNO(errno.EPERM), "setns")
    for flag in CLONE_NEW:
        for call in ("unshare", "clone"):
            f.add_rule(seccomp.ERRNO(errno.EPERM), call, seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
    return f


def mdwe_filter():
    f = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    deny = seccomp.ERRNO(errno.EPERM)
    wx = PROT_WRITE | PROT_EXEC
    f.add_rule(deny, "mmap", seccomp.Arg(2, seccomp.MASKED_EQ, wx, wx))
    f.add_rule(deny, "mprotect", seccomp.Arg(2, seccomp.MASKED_EQ, PROT_EXEC, PROT_EXEC))
    f.add_rule(deny, "pkey_mprotect", seccomp.Arg(2, seccomp.MASKED_EQ, PROT_EXEC, PROT_EXEC))
    f.add_rule(deny, "shmat", seccomp.Arg(2, seccomp.MASKED_EQ, SHM_EXEC, SHM_EXEC))
    return f


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--allow")
    p.add_argument("--families")
    p.add_argument("--restrict-namespaces", action="store_true")
    p.add_argument("--mdwe", action="store_true")
    p.add_argument("command", nargs=argparse.REMAINDER)
    a = p.parse_args()
    cmd = a.command[1:] if a.command[:1] == ["--"] else a.command
    if not cmd:
        p.error("no command")
    filters = []
    if a.families:
        filters.append(family_filter([n.strip() for n in a.families.split(",") if n.strip()]))
    if a.restrict_namespaces:
        filters.append(namespace_filter())
    if a.mdwe:
        filters.append(mdwe_filter())
    # The syscall allow-list last: loading the others needs seccomp(2)/prctl(2), which it may deny.
    if a.allow:
        filters.append(syscall_filter(a.allow))
    for f in filters:
        f.load()
    os.execv(cmd[0], cmd)


if __name__ == "__main__":
    sys.exit(main())
