// After paying: wait until the job leaves pending_payment (the webhook confirmed it), then show the job.
// The stream's first event is a snapshot, so a confirmation that came before this page loaded counts too.
import { LiveEvents } from "./live.js";

const box = document.getElementById("payment-success");
const jobId = box.dataset.jobId;
const SLOW_AFTER_MS = 30000;

const live = new LiveEvents(`/api/jobs/${jobId}/events`, (type, data) => {
  if (type === "deleted") {
    live.close();
    window.location.assign("/");
  } else if ((type === "snapshot" || type === "status") && data.status && data.status !== "pending_payment") {
    live.close();
    window.location.assign(`/generations/${jobId}`);
  }
});

setTimeout(() => {
  document.getElementById("payment-slow").hidden = false;
}, SLOW_AFTER_MS);
