#!/usr/bin/env python3
"""Reads `docker-compose config` output (YAML) and prints what the tests need.

  compose_cmd.py CONFIG.yml check               the deployment's promises (exit 1 + why)
  compose_cmd.py CONFIG.yml command SERVICE     the service's command, one argument a line,
                                                the container's addresses and paths replaced
                                                by the host's (env SUBST: "from=to|from=to")
  compose_cmd.py CONFIG.yml env SERVICE         its environment, NAME=VALUE lines
"""
import os
import sys

import yaml


def fail(why):
    print(f"compose check: {why}", file=sys.stderr)
    sys.exit(1)


def check(cfg):
    svc = cfg["services"]
    for name in ("kafka", "topics", "redis", "reporter", "editions", "matcher", "inbox", "indexer",
                 "ingest", "replay"):
        if name not in svc:
            fail(f"no service '{name}'")
    if not svc["kafka"]["image"].startswith("apache/kafka"):
        fail("kafka is not the official apache/kafka image")
    env = svc["kafka"]["environment"]
    if "controller" not in str(env.get("KAFKA_PROCESS_ROLES", "")):
        fail("kafka is not in KRaft mode (KAFKA_PROCESS_ROLES)")
    topics = " ".join(svc["topics"]["command"])
    for t in ("aij.records:12", "aij.outcomes:12", "aij.runs:1"):
        if t not in topics:
            fail(f"topics: no '{t}'")
    ret = int(topics.split("retention.ms=")[1].split()[0])
    if ret < 14 * 86400 * 1000:
        fail(f"retention.ms={ret} is less than 14 days")
    for name in ("kafka", "redis", "reporter", "editions"):
        if "healthcheck" not in svc[name]:
            fail(f"{name}: no healthcheck")
    for name in ("kafka", "redis", "reporter", "editions", "matcher", "inbox"):
        if svc[name].get("restart") not in ("unless-stopped", "always", "on-failure"):
            fail(f"{name}: no restart policy")
    if "container_name" in svc["matcher"]:
        fail("matcher has a container_name: it could not be scaled")
    for name in ("indexer", "ingest", "replay"):
        if not svc[name].get("profiles"):
            fail(f"{name}: a one-shot job should be under a profile")
    for v in ("aij-inbox", "aij-inputs", "aij-reports", "aij-config", "kafka-data", "redis-data"):
        if v not in (cfg.get("volumes") or {}):
            fail(f"no named volume '{v}'")
    if "--follow" not in svc["reporter"]["command"] or "--metrics" not in svc["reporter"]["command"]:
        fail("the reporter does not follow the runs and serve /metrics")
    if svc["editions"]["command"][0] != "aij-editions" or "--users" not in svc["editions"]["command"]:
        fail("the editions service is not aij-editions with its users")
    if not any(p.get("target") == 8080 if isinstance(p, dict) else str(p).endswith(":8080")
               for p in svc["editions"].get("ports", [])):
        fail("the editions service is not on port 8080")
    mounts = svc["editions"].get("volumes", [])
    out = [m for m in mounts if (m.get("target") if isinstance(m, dict) else m.split(":")[1]) == "/var/lib/aij/out"]
    if not out or (out[0].get("read_only") if isinstance(out[0], dict) else out[0].endswith(":ro")):
        fail("the editions service does not have the reports volume read-write (replace, delete)")
    # The inbox writes runs.json beside the reporter's outputs: the same volume.
    mounts = {v.split(":")[1]: v.split(":")[0] for v in svc["inbox"].get("volumes", [])}
    reporter_mounts = {v.split(":")[1]: v.split(":")[0] for v in svc["reporter"].get("volumes", [])}
    out = svc["inbox"]["command"][svc["inbox"]["command"].index("--out") + 1]
    if mounts.get(out) != reporter_mounts.get("/var/lib/aij/out") or out != "/var/lib/aij/out":
        fail("the inbox's --out is not the reporter's reports volume")
    inbox = svc["inbox"]["command"][svc["inbox"]["command"].index("--watch") + 1]
    if inbox not in mounts:
        fail("the inbox's --watch folder is not a volume")
    if "AIJ_SCHEDULE" not in (svc["inbox"].get("environment") or {}):
        fail("the inbox's schedule is not set from the environment (AIJ_SCHEDULE)")


def main():
    cfg = yaml.safe_load(open(sys.argv[1], encoding="utf-8"))
    what = sys.argv[2]
    if what == "check":
        check(cfg)
        return
    s = cfg["services"][sys.argv[3]]
    if what == "env":
        for k, v in (s.get("environment") or {}).items():
            print(f"{k}={'' if v is None else v}")
        return
    subst = [p.split("=", 1) for p in os.environ.get("SUBST", "").split("|") if p]
    for arg in s["command"]:
        for a, b in subst:
            arg = arg.replace(a, b)
        print(arg)


main()
