/**
 * @module server/openapi/operations
 * The OpenAPI 3.1 types wafer's document uses, and builders that keep an operation short: a
 * management operation is its parameters, its success answer and its error codes by status;
 * the bearer token and its 401 are added once here, every error answer is the shared `Error`
 * schema narrowed to the codes that route can answer.
 */
import type { ErrorCode } from '../../errors.js';
import { ref, type Schema } from './schemas.js';

export type Method = 'get' | 'put' | 'post' | 'delete' | 'patch' | 'head' | 'options' | 'trace';

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  description: string;
  schema: Schema;
  style?: 'form' | 'simple';
  explode?: boolean;
}

export interface Header {
  description: string;
  required?: boolean;
  schema: Schema;
}

export interface MediaType {
  schema: Schema;
}

export interface Response {
  description: string;
  headers?: Record<string, Header>;
  content?: Record<string, MediaType>;
}

export interface RequestBody {
  required: boolean;
  description?: string;
  content: Record<string, MediaType>;
}

/** A reference to a shared piece of `components` (`#/components/responses/Guest`). */
export interface Reference {
  $ref: string;
}

export interface Operation {
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  security?: Array<Record<string, string[]>>;
  parameters?: Array<Parameter | Reference>;
  requestBody?: RequestBody | Reference;
  responses: Record<string, Response | Reference>;
}

/** One route of the document: what the drift test compares with the routes the host serves. */
export interface Route {
  method: Method;
  /** OpenAPI path template, e.g. `/v1/functions/{name}`. */
  path: string;
  operation: Operation;
}

/** Error codes a route can answer, by HTTP status. */
export type ErrorsByStatus = Partial<Record<number, ErrorCode[]>>;

export const json = (schema: Schema): Record<string, MediaType> => ({ 'application/json': { schema } });

export const pathParam = (name: string, description: string, schema: Schema = ref('Name')): Parameter => ({ name, in: 'path', required: true, description, schema });

export const queryParam = (name: string, description: string, schema: Schema): Parameter => ({ name, in: 'query', description, schema });

const RETRY_AFTER: Header = { description: 'seconds to wait before retrying', required: true, schema: { type: 'string', pattern: '^[0-9]+$' } };

/** The error answers of a route: each status's `Error` with its `code` narrowed to the codes listed. */
export function errorResponses(errors: ErrorsByStatus, headers: Record<string, Header> = {}): Record<string, Response> {
  const responses: Record<string, Response> = {};
  for (const [status, codes] of Object.entries(errors)) {
    if (!codes?.length) continue;
    const schema = { ...ref('Error'), properties: { error: { properties: { code: { enum: codes } } } } };
    const all: Record<string, Header> = { ...headers };
    if (codes.includes('overloaded')) all['Retry-After'] = RETRY_AFTER;
    responses[status] = { description: codes.join(', '), ...(Object.keys(all).length ? { headers: all } : {}), content: json(schema) };
  }
  return responses;
}

/** Joins error maps, a status's codes in order and each once. */
export function mergeErrors(...maps: ErrorsByStatus[]): ErrorsByStatus {
  const merged: Record<number, ErrorCode[]> = {};
  for (const map of maps) {
    for (const [status, codes] of Object.entries(map)) {
      const list = (merged[Number(status)] ??= []);
      for (const code of codes ?? []) if (!list.includes(code)) list.push(code);
    }
  }
  return merged;
}

export interface ManagementSpec {
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  parameters?: Parameter[];
  requestBody?: RequestBody;
  /** The success answer: its status and JSON body schema (none for 204). */
  ok: { status: number; description: string; schema?: Schema; content?: Record<string, MediaType> };
  /** Another success answer of the same route (a PUT that made or replaced), as `ok`. */
  alsoOk?: { status: number; description: string; schema: Schema };
  errors: ErrorsByStatus;
}

/** A route of the management API: behind the bearer token, so it may also answer 401 `unauthorized`. */
export function management(spec: ManagementSpec): Operation {
  const { ok } = spec;
  const content = ok.content ?? (ok.schema ? json(ok.schema) : undefined);
  return {
    operationId: spec.operationId,
    summary: spec.summary,
    ...(spec.description ? { description: spec.description } : {}),
    tags: [spec.tag],
    security: [{ bearer: [] }],
    ...(spec.parameters?.length ? { parameters: spec.parameters } : {}),
    ...(spec.requestBody ? { requestBody: spec.requestBody } : {}),
    responses: {
      [ok.status]: { description: ok.description, ...(content ? { content } : {}) },
      ...(spec.alsoOk ? { [spec.alsoOk.status]: { description: spec.alsoOk.description, content: json(spec.alsoOk.schema) } } : {}),
      ...errorResponses(mergeErrors(spec.errors, { 401: ['unauthorized'] })),
    },
  };
}
