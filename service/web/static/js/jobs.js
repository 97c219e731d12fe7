// How a job is shown: status words, the progress bar, errors in plain words. Shared by every page.

export const ACTIVE = new Set(["pending_payment", "queued", "running", "retrying", "waiting"]);
export const TERMINAL = new Set(["succeeded", "failed", "cancelled", "timed_out", "expired"]);
export const RETRYABLE = new Set(["failed", "timed_out", "cancelled"]);

const STATUS_WORDS = {
  pending_payment: "Awaiting payment",
  queued: "Waiting",
  running: "Running",
  retrying: "Retrying",
  waiting: "Waiting for input",
  succeeded: "Done",
  failed: "Failed",
  cancelled: "Cancelled",
  timed_out: "Timed out",
  expired: "Payment expired",
};

const STEP_WORDS = {
  discover: "Finding pages",
  fetch: "Fetching pages",
  describe: "Describing pages",
  assemble: "Writing files",
  working: "Working",
};

const PROVIDER_NAMES = { extractive: "Basic", ollama: "Free (Ollama)", gemini: "Fast (Gemini)" };

export function statusWords(status) {
  return STATUS_WORDS[status] || status;
}

export function jobName(job) {
  return job.title || (job.params && (job.params.hostname || job.params.url)) || job.kind;
}

export function providerName(provider) {
  return PROVIDER_NAMES[provider] || provider;
}

/** A new element: ``el("span", {class: "x"}, "text", child)``. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

export function formatDateTime(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export function formatDuration(seconds) {
  if (seconds < 60) return `${Math.max(0, Math.round(seconds))} s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${Math.round(seconds - minutes * 60)} s`;
}

/**
 * The live view of a job's progress. ``seen`` is false until an event (or the snapshot) arrived on this
 * page: until then an active job shows "Processing…" rather than figures that may be stale.
 */
export function progressView(job, seen) {
  const progress = job.progress || { done: 0, total: null, percent: null, step: null };
  if (job.status === "succeeded") {
    const pages = job.result && job.result.pages;
    return { percent: 100, text: pages != null ? `Done: ${pages} pages · 100%` : "Done · 100%" };
  }
  if (ACTIVE.has(job.status) && !seen) return { percent: null, text: "Processing…" };
  if (job.status === "pending_payment") return { percent: null, text: "Not started" };
  if (job.status === "queued" && !progress.done) return { percent: 0, text: "Waiting to start" };
  const percent = progress.percent != null ? progress.percent : null;
  const step = STEP_WORDS[progress.step] || progress.step;
  const counts = progress.total ? `${progress.done} / ${progress.total}` : `${progress.done}`;
  const figures = percent != null ? `${counts} · ${Math.round(percent)}%` : counts;
  const stopped = TERMINAL.has(job.status) ? "Stopped at " : "";
  return { percent, text: step && !stopped ? `${step}: ${figures}` : `${stopped}${figures}` };
}

/** A progress bar element for ``job``; ``label`` names it for screen readers. */
export function progressBar(label) {
  const fill = el("div", { class: "progress-fill" });
  const bar = el("div", { class: "progress", role: "progressbar", "aria-label": label, "aria-valuemin": 0, "aria-valuemax": 100 }, fill);
  const text = el("span", { class: "progress-text" });
  return { root: el("div", { class: "progress-wrap" }, bar, text), bar, fill, text };
}

export function updateProgressBar(parts, job, seen) {
  const view = progressView(job, seen);
  if (view.percent === null) {
    parts.bar.removeAttribute("aria-valuenow");
    parts.bar.classList.add("indeterminate");
    parts.fill.style.width = "0%";
  } else {
    const rounded = Math.round(view.percent);
    parts.bar.setAttribute("aria-valuenow", String(rounded));
    parts.bar.classList.remove("indeterminate");
    parts.fill.style.width = `${rounded}%`;
  }
  parts.bar.setAttribute("aria-valuetext", view.text);
  parts.text.textContent = view.text;
}

/** Why a job did not succeed, in words a user understands (null when there is nothing to say). */
export function plainError(job) {
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
  const provider = /The (\w+) provider is not available/.exec(error);
  if (provider) {
    return `${providerName(provider[1])} is not available right now, so the descriptions could not be written. Retry later or choose another option.`;
  }
  if (/could not be reached|unreachable|connection|timed? ?out/i.test(error)) {
    return "The website could not be reached. Check that it is online, then retry.";
  }
  return error ? `This generation failed: ${error}` : "This generation failed.";
}

/** A note when a model provider was down for some pages and the basic summary stood in. */
export function fallbackNote(job) {
  const result = job.result || {};
  if (!result.provider_fallbacks || result.provider === "extractive") return null;
  return `${providerName(result.provider)} could not be reached for ${result.provider_fallbacks} page(s); their descriptions were written by the Basic summary instead.`;
}

/** Ask before deleting: a running job is stopped, and a finished one's files go with it. */
export function confirmDelete(job) {
  const name = jobName(job);
  const question = ACTIVE.has(job.status)
    ? `Stop and delete “${name}”? Its work so far is lost.`
    : `Delete “${name}” and its files?`;
  return window.confirm(question);
}

/** An amount of money as the user reads it: "5.00 USD". */
export function formatMoney(cents, currency) {
  return `${(cents / 100).toFixed(2)} ${String(currency || "").toUpperCase()}`.trim();
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
