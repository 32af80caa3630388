/**
 * Every stored checkpoint carries the sha256 of its canonical JSON (keys sorted, no spaces) and
 * its revision, under `integrity`. Reading checks the digest before anything else: a document that
 * was edited by hand, or cut short, is refused and left as it is.
 */
import { createHash } from 'node:crypto';
import { parseCheckpoint } from './parse.js';
import type { Checkpoint } from './schema.js';
import { CheckpointIntegrityError } from './store-errors.js';

export interface Integrity {
  sha256: string;
  revision: number;
}

/** JSON with object keys sorted at every level: one text for one value, whoever wrote it. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const item = (value as Record<string, unknown>)[key];
    if (item !== undefined) out[key] = sortKeys(item);
  }
  return out;
}

export function digestOf(checkpoint: object): string {
  const { integrity: _ignored, ...content } = checkpoint as { integrity?: unknown };
  return createHash('sha256').update(canonicalJson(content)).digest('hex');
}

/** The document as stored: the checkpoint with its digest and revision. */
export function seal(checkpoint: Checkpoint, revision: number): Checkpoint & { integrity: Integrity } {
  const { integrity: _old, ...content } = checkpoint as Checkpoint & { integrity?: unknown };
  return { ...(content as Checkpoint), integrity: { sha256: digestOf(content), revision } };
}

/**
 * Checks and parses a stored document. `legacy`: a document with no `integrity` at all is accepted
 * (checkpoint files written before digests existed); the shared stores never write one.
 */
export function unseal(data: unknown, location: string, { legacy }: { legacy: boolean }): { checkpoint: Checkpoint; revision: number } {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new CheckpointIntegrityError(location, 'it is not a JSON object');
  }
  const integrity = (data as { integrity?: unknown }).integrity;
  if (integrity === undefined) {
    if (!legacy) throw new CheckpointIntegrityError(location, 'it carries no integrity.sha256');
    return { checkpoint: parseCheckpoint(data, location), revision: 0 };
  }
  const { sha256, revision } = (integrity ?? {}) as Partial<Integrity>;
  if (typeof sha256 !== 'string' || !Number.isInteger(revision)) {
    throw new CheckpointIntegrityError(location, 'field integrity: expected {sha256, revision}');
  }
  const actual = digestOf(data);
  if (actual !== sha256) {
    throw new CheckpointIntegrityError(location, `its sha256 ${actual.slice(0, 12)}… does not match integrity.sha256 ${sha256.slice(0, 12)}… (edited or torn)`);
  }
  // The seal is the store's business: callers get the content alone, and a document they hand back
  // to `save` never carries a stale digest.
  const { integrity: _seal, ...content } = data as { integrity?: unknown };
  return { checkpoint: parseCheckpoint(content, location), revision: revision as number };
}

/** Parses stored text: a torn document (cut short, not JSON) is an integrity error. */
export function unsealText(text: string, location: string, options: { legacy: boolean }): { checkpoint: Checkpoint; revision: number } {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new CheckpointIntegrityError(location, 'it is not valid JSON (torn or edited)');
  }
  return unseal(data, location, options);
}
