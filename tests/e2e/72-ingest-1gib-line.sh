#!/usr/bin/env bash
# A 1 GiB line through aij-ingest on the real broker: the line is code 01,
# the lines around it are published as usual, and the process's peak memory
# stays bounded (the reader keeps 64 KiB of a line, whatever its length).
# The file is a FIFO fed by a writer, so the test needs no 1 GiB of disk.
. "$(dirname "$0")/lib.sh"

"$AIJ_BIN/aij-broker" --ready-file "$t/broker.addr" --log-level warn >/dev/null 2>"$t/broker.log" &
e2e_pids+=($!)
wait_until 10 "aij-broker to start (its ready file $t/broker.addr)" test -s "$t/broker.addr"
brokers=$(cat "$t/broker.addr")

mkfifo "$t/week.csv"
python3 - "$t/week.csv" "$AIJ_BIN/aij-ingest" "$brokers" "$t/ingest.log" <<'PY' || fail "aij-ingest on a 1 GiB line"
import os, resource, subprocess, sys, threading
fifo, ingest, brokers, log = sys.argv[1:5]
ok = "4100000097;099;6368886G;Guérin;Zoé;16/08/2006;22183;AIJ;27/01/2026;27/01/2027;;\n".encode()

def write():
    with open(fifo, "wb") as f:
        f.write(ok)
        f.write(b"4100000098;099;")
        block = b"a" * (1 << 20)
        for _ in range(1024):   # 1 GiB
            f.write(block)
        f.write(b";x;y\n")
        f.write(ok)

w = threading.Thread(target=write)
w.start()
with open(log, "wb") as err:
    rc = subprocess.run([ingest, "--file", fifo, "--brokers", brokers, "--run-id", "W72"],
                        stderr=err).returncode
w.join()
peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(f"aij-ingest exit {rc}, peak RSS {peak_mib:.0f} MiB")
assert rc == 0, rc
assert peak_mib < 256, f"peak RSS {peak_mib:.0f} MiB for a 1 GiB line"
PY
cat "$t/ingest.log" >&2
grep -q "manifest published.*3 records, last line 3" "$t/ingest.log" || fail "the manifest does not say 3 records"
grep -q "2 valid, 1 invalid (01: 1," "$t/ingest.log" || fail "the 1 GiB line is not the one code 01"
