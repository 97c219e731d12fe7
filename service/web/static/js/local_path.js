// Where the login page may send the browser: a URL on this origin, as the browser itself parses it.

/**
 * The absolute URL of ``target`` if it is a path on ``origin``, else ``origin + "/"``.
 * The browser's URL parser drops tabs and newlines and reads "\" as "/", so "/\t/evil.example" is another host:
 * checking the parsed origin (not the string) is what keeps the redirect on this site.
 * @param {string | undefined} target
 * @param {string} origin e.g. window.location.origin
 * @returns {string}
 */
export function sameOriginUrl(target, origin) {
  const home = new URL("/", origin).href;
  if (typeof target !== "string" || !target.startsWith("/")) return home;
  let url;
  try {
    url = new URL(target, origin);
  } catch {
    return home;
  }
  return url.origin === new URL(origin).origin ? url.href : home;
}
