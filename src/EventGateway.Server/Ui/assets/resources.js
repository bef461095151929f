// WorkflowTemplates (submit with their parameters), CronWorkflows, EventSources and Sensors with their live counts.
import { get, post, put, enc, defaultNamespace } from "./api.js";
import { h, phase, table, age, time, toast, confirmAction } from "./dom.js";

export async function templateList(page, ctx) {
  const body = h("div", {}), form = h("div", {});
  page.append(h("h1", {}, "Workflow Templates"), form, body);
  ctx.poll(async () => {
    const list = await get(`/api/v1/workflow-templates/${enc(defaultNamespace())}`, ctx.signal);
    body.replaceChildren(table(["Name", "Namespace", "Entrypoint", "Parameters", "Created", ""],
      (list.items ?? []).map(t => h("tr", { "data-template": t.metadata.name },
        h("td", {}, t.metadata.name), h("td", {}, t.metadata.namespace), h("td", {}, t.spec?.entrypoint ?? ""),
        h("td", {}, (t.spec?.arguments?.parameters ?? []).map(p => h("span", { class: "badge" }, p.name))),
        h("td", { title: time(t.metadata.creationTimestamp) }, age(t.metadata.creationTimestamp)),
        h("td", {}, h("button", { class: "primary", "data-submit": t.metadata.name, onclick: () => submitForm(form, "workflowtemplate", t) }, "Submit")))),
      "No WorkflowTemplates: egw template create FILE, or serve --manifests DIR."));
  }, 5000);
}

export async function cronList(page, ctx) {
  const body = h("div", {}), form = h("div", {});
  page.append(h("h1", {}, "Cron Workflows"), form, body);
  const refresh = async () => {
    const list = await get(`/api/v1/cron-workflows/${enc(defaultNamespace())}`, ctx.signal);
    body.replaceChildren(table(["Name", "Namespace", "Schedule", "Timezone", "Suspended", "Last scheduled", "Active", ""],
      (list.items ?? []).map(c => h("tr", { "data-cron": c.metadata.name },
        h("td", {}, c.metadata.name), h("td", {}, c.metadata.namespace),
        h("td", {}, h("code", {}, c.spec?.schedules?.join(", ") ?? c.spec?.schedule ?? "")), h("td", {}, c.spec?.timezone ?? ""),
        h("td", {}, c.spec?.suspend ? "yes" : "no"),
        h("td", { title: time(c.status?.lastScheduledTime) }, age(c.status?.lastScheduledTime)),
        h("td", {}, (c.status?.active ?? []).map(a => h("a", { class: "badge", href: `#/workflows/${enc(a.namespace ?? c.metadata.namespace)}/${enc(a.name)}` }, a.name))),
        h("td", {},
          h("button", { class: "primary", onclick: () => submitForm(form, "cronwf", { metadata: c.metadata, spec: c.spec?.workflowSpec }) }, "Submit"), " ",
          h("button", { onclick: async () => {
            const action = c.spec?.suspend ? "resume" : "suspend";
            if (!await confirmAction(`${action} cron workflow ${c.metadata.namespace}/${c.metadata.name}?`, action)) return;
            try { await put(`/api/v1/cron-workflows/${enc(c.metadata.namespace)}/${enc(c.metadata.name)}/${action}`, {}); toast(`${action}d ${c.metadata.name}`); await refresh(); }
            catch (e) { toast(e.message, true); }
          } }, c.spec?.suspend ? "Resume" : "Suspend")))),
      "No CronWorkflows: egw cron create FILE."));
  };
  ctx.poll(refresh, 5000);
}

/** A form from spec.arguments.parameters (an enum is a choice), submitted as `argo submit --from KIND/NAME -p`. */
function submitForm(container, kind, t) {
  const ps = t.spec?.arguments?.parameters ?? [];
  const inputs = ps.map(p => p.enum?.length
    ? h("select", { name: p.name, "data-param": p.name }, p.enum.map(v => h("option", { value: v, selected: v === p.value }, v)))
    : h("input", { name: p.name, "data-param": p.name, value: p.value ?? p.default ?? "", size: 40 }));
  const form = h("form", { class: "submit panel" },
    h("strong", {}, `Submit ${t.metadata.namespace}/${t.metadata.name}`), h("span", {}),
    ps.map((p, i) => [h("label", { for: `p-${p.name}`, title: p.description ?? "" }, p.name), inputs[i]]),
    h("span", {}), h("div", {}, h("button", { type: "submit", class: "primary", "data-submit-go": "" }, "Submit"), " ",
      h("button", { type: "button", onclick: () => container.replaceChildren() }, "Cancel")));
  inputs.forEach((el, i) => el.id = `p-${ps[i].name}`);
  form.addEventListener("submit", async e => {
    e.preventDefault();
    try {
      const wf = await post(`/api/v1/workflows/${enc(t.metadata.namespace)}/submit`, {
        resourceKind: kind, resourceName: t.metadata.name,
        submitOptions: { parameters: ps.map((p, i) => `${p.name}=${inputs[i].value}`) },
      });
      toast(`submitted ${wf.metadata.name}`);
      location.hash = `#/workflows/${enc(wf.metadata.namespace)}/${enc(wf.metadata.name)}`;
    } catch (err) { toast(err.message, true); }
  });
  container.replaceChildren(form);
  inputs[0]?.focus();
}

