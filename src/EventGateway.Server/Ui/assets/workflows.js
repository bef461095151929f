// Workflows: the list with live phases, one workflow as its graph with node details and logs, operator actions,
// and the archive (the same graph, read-only).
import { get, put, del, followLogs, enc, defaultNamespace } from "./api.js";
import { h, s, fill, phase, table, age, duration, time, toast, confirmAction } from "./dom.js";
import dagre from "./vendor/dagre.esm.js";

const PHASES = ["", "Pending", "Running", "Succeeded", "Failed", "Error"];

export async function workflowList(page, ctx) {
  const q = ctx.query;
  const ns = h("input", { name: "namespace", placeholder: "all namespaces", value: q.get("ns") ?? "", size: 14 });
  const labels = h("input", { name: "labels", placeholder: "label selector, e.g. app=ci", value: q.get("labels") ?? "", size: 26 });
  const phaseSel = h("select", { name: "phase" }, PHASES.map(p => h("option", { value: p, selected: p === (q.get("phase") ?? "") }, p || "any phase")));
  const apply = () => {
    const next = new URLSearchParams();
    if (ns.value.trim()) next.set("ns", ns.value.trim());
    if (labels.value.trim()) next.set("labels", labels.value.trim());
    if (phaseSel.value) next.set("phase", phaseSel.value);
    location.hash = `#/workflows${next.size ? "?" + next : ""}`;
  };
  const form = h("form", { class: "toolbar", onsubmit: e => { e.preventDefault(); apply(); } },
    h("label", {}, "namespace", ns), h("label", {}, "labels", labels), h("label", {}, "phase", phaseSel), h("button", { type: "submit" }, "Filter"));
  phaseSel.addEventListener("change", apply);
  const body = h("div", {});
  page.append(h("h1", {}, "Workflows"), form, body);

  ctx.poll(async () => {
    const sel = q.get("labels") ? `?listOptions.labelSelector=${enc(q.get("labels"))}` : "";
    const list = await get(`/api/v1/workflows/${enc(q.get("ns") || defaultNamespace())}${sel}`, ctx.signal);
    const wanted = q.get("phase");
    const items = (list.items ?? []).filter(w => !wanted || (w.status?.phase ?? "Pending") === wanted)
      .sort((a, b) => (b.metadata.creationTimestamp ?? "").localeCompare(a.metadata.creationTimestamp ?? ""));
    body.replaceChildren(table(["", "Name", "Namespace", "Started", "Finished", "Duration", "Progress", "Message"],
      items.map(w => h("tr", { class: "clickable", "data-workflow": w.metadata.name, onclick: () => { location.hash = `#/workflows/${enc(w.metadata.namespace)}/${enc(w.metadata.name)}`; } },
        h("td", {}, phase(w.status?.phase ?? "Pending")),
        h("td", {}, h("a", { href: `#/workflows/${enc(w.metadata.namespace)}/${enc(w.metadata.name)}` }, w.metadata.name)),
        h("td", {}, w.metadata.namespace),
        h("td", { title: time(w.status?.startedAt) }, age(w.status?.startedAt)),
        h("td", { title: time(w.status?.finishedAt) }, age(w.status?.finishedAt)),
        h("td", {}, duration(w.status?.startedAt, w.status?.finishedAt)),
        h("td", {}, w.status?.progress ?? ""),
        h("td", { class: "wrap" }, w.status?.message ?? ""))),
      "No workflows match. Submit one from a template, or with egw submit."));
  }, 2000);
}

const ACTIONS = [
  ["suspend", w => !done(w) && !w.spec?.suspend],
  ["resume", w => !done(w) && (w.spec?.suspend || anyNode(w, n => n.type === "Suspend" && n.phase === "Running"))],
  ["stop", w => !done(w)],
  ["terminate", w => !done(w)],
  ["retry", w => ["Failed", "Error"].includes(w.status?.phase)],
  ["resubmit", w => done(w)],
  ["delete", () => true],
];
const done = w => ["Succeeded", "Failed", "Error"].includes(w.status?.phase);
const anyNode = (w, f) => Object.values(w.status?.nodes ?? {}).some(f);

export async function workflowView(page, ctx, ns, name) {
  const view = new WorkflowView(page, ctx, ns, name, false);
  ctx.poll(async () => view.show(await get(`/api/v1/workflows/${enc(ns)}/${enc(name)}`, ctx.signal)), 1500);
}

