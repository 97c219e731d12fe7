// The generations list: one page of the user's jobs from the API, kept live by one EventSource on
// /api/events (all active jobs and new ones), with pagination in the address bar (?page=&per_page=).
import { api, describeFailure } from "./api.js";
import { ACTIVE, confirmDelete, el, formatDateTime, jobName, paymentNote, plainError, progressBar, statusWords, updateProgressBar } from "./jobs.js";
import { LiveEvents } from "./live.js";

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
const rows = new Map(); // id -> {row, status, bar, error, remove}
const seen = new Set(); // ids with an event (or snapshot) received on this page
let reloadTimer = null;

function pageUrl(p, n = perPage) {
  return `/?page=${p}&per_page=${n}`;
}

function renderRow(job) {
  const name = jobName(job);
  const status = el("span", { class: "status" });
  const error = el("p", { class: "row-error" });
  const bar = progressBar(`Progress of ${name}`);
  const remove = el("button", { type: "button", class: "danger small", "aria-label": `Delete ${name}` }, "Delete");
  remove.addEventListener("click", () => deleteJob(job.id, remove));
  const row = el(
    "tr",
    { "data-job-id": job.id },
    el("td", { "data-label": "Website" }, el("a", { href: `/generations/${job.id}` }, name)),
    el("td", { "data-label": "Kind" }, job.kind),
    el("td", { "data-label": "Status" }, status, error),
    el("td", { "data-label": "Progress" }, bar.root),
    el("td", { "data-label": "Created" }, el("time", { datetime: job.created_at }, formatDateTime(job.created_at))),
    el("td", { class: "actions" }, remove),
  );
  const parts = { row, status, bar, error, remove };
  rows.set(job.id, parts);
  updateRow(job.id);
  return row;
}

function updateRow(id) {
  const parts = rows.get(id);
  const job = jobs.get(id);
  if (!parts || !job) return;
  parts.status.textContent = statusWords(job.status);
  parts.status.className = `status status-${job.status}`;
  updateProgressBar(parts.bar, job, seen.has(id));
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
    if (data.status === "queued" && data.from_status !== "pending_payment") {
      next.progress = { done: 0, total: null, percent: null, step: null };
    }
    jobs.set(id, next);
  }
  updateRow(id);
}

perPageSelect.addEventListener("change", () => {
  window.location.assign(pageUrl(1, Number(perPageSelect.value)));
});

// The new-generation form announces a job it started: show the first page, where it now is.
document.addEventListener("genjobs:created", () => {
  if (page !== 1) {
    page = 1;
    history.replaceState(null, "", pageUrl(1));
  }
  load();
});

load().then(() => new LiveEvents("/api/events", onEvent));
