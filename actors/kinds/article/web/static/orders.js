// The order pages: the orders list, one order (live, step X of 5, the article, revision and submit, versions
// and diffs) and the admin review queue. Article HTML comes from the API already rendered without raw HTML
// (actors/kinds/article/render.py), so nothing in the model's text can run; everything else is text.
import { api, describeFailure } from "/static/js/api.js";
import { el, formatDateTime } from "/static/js/format.js";

const STATUS_WORDS = {
  pending_payment: "Awaiting payment",
  processing: "Writing",
  quality_check: "Ready for your review",
  admin_review: "Waiting for approval",
  completed: "Completed",
  failed: "Failed",
  cancelled: "Cancelled",
};
const TONES = {
  pending_payment: "tone-wait", processing: "tone-busy", quality_check: "tone-warn", admin_review: "tone-wait",
  completed: "tone-ok", failed: "tone-bad", cancelled: "tone-bad",
};

function badge(node, status) {
  node.textContent = STATUS_WORDS[status] || status;
  node.className = `status badge ${TONES[status] || ""}`;
}

function show(node, visible) {
  node.hidden = !visible;
}

function say(node, text) {
  node.textContent = text || "";
  show(node, Boolean(text));
}

// ---- one order -----------------------------------------------------------------------------------------

async function orderPage(root) {
  const id = root.dataset.orderId;
  let order = null;
  let shownVersion = null;

  async function load() {
    const result = await api("GET", `/api/orders/${id}`);
    if (!result.ok) {
      say(document.getElementById("order-error"), describeFailure(result, "loading the order"));
      return;
    }
    order = result.data;
    render();
  }

  function render() {
    document.getElementById("order-title").textContent =
      order.type === "backlink" ? `Backlink: ${order.anchor_text}` : order.topic;
    badge(document.getElementById("order-status"), order.status);
    document.getElementById("order-facts").textContent =
      `${order.type === "backlink" ? "Backlink" : "Article"} on ${order.domain} · link to ${order.target_url} as “${order.anchor_text}”`;
    const step = document.getElementById("order-step");
    step.textContent = order.step ? `Step ${order.step} of ${order.steps_total}: ${order.step_label}` : order.step_label;
    const bar = document.getElementById("order-progress");
    bar.setAttribute("aria-valuenow", String(order.step));
    document.getElementById("order-progress-fill").style.width = `${(100 * order.step) / order.steps_total}%`;
    show(document.getElementById("order-payment"), Boolean(order.payment_url));
    if (order.payment_url) document.getElementById("order-pay").href = order.payment_url;
    const note = document.getElementById("order-note");
    if (order.status === "failed") {
      say(note, order.refund_status ? "We could not write a text that passes our checks. Your payment is refunded." :
        "We could not write a text that passes our checks.");
    } else if (order.status === "admin_review") {
      say(note, "An editor is reviewing the version you submitted.");
    } else if (order.status === "completed") {
      say(note, "Approved: the version below is final.");
    } else {
      say(note, "");
    }
    const version = order.latest_version;
    show(document.getElementById("article-card"), Boolean(version));
    if (version && shownVersion !== version.id) {
      shownVersion = version.id;
      document.getElementById("article-version").textContent = `${version.number}: ${version.title}`;
      // Safe: the server rendered it with raw HTML escaped and unsafe link schemes dropped.
      document.getElementById("article").innerHTML = version.html;
    }
    show(document.getElementById("actions-card"), order.can_request_revision || order.can_submit);
    document.getElementById("submit-version").disabled = !order.can_submit;
    renderVersions();
  }

  function renderVersions() {
    const list = document.getElementById("versions");
    show(document.getElementById("versions-card"), order.versions.length > 0);
    list.replaceChildren(
      ...order.versions.map((v) => {
        const who = v.revision_by ? ` · revision asked by the ${v.revision_by}: “${v.revision_notes}”` : "";
        const qc = v.qc_report.passed ? "passed the checks" : "did not pass the checks";
        return el("li", { class: "version" }, `${v.title} — ${formatDateTime(v.created_at)}, ${v.qc_report.word_count} words, ${qc}${who}`);
      }),
    );
    show(document.getElementById("diff-form"), order.versions.length > 1);
    if (order.versions.length < 2) return;
    for (const [selectId, pick] of [["diff-from", order.versions.length - 2], ["diff-to", order.versions.length - 1]]) {
      const select = document.getElementById(selectId);
      const current = select.value;
      select.replaceChildren(...order.versions.map((v) => el("option", { value: String(v.number) }, String(v.number))));
      select.value = current || String(order.versions[pick].number);
    }
  }

  async function act(path, body, doing) {
    const error = document.getElementById("action-error");
    say(error, "");
    const result = await api("POST", path, body);
    if (!result.ok) {
      say(error, describeFailure(result, doing));
      return false;
    }
    order = result.data;
    render();
    return true;
  }

  document.getElementById("revision-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const notes = document.getElementById("revision-notes");
    if (await act(`/api/orders/${id}/revisions`, { notes: notes.value }, "asking for a revision")) notes.value = "";
  });
  document.getElementById("submit-version").addEventListener("click", () =>
    act(`/api/orders/${id}/submit`, { version_id: order.latest_version.id }, "submitting the version"));
  document.getElementById("diff-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const from = document.getElementById("diff-from").value;
    const to = document.getElementById("diff-to").value;
    const out = document.getElementById("diff");
    const response = await fetch(`/api/orders/${id}/diff?from=${from}&to=${to}`, { credentials: "same-origin" });
    out.textContent = response.ok ? (await response.text()) || "No changes." : "Choose two different versions.";
    show(out, true);
  });

  // Live: the order's jobs report progress and every order change on the user's event stream.
  const source = new EventSource("/api/events");
  let pending = null;
  const refresh = (event) => {
    let data = {};
    try {
      data = JSON.parse(event.data);
    } catch {
      return;
    }
    const jobIds = new Set((order ? order.jobs : []).map((j) => j.id));
    if (data.order_id !== id && !jobIds.has(data.job_id)) return;
    clearTimeout(pending);
    pending = setTimeout(load, 100);
  };
  for (const type of ["order", "progress", "status"]) source.addEventListener(type, refresh);
  window.addEventListener("pagehide", () => source.close());
  await load();
}

