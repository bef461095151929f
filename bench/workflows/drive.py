#!/usr/bin/env python3
"""Drives one `egw serve` through rounds of one-step workflows submitted at once over the REST API.

Per round: N workflows (each holding the semaphore `bench-semaphore/limit`) are POSTed from C threads as fast as
the server takes them; the round ends when the controller's `workflows_completed_total` has grown by N. Then one
list checks that all N Succeeded and that no more than the semaphore's limit ever ran at once (from the nodes'
startedAt/finishedAt). Prints one JSON object: per round wall, workflows/s, the server's RSS after the round, and
the controller's reconcile cost (from /metrics); the server's peak RSS (VmHWM).
"""
import argparse, json, os, sys, threading, time, urllib.request
from datetime import datetime


def metrics(base):
    out = {}
    with urllib.request.urlopen(f"{base}/metrics", timeout=30) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("eventgateway_controller_"):
                name, value = line.rsplit(" ", 1)
                out[name[len("eventgateway_controller_"):]] = float(value)
    return out


def rss_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/{pid}/status")


def cpu_s(pid):
    """The server's own CPU seconds and its reaped children's (egw-step and the steps), from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(") ", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick, (int(fields[13]) + int(fields[14])) / tick


def workflow(round_no, i, limit_key):
    return {"workflow": {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
        "metadata": {"name": f"bench-r{round_no}-{i:05d}", "labels": {"bench-round": str(round_no)}},
        "spec": {
            "entrypoint": "main",
            "synchronization": {"semaphores": [{"configMapKeyRef": {"name": "bench-semaphore", "key": limit_key}}]},
            "templates": [{"name": "main", "container": {"image": "alpine", "command": ["true"]}}],
        }}}


def submit_all(base, ns, round_no, n, conns, limit_key):
    pending = list(range(n))
    lock = threading.Lock()
    errors = []

    def worker():
        while True:
            with lock:
                if not pending:
                    return
                i = pending.pop()
            body = json.dumps(workflow(round_no, i, limit_key)).encode()
            req = urllib.request.Request(f"{base}/api/v1/workflows/{ns}", data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=60) as r:
                    r.read()
            except Exception as e:  # noqa: BLE001 - reported, the round then fails its count
                with lock:
                    errors.append(f"{i}: {e}")

    threads = [threading.Thread(target=worker) for _ in range(conns)]
    for t in threads: t.start()
    for t in threads: t.join()
    return errors


def ts(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def check_round(base, ns, round_no, n, limit):
    with urllib.request.urlopen(f"{base}/api/v1/workflows/{ns}", timeout=120) as r:
        items = [w for w in json.load(r)["items"] if w["metadata"].get("labels", {}).get("bench-round") == str(round_no)]
    phases = {}
    for w in items:
        phases[w["status"]["phase"]] = phases.get(w["status"]["phase"], 0) + 1
    # Peak overlap of the steps (a Pod node's startedAt..finishedAt, whole milliseconds): the semaphore bounds it.
    edges = []
    for w in items:
        for node in (w["status"].get("nodes") or {}).values():
            if node.get("type") == "Pod" and node.get("finishedAt"):
                edges.append((ts(node["startedAt"]), 1))
                edges.append((ts(node["finishedAt"]), -1))
    edges.sort(key=lambda e: (e[0], e[1]))  # at equal times an end before a start
    cur = peak = 0
    for _, d in edges:
        cur += d
        peak = max(peak, cur)
    return {"found": len(items), "phases": phases, "peak_concurrent": peak, "ok": len(items) == n and phases.get("Succeeded", 0) == n and peak <= limit}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--ns", default="bench")
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=3, help="measured rounds, after one untimed warm-up round")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--limit", type=int, default=20, help="the semaphore's limit (the ConfigMap's value)")
    ap.add_argument("--timeout", type=float, default=600)
    a = ap.parse_args()
    # egw serve authenticates every API request: the bearer token comes from $EGW_TOKEN (run.sh reads the admin token).
    opener = urllib.request.build_opener()
    opener.addheaders = [("Authorization", "Bearer " + os.environ.get("EGW_TOKEN", ""))]
    urllib.request.install_opener(opener)

    out = {"n": a.n, "rounds": [], "semaphore": a.limit}
    for round_no in range(a.rounds + 1):
        before = metrics(a.base)
        cpu0 = cpu_s(a.pid)
        t0 = time.monotonic()
        errors = submit_all(a.base, a.ns, round_no, a.n, a.connections, "limit")
        submitted = time.monotonic()
        target = before["workflows_completed_total"] + a.n - len(errors)
        while True:
            m = metrics(a.base)
            if m["workflows_completed_total"] >= target:
                break
            if time.monotonic() - t0 > a.timeout:
                print(json.dumps({"error": f"round {round_no}: {int(m['workflows_completed_total'] - before['workflows_completed_total'])} of {a.n} completed after {a.timeout}s"}))
                return 1
            time.sleep(0.05)
        wall = time.monotonic() - t0
        cpu1 = cpu_s(a.pid)
        check = check_round(a.base, a.ns, round_no, a.n, a.limit)
        d = {k: m[k] - before[k] for k in m}
        r = {
            "round": round_no, "warmup": round_no == 0, "submit_errors": errors[:5], "submit_s": round(submitted - t0, 3),
            "wall_s": round(wall, 3), "workflows_per_s": round(a.n / wall, 1),
            "rss_kb": rss_kb(a.pid, "VmRSS"),
            # CPU per workflow does not depend on what else the machine runs, as wf/s does.
            "server_cpu_ms_per_wf": round(1e3 * (cpu1[0] - cpu0[0]) / a.n, 3),
            "steps_cpu_ms_per_wf": round(1e3 * (cpu1[1] - cpu0[1]) / a.n, 3),
            "reconciles": int(d["reconciles_total"]), "reconcile_s": round(d["reconcile_seconds_total"], 3),
            "us_per_reconcile": round(1e6 * d["reconcile_seconds_total"] / max(d["reconciles_total"], 1), 1),
            "step_results": int(d["step_results_total"]), "status_saves": int(d["status_saves_total"]),
            "us_reconcile_per_workflow": round(1e6 * d["reconcile_seconds_total"] / a.n, 1),
            **check,
        }
        out["rounds"].append(r)
        print(f"round {round_no}{' (warm-up)' if round_no == 0 else ''}: {r['workflows_per_s']} wf/s, {r['phases']}, peak {r['peak_concurrent']} running, RSS {r['rss_kb']} KB, CPU ms/wf server {r['server_cpu_ms_per_wf']} steps {r['steps_cpu_ms_per_wf']}", file=sys.stderr)
    measured = [r for r in out["rounds"] if not r["warmup"]]
    out["peak_rss_kb"] = rss_kb(a.pid, "VmHWM")
    out["workflows_per_s_median"] = sorted(r["workflows_per_s"] for r in measured)[len(measured) // 2]
    out["rss_growth_kb_per_workflow"] = round((measured[-1]["rss_kb"] - out["rounds"][0]["rss_kb"]) / (a.n * len(measured)), 2)
    out["us_per_reconcile"] = round(1e6 * sum(r["reconcile_s"] for r in measured) / max(sum(r["reconciles"] for r in measured), 1), 1)
    out["reconciles_per_workflow"] = round(sum(r["reconciles"] for r in measured) / (a.n * len(measured)), 2)
    out["server_cpu_ms_per_wf"] = sorted(r["server_cpu_ms_per_wf"] for r in measured)[len(measured) // 2]
    out["steps_cpu_ms_per_wf"] = sorted(r["steps_cpu_ms_per_wf"] for r in measured)[len(measured) // 2]
    out["ok"] = all(r["ok"] and not r["submit_errors"] for r in out["rounds"])
    print(json.dumps(out))
    return 0 if out["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
