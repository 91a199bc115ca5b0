#!/usr/bin/env python3
"""Runs a program and records what it cost, for the benchmark.

Usage: bench/measure.py OUTFILE PROGRAM [ARGS...]

Starts PROGRAM, forwards SIGTERM and SIGINT to it (aij-local stops its
programs that way), waits for it with wait4() and appends one line to OUTFILE:
  name start end wall_s user_s sys_s maxrss_kb exit
(start/end: Unix time in seconds). Exits with the program's status.
"""
import os
import signal
import sys
import time


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    out, argv = sys.argv[1], sys.argv[2:]
    start = time.time()
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(argv[0], argv)
        except OSError as e:
            print(f"measure: cannot run '{argv[0]}': {e.strerror}", file=sys.stderr)
            os._exit(127)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda s, _f: os.kill(pid, s))
    while True:
        try:
            _, status, ru = os.wait4(pid, 0)
            break
        except InterruptedError:
            continue
    end = time.time()
    code = os.waitstatus_to_exitcode(status)
    name = os.path.basename(argv[0])
    with open(out, "a") as f:
        f.write(f"{name} {start:.3f} {end:.3f} {end - start:.3f} {ru.ru_utime:.3f} "
                f"{ru.ru_stime:.3f} {ru.ru_maxrss} {code}\n")
    sys.exit(code if code >= 0 else 128 - code)


if __name__ == "__main__":
    main()
