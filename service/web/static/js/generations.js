// The generations list: one page of the user's jobs from the API, kept live by one EventSource on
// /api/events (all active jobs and new ones), with pagination in the address bar (?page=&per_page=).
import { api, describeFailure } from "./api.js";
import { el, tickTimes, timeElement } from "./format.js";
import {
  ACTIVE, confirmDelete, jobDuration, jobName, jobSummary, kindOf, loadKindModules, paymentNote, plainError, setBadge,
} from "./jobs.js";
import { LiveEvents } from "./live.js";
import { ProgressBar } from "./progress.js";

const table = document.getElementById("jobs-table");
const tbody = document.getElementById("jobs");
const perPageSelect = document.getElementById("per-page");
const choices = [...perPageSelect.options].map((o) => Number(o.value));
const listError = document.getElementById("list-error");

const query = new URLSearchParams(location.search);
let perPage = Number(query.get("per_page"));
if (!choices.includes(perPage)) perPage = Number(table.dataset.defaultPerPage);
let page = Math.max(1, Math.floor(Number(query.get("page"))) || 1);
perPageSelect.value = String(perPage);

const jobs = new Map(); // id -> latest job state on this page
const rows = new Map(); // id -> {row, status, bar, error, remove, facts, took}
const seen = new Set(); // ids with an event (or snapshot) received on this page
let reloadTimer = null;

function pageUrl(p, n = perPage) {
  return `/?page=${p}&per_page=${n}`;
}

// A row people can tell apart: the job's name, its kind and the facts its kind tells (e.g. "Basic · 42 pages"), a status
// badge, one progress bar, when it was created (relative, exact on hover) and how long it took.
function renderRow(job) {
  const name = jobName(job);
  const status = el("span", { class: "status badge" });
  const error = el("p", { class: "row-error" });
  const facts = el("span", { class: "job-facts" });
  const took = el("span", { class: "took" });
  const bar = new ProgressBar(`Progress of ${name}`);
  const remove = el("button", { type: "button", class: "danger small", "aria-label": `Delete ${name}` }, "Delete");
  remove.addEventListener("click", () => deleteJob(job.id, remove));
  const row = el(
    "tr",
    { "data-job-id": job.id },
    el("td", { class: "job-cell" }, el("a", { href: `/generations/${job.id}`, class: "job-name", title: name }, name), facts, error),
    el("td", { class: "status-cell" }, status),
    el("td", { class: "progress-cell" }, bar.root),
    el("td", { class: "created-cell" }, timeElement(job.created_at)),
    el("td", { class: "took-cell" }, took),
    el("td", { class: "actions" }, remove),
  );
  const parts = { row, status, bar, error, remove, facts, took };
  rows.set(job.id, parts);
  updateRow(job.id);
  return row;
}

function updateRow(id) {
  const parts = rows.get(id);
  const job = jobs.get(id);
  if (!parts || !job) return;
  setBadge(parts.status, job);
  parts.facts.textContent = [kindOf(job).label, jobSummary(job)].filter(Boolean).join(" · ");
  parts.took.textContent = jobDuration(job);
  parts.bar.update(job, kindOf(job), seen.has(id));
  parts.row.classList.toggle("finished", !ACTIVE.has(job.status));
  parts.error.replaceChildren();
  const error = job.status !== "cancelled" ? plainError(job) : null;
  const money = paymentNote(job);
  if (error) parts.error.append(error);
  if (money) parts.error.append(el("span", { class: "refund-note" }, money));
  if (job.status === "pending_payment" && job.payment && job.payment.url) {
    parts.error.append(el("a", { href: job.payment.url, class: "pay" }, "Pay now"));
  }
}

function renderPage(data) {
  rows.clear();
  const fresh = new Map();
  for (const job of data.items) {
    const known = jobs.get(job.id);
    // A job's events may be newer than this page's copy of it: keep what the events said while it runs.
    const keep = known && seen.has(job.id) && ACTIVE.has(known.status) && ACTIVE.has(job.status);
    fresh.set(job.id, keep ? { ...job, status: known.status, progress: known.progress } : job);
  }
  jobs.clear();
  for (const [id, job] of fresh) jobs.set(id, job);
  tbody.replaceChildren(...data.items.map((job) => renderRow(jobs.get(job.id))));
  document.getElementById("empty").hidden = data.total > 0;
  document.getElementById("page-info").textContent = `Page ${data.page} of ${data.pages} (${data.total} total)`;
  const prev = document.getElementById("prev");
  const next = document.getElementById("next");
  setLink(prev, data.page > 1 ? pageUrl(data.page - 1) : null);
  setLink(next, data.page < data.pages ? pageUrl(data.page + 1) : null);
}

