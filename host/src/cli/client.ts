/**
 * @module cli/client
 * The CLI's HTTP client for a running host: where it is, the token, and error reporting.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultDataDir } from '../config.js';
import { CliError, UnreachableError } from './exit.js';

// Commands import the error from here too (it used to live here).
export { CliError };

export interface ClientOptions {
  url?: string;
  token?: string;
  dataDir?: string;
}

/** Adds the options every client command shares. */
export const CLIENT_OPTION_HELP = {
  url: 'host URL (default $WAFER_URL or http://127.0.0.1:8080)',
  token: 'bearer token (default $WAFER_TOKEN, else <data-dir>/token)',
  dataDir: 'data directory to read the token from (default $WAFER_DATA_DIR or ~/.local/share/wafer)',
};

export interface RequestOptions {
  /** A Blob, bytes, or a stream (give its content-length in `headers` so the host can refuse it early). */
  body?: Uint8Array | Blob | ReadableStream<Uint8Array>;
  headers?: Record<string, string>;
  /** false: send no token (a function call). */
  auth?: boolean;
  signal?: AbortSignal;
}

export class Client {
  readonly url: string;
  private readonly token: string | undefined;

  constructor(options: ClientOptions, env: NodeJS.ProcessEnv = process.env) {
    this.url = (options.url ?? env.WAFER_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
    this.token = options.token || env.WAFER_TOKEN || readToken(options.dataDir ?? defaultDataDir(env));
  }

  /** Calls the host; a non-2xx answer with wafer's JSON error body becomes a `CliError`. */
  async request(method: string, path: string, init: RequestOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { ...init.headers };
    if (init.auth !== false && this.token) headers.authorization = `Bearer ${this.token}`;
    let response: Response;
    try {
      response = await fetch(`${this.url}${path}`, { method, headers, body: init.body ?? null, duplex: 'half', signal: init.signal } as RequestInit);
    } catch (err) {
      if (init.signal?.aborted) throw err;
      throw new UnreachableError(`cannot reach ${this.url}: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message} (is \`wafer serve\` running?)`);
    }
    return response;
  }

  /** Like `request`, but throws on an error answer and parses the JSON body. */
  async json<T>(method: string, path: string, init: Omit<RequestOptions, 'auth'> = {}): Promise<T> {
    const response = await this.request(method, path, init);
    if (!response.ok) throw new CliError(await describeError(response));
    return (response.status === 204 ? undefined : await response.json()) as T;
  }
}

/** "404 not_found: no function named x" from a wafer error response. */
export async function describeError(response: Response): Promise<string> {
  const text = await response.text();
  try {
    const { error } = JSON.parse(text) as { error: { code: string; message: string } };
    return `${response.status} ${error.code}: ${error.message}`;
  } catch {
    return `${response.status} ${response.statusText}${text ? `: ${text.slice(0, 200)}` : ''}`;
  }
}

function readToken(dataDir: string): string | undefined {
  try {
    return readFileSync(join(dataDir, 'token'), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
