// One progress bar per job, across all its steps, that only moves forward.
//
// A kind reports progress per step ("fetch 887/1169", then "describe 0/1168"); its web spec declares the
// steps in order with a weight each, so the bar shows the whole job: the steps before fill their share, the
// current one its fraction. The step's name is the text beside the bar. A bar never goes back while the job
// runs (only a new attempt starts it again), and a step that reports nothing for a while shows how long it
// has been at it, so a quiet moment never looks like a stalled page.
import { el, formatDuration, formatNumber } from "./format.js";

const ACTIVE = new Set(["pending_payment", "queued", "running", "retrying"]);
const QUIET_MS = 3000;

/** The step's words: the kind's label for it, else the step's name in words. */
export function stepLabel(step, kind) {
  const phase = ((kind && kind.phases) || []).find(([name]) => name === step);
  if (phase) return phase[1];
  return step ? step.charAt(0).toUpperCase() + step.slice(1).replaceAll("_", " ") : "Working";
}

/** The whole job's percent (0-100) from its current step, or null when nothing can be said. */
export function overallPercent(job, kind) {
  if (job.status === "succeeded") return 100;
  const p = job.progress || {};
  const fraction = p.total ? Math.min(1, (p.done || 0) / p.total) : null;
  const phases = (kind && kind.phases) || [];
  const index = phases.findIndex(([name]) => name === p.step);
  if (index < 0) return p.percent != null ? p.percent : fraction != null ? 100 * fraction : null;
  const weight = (list) => list.reduce((sum, [, , w]) => sum + w, 0);
  const total = weight(phases) || 1;
  return (100 * (weight(phases.slice(0, index)) + phases[index][2] * (fraction ?? 0))) / total;
}

export class ProgressBar {
  /** @param {string} label names the bar for screen readers */
  constructor(label) {
    this.fill = el("div", { class: "progress-fill" });
    this.bar = el("div", { class: "progress", role: "progressbar", "aria-label": label, "aria-valuemin": 0, "aria-valuemax": 100 }, this.fill);
    this.text = el("span", { class: "progress-text" });
    this.root = el("div", { class: "progress-wrap" }, this.bar, this.text);
    this.shown = 0;
    this.mark = null; // what last changed: step and count
    this.changedAt = Date.now();
    this.job = null;
    this.kind = null;
  }

  /** ``seen``: an event (or the snapshot) arrived on this page; until then an active job's figures may be
   * stale, so none are shown. */
  update(job, kind, seen = true) {
    this.job = job;
    this.kind = kind;
    this.seen = seen;
    const p = job.progress || {};
    const mark = `${job.status}|${p.step}|${p.done}`;
    if (mark !== this.mark) {
      // Nothing reported yet: it has been quiet since the job started (or was created), not since this page opened.
      const since = this.mark === null && !p.done && !p.step ? Date.parse(job.started_at || job.created_at || "") : NaN;
      this.mark = mark;
      this.changedAt = Number.isNaN(since) ? Date.now() : Math.min(Date.now(), since);
    }
    // A new attempt starts from the beginning; within one the bar only moves forward.
    const percent = overallPercent(job, kind);
    if (job.status === "queued" || job.status === "retrying") this.shown = 0;
    else if (percent != null) this.shown = Math.max(this.shown, Math.min(100, percent));
    this.draw();
  }

  /** Called every second: the quiet time and the estimate move on. */
  tick() {
    if (this.job && ACTIVE.has(this.job.status)) this.draw();
  }

  draw() {
    const job = this.job;
    const stale = ACTIVE.has(job.status) && !this.seen;
    const known = !stale && (job.status === "running" || job.status === "succeeded" || this.shown > 0);
    const indeterminate = stale || (job.status === "running" && overallPercent(job, this.kind) == null && this.shown === 0);
    this.bar.classList.toggle("indeterminate", indeterminate);
    if (known && !indeterminate) this.bar.setAttribute("aria-valuenow", String(Math.round(this.shown)));
    else this.bar.removeAttribute("aria-valuenow");
    this.fill.style.width = indeterminate ? "0%" : `${this.shown}%`;
    const words = this.words();
    this.bar.setAttribute("aria-valuetext", words);
    this.text.textContent = words;
    this.root.dataset.percent = String(Math.round(this.shown * 10) / 10);
  }

  words() {
    const job = this.job;
    const p = job.progress || {};
    const quiet = Date.now() - this.changedAt;
    const waited = quiet >= QUIET_MS ? ` · ${formatDuration(quiet / 1000)}` : "";
    if (job.status === "succeeded") return "Complete";
    if (ACTIVE.has(job.status) && !this.seen) return "Processing…";
    if (job.status === "pending_payment") return "Starts once paid";
    if (job.status === "queued") return `Waiting for a free worker…${waited}`;
    if (job.status === "retrying") return `Trying again shortly…${waited}`;
    const percent = `${Math.round(this.shown)}%`;
    if (!ACTIVE.has(job.status)) return this.shown > 0 ? `Stopped at ${percent}` : "Stopped";
    const step = stepLabel(p.step, this.kind);
    const counts = p.total ? `${formatNumber(p.done || 0)} / ${formatNumber(p.total)}` : p.done ? formatNumber(p.done) : "";
    let text = counts ? `${step}: ${counts}` : `${step}…`;
    if (this.shown > 0) text += ` · ${percent}`;
    return text + (waited || this.eta());
  }

  /** "about 3 min left", once enough of the job is done to tell. */
  eta() {
    const started = Date.parse(this.job.started_at || "");
    if (!started || this.shown < 5 || this.shown >= 100) return "";
    const elapsed = (Date.now() - started) / 1000;
    if (elapsed < 10) return "";
    const left = (elapsed * (100 - this.shown)) / this.shown;
    return left >= 5 ? ` · about ${formatDuration(left < 60 ? Math.ceil(left / 5) * 5 : left).replace(/ \d+ s$/, "")} left` : "";
  }
}
