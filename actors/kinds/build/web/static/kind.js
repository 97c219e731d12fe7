// The build kind's part of the job page: the steps, the live log (following its tail unless paused), the
// preview link and the preview itself. The log has its own event stream: the page's stream carries no lines.
const $ = (id) => document.getElementById(id);
const STEPS = [
  ["extract", "Extract"],
  ["install", "Install dependencies"],
  ["typecheck", "Type check"],
  ["build", "Build"],
  ["publish", "Publish"],
];
const ACTIVE = new Set(["queued", "running", "retrying"]);
const MAX_LINES = 2000;
let following = null;
let paused = false;
let pending = [];

export function summary(job) {
  const result = job.result || {};
  const parts = [];
  if (job.params && job.params.site) parts.push(job.params.site);
  if (result.cached) parts.push("from cache");
  else if (result.project) parts.push(result.project);
  return parts.join(" · ");
}

export function explainError(job) {
  return job.error ? `The build failed: ${job.error}` : "";
}

function append(lines) {
  if (paused) {
    pending.push(...lines);
    return;
  }
  const log = $("build-log");
  log.textContent += lines.map((l) => l + "\n").join("");
  const all = log.textContent.split("\n");
  if (all.length > MAX_LINES) log.textContent = all.slice(-MAX_LINES).join("\n");
  log.scrollTop = log.scrollHeight;
}

async function savedTail(job) {
  try {
    const response = await fetch(`/api/jobs/${job.id}/logs`, { credentials: "same-origin" });
    if (response.ok) return (await response.json()).lines;
  } catch {
    // The live lines still come.
  }
  return [];
}

async function startLog(job) {
  if (following) return;
  following = { id: job.id };
  if (!ACTIVE.has(job.status)) {
    append(await savedTail(job));
    return;
  }
  // From the start of the job's event stream: every line published before this page connected comes again
  // (the saved tail lags up to 2 s behind, a stream opened now would start after it). A stream that no longer
  // holds its start (a long log) begins with a snapshot instead; the saved tail goes first then, and the
  // lines arriving meanwhile wait for it.
  let held = null;
  const source = new EventSource(`/api/jobs/${job.id}/events?last_event_id=0-1`);
  following.source = source;
  source.addEventListener("snapshot", async () => {
    held = [];
    const tail = await savedTail(job);
    const later = held;
    held = null;
    append(tail);
    append(later);
  });
  source.addEventListener("log", (event) => {
    const lines = JSON.parse(event.data).lines || [];
    if (held) held.push(...lines);
    else append(lines);
  });
  source.addEventListener("status", (event) => {
    const status = JSON.parse(event.data).status;
    if (!ACTIVE.has(status)) source.close();
  });
  window.addEventListener("pagehide", () => source.close());
}

function renderSteps(job) {
  const list = $("build-steps");
  const current = (job.progress && job.progress.step) || "";
  const index = STEPS.findIndex(([step]) => step === current);
  list.replaceChildren(
    ...STEPS.map(([step, label], i) => {
      const item = document.createElement("li");
      let state = "todo";
      if (job.status === "succeeded" || (index >= 0 && i < index)) state = "done";
      else if (i === index) state = ACTIVE.has(job.status) ? "current" : "failed";
      item.dataset.state = state;
      item.dataset.step = step;
      item.textContent = label;
      if (state === "current") item.setAttribute("aria-current", "step");
      return item;
    }),
  );
}

export function render(root, job) {
  const result = job.result || {};
  renderSteps(job);
  startLog(job);
  const pause = $("build-log-pause");
  if (!pause.dataset.bound) {
    pause.dataset.bound = "1";
    pause.addEventListener("click", () => {
      paused = !paused;
      pause.setAttribute("aria-pressed", String(paused));
      pause.textContent = paused ? "Follow the log" : "Pause the log";
      if (!paused) {
        const lines = pending;
        pending = [];
        append(lines);
      }
    });
  }
  const link = $("build-preview-link");
  const frame = $("build-preview");
  const ready = job.status === "succeeded" && result.preview_url;
  link.hidden = !ready;
  frame.hidden = !ready;
  if (ready) {
    // On this service, the path: the same preview whatever address the service is reached by.
    const url = result.preview_path || result.preview_url;
    link.href = url;
    if (frame.getAttribute("src") !== url) frame.setAttribute("src", url);
  }
  let text = "";
  if (job.status === "succeeded") text = result.cached ? "Built before from identical files: here is that build." : "Built and published.";
  else if (job.status === "queued") text = "Waiting for a worker.";
  $("build-text").textContent = text;
}
