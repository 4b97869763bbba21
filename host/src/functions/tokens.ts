/**
 * @module functions/tokens
 * Per-function invoke tokens: made here, shown once, kept only as their sha256 (registry.ts
 * `InvokeToken`), and checked against every hash in constant time. A token is 32 random bytes,
 * so a plain sha256 (no salt, no stretching) cannot be reversed or guessed from the record.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { InvokeToken } from '../registry/registry.js';

/** Marks a string as a wafer invoke token, so it is recognised in logs and secret scanners. */
const TOKEN_PREFIX = 'wft_';

/** sha256 of a token, hex. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A new token and its stored form; the token itself is answered once and never kept. */
export function newToken(label: string | undefined, now = new Date()): { token: string; stored: InvokeToken } {
  const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  const stored: InvokeToken = { id: randomBytes(6).toString('hex'), hash: hashToken(token), createdAt: now.toISOString() };
  if (label !== undefined) stored.label = label;
  return { token, stored };
}

/**
 * True when `presented` is one of `tokens`. Every stored hash is compared, each in constant
 * time, so the answer's timing tells neither which token matched nor how much of one did.
 */
export function matchesToken(tokens: readonly InvokeToken[], presented: string): boolean {
  if (tokens.length === 0) return false;
  const given = Buffer.from(hashToken(presented), 'hex');
  let match = false;
  for (const t of tokens) match = timingSafeEqual(given, Buffer.from(t.hash, 'hex')) || match;
  return match;
}
