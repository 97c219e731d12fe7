// How a job is shown on every page, whatever its kind: status badge, name, kind label, errors in plain
// words, money notes. What only a kind knows comes from its own script (``JobKind.web.script``), whose
// optional exports are called here: summary(job), warnings(job), explainError(job).
import { formatDuration, formatMoney, shorten } from "./format.js";

export { el, formatDateTime, formatDuration } from "./format.js";

export const ACTIVE = new Set(["pending_payment", "queued", "running", "retrying", "waiting"]);
export const TERMINAL = new Set(["succeeded", "failed", "cancelled", "timed_out", "expired"]);
export const RETRYABLE = new Set(["failed", "timed_out", "cancelled"]);

// Words and tone (the badge's colour and icon) of each status.
const STATUS = {
  pending_payment: ["Awaiting payment", "wait"],
  queued: ["Waiting", "wait"],
  running: ["Running", "busy"],
  retrying: ["Retrying", "wait"],
  waiting: ["Waiting for input", "wait"],
  succeeded: ["Done", "ok"],
  failed: ["Failed", "bad"],
  cancelled: ["Cancelled", "off"],
  timed_out: ["Timed out", "bad"],
  expired: ["Payment expired", "off"],
};

const KINDS = JSON.parse((document.getElementById("kinds-data") || {}).textContent || "{}");
const modules = new Map();

/** What the page knows of the job's kind: label, progress steps, artifacts, script. */
export function kindOf(job) {
  const name = job.kind || "";
  return KINDS[name] || { name, label: name.replaceAll("_", " "), phases: [], artifacts: [], script: null, detail: false };
}

/** The kind's script module (``{}`` when it has none or it failed to load). */
export function kindModule(name) {
  if (!modules.has(name)) {
    const script = (KINDS[name] || {}).script;
    modules.set(name, script ? import(script).catch(() => ({})) : Promise.resolve({}));
  }
  return modules.get(name);
}

/** Every kind's module, loaded once: afterwards ``kindModuleNow`` answers at once. */
const loaded = new Map();
export async function loadKindModules(names = Object.keys(KINDS)) {
  await Promise.all(names.map(async (name) => loaded.set(name, await kindModule(name))));
}

export function kindModuleNow(name) {
  return loaded.get(name) || {};
}

export function statusWords(status) {
  return (STATUS[status] || [status])[0];
}

/** Warnings of a finished job (e.g. a fallback stood in): shown, and the status is not plain green. */
export function jobWarnings(job) {
  const mod = kindModuleNow(job.kind);
  return job.status === "succeeded" && mod.warnings ? mod.warnings(job) || [] : [];
}

/** Fill a status badge: words, tone, icon (the icon is CSS: the words alone are read out). */
export function setBadge(node, job) {
  const warned = jobWarnings(job).length > 0;
  const [words, tone] = warned ? ["Done with warnings", "warn"] : STATUS[job.status] || [job.status, "off"];
  node.textContent = words;
  node.className = `status badge tone-${tone} status-${job.status}`;
}

export function jobName(job) {
  return job.title || (job.params && (job.params.hostname || job.params.url)) || kindOf(job).label;
}

/** The kind's short line of facts for this job ("Basic · 42 pages"), or "". */
export function jobSummary(job) {
  const mod = kindModuleNow(job.kind);
  return (mod.summary && mod.summary(job)) || "";
}

/** How long the job ran (or has been running), or null before it started. */
export function jobSeconds(job, now = Date.now()) {
  if (!job.started_at) return null;
  const end = job.finished_at ? Date.parse(job.finished_at) : ACTIVE.has(job.status) ? now : null;
  return end === null ? null : (end - Date.parse(job.started_at)) / 1000;
}

export function jobDuration(job) {
  const seconds = jobSeconds(job);
  return seconds === null ? "" : formatDuration(seconds);
}

/** Why a job did not succeed, in words a user understands (null when there is nothing to say). */
export function plainError(job) {
  const mod = kindModuleNow(job.kind);
  const own = mod.explainError && mod.explainError(job);
  if (own) return own;
  if (job.status === "expired") {
    if (/did not match/.test(job.error || "")) {
      return "The payment did not match this generation, so it did not start and the payment was refunded.";
    }
    return "The payment was not completed in time, so this generation never started.";
  }
  if (job.status === "cancelled") return "This generation was cancelled.";
  if (job.status === "timed_out") return "This generation took too long and was stopped. You can retry it.";
  if (job.status !== "failed") return null;
  const error = job.error || "";
  return error ? `This generation failed: ${shorten(error, 300)}` : "This generation failed.";
}

/** Ask before deleting: a running job is stopped, and a finished one's files go with it. */
export function confirmDelete(job) {
  const name = shorten(jobName(job), 80);
  const question = ACTIVE.has(job.status)
    ? `Stop and delete “${name}”? Its work so far is lost.`
    : `Delete “${name}” and its files?`;
  return window.confirm(question);
}

export function confirmCancel(job) {
  const name = shorten(jobName(job), 80);
  const question = job.status === "pending_payment"
    ? `Cancel “${name}”? Its payment page is closed and nothing is charged.`
    : `Stop “${name}”? Its work so far is lost; you can run it again with Retry.`;
  return window.confirm(question);
}

/** A paid job that did not deliver, whose refund has not been recorded yet (the refund actor is on it). */
export function refundExpected(job) {
  const payment = job.payment;
  return Boolean(
    payment && payment.status === "paid" && !payment.refund_status && (job.status === "failed" || job.status === "timed_out"),
  );
}

/** What happened to the money of a paid job that did not deliver (null for free jobs and paid ones that did). */
export function paymentNote(job) {
  const payment = job.payment;
  if (!payment) return null;
  const amount = formatMoney(payment.amount_cents, payment.currency);
  const refund = payment.refund_status;
  if (refund === "succeeded") return `Refunded: your payment of ${amount} has been returned.`;
  if (refund === "pending" || refund === "requires_action") return `A refund of your payment of ${amount} is on its way.`;
  if (refund) return `Your payment of ${amount} could not be refunded automatically (${refund}). Please contact us.`;
  if (refundExpected(job)) return `Your payment of ${amount} is being refunded.`;
  return null;
}
