#!/usr/bin/env python3
"""Helpers of bench/sensor/run.sh: waiting for egw and webhook to finish, collecting egw's own records, the report.

    analyze.py wait-egw API NS EXPECTED TIMEOUT STALL OUT_JSON
    analyze.py wait-file FILE EXPECTED TIMEOUT STALL OUT_JSON
    analyze.py collect-egw API NS RUN_ID PREFIX
    analyze.py report WORK RESULT_JSON RAW_CSV            (settings in the environment, see run.sh)

Only timestamps the systems record anyway are used: for egw the event log's `received`, the workflow's
creationTimestamp and status.startedAt/finishedAt, the step node's startedAt/finishedAt (all milliseconds),
and the step's own stdout (`date +%s%N`); for webhook the command's own `date +%s%N`. The sender's ack times
come from sender.py. All are CLOCK_REALTIME on the same machine.
"""
import datetime as dt
import http.client
import json
import os
import re
import sys
import time
import urllib.parse

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
DEDUP_ANNOTATION = "eventgateway.io/dedup-key"


def ts_ns(text):
    """RFC 3339 (egw writes milliseconds, or 7 fraction digits with an offset) to Unix nanoseconds."""
    if not text:
        return None
    t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    m = re.search(r"\.(\d+)", text)
    frac_ns = int((m.group(1) + "000000000")[:9]) if m else 0
    return (t.replace(microsecond=0) - EPOCH) // dt.timedelta(seconds=1) * 1_000_000_000 + frac_ns


class Api:
    """Keep-alive GETs against egw's REST API."""

    def __init__(self, base):
        u = urllib.parse.urlparse(base)
        self.host, self.port = u.hostname, u.port
        self.conn = None

    def get(self, path):
        for attempt in (1, 2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
                token_file = os.environ.get("EGW_TOKEN_FILE")
                headers = {"Authorization": "Bearer " + open(token_file).read().strip()} if token_file and os.path.exists(token_file) else {}
                self.conn.request("GET", path, headers=headers)
                r = self.conn.getresponse()
                body = r.read()
                return r.status, body
            except (http.client.HTTPException, OSError):
                self.conn = None
                if attempt == 2:
                    raise
        raise AssertionError


METRIC = re.compile(r'^eventgateway_sensor_events_total\{(?P<labels>[^}]*)\}\s+(?P<v>[0-9.e+]+)', re.M)
RUNNING = re.compile(r'^eventgateway_sensor_workflows_running(?:\{[^}]*\})?\s+(?P<v>[0-9.e+]+)', re.M)


def sensor_progress(api, ns):
    """(events the trigger stage decided, workflows unfinished) from /metrics, or None if it has no such lines."""
    status, body = api.get("/metrics")
    if status != 200:
        return None
    text = body.decode()
    decided = 0
    found = False
    for m in METRIC.finditer(text):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group("labels")))
        if labels.get("sensor", "").startswith(ns + "/") and labels.get("trigger"):
            found = True
            if labels.get("outcome") not in ("waiting", "rate-limited", "ratelimited"):
                decided += int(float(m.group("v")))
    r = RUNNING.search(text)
    if not found and r is None:
        return None
    return decided, int(float(r.group("v"))) if r else 0


def completed_workflows(api, ns):
    status, body = api.get(f"/api/v1/workflows/{ns}")
    items = json.loads(body).get("items") or [] if status == 200 else []
    done = sum(1 for w in items if (w.get("status") or {}).get("phase") in ("Succeeded", "Failed", "Error"))
    return done, len(items) - done


