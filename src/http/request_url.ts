/**
 * @module
 * The parts of a request URL that hot paths need, without parsing the whole URL (`new URL` costs
 * about twice as much on Deno). A request URL is absolute, has no fragment, and its path cannot
 * hold a raw `?`. Paths come back as sent (no dot segments resolved, no percent-decoding): where
 * that matters, parse the URL.
 */

/** The path of a request URL. */
export function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  const query = url.indexOf("?", start);
  return query < 0 ? url.slice(start) : url.slice(start, query);
}

/** The query parameters of a request URL (a fresh object: the caller may change it). */
export function queryOf(url: string): URLSearchParams {
  const start = url.indexOf("?");
  return new URLSearchParams(start < 0 ? "" : url.slice(start + 1));
}
