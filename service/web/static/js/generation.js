// One job's page, for every kind: status badge, key figures, the result first (the kind's own panel from its
// script's render(), or the generic one: downloads of its declared files and its result), then live progress
// (SSE on /api/jobs/{id}/events), timings, errors in plain words, cancel, delete and retry.
import { api, describeFailure } from "./api.js";
import { el, formatDateTime, plural, tickTimes, timeElement } from "./format.js";
import {
  ACTIVE, RETRYABLE, TERMINAL, confirmCancel, confirmDelete, jobDuration, jobName, jobSummary, jobWarnings, kindModule,
  kindOf, loadKindModules, paymentNote, plainError, refundExpected, setBadge,
} from "./jobs.js";
import { LiveEvents } from "./live.js";
import { ProgressBar } from "./progress.js";

let job = JSON.parse(document.getElementById("job-data").textContent);
let seen = false;
let live = null;
const kind = kindOf(job);
const bar = new ProgressBar("Progress");
const $ = (id) => document.getElementById(id);
$("job-progress").append(bar.root);
let kindScript = {};

function artifactUrl(name) {
  return `/api/jobs/${job.id}/artifacts/${encodeURIComponent(name)}`;
}

function render() {
  const name = jobName(job);
  document.title = `${name} · genjobs`;
  $("job-title").textContent = name;
  setBadge($("job-status"), job);
  renderFacts();
  bar.bar.setAttribute("aria-label", `Progress of ${name}`);
  bar.update(job, kind, seen);
  bar.root.hidden = !ACTIVE.has(job.status);
  const error = plainError(job);
  $("job-error").textContent = error || "";
  $("job-error").hidden = !error;
  const warnings = jobWarnings(job);
  $("job-note").replaceChildren(...warnings.map((w) => el("p", {}, w)));
  $("job-note").hidden = !warnings.length;
  renderPayment();
  renderTimings();
  renderResult();
  // A paid run is not repeated for free (the API refuses it): a failed one is refunded instead.
  $("retry").hidden = !RETRYABLE.has(job.status) || Boolean(job.payment);
  $("cancel").hidden = !ACTIVE.has(job.status);
}

// The kind, the facts its script tells, and how long it took: "<kind> · <facts> · took 12 s".
function renderFacts() {
  const took = jobDuration(job);
  const parts = [kind.label, jobSummary(job), took && (TERMINAL.has(job.status) ? `took ${took}` : `running for ${took}`)];
  $("job-facts").replaceChildren(parts.filter(Boolean).join(" · "));
}

function renderPayment() {
  const box = $("job-payment");
  box.replaceChildren();
  if (job.status === "pending_payment") {
    box.append("This generation starts once it is paid. ");
    if (job.payment && job.payment.url) box.append(el("a", { href: job.payment.url, class: "button primary" }, "Pay now"));
  }
  const refund = paymentNote(job);
  if (refund) box.append(refund);
  box.hidden = !box.childNodes.length;
}

function renderTimings() {
  const rows = [["Created", timeElement(job.created_at)]];
  if (job.started_at) rows.push(["Started", formatDateTime(job.started_at)]);
  if (job.finished_at) rows.push(["Finished", formatDateTime(job.finished_at)]);
  if (job.started_at && job.finished_at) rows.push(["Took", jobDuration(job)]);
  if (job.attempts > 1) rows.push(["Attempts", plural(job.attempts, "attempt")]);
  $("job-timings").replaceChildren(...rows.flatMap(([term, value]) => [el("dt", {}, term), el("dd", {}, value)]));
}

function renderResult() {
  if (kindScript.render) {
    kindScript.render($("kind-detail"), job, { artifactUrl });
    return;
  }
  const box = $("generic-result");
  if (!box) return;
  box.hidden = job.status !== "succeeded";
  if (box.hidden) return;
  // The files the job lists in its result, else every file its kind declares.
  const listed = ((job.result && job.result.artifacts) || []).map((a) => a.name);
  const names = listed.length ? listed : kind.artifacts;
  $("generic-downloads").replaceChildren(
    ...names.map((n) => el("a", { class: "button", href: artifactUrl(n), download: true }, `Download ${n}`)),
  );
  $("generic-result-json").textContent = JSON.stringify(job.result, null, 2);
}

