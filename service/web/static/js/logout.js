// The header's "Log out" button: end the session, then show the login page.
import { api } from "./api.js";

const button = document.getElementById("logout");
if (button) {
  button.addEventListener("click", async () => {
    button.disabled = true;
    await api("POST", "/api/auth/logout");
    window.location.assign("/login");
  });
}
