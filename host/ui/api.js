/**
 * @module ui/api
 * The dashboard's one way to the host's JSON API (README.md, "The HTTP API (v1)"): the token the
 * operator pasted, kept in this page's memory only and sent as `Authorization: Bearer`, and
 * the JSON error body turned into an `ApiError`. A refused token calls the `onUnauthorized` hook.
 */
import { clip } from './render.js';

// Memory only, never Web Storage: functions answer on this same origin, and a function's page
// (hostile code) could read sessionStorage or localStorage. A reload asks for the token again.
let token = null;
let unauthorized = () => {};

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** The token of this tab, or null. */
export const currentToken = () => token;

/** Keeps (or, with null, forgets) the token for this tab. */
export function setToken(value) {
  token = value;
}

/** Sets what happens when the host refuses the token (401). */
export function onUnauthorized(hook) {
  unauthorized = hook;
}

/** The request headers that carry the token. */
export const authHeaders = () => ({ authorization: `Bearer ${token}` });

/** Calls the management API with the token; answers the parsed JSON, or throws an ApiError. */
export async function api(method, path, { body, headers = {}, signal, quiet401 = false } = {}) {
  const res = await fetch(path, { method, body, signal, cache: 'no-store', headers: { ...authHeaders(), ...headers } });
  if (res.status === 204) return null;
  const text = await res.text();
  let data = null;
  try {
    data = JSON.parse(text);
  } catch {
    // not JSON: reported below when the status is an error
  }
  if (!res.ok) {
    if (res.status === 401 && !quiet401) unauthorized();
    throw new ApiError(res.status, data?.error?.code ?? `http_${res.status}`, data?.error?.message ?? clip(text, 200));
  }
  return data;
}

/** The management path of a function, `/v1/functions/{name}{rest}`. */
export const fnPath = (name, rest = '') => `/v1/functions/${encodeURIComponent(name)}${rest}`;

/** An error as one line for the page. */
export const describe = (err) => (err instanceof ApiError ? `${err.code}: ${err.message}` : String(err?.message ?? err));
