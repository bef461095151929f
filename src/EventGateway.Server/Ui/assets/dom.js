// A tiny element builder: text goes in as text nodes, never as HTML, so data from the API cannot inject markup.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  append(el, children);
  return el;
}

/** Replaces an element's children; like h(), it takes nested arrays and skips null. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

const SVG = "http://www.w3.org/2000/svg";
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v);
  }
  append(el, children);
  return el;
}

export const phase = (p, text) => h("span", { class: `phase ${p ?? ""}`, "data-phase": p ?? "" }, text ?? p ?? "");

export function table(headers, rows, empty = "Nothing here yet.") {
  if (rows.length === 0) return h("div", { class: "empty" }, empty);
  return h("table", { class: "list" }, h("thead", {}, h("tr", {}, headers.map(x => h("th", {}, x)))), h("tbody", {}, rows));
}

export function age(iso) {
  if (!iso) return "";
  const secs = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  return span(secs) + " ago";
}

export function duration(from, to) {
  if (!from) return "";
  const end = to ? Date.parse(to) : Date.now();
  return span(Math.max(0, (end - Date.parse(from)) / 1000));
}

function span(secs) {
  if (secs < 60) return `${Math.floor(secs)}s`;
  if (secs < 3600) return `${Math.floor(secs / 60)}m${String(Math.floor(secs % 60)).padStart(2, "0")}s`;
  if (secs < 86400) return `${Math.floor(secs / 3600)}h${String(Math.floor(secs % 3600 / 60)).padStart(2, "0")}m`;
  return `${Math.floor(secs / 86400)}d${Math.floor(secs % 86400 / 3600)}h`;
}

export const time = iso => iso ? new Date(iso).toLocaleString() : "";

let toastTimer;
export function toast(message, error = false) {
  const t = document.getElementById("toast");
  t.textContent = message;
  t.className = error ? "show error" : "show";
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.className = ""; }, error ? 8000 : 4000);
}

/** Every operator action asks first: the dialog names the action and the object. */
export function confirmAction(text, ok = "OK") {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-text").textContent = text;
  document.getElementById("confirm-ok").textContent = ok;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise(resolve => dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true }));
}