def wait_egw(api_base, ns, expected, timeout, stall, out):
    """Until the sensor decided `expected` firings and no sensor workflow is unfinished (or no progress for `stall` s)."""
    api = Api(api_base)
    start = time.monotonic()
    last_change, last = start, None
    max_running, samples, source = 0, [], "metrics"
    reason = "timeout"
    while time.monotonic() - start < timeout:
        p = sensor_progress(api, ns) if source == "metrics" else None
        if p is None:
            source = "workflow list"
            done, running = completed_workflows(api, ns)
            p = (done, running)
        decided, running = p
        max_running = max(max_running, running)
        now = time.monotonic()
        samples.append([round(now - start, 2), decided, running])
        if p != last:
            last, last_change = p, now
        if decided >= expected and running == 0:
            reason = "done"
            break
        if now - last_change > stall:
            reason = f"no progress for {stall} s"
            break
        time.sleep(0.25 if source == "metrics" else 2)
    json.dump({"reason": reason, "waited_s": round(time.monotonic() - start, 2), "max_running": max_running,
               "progress_source": source, "last": last, "samples": samples[-400:]}, open(out, "w"))
    print(f"{reason} after {time.monotonic() - start:.1f} s (decided {last[0] if last else '?'}, "
          f"unfinished {last[1] if last else '?'}, at most {max_running} unfinished at once)", file=sys.stderr)


def wait_file(path, expected, timeout, stall, out):
    """Until `path` has `expected` lines (webhook's commands append one each), or no new line for `stall` s."""
    start = time.monotonic()
    last_change, last, reason = start, -1, "timeout"
    while time.monotonic() - start < timeout:
        n = sum(1 for _ in open(path)) if os.path.exists(path) else 0
        now = time.monotonic()
        if n != last:
            last, last_change = n, now
        if n >= expected:
            reason = "done"
            break
        if now - last_change > stall:
            reason = f"no progress for {stall} s"
            break
        time.sleep(0.1)
    json.dump({"reason": reason, "waited_s": round(time.monotonic() - start, 2), "lines": last}, open(out, "w"))
    print(f"{reason} after {time.monotonic() - start:.1f} s ({last} of {expected} commands ran)", file=sys.stderr)


def collect_egw(api_base, ns, run_id, prefix):
    """Saves the workflow list, each bench workflow's step output (log API) and the events' received times."""
    api = Api(api_base)
    status, body = api.get(f"/api/v1/workflows/{ns}")
    if status != 200:
        raise SystemExit(f"GET /api/v1/workflows/{ns}: HTTP {status}")
    open(prefix + ".workflows.json", "wb").write(body)
    items = json.loads(body).get("items") or []
    steps = {}
    for w in items:
        key = ((w.get("metadata") or {}).get("annotations") or {}).get(DEDUP_ANNOTATION, "")
        if not key.startswith(run_id):
            continue
        name = w["metadata"]["name"]
        s, text = api.get(f"/api/v1/workflows/{ns}/{name}/log?logOptions.container=main")
        lines = []
        if s == 200:
            for line in text.decode().splitlines():
                try:
                    lines.append(json.loads(line)["result"]["content"])
                except (ValueError, KeyError, TypeError):
                    pass
        steps[name] = lines
    json.dump(steps, open(prefix + ".steps.json", "w"))
    # received times from the event log (an optional column: the events API may change)
    events, before = {}, None
    try:
        while True:
            q = f"/api/v1/events?namespace={ns}&limit=10000" + (f"&before={before}" if before else "")
            s, text = api.get(q)
            if s != 200:
                break
            page = json.loads(text).get("items") or []
            for e in page:
                events[e["id"]] = {"sequence": e.get("sequence"), "received": e.get("received")}
            if len(page) < 10000:
                break
            before = min(e["sequence"] for e in page)
    except (ValueError, KeyError, TypeError, OSError) as e:
        print(f"events API not usable ({e}); the received column is left out", file=sys.stderr)
    json.dump(events, open(prefix + ".events.json", "w"))
    print(f"collected {len(items)} workflows, {len(steps)} of this run, {len(events)} events", file=sys.stderr)


