/**
 * @module @wafer/sdk
 * The wafer SDK for TypeScript. A function module exports
 * `handle(req: Request): Response | Promise<Response>`; `build.mjs` wraps it with `wrap` into
 * the component export of the `wafer:function@1.0.0` world. This file only re-exports.
 */
export { Request } from './request.js';
export type { Response, ResponseHeaders } from './response.js';
export { wrap, FunctionError, type Handler, type AbiHandle } from './wrap.js';
export { queryParam } from './query.js';
export { decodeRequest, encodeResponse, type Header, type RequestFields } from './envelope.js';
