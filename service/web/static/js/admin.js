// The admin dashboard: queues and workers live over SSE (/api/admin/stream), pause/resume, the job search
// across users (/api/admin/jobs), a job's history, and retry/cancel (one or many) through the owner's own API.
import { api, describeFailure } from "./api.js";
import { el, formatDateTime } from "./format.js";

const $ = (id) => document.getElementById(id);
const ACTIVE = new Set(["pending_payment", "queued", "running", "retrying", "waiting"]);
const RETRYABLE = new Set(["failed", "timed_out", "cancelled"]);

function showError(id, text) {
  $(id).textContent = text || "";
  $(id).hidden = !text;
}

function queueRow(q) {
  const action = q.paused ? "Resume" : "Pause";
  const button = el("button", { type: "button", "aria-label": `${action} ${q.queue}`, onclick: () => setPaused(q.queue, !q.paused) }, action);
  return el(
    "tr",
    { "data-queue": q.queue },
    el("th", { scope: "row" }, q.queue),
    el("td", { class: q.paused ? "state paused" : "state" }, q.paused ? "Paused" : "Running"),
    ...[q.waiting, q.delayed, q.running, q.retrying, q.failed_1h, q.dead_letters, q.workers].map((n) => el("td", {}, n)),
    el("td", {}, button),
  );
}

function workerRow(w) {
  return el(
    "tr",
    { "data-worker": w.id },
    el("th", { scope: "row" }, w.host),
    el("td", {}, w.pid),
    el("td", {}, w.queues.join(", ")),
    el("td", {}, `${w.busy} of ${w.threads}`),
    el("td", {}, formatDateTime(new Date(w.last_seen * 1000).toISOString())),
  );
}

function showOverview(o) {
  $("queues").tBodies[0].replaceChildren(...o.queues.map(queueRow));
  $("workers").tBodies[0].replaceChildren(...o.workers.map(workerRow));
  $("no-workers").hidden = o.workers.length > 0;
  $("live-state").textContent = `Live · updated ${formatDateTime(o.at)}`;
}

async function setPaused(queue, paused) {
  const result = await api("POST", `/api/admin/queues/${encodeURIComponent(queue)}/${paused ? "pause" : "resume"}`);
  if (!result.ok) {
    showError("queue-error", describeFailure(result, paused ? "pausing the queue" : "resuming the queue"));
    return;
  }
  showError("queue-error", "");
  await refreshOverview();
}

async function refreshOverview() {
  const result = await api("GET", "/api/admin/overview");
  if (result.ok) showOverview(result.data);
}

function connect() {
  const source = new EventSource("/api/admin/stream");
  source.addEventListener("overview", (event) => showOverview(JSON.parse(event.data)));
  source.addEventListener("error", () => {
    $("live-state").textContent = "Reconnecting…";
  });
}

function searchParams() {
  const params = new URLSearchParams();
  for (const [name, value] of new FormData($("search-form"))) {
    if (!value) continue;
    // datetime-local has no zone: the admin means their own local time.
    params.set(name, name.startsWith("created_") ? new Date(value).toISOString() : value.trim());
  }
  return params;
}

function resultRow(job) {
  const actions = el("td", {});
  if (RETRYABLE.has(job.status)) {
    actions.append(el("button", { type: "button", "aria-label": `Retry ${job.id}`, onclick: () => act("retry", [job.id]) }, "Retry"));
  }
  if (ACTIVE.has(job.status)) {
    actions.append(el("button", { type: "button", "aria-label": `Cancel ${job.id}`, onclick: () => act("cancel", [job.id]) }, "Cancel"));
  }
  actions.append(el("button", { type: "button", "aria-label": `History of ${job.id}`, onclick: () => showHistory(job.id) }, "History"));
  return el(
    "tr",
    { "data-job": job.id },
    el("td", {}, el("input", { type: "checkbox", class: "select-job", value: job.id, "aria-label": `Select ${job.id}` })),
    el("td", {}, el("a", { href: `/generations/${job.id}` }, job.id.slice(0, 8))),
    el("td", {}, job.owner_email),
    el("td", {}, job.kind),
    el("td", { class: "status" }, job.status),
    el("td", {}, job.attempts),
    el("td", {}, formatDateTime(job.created_at)),
    actions,
  );
}

async function search() {
  const result = await api("GET", `/api/admin/jobs?${searchParams()}`);
  if (!result.ok) {
    showError("search-error", describeFailure(result, "searching"));
    return;
  }
  showError("search-error", "");
  $("results").tBodies[0].replaceChildren(...result.data.items.map(resultRow));
  $("search-summary").textContent = `${result.data.total} job(s) found.`;
}

async function act(action, ids) {
  if (!ids.length) {
    $("bulk-result").textContent = "Select jobs first.";
    return;
  }
  const result = await api("POST", `/api/jobs/${action}`, { ids });
  if (!result.ok) {
    $("bulk-result").textContent = describeFailure(result, action === "retry" ? "retrying" : "cancelling");
    return;
  }
  const done = result.data.results.filter((r) => r.outcome === "cancelled" || r.outcome === "retried").length;
  $("bulk-result").textContent = `${action === "retry" ? "Retried" : "Cancelled"} ${done} of ${ids.length}.`;
  await search();
}

async function showHistory(jobId) {
  const result = await api("GET", `/api/jobs/${jobId}/history`);
  if (!result.ok) return;
  $("history-job").textContent = jobId;
  $("history").replaceChildren(
    ...result.data.map((e) =>
      el("li", {}, `${formatDateTime(e.at)} · ${e.type}${e.to_status ? ` → ${e.to_status}` : ""} · ${e.actor || ""}`),
    ),
  );
  $("history-card").hidden = false;
}

function selectedIds() {
  return [...document.querySelectorAll(".select-job:checked")].map((box) => box.value);
}

$("search-form").addEventListener("submit", (event) => {
  event.preventDefault();
  search();
});
$("bulk-cancel").addEventListener("click", () => act("cancel", selectedIds()));
$("bulk-retry").addEventListener("click", () => act("retry", selectedIds()));
refreshOverview();
connect();
search();