export async function archiveList(page, ctx) {
  const body = h("div", {});
  page.append(h("h1", {}, "Archived Workflows", h("span", { class: "sub" }, "every finished workflow, kept after its TTL or a delete removes it")), body);
  ctx.poll(async () => {
    const list = await get("/api/v1/archived-workflows?listOptions.limit=200", ctx.signal);
    body.replaceChildren(table(["", "Name", "Namespace", "Started", "Finished", "Duration"],
      (list.items ?? []).map(w => h("tr", { class: "clickable", "data-archived": w.metadata.name, onclick: () => { location.hash = `#/archive/${enc(w.metadata.uid)}`; } },
        h("td", {}, phase(w.status?.phase)), h("td", {}, w.metadata.name), h("td", {}, w.metadata.namespace),
        h("td", { title: time(w.status?.startedAt) }, age(w.status?.startedAt)), h("td", { title: time(w.status?.finishedAt) }, age(w.status?.finishedAt)),
        h("td", {}, duration(w.status?.startedAt, w.status?.finishedAt)))),
      "The archive is empty: workflows land here when they finish (unless serve runs with --no-archive)."));
  }, 5000);
}

export async function archiveView(page, ctx, uid) {
  const view = new WorkflowView(page, ctx, null, null, true);
  view.show(await get(`/api/v1/archived-workflows/${enc(uid)}`, ctx.signal));
}

class WorkflowView {
  constructor(page, ctx, ns, name, archived) {
    Object.assign(this, { ctx, ns, name, archived, selected: null, signature: null, logsFor: null });
    this.title = h("h1", {});
    this.actions = h("div", { class: "toolbar" });
    this.graph = h("div", { class: "graph" });
    this.info = h("div", {});
    this.logs = h("div", {});
    page.append(this.title, this.actions, h("div", { class: "workflow" }, this.graph, h("div", { class: "details" }, this.info, this.logs)));
    ctx.signal.addEventListener("abort", () => this.logAbort?.abort());
  }

  show(w) {
    this.wf = w;
    const st = w.status ?? {};
    this.title.replaceChildren(w.metadata.name, phase(st.phase ?? "Pending"), h("span", { class: "sub" },
      `${w.metadata.namespace} · ${duration(st.startedAt, st.finishedAt)}${st.progress ? " · " + st.progress : ""}${this.archived ? " · archived" : ""}`));
    if (!this.archived) this.showActions(w);
    const nodes = Object.values(st.nodes ?? {});
    const signature = nodes.map(n => `${n.id}>${(n.children ?? []).join(",")}`).sort().join("|");
    if (signature !== this.signature) { this.signature = signature; this.layout(nodes); }
    for (const n of nodes) {
      const g = this.nodeEls?.get(n.id);
      if (!g) continue;
      g.setAttribute("class", `node ${n.phase}${n.id === this.selected ? " selected" : ""}`);
      g.setAttribute("data-phase", n.phase);
      const dur = g.querySelector("text.dur");
      if (dur) dur.textContent = duration(n.startedAt, n.finishedAt);
    }
    this.showInfo();
  }

  showActions(w) {
    this.actions.replaceChildren(...ACTIONS.map(([action, enabled]) => h("button", {
      "data-action": action, disabled: !enabled(w), class: action === "delete" || action === "terminate" ? "danger" : "",
      onclick: () => this.act(action),
    }, action[0].toUpperCase() + action.slice(1))));
  }

  async act(action) {
    const what = `${this.ns}/${this.name}`;
    if (!await confirmAction(`${action[0].toUpperCase() + action.slice(1)} workflow ${what}?`, action[0].toUpperCase() + action.slice(1))) return;
    try {
      if (action === "delete") {
        await del(`/api/v1/workflows/${enc(this.ns)}/${enc(this.name)}`);
        toast(`deleted ${what}`);
        location.hash = "#/workflows";
        return;
      }
      const result = await put(`/api/v1/workflows/${enc(this.ns)}/${enc(this.name)}/${action}`, {});
      toast(`${action}: ${what}`);
      if (action === "resubmit") location.hash = `#/workflows/${enc(result.metadata.namespace)}/${enc(result.metadata.name)}`;
      else this.show(result);
    } catch (e) { toast(`${action} ${what}: ${e.message}`, true); }
  }

