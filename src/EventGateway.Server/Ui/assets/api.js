// The REST API as the UI calls it. The browser carries the session cookie by itself (same origin); state-changing
// calls add the session's CSRF secret, which ApiGuard requires of every cookie-authenticated change.
let csrf = "";

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

let namespaces = ["*"];

export async function session() {
  const s = await get("/ui/session");
  csrf = s.csrf ?? "";
  namespaces = s.namespaces ?? ["*"];
  return s;
}

/** What a list shows by default: every namespace ("-") for a grant of "*", else the token's first namespace. */
export const defaultNamespace = () => namespaces.includes("*") ? "-" : namespaces[0];

async function call(method, url, body, signal) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") {
    headers["X-EGW-CSRF"] = csrf;
    headers["Content-Type"] = "application/json";
  }
  const res = await fetch(url, { method, headers, body: method === "GET" ? undefined : JSON.stringify(body ?? {}), signal, credentials: "same-origin" });
  if (res.status === 401) {
    // The session ended (expired, logged out elsewhere, token revoked): back to the login page.
    location.assign("/login");
    throw new ApiError(401, "not logged in");
  }
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON: reported below */ }
  if (!res.ok) throw new ApiError(res.status, json?.message ?? `${method} ${url}: ${res.status}`);
  return json;
}

export const get = (url, signal) => call("GET", url, undefined, signal);
export const post = (url, body) => call("POST", url, body);
export const put = (url, body) => call("PUT", url, body);
export const del = (url) => call("DELETE", url);

export async function logout() {
  await fetch("/logout", { method: "POST", headers: { "X-EGW-CSRF": csrf }, credentials: "same-origin" });
  location.assign("/login");
}

/** Follows a workflow's logs (newline-delimited JSON) and hands each line to onLine until the stream ends or signal aborts. */
export async function followLogs(ns, name, podName, onLine, signal) {
  const q = new URLSearchParams({ "logOptions.follow": "true", podName });
  const res = await fetch(`/api/v1/workflows/${enc(ns)}/${enc(name)}/log?${q}`, { signal, credentials: "same-origin" });
  if (!res.ok) throw new ApiError(res.status, (await res.json().catch(() => null))?.message ?? `logs: ${res.status}`);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let nl;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (line.trim()) onLine(JSON.parse(line).result);
    }
  }
}

export const enc = encodeURIComponent;