function showActionError(result, subject) {
  $("action-error").textContent = describeFailure(result, subject);
  $("action-error").hidden = false;
}

$("delete").addEventListener("click", async () => {
  if (!confirmDelete(job)) return;
  $("delete").disabled = true;
  // Stop following first: the job's own "cancelled" event must not make this page reload a deleted job.
  if (live) live.close();
  live = null;
  const result = await api("DELETE", `/api/jobs/${job.id}`);
  if (result.ok || result.status === 404) {
    window.location.assign("/");
    return;
  }
  $("delete").disabled = false;
  showActionError(result, "deleting it");
  follow();
});

$("cancel").addEventListener("click", async () => {
  if (!confirmCancel(job)) return;
  $("cancel").disabled = true;
  const result = await api("POST", `/api/jobs/${job.id}/cancel`);
  $("cancel").disabled = false;
  // 409: it ended meanwhile; the live stream shows how.
  if (!result.ok && result.status !== 409) return showActionError(result, "cancelling it");
  $("action-error").hidden = true;
  if (result.ok) job = result.data;
  render();
});

$("retry").addEventListener("click", async () => {
  $("retry").disabled = true;
  const result = await api("POST", `/api/jobs/${job.id}/retry`);
  $("retry").disabled = false;
  if (!result.ok) return showActionError(result, "retrying it");
  $("action-error").hidden = true;
  job = result.data;
  seen = true;
  render();
  follow();
});

async function refresh() {
  const result = await api("GET", `/api/jobs/${job.id}`);
  if (result.ok) job = result.data;
  render();
}

// The refund of a paid job that failed is made by a worker just after the job's stream ended: look again
// a few times (2, 4, 8, 16, 32 s) until it is recorded, rather than leave "being refunded" until a reload.
const REFUND_CHECKS_MS = [2000, 4000, 8000, 16000, 32000];

function watchRefund(attempt = 0) {
  if (!refundExpected(job) || attempt >= REFUND_CHECKS_MS.length) return;
  setTimeout(async () => {
    await refresh();
    watchRefund(attempt + 1);
  }, REFUND_CHECKS_MS[attempt]);
}

function onEvent(type, data) {
  seen = true;
  if (type === "deleted") {
    live.close();
    window.location.assign("/");
    return;
  }
  if (type === "snapshot") job = { ...job, ...data, id: job.id };
  else if (type === "progress") {
    job = { ...job, progress: { done: data.done, total: data.total, percent: data.percent, step: data.step } };
    // A kind may send its partial result with progress (e.g. a page to follow the work at).
    if (data.result) job.result = data.result;
  } else if (type === "status") {
    job = { ...job, status: data.status, error: data.error !== undefined ? data.error : job.error };
    if (data.status === "running" && !job.started_at) job.started_at = data.at;
  }
  if (TERMINAL.has(job.status)) {
    // The stream ends after the final status. The job itself has the rest: a success's result, the start
    // time, the payment as it is now (the page may have loaded before it was paid).
    live.close();
    live = null;
    if (type === "status") job.finished_at = data.at;
    render();
    return refresh().then(() => watchRefund());
  }
  render();
}

function follow() {
  if (live) live.close();
  if (ACTIVE.has(job.status)) live = new LiveEvents(`/api/jobs/${job.id}/events`, onEvent);
}

async function main() {
  // Shown and followed at once; the kind's script (its panel, its words) joins in as soon as it is loaded.
  render();
  follow();
  watchRefund();
  kindScript = await kindModule(job.kind);
  await loadKindModules([job.kind]);
  render();
  setInterval(() => {
    bar.tick();
    if (ACTIVE.has(job.status)) renderFacts();
    tickTimes();
  }, 1000);
}

main();
