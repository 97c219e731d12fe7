// Calls to the JSON API with the session cookie, and the words shown to users when one fails.
import { shorten } from "./format.js";

/**
 * Call the API. Never throws: a network failure comes back as status 0.
 * @returns {Promise<{ok: boolean, status: number, data: any}>}
 */
export async function api(method, url, body) {
  const init = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch {
    return { ok: false, status: 0, data: null };
  }
  let data = null;
  if (response.status !== 204) {
    try {
      data = await response.json();
    } catch {
      data = null;
    }
  }
  if (response.status === 401 && !url.startsWith("/api/auth/")) {
    // The session ended (logged out elsewhere, expired): log in again and come back here.
    window.location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
  }
  return { ok: response.ok, status: response.status, data };
}

/** The API's error body ``{"error": {"code", "message", "details"}}``, or an empty one. */
export function apiError(result) {
  const error = (result.data && result.data.error) || {};
  return { code: error.code || "", message: error.message || "", details: error.details || null };
}

/** A date as the user reads it: "1 December 2026". */
export function longDate(iso) {
  return new Date(iso).toLocaleDateString(undefined, { year: "numeric", month: "long", day: "numeric", timeZone: "UTC" });
}

/** A sentence for a failed call, in the user's words; ``subject`` names what was being done. */
export function describeFailure(result, subject) {
  const { code, message, details } = apiError(result);
  if (result.status === 0) {
    return `Could not reach the server while ${subject}. Check your connection and try again.`;
  }
  if (code === "quota_exhausted" || result.status === 429) {
    const limit = details && details.limit != null ? `all ${details.limit} generations` : "all your generations";
    const reset = details && details.resets_at ? ` Your quota resets on ${longDate(details.resets_at)}.` : "";
    return `You have used ${limit} for this month.${reset}`;
  }
  if (code === "option_unavailable") {
    return "The option you chose is not available right now, so nothing was started and nothing was charged. Choose another one.";
  }
  if (result.status === 503) {
    return `The service is temporarily unavailable, so nothing was started. Please try again in a minute.`;
  }
  if (result.status >= 500) {
    return `Something went wrong on our side while ${subject}. Please try again.`;
  }
  // The server may quote what was sent: a long input must not flood the page.
  return message ? shorten(message, 300) : `That did not work (error ${result.status}).`;
}
