// What only the llms.txt kind knows, for the generic pages: a row's facts, warnings after a fallback, its
// errors in plain words, and the result panel of its detail page (the files in tabs, copy, downloads).
import { plural } from "/static/js/format.js";

const PROVIDERS = { extractive: "Basic", ollama: "Free (Ollama)", gemini: "Fast (Gemini)" };

function providerName(provider) {
  return PROVIDERS[provider] || provider || "";
}

/** "Basic · 42 pages" */
export function summary(job) {
  const result = job.result || {};
  const provider = providerName(result.provider || (job.params && job.params.provider));
  const pages = job.status === "succeeded" && result.pages != null ? plural(result.pages, "page") : null;
  return [provider, pages].filter(Boolean).join(" · ");
}

/** A model that could not be reached for some pages: the basic summary stood in for them. */
export function warnings(job) {
  const result = job.result || {};
  if (!result.provider_fallbacks || result.provider === "extractive") return [];
  return [
    `${providerName(result.provider)} could not be reached for ${plural(result.provider_fallbacks, "page")}; ` +
      "their descriptions were written by the Basic summary instead.",
  ];
}

export function explainError(job) {
  const provider = /The (\w+) provider is not available/.exec(job.error || "");
  if (job.status === "failed" && provider) {
    return `${providerName(provider[1])} is not available right now, so the descriptions could not be written. Retry later or choose another option.`;
  }
  if (job.status === "failed" && /could not be reached|unreachable|connection|timed? ?out/i.test(job.error || "")) {
    return "The website could not be reached. Check that it is online, then retry.";
  }
  return null;
}

function siteUrl(job) {
  const params = job.params || {};
  if (params.url) return params.url;
  return params.hostname ? `https://${params.hostname}` : null;
}

const $ = (id) => document.getElementById(id);
let shownFor = null; // the job id and finish time whose files are on the page
let wired = false;

/** The detail page's result panel: called by the generic page whenever the job changes. */
export async function render(root, job, { artifactUrl }) {
  if (!wired) wire();
  const names = new Set(((job.result && job.result.artifacts) || []).map((a) => a.name));
  const link = $("site-link");
  const site = siteUrl(job);
  link.hidden = !site;
  if (site) link.href = site;
  if (job.status !== "succeeded" || !names.has("llms.txt")) {
    $("llms-result").hidden = true;
    return;
  }
  const key = `${job.id}|${job.finished_at}`;
  if (shownFor === key) return;
  shownFor = key;
  const result = job.result;
  const sections = plural((result.sections || []).length, "section");
  $("result-summary").textContent =
    `${plural(result.pages, "page")} in ${sections}, described by ${providerName(result.provider)}.`;
  $("download").href = artifactUrl("llms.txt");
  for (const [id, file] of [["download-full", "llms-full.txt"], ["download-zip", "bundle.zip"]]) {
    $(id).hidden = !names.has(file);
    $(id).href = artifactUrl(file);
  }
  $("tab-full").hidden = !names.has("llms-full.txt");
  await Promise.all([
    loadText(artifactUrl("llms.txt"), "panel-llms"),
    names.has("llms-full.txt") ? loadText(artifactUrl("llms-full.txt"), "panel-full") : null,
  ]);
  $("llms-result").hidden = false;
}

async function loadText(url, panelId) {
  const response = await fetch(url, { credentials: "same-origin" });
  $(panelId).textContent = response.ok ? await response.text() : "This file is no longer available (files expire after a while).";
}

function selectTab(tab) {
  for (const other of document.querySelectorAll("#llms-result [role=tab]")) {
    const selected = other === tab;
    other.setAttribute("aria-selected", String(selected));
    other.tabIndex = selected ? 0 : -1;
    $(other.getAttribute("aria-controls")).hidden = !selected;
  }
  tab.focus();
}

function wire() {
  wired = true;
  const tabs = () => [...document.querySelectorAll("#llms-result [role=tab]")].filter((t) => !t.hidden);
  for (const tab of document.querySelectorAll("#llms-result [role=tab]")) {
    tab.addEventListener("click", () => selectTab(tab));
    tab.addEventListener("keydown", (event) => {
      if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
      const all = tabs();
      const index = (all.indexOf(tab) + (event.key === "ArrowRight" ? 1 : all.length - 1)) % all.length;
      selectTab(all[index]);
    });
  }
  $("copy").addEventListener("click", async () => {
    const panel = document.querySelector("#llms-result [role=tabpanel]:not([hidden])");
    try {
      await navigator.clipboard.writeText(panel.textContent);
      $("copy-status").textContent = "Copied.";
    } catch {
      $("copy-status").textContent = "Copying is not allowed here: select the text and copy it yourself.";
    }
  });
}