# ---------------------------------------------------------------------------------------------------------
def read_sent(path):
    rows = []
    with open(path) as f:
        next(f)
        for line in f:
            d, due, sent, ack, status, err = line.rstrip("\n").split(",", 5)
            rows.append({"delivery": d, "due": int(due), "sent": int(sent), "ack": int(ack), "status": int(status), "error": err})
    return rows


def pct(values, p):
    """Nearest-rank percentile of a list (None when empty)."""
    if not values:
        return None
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(-(-p * len(v) // 100)) - 1))
    return v[k]


def stats_ms(values_ns):
    v = [x / 1e6 for x in values_ns if x is not None]
    if not v:
        return None
    return {"n": len(v), "min": round(min(v), 2), "p50": round(pct(v, 50), 2), "p90": round(pct(v, 90), 2),
            "p99": round(pct(v, 99), 2), "max": round(max(v), 2), "mean": round(sum(v) / len(v), 2)}


def egw_records(prefix, run_id, acked_ids):
    """Per delivery of this run: its workflows and what each recorded; plus the exactly-once counts."""
    items = json.load(open(prefix + ".workflows.json")).get("items") or []
    steps = json.load(open(prefix + ".steps.json"))
    events = json.load(open(prefix + ".events.json")) if os.path.exists(prefix + ".events.json") else {}
    by_delivery = {}
    for w in items:
        meta = w.get("metadata") or {}
        key = (meta.get("annotations") or {}).get(DEDUP_ANNOTATION, "")
        if not key.startswith(run_id):
            continue
        st = w.get("status") or {}
        pods = [n for n in (st.get("nodes") or {}).values() if n.get("type") == "Pod"]
        pod = min(pods, key=lambda n: n.get("startedAt") or "~") if pods else {}
        name = meta.get("name")
        own = None
        lines = steps.get(name) or []
        ran = [ln for ln in lines if re.match(r"^\d{15,}\s", ln)]
        if ran:
            t, _, who = ran[0].partition(" ")
            own = int(t)
            if who.strip() != name:
                own = None  # another workflow's output: not this step's run
        ev = events.get(key) or {}
        by_delivery.setdefault(key, []).append({
            "workflow": name, "phase": st.get("phase"), "pods": len(pods), "pod_phase": pod.get("phase"),
            "step_runs": len(ran),
            "received": ts_ns(ev.get("received")), "created": ts_ns(meta.get("creationTimestamp")),
            "wf_started": ts_ns(st.get("startedAt")), "node_started": ts_ns(pod.get("startedAt")),
            "step_own": own, "node_finished": ts_ns(pod.get("finishedAt")), "wf_finished": ts_ns(st.get("finishedAt")),
        })
    acked = set(acked_ids)
    missing = sorted(d for d in acked if d not in by_delivery)
    duplicated = sorted(d for d, ws in by_delivery.items() if len(ws) > 1)
    unacked = sorted(d for d in by_delivery if d not in acked)
    flat = [w for ws in by_delivery.values() for w in ws]
    counts = {
        "acknowledged": len(acked),
        "workflows": len(flat),
        "deliveries_with_workflow": sum(1 for d in acked if d in by_delivery),
        "missing": len(missing), "duplicated": len(duplicated), "unacknowledged_with_workflow": len(unacked),
        "succeeded": sum(1 for w in flat if w["phase"] == "Succeeded"),
        "steps_ran": sum(1 for w in flat if w["step_own"] is not None),
        "step_runs_total": sum(w["step_runs"] for w in flat),
        "examples": {"missing": missing[:5], "duplicated": duplicated[:5], "unacknowledged": unacked[:5]},
    }
    return by_delivery, counts


def webhook_records(path, run_id, acked_ids):
    runs = {}
    if os.path.exists(path):
        for line in open(path):
            parts = line.split()
            if len(parts) == 2 and parts[1].startswith(run_id):
                runs.setdefault(parts[1], []).append(int(parts[0]))
    acked = set(acked_ids)
    missing = sorted(d for d in acked if d not in runs)
    duplicated = sorted(d for d, r in runs.items() if len(r) > 1)
    unacked = sorted(d for d in runs if d not in acked)
    counts = {"acknowledged": len(acked), "commands_ran": sum(len(r) for r in runs.values()),
              "deliveries_with_command": sum(1 for d in acked if d in runs),
              "missing": len(missing), "duplicated": len(duplicated), "unacknowledged_with_command": len(unacked),
              "examples": {"missing": missing[:5], "duplicated": duplicated[:5], "unacknowledged": unacked[:5]}}
    return runs, counts


def report(work, result_file, raw_file):
    env = os.environ
    meta = json.loads(env["BENCH_META"])
    hz = os.sysconf("SC_CLK_TCK")
    phases, problems, raw = {}, [], []

    def read(name):
        p = os.path.join(work, name)
        return open(p).read() if os.path.exists(p) else ""

    for phase in meta["phases"]:
        for system in meta["systems"]:
            tag = f"{phase}.{system}"
            if not os.path.exists(os.path.join(work, tag + ".sent.csv")):
                continue
            run_id = read(tag + ".runid").strip()
            sent = read_sent(os.path.join(work, tag + ".sent.csv"))
            ok = [r for r in sent if 200 <= r["status"] < 300]
            acked_ids = [r["delivery"] for r in ok]
            ack_of = {r["delivery"]: r["ack"] for r in ok}
            wait = json.loads(read(tag + ".wait.json") or "{}")
            row = {"phase": phase, "system": system, "requests": len(sent), "acknowledged": len(ok),
                   "non_2xx": sum(1 for r in sent if r["status"] and not 200 <= r["status"] < 300),
                   "no_answer": sum(1 for r in sent if r["status"] == 0), "wait": wait.get("reason"),
                   "waited_s": wait.get("waited_s")}
            errors = sorted({r["error"] for r in sent if r["error"]})[:3]
            if errors:
                row["sender_errors"] = errors
            t0 = min(r["sent"] for r in sent)
            last_ack = max((r["ack"] for r in ok), default=t0)
            row["ingest_s"] = round((last_ack - t0) / 1e9, 3)
            row["ingest_per_s"] = round(len(ok) / ((last_ack - t0) / 1e9)) if last_ack > t0 else None
            row["offered_per_s"] = meta["rate"] if phase == "latency" else None
            span = (max(r["due"] for r in sent) - min(r["due"] for r in sent)) / 1e9
            row["sent_per_s"] = round(len(sent) / span, 1) if phase == "latency" and span > 0 else None
            late = [r["sent"] - r["due"] for r in sent]
            row["send_late_ms_p99"] = round(pct(late, 99) / 1e6, 2)
            cpu = read(tag + ".cpu").split()
            if len(cpu) == 3:
                server, busy, total = (int(x) for x in cpu)
                row["server_cpu_s"] = round(server / hz, 2)
                row["machine_busy_pct"] = round(100 * busy / total, 1) if total else None
                sender_cpu = read(tag + ".sendertime").split()
                if len(sender_cpu) == 2:
                    row["sender_cpu_s"] = round(float(sender_cpu[0]) + float(sender_cpu[1]), 2)
                    # CPU the rest of the machine used meanwhile (other sessions): over 10% of it marks the row
                    row["other_cpu_s"] = round(max(0.0, busy / hz - server / hz - row["sender_cpu_s"]), 2)
                    row["disturbed"] = row["other_cpu_s"] > 0.1 * total / hz
            if system.startswith("egw"):
                recs, counts = egw_records(os.path.join(work, tag), run_id, acked_ids)
                row["exactly_once"] = counts
                first = {d: min(ws, key=lambda w: w["step_own"] or 1 << 62) for d, ws in recs.items()}
                starts = [w["step_own"] for w in first.values() if w["step_own"]]
                finishes = [w["wf_finished"] for w in first.values() if w["wf_finished"]]
                row["last_step_start_s"] = round((max(starts) - t0) / 1e9, 3) if starts else None
                row["end_s"] = round((max(finishes) - t0) / 1e9, 3) if finishes else None
                row["end_what"] = "last workflow finishedAt"
                delays = {k: [] for k in ("ack_to_step", "ack_to_node_started", "received_to_ack", "ack_to_created",
                                          "created_to_wf_started", "wf_started_to_node_started", "node_started_to_step",
                                          "step_to_node_finished", "node_finished_to_wf_finished", "ack_to_wf_finished")}
                for d, w in first.items():
                    a = ack_of.get(d)
                    if a is None:
                        continue

                    def diff(x, y):
                        return None if x is None or y is None else x - y
                    vals = {
                        "ack_to_step": diff(w["step_own"], a), "ack_to_node_started": diff(w["node_started"], a),
                        "received_to_ack": diff(a, w["received"]), "ack_to_created": diff(w["created"], a),
                        "created_to_wf_started": diff(w["wf_started"], w["created"]),
                        "wf_started_to_node_started": diff(w["node_started"], w["wf_started"]),
                        "node_started_to_step": diff(w["step_own"], w["node_started"]),
                        "step_to_node_finished": diff(w["node_finished"], w["step_own"]),
                        "node_finished_to_wf_finished": diff(w["wf_finished"], w["node_finished"]),
                        "ack_to_wf_finished": diff(w["wf_finished"], a),
                    }
                    for k, v in vals.items():
                        if v is not None:
                            delays[k].append(v)
                    raw.append({"phase": phase, "system": system, "delivery": d, "ack_ns": a, "wf_phase": w["phase"],
                                **{k: w[k] for k in ("workflow", "received", "created", "wf_started", "node_started",
                                                     "step_own", "node_finished", "wf_finished")}})
                row["latency"] = {k: stats_ms(v) for k, v in delays.items()}
                pairs = [(ack_of[d], w["step_own"]) for d, w in first.items() if d in ack_of and w["step_own"]]
                c = counts
                if c["missing"]:
                    problems.append(f"{tag}: {c['missing']} acknowledged deliveries created no workflow (e.g. {c['examples']['missing'][:3]})")
                if c["duplicated"]:
                    problems.append(f"{tag}: {c['duplicated']} deliveries created more than one workflow (e.g. {c['examples']['duplicated'][:3]})")
                if c["workflows"] - c["steps_ran"]:
                    problems.append(f"{tag}: {c['workflows'] - c['steps_ran']} workflows whose step left no output (did not run)")
                if c["step_runs_total"] > c["steps_ran"]:
                    problems.append(f"{tag}: {c['step_runs_total'] - c['steps_ran']} extra step runs (a step ran more than once)")
                if c["workflows"] - c["succeeded"]:
                    problems.append(f"{tag}: {c['workflows'] - c['succeeded']} workflows not Succeeded")
            else:
                runs, counts = webhook_records(os.path.join(work, tag + ".runs.txt"), run_id, acked_ids)
                row["exactly_once"] = counts
                starts = [min(v) for v in runs.values()]
                row["last_step_start_s"] = round((max(starts) - t0) / 1e9, 3) if starts else None
                row["end_s"] = row["last_step_start_s"]
                row["end_what"] = "last command's own start"
                lat = []
                for d, ts in runs.items():
                    if d in ack_of:
                        lat.append(min(ts) - ack_of[d])
                        raw.append({"phase": phase, "system": system, "delivery": d, "ack_ns": ack_of[d], "step_own": min(ts)})
                row["latency"] = {"ack_to_step": stats_ms(lat)}
                pairs = [(ack_of[d], min(ts)) for d, ts in runs.items() if d in ack_of]
                c = counts
                if c["missing"]:
                    problems.append(f"{tag}: {c['missing']} acknowledged requests ran no command (e.g. {c['examples']['missing'][:3]})")
                if c["duplicated"]:
                    problems.append(f"{tag}: {c['duplicated']} requests ran their command more than once")
            # Does the delay grow while the run goes on (a backlog: the system is slower than the offered rate)?
            if pairs:
                row["ack_to_step_p50_first_5s_ms"] = (stats_ms([b - a for a, b in pairs if a - t0 < 5e9]) or {}).get("p50")
                row["ack_to_step_p50_last_5s_ms"] = (stats_ms([b - a for a, b in pairs if a > last_ack - 5e9]) or {}).get("p50")
                # once a start-up backlog (if any) has drained: the events acknowledged in the second half of the run
                row["ack_to_step_second_half"] = stats_ms([b - a for a, b in pairs if a > (t0 + last_ack) / 2])
            if row["acknowledged"] < row["requests"]:
                problems.append(f"{tag}: {row['requests'] - row['acknowledged']} of {row['requests']} requests not acknowledged "
                                f"({row['non_2xx']} non-2xx, {row['no_answer']} without answer{'; ' + errors[0] if errors else ''})")
            if wait.get("reason") not in (None, "done"):
                problems.append(f"{tag}: stopped waiting for completion: {wait.get('reason')}")
            if row.get("end_s"):
                row["end_to_end_per_s"] = round(row["acknowledged"] / row["end_s"], 1)
                if row.get("server_cpu_s") is not None and row["acknowledged"]:
                    row["server_cpu_ms_per_event"] = round(1000 * row["server_cpu_s"] / row["acknowledged"], 2)
            phases.setdefault(phase, []).append(row)

    # --- table ----------------------------------------------------------------------------------------------
    def f(v, spec=".1f"):
        return "-" if v is None else format(v, spec)

    def base(phase, key, sub=None):
        for r in phases.get(phase, []):
            if r["system"] == "webhook":
                v = r.get(key)
                return v.get("ack_to_step", {}).get(sub) if sub and isinstance(v, dict) and v.get("ack_to_step") else (None if sub else v)
        return None

    print()
    print(f"sensor pipeline: signed {meta['body_bytes']}-byte GitHub push -> command start; {meta['cores']} cores ({meta['cpu']}), "
          f"egw data on {meta['fs']}, commit {meta['commit']}" + (f", servers and sender at nice {meta['nice']}" if meta.get("nice") else ""))
    ratios = {}
    if "throughput" in phases:
        print(f"\nthroughput: {meta['n']} events sent as fast as accepted over {meta['connections']} connections")
        hdr = (f"{'system':<28} {'acked':>6} {'ingest/s':>8} {'end s':>7} {'end-to-end/s':>12} {'x webhook':>9} {'srv CPU s':>9} "
               f"{'CPU ms/ev':>9} {'other s':>7}  end = ")
        print(hdr)
        print("-" * (len(hdr) + 24))
        b = base("throughput", "end_to_end_per_s")
        for r in phases["throughput"]:
            x = round(r["end_to_end_per_s"] / b, 3) if b and r.get("end_to_end_per_s") else None
            if r["system"] != "webhook":
                ratios[f"throughput.{r['system']}"] = x
            print(f"{meta['label'][r['system']]:<28} {r['acknowledged']:>6} {f(r['ingest_per_s'], 'd') if r['ingest_per_s'] else '-':>8} "
                  f"{f(r.get('end_s'), '.2f'):>7} {f(r.get('end_to_end_per_s')):>12} {f(x, '.3f'):>9} {f(r.get('server_cpu_s')):>9} "
                  f"{f(r.get('server_cpu_ms_per_event'), '.2f'):>9} {f(r.get('other_cpu_s')):>7}  {r['end_what']}"
                  + ("  DISTURBED" if r.get("disturbed") else ""))
        for r in phases["throughput"]:
            if r["system"].startswith("egw"):
                mr = json.loads(read(f"throughput.{r['system']}.wait.json") or "{}").get("max_running")
                if mr is not None:
                    print(f"  {meta['label'][r['system']]}: at most {mr} sensor workflows unfinished at once (the sensor's cap)")
    if "latency" in phases:
        print(f"\nlatency: {meta['rate']} events/s offered for {meta['duration']} s; from the sender's 2xx to the command's own "
              f"`date +%s%N` (ms)")
        hdr = (f"{'system':<40} {'sent/s':>6} {'done/s':>6} {'acked':>6} {'p50':>7} {'p90':>7} {'p99':>7} {'max':>8} {'min':>7} "
               f"{'p50 1st/last 5s':>17} {'x webhook p50/p99':>17}")
        print(hdr)
        print("-" * len(hdr))
        b50, b99 = base("latency", "latency", "p50"), base("latency", "latency", "p99")
        for r in phases["latency"]:
            rows = [("ack_to_step", meta["label"][r["system"]] + (" (step's own date)" if r["system"] != "webhook" else " (command's own date)"))]
            if r["system"] != "webhook":
                rows.append(("ack_to_node_started", meta["label"][r["system"]] + " (node startedAt)"))
            for key, label in rows:
                s = (r.get("latency") or {}).get(key)
                if not s:
                    print(f"{label:<40} {f(r.get('sent_per_s')):>6} {f(r.get('end_to_end_per_s')):>6} {r['acknowledged']:>6} {'-':>7} {'-':>7} {'-':>7} {'-':>8} {'-':>7}")
                    continue
                x = (f"{s['p50'] / b50:.1f}/{s['p99'] / b99:.1f}" if b50 and b99 and r["system"] != "webhook" else "")
                if key == "ack_to_step" and r["system"] != "webhook":
                    ratios[f"latency.{r['system']}"] = {"p50": round(s["p50"] / b50, 2) if b50 else None, "p99": round(s["p99"] / b99, 2) if b99 else None}
                trend = (f"{f(r.get('ack_to_step_p50_first_5s_ms'))}/{f(r.get('ack_to_step_p50_last_5s_ms'))}" if key == "ack_to_step" else "")
                print(f"{label:<40} {f(r.get('sent_per_s')):>6} {f(r.get('end_to_end_per_s')):>6} {r['acknowledged']:>6} {s['p50']:>7.2f} "
                      f"{s['p90']:>7.2f} {s['p99']:>7.2f} {s['max']:>8.2f} {s['min']:>7.2f} {trend:>17} {x:>17}" + ("  DISTURBED" if r.get("disturbed") and key == "ack_to_step" else ""))
        for r in phases["latency"]:
            h = r.get("ack_to_step_second_half")
            if h:
                print(f"  {meta['label'][r['system']]}, events of the run's second half only: p50 {h['p50']:.2f}, p90 {h['p90']:.2f}, "
                      f"p99 {h['p99']:.2f}, max {h['max']:.2f} ms")
        for r in phases["latency"]:
            if not r["system"].startswith("egw"):
                continue
            lat = r.get("latency") or {}
            print(f"\n{meta['label'][r['system']]}: where the time goes at {meta['rate']}/s (ms; egw's timestamps are whole ms)")
            print(f"  {'stage':<58} {'p50':>7} {'p90':>7} {'p99':>7} {'max':>8}")
            for key, what in (("received_to_ack", "event log `received` -> sender's 2xx (durable write, answer)"),
                              ("ack_to_created", "2xx -> workflow creationTimestamp (sensor read, fire, store)"),
                              ("created_to_wf_started", "created -> workflow startedAt (controller pickup)"),
                              ("wf_started_to_node_started", "workflow startedAt -> step node startedAt (pass, slot)"),
                              ("node_started_to_step", "node startedAt -> step's own date (dirs, spawn, sandbox)"),
                              ("step_to_node_finished", "step's own date -> node finishedAt (exit, collect)"),
                              ("node_finished_to_wf_finished", "node finishedAt -> workflow finishedAt"),
                              ("ack_to_wf_finished", "2xx -> workflow finishedAt (whole run)")):
                s = lat.get(key)
                if s:
                    print(f"  {what:<58} {s['p50']:>7.2f} {s['p90']:>7.2f} {s['p99']:>7.2f} {s['max']:>8.2f}")
    if any(r.get("disturbed") for rows in phases.values() for r in rows):
        print("\nDISTURBED: other processes used over 10% of the machine's CPU during that run (see other_cpu_s): repeat it")
    print("\nexactly once (acknowledged requests vs what ran):")
    for phase, rows in phases.items():
        for r in rows:
            c = r["exactly_once"]
            if r["system"].startswith("egw"):
                print(f"  {phase:<10} {meta['label'][r['system']]:<28} acknowledged {c['acknowledged']}, workflows {c['workflows']} "
                      f"(for {c['deliveries_with_workflow']} of them; missing {c['missing']}, duplicated {c['duplicated']}, "
                      f"for unacknowledged {c['unacknowledged_with_workflow']}), steps ran {c['steps_ran']}, Succeeded {c['succeeded']}")
            else:
                print(f"  {phase:<10} {meta['label'][r['system']]:<28} acknowledged {c['acknowledged']}, commands ran {c['commands_ran']} "
                      f"(for {c['deliveries_with_command']} of them; missing {c['missing']}, duplicated {c['duplicated']}, "
                      f"for unacknowledged {c['unacknowledged_with_command']})")
    target = None
    for r in phases.get("latency", []):
        if r["system"] == "egw" and (r.get("latency") or {}).get("ack_to_step"):
            s = r["latency"]["ack_to_step"]
            target = {"p50_ms_max": 10, "p99_ms_max": 50, "p50_ms": s["p50"], "p99_ms": s["p99"],
                      "met": s["p50"] < 10 and s["p99"] < 50 and not problems}
            print(f"\ntarget (egw, 2xx -> step running at {meta['rate']}/s: p50 < 10 ms, p99 < 50 ms, nothing lost or doubled): "
                  f"{'met' if target['met'] else 'NOT met'} -- p50 {s['p50']} ms, p99 {s['p99']} ms")
    for p in problems:
        print("FAILURE: " + p)

    summary = {"benchmark": "sensor", **{k: v for k, v in meta.items() if k != "label"}, "phases": phases,
               "ratios_egw_over_webhook": ratios, "target": target, "errors": problems, "raw": raw_file}
    with open(result_file, "w") as fh:
        json.dump(summary, fh, indent=2)
        fh.write("\n")
    cols = ["phase", "system", "delivery", "ack_ns", "workflow", "wf_phase", "received", "created", "wf_started", "node_started",
            "step_own", "node_finished", "wf_finished"]
    with open(raw_file, "w") as fh:
        fh.write(",".join(cols) + "\n")
        for x in raw:
            fh.write(",".join("" if x.get(c) is None else str(x.get(c)) for c in cols) + "\n")
    print(f"results: {result_file}\nraw per-event times (ns): {raw_file}")
    print(json.dumps({k: v for k, v in summary.items() if k != "phases"}, separators=(",", ":")))
    return 1 if problems else 0


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "wait-egw":
        wait_egw(args[0], args[1], int(args[2]), float(args[3]), float(args[4]), args[5])
    elif cmd == "wait-file":
        wait_file(args[0], int(args[1]), float(args[2]), float(args[3]), args[4])
    elif cmd == "collect-egw":
        collect_egw(*args[:4])
    elif cmd == "report":
        sys.exit(report(*args[:3]))
    else:
        raise SystemExit(f"unknown command {cmd}")