  /** dagre places the nodes (top to bottom, as Argo draws them); groups of steps and tasks are small dots. */
  layout(nodes) {
    const g = new dagre.graphlib.Graph();
    g.setGraph({ rankdir: "TB", nodesep: 18, ranksep: 34, marginx: 12, marginy: 12 });
    g.setDefaultEdgeLabel(() => ({}));
    const ids = new Set(nodes.map(n => n.id));
    for (const n of nodes) {
      const dot = n.type === "StepGroup" || n.type === "TaskGroup";
      g.setNode(n.id, { width: dot ? 16 : 190, height: dot ? 16 : 42, node: n, dot });
    }
    for (const [from, to] of edges(this.wf, nodes)) if (ids.has(from) && ids.has(to)) g.setEdge(from, to);
    dagre.layout(g);
    const { width, height } = g.graph();
    const svg = s("svg", { width: Math.max(width, 200), height: Math.max(height, 60), viewBox: `0 0 ${Math.max(width, 200)} ${Math.max(height, 60)}` });
    for (const e of g.edges()) {
      const pts = g.edge(e).points;
      svg.append(s("path", { class: "edge", d: "M" + pts.map(p => `${p.x},${p.y}`).join(" L") }));
    }
    this.nodeEls = new Map();
    for (const id of g.nodes()) {
      const { x, y, width: w, height: hgt, node: n, dot } = g.node(id);
      const el = s("g", { class: `node ${n.phase}`, transform: `translate(${x - w / 2},${y - hgt / 2})`, "data-node-id": n.id, "data-node-name": n.displayName, "data-phase": n.phase,
        onclick: () => this.select(n.id) }, s("title", {}, `${n.displayName} (${n.type}): ${n.phase}`));
      if (dot) el.append(s("circle", { class: "virtual", cx: 8, cy: 8, r: 6 }));
      else el.append(
        s("rect", { width: w, height: hgt, rx: 4 }),
        s("circle", { class: "icon", cx: 16, cy: hgt / 2, r: 7 }),
        s("text", { x: 30, y: 17 }, short(n.displayName, 24)),
        s("text", { class: "dur", x: 30, y: 32 }, `${n.type === "Pod" ? "" : n.type + " · "}${duration(n.startedAt, n.finishedAt)}`));
      this.nodeEls.set(n.id, el);
      svg.append(el);
    }
    this.graph.replaceChildren(svg);
  }

  select(id) {
    this.selected = id;
    this.show(this.wf);
    if (this.logsFor !== id) { this.logAbort?.abort(); this.logsFor = null; this.logs.replaceChildren(); }
  }

  showInfo() {
    const w = this.wf, st = w.status ?? {};
    const n = this.selected ? st.nodes?.[this.selected] : null;
    if (!n) {
      fill(this.info, h("h2", {}, "Workflow"), kv([
        ["phase", phase(st.phase ?? "Pending")], ["namespace", w.metadata.namespace], ["started", time(st.startedAt)], ["finished", time(st.finishedAt)],
        ["duration", duration(st.startedAt, st.finishedAt)], ["message", st.message], ["entrypoint", w.spec?.entrypoint],
        ["labels", Object.entries(w.metadata.labels ?? {}).map(([k, v]) => h("span", { class: "badge" }, `${k}=${v}`))],
      ]), params("Parameters", w.spec?.arguments?.parameters), params("Outputs", st.outputs?.parameters),
      h("p", { class: "sub" }, "Click a node for its inputs, outputs and logs."));
      return;
    }
    const out = n.outputs ?? {};
    fill(this.info, h("h2", {}, n.displayName), kv([
      ["phase", phase(n.phase)], ["type", n.type], ["template", n.templateName ?? n.templateRef?.template], ["started", time(n.startedAt)],
      ["finished", time(n.finishedAt)], ["duration", duration(n.startedAt, n.finishedAt)], ["message", n.message], ["exit code", out.exitCode], ["id", h("code", {}, n.id)],
    ]), params("Inputs", n.inputs?.parameters), artifacts("Input artifacts", n.inputs?.artifacts), params("Outputs", out.parameters),
    out.result !== undefined ? [h("h3", {}, "Result"), h("pre", { class: "json" }, out.result)] : null, artifacts("Output artifacts", out.artifacts),
    (n.type === "Pod" || n.type === "Container") && !this.archived && this.logsFor !== n.id
      ? h("button", { class: "primary", "data-logs": n.id, onclick: () => this.openLogs(n) }, "Logs") : null);
  }

