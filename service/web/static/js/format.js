// Words, numbers and times as a person reads them; elements built in one line. Shared by every page and by
// the kinds' own scripts (they import it as /static/js/format.js).

const rules = new Intl.PluralRules("en");
const numbers = new Intl.NumberFormat("en");
const relative = new Intl.RelativeTimeFormat("en", { numeric: "auto" });

/** "1 page", "2 pages", "1,168 pages": ``forms`` is ``{one, other}`` or a singular word (+ "s"). */
export function plural(count, forms) {
  const { one, other } = typeof forms === "string" ? { one: forms, other: `${forms}s` } : forms;
  return `${numbers.format(count)} ${rules.select(count) === "one" ? one : other}`;
}

export function formatNumber(value) {
  return numbers.format(value);
}

/** At most ``max`` characters of a text a user typed (an ellipsis marks the cut). */
export function shorten(text, max = 80) {
  const value = String(text ?? "");
  return value.length > max ? `${value.slice(0, max - 1)}…` : value;
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

/** "just now", "2 minutes ago", "yesterday". */
export function relativeTime(iso, now = Date.now()) {
  const seconds = (Date.parse(iso) - now) / 1000;
  const abs = Math.abs(seconds);
  if (abs < 45) return "just now";
  const units = [["minute", 60], ["hour", 3600], ["day", 86400], ["week", 604800], ["month", 2629800], ["year", 31557600]];
  let [unit, size] = units[0];
  for (const [u, s] of units) if (abs >= s) [unit, size] = [u, s];
  return relative.format(Math.round(seconds / size), unit);
}

/** A <time> showing the relative time, with the exact date and time on hover (kept fresh by ``tickTimes``). */
export function timeElement(iso) {
  return el("time", { datetime: iso, title: formatDateTime(iso), class: "relative" }, relativeTime(iso));
}

export function tickTimes(root = document) {
  for (const node of root.querySelectorAll("time.relative")) node.textContent = relativeTime(node.dateTime);
}

/** "8 s", "2 min 5 s", "1 h 4 min". */
export function formatDuration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** An amount of money as the user reads it: "5.00 USD". */
export function formatMoney(cents, currency) {
  return `${(cents / 100).toFixed(2)} ${String(currency || "").toUpperCase()}`.trim();
}
