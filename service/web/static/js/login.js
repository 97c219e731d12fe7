// The login form: POST /api/auth/login sets the session cookie; then go where the user was heading.
import { api } from "./api.js";
import { sameOriginUrl } from "./local_path.js";

const form = document.getElementById("login-form");
const error = document.getElementById("login-error");
const email = document.getElementById("email");
const password = document.getElementById("password");

function showError(text, field) {
  error.textContent = text;
  error.hidden = false;
  for (const input of [email, password]) input.removeAttribute("aria-invalid");
  if (field) {
    field.setAttribute("aria-invalid", "true");
    field.focus();
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!email.value.trim() || !email.value.includes("@")) return showError("Enter your email address.", email);
  if (!password.value) return showError("Enter your password.", password);
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  const result = await api("POST", "/api/auth/login", { email: email.value.trim(), password: password.value });
  button.disabled = false;
  if (result.ok) {
    // The server already refused anything but a local path; checked again with the browser's own parser.
    window.location.assign(sameOriginUrl(form.dataset.next, window.location.origin));
  } else if (result.status === 401) {
    showError("The email or password is wrong.", password);
  } else if (result.status === 429) {
    const wait = Number(result.data?.error?.details?.retry_after_seconds) || 60;
    showError(`Too many login attempts. Try again in ${Math.ceil(wait / 60)} minute(s).`);
  } else if (result.status === 0) {
    showError("Could not reach the server. Check your connection and try again.");
  } else {
    showError("Logging in did not work right now. Please try again.");
  }
});
