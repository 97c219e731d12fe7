// The settings page: the default notification channel (GET/PUT /api/me/notifications), the webhook signing
// secret (POST /api/me/notifications/webhook-secret) and the user's API keys (/api/keys).
import { api, apiError, describeFailure } from "./api.js";
import { el, formatDateTime } from "./jobs.js";

const $ = (id) => document.getElementById(id);

const ADDRESSES = {
  email: { label: "Email address", hint: "Such as name@example.com.", type: "email" },
  webhook: { label: "Webhook URL", hint: "An https:// address that accepts a JSON POST.", type: "url" },
  ultramsg: { label: "Phone number", hint: "In international form, such as +14155552671.", type: "tel" },
  whatsapp: { label: "Phone number", hint: "In international form, such as +14155552671.", type: "tel" },
};

let secretSet = false;

function showError(id, text) {
  $(id).textContent = text || "";
  $(id).hidden = !text;
}

function showAddressField() {
  const address = ADDRESSES[$("channel").value];
  $("address-field").hidden = !address;
  if (!address) return;
  $("address-label").textContent = address.label;
  $("address-hint").textContent = address.hint;
  $("address").type = address.type;
}

function showSecretState(createdAt) {
  $("secret-state").textContent = secretSet
    ? `A signing secret is set (made ${formatDateTime(createdAt)}). Making a new one stops the old one at once.`
    : "No signing secret yet: one is made when you choose the webhook channel, or with the button below.";
}

function showSecret(secret) {
  $("secret-status").textContent = "";
  $("secret-value").value = secret;
  $("secret-shown").hidden = false;
}

function renderNotify(data) {
  $("channel").value = data.channel || "";
  $("address").value = data.to || "";
  secretSet = data.webhook_secret_set;
  showAddressField();
  showSecretState(data.webhook_secret_created_at);
  if (data.webhook_secret) showSecret(data.webhook_secret);
}

async function loadNotify() {
  const result = await api("GET", "/api/me/notifications");
  if (!result.ok) return showError("notify-error", describeFailure(result, "loading your settings"));
  renderNotify(result.data);
}

$("channel").addEventListener("change", () => {
  showAddressField();
  $("notify-saved").textContent = "";
  $("address").removeAttribute("aria-invalid");
  showError("notify-error", null);
});

$("notify-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const channel = $("channel").value || null;
  const to = channel ? $("address").value.trim() : null;
  $("notify-saved").textContent = "";
  $("address").removeAttribute("aria-invalid");
  if (channel && !to) {
    $("address").setAttribute("aria-invalid", "true");
    $("address").focus();
    return showError("notify-error", `Enter the ${ADDRESSES[channel].label.toLowerCase()} to notify.`);
  }
  $("save-notify").disabled = true;
  const result = await api("PUT", "/api/me/notifications", { channel, to });
  $("save-notify").disabled = false;
  if (!result.ok) {
    const { details, message } = apiError(result);
    const field = Array.isArray(details) && details[0] ? details[0] : null;
    if (field && field.field === "to") $("address").setAttribute("aria-invalid", "true");
    return showError("notify-error", field ? `That address cannot be used: ${field.message}.` : message || describeFailure(result, "saving"));
  }
  showError("notify-error", null);
  renderNotify(result.data);
  $("notify-saved").textContent = channel ? "Saved." : "Saved: notifications are off.";
});

$("rotate-secret").addEventListener("click", async () => {
  if (secretSet && !window.confirm("Make a new webhook secret? The current one stops working at once.")) return;
  $("rotate-secret").disabled = true;
  const result = await api("POST", "/api/me/notifications/webhook-secret");
  $("rotate-secret").disabled = false;
  if (!result.ok) return showError("secret-error", describeFailure(result, "making a new secret"));
  showError("secret-error", null);
  secretSet = true;
  showSecret(result.data.webhook_secret);
  showSecretState(result.data.created_at);
});

async function copyFrom(inputId, statusId) {
  try {
    await navigator.clipboard.writeText($(inputId).value);
    $(statusId).textContent = "Copied.";
  } catch {
    $(inputId).select();
    $(statusId).textContent = "Copying is not allowed here: the text is selected, copy it yourself.";
  }
}

$("copy-secret").addEventListener("click", () => copyFrom("secret-value", "secret-status"));
$("copy-key").addEventListener("click", () => copyFrom("key-value", "keys-status"));

function keyRow(key) {
  const revoke = key.revoked_at
    ? null
    : el("button", { type: "button", class: "danger small", "aria-label": `Revoke ${key.name}` }, "Revoke");
  if (revoke) revoke.addEventListener("click", () => revokeKey(key, revoke));
  return el(
    "tr",
    { "data-key-id": key.id },
    el("td", { "data-label": "Name" }, key.name),
    el("td", { "data-label": "Starts with" }, el("code", {}, `${key.prefix}…`)),
    el("td", { "data-label": "Created" }, formatDateTime(key.created_at)),
    el("td", { "data-label": "Status" }, key.revoked_at ? `Revoked ${formatDateTime(key.revoked_at)}` : "Active"),
    el("td", { class: "actions" }, revoke),
  );
}

async function loadKeys() {
  const result = await api("GET", "/api/keys");
  if (!result.ok) return showError("keys-error", describeFailure(result, "loading your API keys"));
  $("keys").replaceChildren(...result.data.map(keyRow));
}

async function revokeKey(key, button) {
  if (!window.confirm(`Revoke the API key “${key.name}”? Programs using it stop working at once.`)) return;
  button.disabled = true;
  const result = await api("DELETE", `/api/keys/${key.id}`);
  if (!result.ok && result.status !== 404) {
    button.disabled = false;
    return showError("keys-error", describeFailure(result, "revoking the key"));
  }
  showError("keys-error", null);
  $("keys-status").textContent = `Revoked “${key.name}”.`;
  await loadKeys();
}

$("key-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = $("key-name").value.trim() || "default";
  $("create-key").disabled = true;
  const result = await api("POST", "/api/keys", { name });
  $("create-key").disabled = false;
  if (!result.ok) return showError("keys-error", describeFailure(result, "creating a key"));
  showError("keys-error", null);
  $("key-value").value = result.data.key;
  $("key-shown").hidden = false;
  $("key-name").value = "";
  $("keys-status").textContent = `Created “${name}”.`;
  await loadKeys();
});

loadNotify();
loadKeys();
