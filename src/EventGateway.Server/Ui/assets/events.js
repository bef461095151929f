// The event log: every accepted event and its outcome; one event's path through each sensor and trigger with the
// reason at every stage; the dead letters with replay.
import { get, post, enc } from "./api.js";
import { h, phase, table, age, time, toast, confirmAction } from "./dom.js";

export async function eventList(page, ctx) {
  const q = ctx.query;
  const source = h("input", { name: "source", placeholder: "any source", value: q.get("source") ?? "", size: 16 });
  const ns = h("input", { name: "namespace", placeholder: "any namespace", value: q.get("ns") ?? "", size: 14 });
  const form = h("form", { class: "toolbar", onsubmit: e => {
    e.preventDefault();
    const next = new URLSearchParams();
    if (source.value.trim()) next.set("source", source.value.trim());
    if (ns.value.trim()) next.set("ns", ns.value.trim());
    location.hash = `#/events${next.size ? "?" + next : ""}`;
  } }, h("label", {}, "namespace", ns), h("label", {}, "source", source), h("button", { type: "submit" }, "Filter"));
  const stats = h("span", { class: "sub" });
  const body = h("div", {});
  page.append(h("h1", {}, "Event Log", stats), form, body);
  ctx.poll(async () => {
    const p = new URLSearchParams({ limit: "200" });
    if (q.get("source")) p.set("source", q.get("source"));
    if (q.get("ns")) p.set("namespace", q.get("ns"));
    const list = await get(`/api/v1/events?${p}`, ctx.signal);
    const log = list.log ?? {};
    stats.textContent = `${log.count ?? 0} events kept (retention ${log.retention?.maxAge ?? "?"} / ${log.retention?.maxEvents ?? "?"} events)`;
    body.replaceChildren(table(["#", "Received", "Namespace", "Source", "Event", "Type", "Size", "Outcome"],
      (list.items ?? []).map(e => h("tr", { class: "clickable", "data-sequence": e.sequence, onclick: () => { location.hash = `#/events/${e.sequence}`; } },
        h("td", {}, h("a", { href: `#/events/${e.sequence}` }, e.sequence)), h("td", { title: time(e.received) }, age(e.received)),
        h("td", {}, e.namespace), h("td", {}, e.source), h("td", {}, e.subject), h("td", {}, e.type), h("td", {}, `${e.size} B`),
        h("td", { "data-outcome": e.outcome }, phase(e.outcome)))),
      "No events yet: send one to an EventSource's listener."));
  }, 2000);
}

/** Stages as the sensors recorded them: per sensor, its dependency stage, then each trigger's decisions in order. */
export async function eventView(page, ctx, sequence) {
  const title = h("h1", {}, `Event #${sequence}`);
  const flow = h("div", { class: "flow" }), envelope = h("div", {}), data = h("div", {});
  page.append(title, h("div", { class: "panel" }, envelope), h("h2", {}, "Path through the sensors"), flow, h("h2", {}, "Data"), data);
  ctx.poll(async () => {
    const e = await get(`/api/v1/events/${enc(sequence)}`, ctx.signal);
    title.replaceChildren(`Event #${e.sequence}`, phase(e.outcome), h("span", { class: "sub" }, `${e.namespace}/${e.source} · ${e.subject}`));
    envelope.replaceChildren(h("dl", { class: "kv" }, [["id", e.id], ["source", `${e.namespace}/${e.source}`], ["event", e.subject], ["type", e.type],
      ["time", time(e.time)], ["received", time(e.received)], ["size", `${e.size} bytes`], ["content type", e.datacontenttype]]
      .map(([k, v]) => [h("dt", {}, k), h("dd", {}, v ?? "")])));
    const bySensor = new Map();
    for (const d of e.path ?? []) {
      if (!bySensor.has(d.sensor)) bySensor.set(d.sensor, []);
      bySensor.get(d.sensor).push(d);
    }
    const start = h("div", { class: "stage passed" }, h("div", { class: "what" }, "event source"), h("strong", {}, `${e.source}/${e.subject}`),
      h("div", { class: "reason" }, `logged as #${e.sequence}`));
    if (bySensor.size === 0) {
      flow.replaceChildren(h("div", { class: "sensor" }, start, h("span", { class: "arrow" }, "→"),
        h("div", { class: "stage" }, h("div", { class: "what" }, "sensors"), h("div", { class: "reason" }, "no sensor has decided anything about this event (none depends on it, or none has read it yet)"))));
    } else {
      flow.replaceChildren(...[...bySensor].map(([sensor, decisions]) => h("div", { class: "sensor", "data-path-sensor": sensor },
        start.cloneNode(true), decisions.map(d => [h("span", { class: "arrow" }, "→"), stage(sensor, d)]))));
    }
    data.replaceChildren(h("pre", { class: "json" }, JSON.stringify(e.data, null, 2)));
  }, 3000);
}

function stage(sensor, d) {
  return h("div", { class: `stage ${d.outcome}`, "data-outcome": d.outcome, "data-trigger": d.trigger },
    h("div", { class: "what" }, d.trigger ? `trigger ${d.trigger}` : `sensor ${sensor}`),
    phase(d.outcome), h("div", { class: "reason" }, d.reason ?? ""), h("div", { class: "sub" }, time(d.time)));
}

export async function deadLetterList(page, ctx) {
  const all = h("input", { type: "checkbox", checked: ctx.query.get("all") === "true" });
  all.addEventListener("change", () => { location.hash = all.checked ? "#/deadletters?all=true" : "#/deadletters"; });
  const body = h("div", {});
  page.append(h("h1", {}, "Dead Letters", h("span", { class: "sub" }, "firings whose trigger failed; replay fires the trigger again with the same events")),
    h("div", { class: "toolbar" }, h("label", {}, all, "include replayed")), body);
  const refresh = async () => {
    const list = await get(`/api/v1/dead-letters${all.checked ? "?all=true" : ""}`, ctx.signal);
    body.replaceChildren(table(["ID", "Sensor", "Trigger", "Events", "Age", "Error", "Replayed", ""],
      (list.items ?? []).map(d => h("tr", { "data-dead-letter": d.id },
        h("td", {}, d.id), h("td", {}, d.sensor), h("td", {}, d.trigger),
        h("td", {}, (d.sequences ?? []).map(s => h("a", { class: "badge", href: `#/events/${s}` }, `#${s}`))),
        h("td", { title: time(d.time) }, age(d.time)), h("td", { class: "wrap" }, d.error),
        h("td", { class: "wrap", "data-replay-outcome": d.replayOutcome ?? "" }, d.replayedAt ? `${age(d.replayedAt)}: ${d.replayOutcome ?? ""}` : ""),
        h("td", {}, d.replayedAt ? null : h("button", { class: "primary", "data-replay": d.id, onclick: async () => {
          if (!await confirmAction(`Replay dead letter ${d.id} (${d.sensor}, trigger ${d.trigger})? The trigger fires again.`, "Replay")) return;
          try {
            const r = await post(`/api/v1/dead-letters/${enc(d.id)}/replay`, {});
            toast(`dead letter ${d.id}: ${r.outcome}${r.detail ? ": " + r.detail : ""}`, r.outcome !== "triggered");
          } catch (e) { toast(e.message, true); }
          await refresh();
        } }, "Replay")))),
      all.checked ? "No dead letters." : "No dead letters waiting: every trigger fired (tick 'include replayed' for the history)."));
  };
  ctx.poll(refresh, 4000);
}
