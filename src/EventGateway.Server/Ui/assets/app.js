// The UI's shell: a hash router (#/page/...?filters) so the server serves one page; each view polls the REST API while
// it is shown and stops when the user navigates away.
import { session, logout } from "./api.js";
import { h, toast } from "./dom.js";
import { workflowList, workflowView, archiveList, archiveView } from "./workflows.js";
import { templateList, cronList, eventSourceList, sensorList } from "./resources.js";
import { eventList, eventView, deadLetterList } from "./events.js";

const routes = [
  [/^workflows$/, workflowList, "workflows"],
  [/^workflows\/([^/]+)\/([^/]+)$/, workflowView, "workflows"],
  [/^templates$/, templateList, "templates"],
  [/^cron$/, cronList, "cron"],
  [/^eventsources$/, eventSourceList, "eventsources"],
  [/^sensors$/, sensorList, "sensors"],
  [/^events$/, eventList, "events"],
  [/^events\/(\d+)$/, eventView, "events"],
  [/^deadletters$/, deadLetterList, "deadletters"],
  [/^archive$/, archiveList, "archive"],
  [/^archive\/([^/]+)$/, archiveView, "archive"],
];

let current = null;

/** What a view gets: its container, the query, a poll that stops on navigation, and an abort signal for streams. */
function context(query) {
  const abort = new AbortController();
  const timers = [];
  return {
    query,
    signal: abort.signal,
    poll(fn, ms) {
      let running = false;
      const tick = async () => {
        if (running || abort.signal.aborted) return;
        running = true;
        try { await fn(); } catch (e) { if (!abort.signal.aborted) toast(e.message, true); } finally { running = false; }
      };
      tick();
      timers.push(setInterval(tick, ms));
    },
    stop() { abort.abort(); timers.forEach(clearInterval); },
  };
}

function navigate() {
  const hash = location.hash.replace(/^#\/?/, "") || "workflows";
  const [path, search] = hash.split("?");
  current?.stop();
  const page = document.getElementById("page");
  page.replaceChildren();
  const route = routes.find(([re]) => re.test(path));
  document.querySelectorAll("nav.side a").forEach(a => a.classList.toggle("active", a.dataset.nav === route?.[2]));
  if (!route) { page.append(h("div", { class: "empty" }, `No page '${path}'.`)); return; }
  current = context(new URLSearchParams(search ?? ""));
  const args = path.match(route[0]).slice(1).map(decodeURIComponent);
  Promise.resolve(route[1](page, current, ...args)).catch(e => toast(e.message, true));
}

async function start() {
  const me = await session();
  document.getElementById("who").textContent = me.authMode === "none" ? "no authentication" : `${me.user} (${me.role})`;
  document.getElementById("logout").hidden = me.authMode === "none";
  document.getElementById("logout").addEventListener("click", logout);
  window.addEventListener("hashchange", navigate);
  navigate();
}

start().catch(e => toast(e.message, true));
