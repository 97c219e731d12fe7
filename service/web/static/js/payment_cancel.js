// Back from the payment page without paying: cancel the job, or go back and pay.
import { api, describeFailure } from "./api.js";
import { jobName, statusWords } from "./jobs.js";

const job = JSON.parse(document.getElementById("job-data").textContent);
const text = document.getElementById("cancel-text");
const cancelButton = document.getElementById("cancel-job");
const payAgain = document.getElementById("pay-again");
const detail = `/generations/${job.id}`;

if (job.status === "pending_payment") {
  text.textContent = `The generation for ${jobName(job)} waits for its payment. Cancel it, or go back and pay.`;
  payAgain.href = job.payment && job.payment.url ? job.payment.url : detail;
} else {
  // Paid after all (or already over): nothing to cancel here.
  text.textContent = `The generation for ${jobName(job)} is ${statusWords(job.status).toLowerCase()}.`;
  cancelButton.hidden = true;
  payAgain.textContent = "See the generation";
  payAgain.href = detail;
}

cancelButton.addEventListener("click", async () => {
  cancelButton.disabled = true;
  const result = await api("DELETE", `/api/jobs/${job.id}`);
  if (result.ok || result.status === 404) {
    window.location.assign("/");
    return;
  }
  cancelButton.disabled = false;
  const error = document.getElementById("cancel-error");
  error.textContent = describeFailure(result, "cancelling it");
  error.hidden = false;
});
