// One generation: live status and progress (SSE on /api/jobs/{id}/events), timings, errors in plain words,
// the llms.txt / llms-full.txt content in tabs, copy, downloads, delete and retry.
import { api, describeFailure } from "./api.js";
import {
  ACTIVE, RETRYABLE, TERMINAL, confirmDelete, el, fallbackNote, formatDateTime, formatDuration, jobName, paymentNote,
  plainError, progressBar, providerName, refundExpected, statusWords, updateProgressBar,
} from "./jobs.js";
import { LiveEvents } from "./live.js";

let job = JSON.parse(document.getElementById("job-data").textContent);
let seen = false;
let live = null;
const bar = progressBar("Progress");
document.getElementById("job-progress").append(bar.root);
const $ = (id) => document.getElementById(id);

function artifactUrl(name) {
  return `/api/jobs/${job.id}/artifacts/${name}`;
}

function artifactNames() {
  return new Set(((job.result && job.result.artifacts) || []).map((a) => a.name));
}

function render() {
  const name = jobName(job);
  document.title = `${name} · genjobs`;
  $("job-title").textContent = name;
  $("job-status").textContent = statusWords(job.status);
  $("job-status").className = `status status-${job.status}`;
  $("job-kind").textContent = job.params && job.params.provider ? `${job.kind} · ${providerName(job.params.provider)}` : job.kind;
  bar.bar.setAttribute("aria-label", `Progress of ${name}`);
  updateProgressBar(bar, job, seen);
  bar.root.hidden = !(ACTIVE.has(job.status) || job.status === "succeeded");
  const error = plainError(job);
  $("job-error").textContent = error || "";
  $("job-error").hidden = !error;
  const note = fallbackNote(job);
  $("job-note").textContent = note || "";
  $("job-note").hidden = !note;
  renderPayment();
  renderTimings();
  renderSite();
  // A paid run is not repeated for free (the API refuses it): a failed one is refunded instead.
  $("retry").hidden = !RETRYABLE.has(job.status) || Boolean(job.payment);
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

// A website job: the generator builds the site (5 to 20 minutes); its link once done, the generator's
// own progress page meanwhile.
function renderSite() {
  if (job.kind !== "website") return;
  const result = job.result || {};
  const link = $("site-link");
  const generator = $("site-generator");
  link.hidden = !(job.status === "succeeded" && result.url);
  if (result.url) link.href = result.url;
  generator.hidden = !(ACTIVE.has(job.status) && result.generator_tracking_url);
  if (result.generator_tracking_url) generator.href = result.generator_tracking_url;
  let text = "";
  if (job.status === "succeeded") text = result.url ? "Your website is ready." : "Your website is ready; the generator gave no address for it.";
  else if (ACTIVE.has(job.status) && job.status !== "pending_payment") {
    text = "The generator is building your website. This usually takes 5 to 20 minutes: this page updates by itself, and you are notified when it is ready.";
  }
  $("site-text").textContent = text;
  $("site").hidden = !text;
}

function renderTimings() {
  const rows = [["Created", formatDateTime(job.created_at)]];
  if (job.started_at) rows.push(["Started", formatDateTime(job.started_at)]);
  if (job.finished_at) rows.push(["Finished", formatDateTime(job.finished_at)]);
  if (job.started_at && job.finished_at) {
    rows.push(["Took", formatDuration((new Date(job.finished_at) - new Date(job.started_at)) / 1000)]);
  }
  if (job.attempts > 1) rows.push(["Attempts", String(job.attempts)]);
  $("job-timings").replaceChildren(...rows.flatMap(([term, value]) => [el("dt", {}, term), el("dd", {}, value)]));
}

async function loadResult() {
  const names = artifactNames();
  if (job.status !== "succeeded" || !names.has("llms.txt")) {
    $("result").hidden = true;
    return;
  }
  const result = job.result;
  $("result-summary").textContent =
    `${result.pages} pages in ${(result.sections || []).length} sections, described by ${providerName(result.provider)}.`;
  $("download").href = artifactUrl("llms.txt");
  for (const [id, file] of [["download-full", "llms-full.txt"], ["download-zip", "bundle.zip"]]) {
    $(id).hidden = !names.has(file);
    $(id).href = artifactUrl(file);
  }
  $("tab-full").hidden = !names.has("llms-full.txt");
  await Promise.all([loadText("llms.txt", "panel-llms"), names.has("llms-full.txt") ? loadText("llms-full.txt", "panel-full") : null]);
  $("result").hidden = false;
}

async function loadText(name, panelId) {
  const response = await fetch(artifactUrl(name), { credentials: "same-origin" });
  $(panelId).textContent = response.ok ? await response.text() : "This file is no longer available (files expire after a while).";
}

function selectTab(tab) {
  for (const other of document.querySelectorAll("[role=tab]")) {
    const selected = other === tab;
    other.setAttribute("aria-selected", String(selected));
    other.tabIndex = selected ? 0 : -1;
    $(other.getAttribute("aria-controls")).hidden = !selected;
  }
  tab.focus();
}

for (const tab of document.querySelectorAll("[role=tab]")) {
  tab.addEventListener("click", () => selectTab(tab));
  tab.addEventListener("keydown", (event) => {
    if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
    const tabs = [...document.querySelectorAll("[role=tab]")].filter((t) => !t.hidden);
    const index = (tabs.indexOf(tab) + (event.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length;
    selectTab(tabs[index]);
  });
}

$("copy").addEventListener("click", async () => {
  const panel = document.querySelector("[role=tabpanel]:not([hidden])");
  try {
    await navigator.clipboard.writeText(panel.textContent);
    $("copy-status").textContent = "Copied.";
  } catch {
    $("copy-status").textContent = "Copying is not allowed here: select the text and copy it yourself.";
  }
});

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

$("retry").addEventListener("click", async () => {
  $("retry").disabled = true;
  const result = await api("POST", `/api/jobs/${job.id}/retry`);
  $("retry").disabled = false;
  if (!result.ok) return showActionError(result, "retrying it");
  $("action-error").hidden = true;
  job = result.data;
  seen = true;
  render();
  loadResult();
  follow();
});

async function refresh() {
  const result = await api("GET", `/api/jobs/${job.id}`);
  if (result.ok) job = result.data;
  render();
  await loadResult();
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
    // A website job's progress events carry its partial result (the generator's tracking page).
    if (data.result) job.result = data.result;
  }
  else if (type === "status") job = { ...job, status: data.status, error: data.error !== undefined ? data.error : job.error };
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

render();
loadResult();
follow();
watchRefund();
