// The llms.txt form: hostname checked as typed -> Analyze (page count, and which providers work here) ->
// provider (only those that work can be chosen; the others say why) -> Start, which resets the form.
import { api, apiError, describeFailure } from "/static/js/api.js";
import { el, plural, shorten } from "/static/js/format.js";

const form = document.getElementById("new-form");
const hostname = document.getElementById("hostname");
const hostnameError = document.getElementById("hostname-error");
const analyzeButton = document.getElementById("analyze");
const analysis = document.getElementById("analysis");
const providers = document.getElementById("provider-choice");
const providerOptions = document.getElementById("provider-options");
const startButton = document.getElementById("start");
const startError = document.getElementById("start-error");
const startDone = document.getElementById("start-done");

// host[:port] with dotted labels (or localhost), or an http(s) URL; the server does the full check.
const HOST = /^(?:https?:\/\/)?(?:localhost|\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-f:.]+\]|(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?\.)+[\p{L}\p{N}-]{2,63})(?::\d{1,5})?(?:[/?#]\S*)?$/iu;
let analyzed = null; // {typed, result, maxUrls, options}

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
  if (!HOST.test(value)) return `“${shorten(value)}” is not a website address. Try something like example.com.`;
  return null;
}

function resetAnalysis() {
  analyzed = null;
  analysis.hidden = true;
  providers.hidden = true;
  startButton.hidden = true;
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
  const pages = plural(result.urls_count, "page");
  const where = result.sitemaps.length ? "in its sitemap" : "by following links";
  let words = result.is_complete
    ? `${result.hostname}: ${pages} found ${where} (complete count).`
    : `${result.hostname}: at least ${pages} found ${where}; counting stopped before the end.`;
  if (result.urls_count > maxUrls) words += ` The first ${maxUrls.toLocaleString("en")} will be processed.`;
  if (result.disallowed_count) {
    const closed = result.disallowed_count === 1 ? "is" : "are";
    words += ` ${plural(result.disallowed_count, "page")} ${closed} closed to crawlers by robots.txt.`;
  }
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
  analysis.textContent = `Looking at ${shorten(value)}…`;
  const [result, options] = await Promise.all([
    api("GET", `/api/sites/analyze?hostname=${encodeURIComponent(value)}`),
    api("GET", "/api/sites/providers"),
  ]);
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
  renderProviders(options.ok ? options.data : { options: [], default: "extractive" });
  providers.hidden = false;
  startButton.hidden = false;
}

const BASIC = { value: "extractive", label: "Basic", description: "Each page's own summary, no AI; instant.", available: true };

// Each provider as a radio button: the ones this server cannot serve now are disabled, with the reason.
function renderProviders(data) {
  const options = data.options.length ? data.options : [BASIC];
  providerOptions.replaceChildren(
    ...options.map((option) => {
      const id = `provider-${option.value}`;
      const input = el("input", {
        type: "radio", name: "provider", id, value: option.value, disabled: !option.available,
        checked: option.value === data.default, "aria-describedby": `${id}-note`,
      });
      const note = el("span", { class: "choice-note", id: `${id}-note` }, option.available ? option.description : `Unavailable: ${option.reason}`);
      const price = el("span", { class: "price", id: `${id}-price`, hidden: true });
      const label = el("label", { class: option.available ? "choice" : "choice unavailable", for: id }, input, " ", el("span", { class: "choice-name" }, option.label), price, note);
      if (option.available && option.paid) showPrice(option.value, price);
      return label;
    }),
  );
}

function analyzeFailure(result, value) {
  const { code, message } = apiError(result);
  const shown = shorten(value);
  if (code === "invalid_hostname") return `“${shown}” is not a website address we can use: ${shorten(message, 200)}`;
  if (code === "site_unreachable") return `${shown} could not be reached. Check the address and that the site is online.`;
  if (code === "address_not_allowed") return `${shown} is not a public website, so it cannot be crawled.`;
  return describeFailure(result, "analyzing the site");
}

async function showPrice(provider, node) {
  // A priced option shows its price for this site (a free one asks nothing: its quote would be a 404).
  const { typed: value, maxUrls } = analyzed;
  const params = new URLSearchParams({ kind: "llms_txt", hostname: value, provider, max_urls: String(maxUrls) });
  const result = await api("GET", `/api/quote?${params}`);
  if (!analyzed || analyzed.typed !== value) return;
  if (result.ok && result.data && result.data.display) {
    node.textContent = `— ${result.data.display}`;
    node.hidden = false;
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
  // The form is ready for the next site: pressing Start again cannot quietly start the same job twice.
  const host = analyzed.result.hostname;
  form.reset();
  resetAnalysis();
  showHostnameError(null);
  hostname.focus();
  startDone.textContent = `Started the generation for ${host}. It is at the top of your list.`;
  startDone.hidden = false;
  document.dispatchEvent(new CustomEvent("genjobs:created", { detail: result.data }));
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  analyze();
});
startButton.addEventListener("click", start);