export async function eventSourceList(page, ctx) {
  const body = h("div", {});
  page.append(h("h1", {}, "Event Sources"), body);
  ctx.poll(async () => {
    const list = await get(`/api/v1/event-sources/${enc(defaultNamespace())}`, ctx.signal);
    const rows = [];
    for (const e of list.items ?? []) {
      const listeners = e.status?.listeners ?? [];
      const first = [h("td", { rowspan: Math.max(1, listeners.length) }, phase(e.status?.phase)), h("td", { rowspan: Math.max(1, listeners.length) }, e.metadata.namespace),
        h("td", { rowspan: Math.max(1, listeners.length), class: "wrap" }, h("strong", {}, e.metadata.name), e.status?.message ? h("div", { class: "sub" }, e.status.message) : null)];
      if (listeners.length === 0) rows.push(h("tr", {}, first, h("td", { colspan: 7 }, "")));
      listeners.forEach((l, i) => rows.push(h("tr", { "data-eventsource": e.metadata.name, "data-event": l.event }, i === 0 ? first : null,
        h("td", {}, `${l.type}/${l.event}`), h("td", {}, phase(l.state === "Listening" || l.state === "Running" ? "Succeeded" : l.state === "Failed" ? "Failed" : "Pending", l.state)),
        h("td", { class: "wrap mono" }, l.target ?? ""), h("td", { "data-accepted": "" }, l.accepted),
        h("td", {}, Object.entries(l.rejected ?? {}).map(([k, v]) => h("span", { class: "badge" }, `${k}: ${v}`))),
        h("td", { title: time(l.lastEventAt) }, age(l.lastEventAt)), h("td", { class: "wrap" }, l.message ?? "", l.restarts ? ` (${l.restarts} restarts)` : ""))));
    }
    body.replaceChildren(table(["", "Namespace", "Name", "Event", "State", "Listens on", "Accepted", "Rejected", "Last event", "Message"], rows,
      "No EventSources: egw apply -f FILE, or serve --manifests DIR."));
  }, 3000);
}

export async function sensorList(page, ctx) {
  const body = h("div", {});
  page.append(h("h1", {}, "Sensors"), body);
  ctx.poll(async () => {
    const list = await get(`/api/v1/sensors/${enc(defaultNamespace())}`, ctx.signal);
    body.replaceChildren(table(["", "Namespace", "Name", "Dependencies", "Passed", "Filtered", "Triggers", "Last event", "Message"],
      (list.items ?? []).map(x => h("tr", { "data-sensor": x.metadata.name },
        h("td", {}, phase(x.status?.phase)), h("td", {}, x.metadata.namespace), h("td", {}, h("strong", {}, x.metadata.name)),
        h("td", {}, (x.spec?.dependencies ?? []).map(d => h("span", { class: "badge", title: `${d.eventSourceName}/${d.eventName}` }, d.name))),
        h("td", {}, x.status?.dependencies?.passed ?? 0), h("td", {}, x.status?.dependencies?.filtered ?? 0),
        h("td", { class: "wrap" }, (x.status?.triggers ?? []).map(t => h("div", {}, h("strong", {}, t.name), h("span", { class: "sub" }, ` (${t.kind}) `),
          Object.entries(t.counts ?? {}).filter(([, n]) => n > 0).map(([k, n]) => h("span", { class: "badge" }, `${k} ${n}`))))),
        h("td", { title: time(x.status?.lastEventAt) }, age(x.status?.lastEventAt)),
        h("td", { class: "wrap" }, x.status?.message ?? "", x.status?.restarts ? ` (${x.status.restarts} restarts)` : ""))),
      "No Sensors: egw apply -f FILE, or serve --manifests DIR."));
  }, 3000);
}
