// The new-generation form: hostname checked as typed -> Analyze (page count) -> provider -> Start.
import { api, apiError, describeFailure } from "./api.js";

const form = document.getElementById("new-form");
const hostname = document.getElementById("hostname");
const hostnameError = document.getElementById("hostname-error");
const analyzeButton = document.getElementById("analyze");
const analysis = document.getElementById("analysis");
const providers = document.getElementById("provider-choice");
const geminiPrice = document.getElementById("gemini-price");
const startButton = document.getElementById("start");
const startError = document.getElementById("start-error");
const startDone = document.getElementById("start-done");
const quota = document.getElementById("quota");

// host[:port] with dotted labels (or localhost), or an http(s) URL; the server does the full check.
const HOST = /^(?:https?:\/\/)?(?:localhost|\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-f:.]+\]|(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?\.)+[\p{L}\p{N}-]{2,63})(?::\d{1,5})?(?:[/?#]\S*)?$/iu;
let analyzed = null; // {typed, result, maxUrls}

// Busy buttons are aria-disabled, not disabled: a disabled button loses the keyboard focus to the page.
function setBusy(button, busy) {
  if (busy) button.setAttribute("aria-disabled", "true");
  else button.removeAttribute("aria-disabled");
}

function isBusy(button) {
  return button.getAttribute("aria-disabled") === "true";
}

function typed() {
  return hostname.value.trim();
}

function showHostnameError(text) {
  hostnameError.textContent = text || "";
  hostnameError.hidden = !text;
  if (text) hostname.setAttribute("aria-invalid", "true");
  else hostname.removeAttribute("aria-invalid");
}

function hostnameProblem(value) {
  if (!value) return "Enter a website address, such as example.com.";
  if (/\s/.test(value)) return "A website address has no spaces.";
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value) && !/^https?:\/\//i.test(value)) {
    return "Only http:// and https:// addresses can be used.";
  }
  if (!HOST.test(value)) return `“${value}” is not a website address. Try something like example.com.`;
  return null;
}

function resetAnalysis() {
  analyzed = null;
  analysis.hidden = true;
  providers.hidden = true;
  startButton.hidden = true;
  geminiPrice.hidden = true;
  startError.hidden = true;
}

hostname.addEventListener("input", () => {
  resetAnalysis();
  startDone.hidden = true;
  const value = typed();
  // Judge as typed, but do not scold an address that is still being written.
  showHostnameError(value && value.includes(".") ? hostnameProblem(value) : null);
});

function analysisWords(result, maxUrls) {
  const count = result.urls_count.toLocaleString();
  const pages = result.urls_count === 1 ? "page" : "pages";
  const where = result.sitemaps.length ? "in its sitemap" : "by following links";
  let words = result.is_complete
    ? `${result.hostname}: ${count} ${pages} found ${where} (complete count).`
    : `${result.hostname}: at least ${count} ${pages} found ${where}; counting stopped before the end.`;
  if (result.urls_count > maxUrls) words += ` The first ${maxUrls.toLocaleString()} will be processed.`;
  if (result.disallowed_count) words += ` ${result.disallowed_count} are closed to crawlers by robots.txt.`;
  return words;
}

async function analyze() {
  const value = typed();
  const problem = hostnameProblem(value);
  showHostnameError(problem);
  if (problem) return hostname.focus();
  if (isBusy(analyzeButton)) return;
  setBusy(analyzeButton, true);
  analyzeButton.textContent = "Analyzing…";
  analysis.hidden = false;
  analysis.textContent = `Looking at ${value}…`;
  const result = await api("GET", `/api/sites/analyze?hostname=${encodeURIComponent(value)}`);
  setBusy(analyzeButton, false);
  analyzeButton.textContent = "Analyze";
  if (value !== typed()) return; // typed on while waiting: that answer is for another address
  if (!result.ok) {
    analysis.hidden = true;
    return showHostnameError(analyzeFailure(result, value));
  }
  const maxUrls = Math.max(1, Math.min(result.data.urls_count, result.data.max_urls || 5000));
  analyzed = { typed: value, result: result.data, maxUrls };
  analysis.textContent = analysisWords(result.data, maxUrls);
  providers.hidden = false;
  startButton.hidden = false;
  showPrice(value, maxUrls);
}

function analyzeFailure(result, value) {
  const { code, message } = apiError(result);
  if (code === "invalid_hostname") return `“${value}” is not a website address we can use: ${message}`;
  if (code === "site_unreachable") return `${value} could not be reached. Check the address and that the site is online.`;
  if (code === "address_not_allowed") return `${value} is not a public website, so it cannot be crawled.`;
  return describeFailure(result, "analyzing the site");
}

async function showPrice(value, maxUrls) {
  // A priced option shows its price; a free one asks nothing (its quote would be a 404).
  if (form.dataset.geminiPaid !== "true") return;
  const params = new URLSearchParams({ kind: "llms_txt", hostname: value, provider: "gemini", max_urls: String(maxUrls) });
  const result = await api("GET", `/api/quote?${params}`);
  if (!analyzed || analyzed.typed !== value) return;
  if (result.ok && result.data && result.data.display) {
    geminiPrice.textContent = `— ${result.data.display}`;
    geminiPrice.hidden = false;
  } else {
    geminiPrice.hidden = true;
  }
}

async function start() {
  if (!analyzed || analyzed.typed !== typed()) return analyze();
  startError.hidden = true;
  startDone.hidden = true;
  const provider = form.querySelector("input[name=provider]:checked").value;
  const target = analyzed.typed.includes("://") ? { url: analyzed.typed } : { hostname: analyzed.typed };
  if (isBusy(startButton)) return;
  setBusy(startButton, true);
  const result = await api("POST", "/api/jobs", {
    kind: "llms_txt",
    params: { ...target, provider, max_urls: analyzed.maxUrls },
  });
  setBusy(startButton, false);
  if (!result.ok) {
    startError.textContent = describeFailure(result, "starting the generation");
    startError.hidden = false;
    return;
  }
  if (result.data.payment_url) {
    window.location.assign(result.data.payment_url);
    return;
  }
  startDone.textContent = `Started the generation for ${analyzed.result.hostname}.`;
  startDone.hidden = false;
  document.dispatchEvent(new CustomEvent("genjobs:created", { detail: result.data }));
  loadQuota();
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  analyze();
});
startButton.addEventListener("click", start);

async function loadQuota() {
  const result = await api("GET", "/api/quota");
  if (!result.ok) return;
  quota.textContent = result.data.message;
  quota.classList.toggle("error", !result.data.can_generate);
}

loadQuota();