function setLink(link, href) {
  if (href) {
    link.href = href;
    link.removeAttribute("aria-disabled");
    link.classList.remove("disabled");
  } else {
    link.removeAttribute("href");
    link.setAttribute("aria-disabled", "true");
    link.classList.add("disabled");
  }
}

async function load() {
  const result = await api("GET", `/api/jobs?page=${page}&per_page=${perPage}`);
  if (!result.ok) {
    listError.textContent = describeFailure(result, "loading your generations");
    listError.hidden = false;
    return;
  }
  listError.hidden = true;
  if (result.data.page > result.data.pages) {
    // The last page emptied (deletions): show the new last page instead.
    page = result.data.pages;
    history.replaceState(null, "", pageUrl(page));
    return load();
  }
  renderPage(result.data);
}

function reloadSoon() {
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(load, 150);
}

async function deleteJob(id, button) {
  const job = jobs.get(id);
  if (job && !confirmDelete(job)) return;
  button.disabled = true;
  const result = await api("DELETE", `/api/jobs/${id}`);
  if (!result.ok && result.status !== 404) {
    button.disabled = false;
    const parts = rows.get(id);
    if (parts) parts.error.textContent = describeFailure(result, "deleting it");
    return;
  }
  removeRow(id);
}

function removeRow(id) {
  const parts = rows.get(id);
  if (parts) parts.row.remove();
  rows.delete(id);
  jobs.delete(id);
  reloadSoon();
}

function newerThanShown(createdAt) {
  const shown = [...jobs.values()].map((j) => Date.parse(j.created_at));
  return shown.length < perPage || Date.parse(createdAt) > Math.max(...shown);
}

function onEvent(type, data) {
  const id = data.job_id;
  if (type === "deleted") {
    if (rows.has(id)) removeRow(id);
    return;
  }
  const job = jobs.get(id);
  if (!job) {
    // A job started elsewhere (another tab, the API, or just before this stream opened) belongs at the top
    // of the first page.
    const created = type === "status" && data.detail && data.detail.created;
    if (page === 1 && (created || (type === "snapshot" && newerThanShown(data.created_at)))) reloadSoon();
    return;
  }
  seen.add(id);
  if (type === "snapshot") {
    jobs.set(id, { ...job, ...data, id });
  } else if (type === "progress") {
    jobs.set(id, { ...job, progress: { done: data.done, total: data.total, percent: data.percent, step: data.step } });
  } else if (type === "status") {
    const next = { ...job, status: data.status };
    if (data.error !== undefined) next.error = data.error;
    if (data.status === "running" && !next.started_at) next.started_at = data.at;
    if (!ACTIVE.has(data.status) && data.at) next.finished_at = data.at;
    if (data.status === "queued" && data.from_status !== "pending_payment") {
      next.progress = { done: 0, total: null, percent: null, step: null };
    }
    jobs.set(id, next);
    // The finished job carries what the row tells (its result's figures, when it ended): read it once. A
    // cancelled one may be on its way out (deleted): nothing more to tell.
    if (!ACTIVE.has(data.status) && data.status !== "cancelled") refreshJob(id);
  }
  updateRow(id);
}

async function refreshJob(id) {
  const result = await api("GET", `/api/jobs/${id}`);
  if (!result.ok || !jobs.has(id)) return;
  jobs.set(id, result.data);
  updateRow(id);
}

perPageSelect.addEventListener("change", () => {
  window.location.assign(pageUrl(1, Number(perPageSelect.value)));
});

// A "new job" form announces a job it started: show the first page, where it now is, with the new row in view.
document.addEventListener("genjobs:created", async (event) => {
  if (page !== 1) {
    page = 1;
    history.replaceState(null, "", pageUrl(1));
  }
  await load();
  const parts = rows.get(event.detail && event.detail.id);
  if (parts) {
    parts.row.classList.add("just-started");
    parts.row.scrollIntoView({ block: "nearest", behavior: "smooth" });
  }
});

function tick() {
  for (const [id, parts] of rows) {
    parts.bar.tick();
    const job = jobs.get(id);
    if (job && ACTIVE.has(job.status)) parts.took.textContent = jobDuration(job);
  }
  tickTimes(tbody);
}

// The list shows at once; the kinds' scripts (their facts and words) join in as soon as they are loaded.
load().then(() => {
  new LiveEvents("/api/events", onEvent);
  setInterval(tick, 1000);
});
loadKindModules().then(() => {
  for (const id of rows.keys()) updateRow(id);
});
