// The user's monthly quota under the "new job" forms; read again after each start.
import { api } from "./api.js";

const quota = document.getElementById("quota");

async function loadQuota() {
  const result = await api("GET", "/api/quota");
  if (!result.ok) return;
  quota.textContent = result.data.message;
  quota.classList.toggle("error", !result.data.can_generate);
}

document.addEventListener("genjobs:created", loadQuota);
loadQuota();