  /** Follows the node's log while it runs (the server ends the stream when the workflow completes). */
  async openLogs(n) {
    this.logAbort?.abort();
    this.logAbort = new AbortController();
    this.logsFor = n.id;
    const pre = h("pre", { class: "logs", "data-logs-for": n.id });
    const state = h("span", { class: "sub" }, "following…");
    this.logs.replaceChildren(h("h3", {}, "Logs ", state), pre);
    this.showInfo();
    try {
      await followLogs(this.ns, this.name, n.id, r => {
        const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
        pre.append(r.content + "\n");
        if (atEnd) pre.scrollTop = pre.scrollHeight;
      }, this.logAbort.signal);
      state.textContent = "(end)";
    } catch (e) {
      if (e.name !== "AbortError") state.textContent = `(stopped: ${e.message})`;
    }
  }
}

/**
 * Edges from each node's children; in a DAG a task also hangs below the tasks it depends on (from the template's
 * dependencies/depends), as Argo draws it, since a DAG node may list every task as its child.
 */
function edges(wf, nodes) {
  const templates = new Map([...(wf.status?.storedWorkflowTemplateSpec?.templates ?? []), ...(wf.spec?.templates ?? [])].map(t => [t.name, t]));
  const byName = new Map(nodes.map(n => [n.name, n]));
  const byId = new Map(nodes.map(n => [n.id, n]));
  const result = new Set();
  for (const n of nodes) {
    // Steps: each group hangs below the steps of the group before it, not beside it under the root.
    const groups = n.type === "Steps" ? (n.children ?? []).map(c => byId.get(c)).filter(g => g?.type === "StepGroup")
      .sort((a, b) => index(a.name) - index(b.name)) : [];
    if (groups.length > 1) {
      result.add(`${n.id}\n${groups[0].id}`);
      for (let i = 1; i < groups.length; i++) {
        const prev = (groups[i - 1].children ?? []).filter(c => byId.has(c));
        for (const from of prev.length ? prev : [groups[i - 1].id]) result.add(`${from}\n${groups[i].id}`);
      }
      for (const c of n.children ?? []) if (!groups.some(g => g.id === c)) result.add(`${n.id}\n${c}`);
      continue;
    }
    const tasks = n.type === "DAG" ? templates.get(n.templateName)?.dag?.tasks ?? [] : [];
    const deps = new Map(tasks.map(t => [t.name, t.dependencies ?? (t.depends ? [...new Set(t.depends.match(/[A-Za-z0-9_-]+(?=\.|\s|\)|$)/g)?.filter(x => tasks.some(o => o.name === x)) ?? [])] : [])]));
    for (const c of n.children ?? []) {
      const child = nodes.find(x => x.id === c);
      const task = child?.name.startsWith(n.name + ".") ? child.name.slice(n.name.length + 1).replace(/\(.*$/, "") : null;
      const parents = task ? (deps.get(task) ?? []).map(d => byName.get(`${n.name}.${d}`)).filter(Boolean) : [];
      if (parents.length === 0) result.add(`${n.id}\n${c}`);
      for (const p of parents) result.add(`${p.id}\n${c}`);
    }
  }
  return [...result].map(e => e.split("\n"));
}

const index = name => Number(/\[(\d+)\]$/.exec(name)?.[1] ?? 0);

const short = (t, n) => t.length > n ? t.slice(0, n - 1) + "…" : t;

function kv(pairs) {
  return h("dl", { class: "kv" }, pairs.filter(([, v]) => v !== undefined && v !== null && v !== "" && !(Array.isArray(v) && v.length === 0))
    .map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

function params(title, ps) {
  if (!ps?.length) return null;
  return [h("h3", {}, title), kv(ps.map(p => [p.name, p.value ?? p.default ?? (p.valueFrom ? JSON.stringify(p.valueFrom) : "")]))];
}

function artifacts(title, as) {
  if (!as?.length) return null;
  return [h("h3", {}, title), kv(as.map(a => [a.name, a.s3?.key ?? a.path ?? a.key ?? ""]))];
}
