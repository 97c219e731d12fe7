// The website kind's part of the detail page: the generator builds the site (5 to 20 minutes); its link
// once done, the generator's own progress page meanwhile.
const ACTIVE = new Set(["pending_payment", "queued", "running", "retrying"]);
const $ = (id) => document.getElementById(id);

export function render(root, job) {
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