// ---- the orders list -------------------------------------------------------------------------------------

async function ordersList() {
  const result = await api("GET", "/api/orders?per_page=100");
  if (!result.ok) {
    say(document.getElementById("orders-error"), describeFailure(result, "loading your orders"));
    return;
  }
  const rows = result.data.items.map((order) => {
    const status = el("span", {});
    badge(status, order.status);
    const name = order.type === "backlink" ? `Backlink: ${order.anchor_text}` : order.topic;
    return el(
      "tr",
      {},
      el("td", {}, el("a", { href: `/orders/${order.id}` }, name)),
      el("td", {}, order.domain),
      el("td", {}, status),
      el("td", {}, order.step ? `Step ${order.step} of ${order.steps_total}` : order.step_label),
    );
  });
  document.getElementById("orders-rows").replaceChildren(...rows);
  show(document.getElementById("orders-table"), rows.length > 0);
  show(document.getElementById("orders-empty"), rows.length === 0);
}

// ---- the admin review queue ------------------------------------------------------------------------------

async function reviewQueue() {
  const list = document.getElementById("review-list");
  const result = await api("GET", "/api/admin/orders?status=admin_review&per_page=100");
  if (!result.ok) {
    say(document.getElementById("review-error"), describeFailure(result, "loading the review queue"));
    return;
  }
  show(document.getElementById("review-empty"), result.data.items.length === 0);
  const cards = [];
  for (const item of result.data.items) {
    const detail = await api("GET", `/api/orders/${item.id}`);
    if (!detail.ok) continue;
    const order = detail.data;
    const submitted = order.versions.find((v) => v.id === order.submitted_version_id);
    const version = submitted ? (await api("GET", `/api/orders/${order.id}/versions/${submitted.number}`)).data : null;
    const body = el("article", { class: "content article-body" });
    if (version) body.innerHTML = version.html; // rendered by the server without raw HTML
    const notesId = `notes-${order.id}`;
    const notes = el("textarea", { id: notesId, rows: "3", maxlength: "5000" });
    const error = el("p", { class: "error", role: "alert", hidden: "" });
    const decide = async (action) => {
      say(error, "");
      const response = await api("POST", `/api/admin/orders/${order.id}/${action}`, { notes: notes.value });
      if (!response.ok) {
        say(error, describeFailure(response, action === "approve" ? "approving" : "rejecting"));
        return;
      }
      card.querySelector(".decision").textContent = action === "approve" ? "Approved." : "Sent back for a revision.";
      card.querySelectorAll("button").forEach((b) => (b.disabled = true));
    };
    const approve = el("button", { type: "button", class: "primary" }, "Approve");
    const reject = el("button", { type: "button", class: "danger" }, "Reject");
    approve.addEventListener("click", () => decide("approve"));
    reject.addEventListener("click", () => decide("reject"));
    const card = el(
      "section",
      { class: "card review-item", "data-order-id": order.id },
      el("h2", {}, el("a", { href: `/orders/${order.id}` }, order.topic || order.anchor_text)),
      el("p", { class: "facts" }, `${order.domain} · version ${submitted ? submitted.number : "?"} · link to ${order.target_url}`),
      body,
      el("label", { for: notesId }, "Notes (required to reject)"),
      notes,
      el("div", { class: "buttons" }, approve, reject),
      el("p", { class: "decision notice", "aria-live": "polite" }),
      error,
    );
    cards.push(card);
  }
  list.replaceChildren(...cards);
}

const orderRoot = document.getElementById("order");
if (orderRoot) orderPage(orderRoot);
else if (document.getElementById("orders-rows")) ordersList();
else if (document.getElementById("review-list")) reviewQueue();
