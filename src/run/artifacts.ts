/**
 * V0's artifact checks: every expected path must exist; one ending in `.json` must parse. An
 * artifact may also name a JSON Schema it must satisfy (then it must parse as JSON whatever its name).
 */
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import type { ExpectedArtifact } from '../plan/schema.js';

export interface ArtifactCheck {
  missing: string[];
  malformed: string[];
  /** Why each malformed artifact failed, in the same order. */
  problems: string[];
}

/** JSON documents larger than this are judged malformed rather than read into memory. */
export const MAX_JSON_ARTIFACT_BYTES = 64 * 1024 * 1024;

export async function checkArtifacts(expected: readonly ExpectedArtifact[]): Promise<ArtifactCheck> {
  const artifacts = expected.map((a) => (typeof a === 'string' ? { path: a, schema: undefined } : a));
  const missing = artifacts.filter((a) => !existsSync(a.path)).map((a) => a.path);
  const malformed: string[] = [];
  const problems: string[] = [];
  for (const { path, schema } of artifacts) {
    if (missing.includes(path) || (!path.endsWith('.json') && !schema)) continue;
    const parsed = await readJson(path);
    if (!parsed.ok) {
      malformed.push(path);
      problems.push(`${path}: ${parsed.problem}`);
      continue;
    }
    if (!schema) continue;
    const problem = await violation(parsed.value, schema);
    if (problem) {
      malformed.push(path);
      problems.push(`${path}: ${problem}`);
    }
  }
  return { missing, malformed, problems };
}

type Parsed = { ok: true; value: unknown } | { ok: false; problem: string };

async function readJson(path: string): Promise<Parsed> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of createReadStream(path)) {
      size += (chunk as Buffer).length;
      if (size > MAX_JSON_ARTIFACT_BYTES) return { ok: false, problem: `larger than ${MAX_JSON_ARTIFACT_BYTES} bytes` };
      chunks.push(chunk as Buffer);
    }
    return { ok: true, value: JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks))) };
  } catch (error) {
    return { ok: false, problem: `not valid JSON (${(error as Error).message.split('\n')[0]})` };
  }
}

/** The first way `value` breaks the JSON Schema in `schemaPath`, or null. */
async function violation(value: unknown, schemaPath: string): Promise<string | null> {
  let schema: unknown;
  try {
    schema = JSON.parse(readFileSync(schemaPath, 'utf8'));
  } catch (error) {
    return `its schema ${schemaPath} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`;
  }
  // Loaded only when a plan names a schema: most runs never pay for it.
  const draft2020 = String((schema as { $schema?: unknown })?.$schema ?? '').includes('2020-12');
  const AjvClass = await loadAjv(draft2020);
  const ajv = new AjvClass({ allErrors: false, strict: false });
  let validate;
  try {
    validate = ajv.compile(schema as object);
  } catch (error) {
    return `its schema ${schemaPath} is not a valid JSON Schema (${(error as Error).message})`;
  }
  try {
    if (validate(value)) return null;
  } catch (error) {
    // A document nested deeper than the validator can recurse: judged, not a crash of the step.
    return `cannot be checked against ${schemaPath} (${(error as Error).message})`;
  }
  const first = validate.errors?.[0];
  return `does not match ${schemaPath}: ${first ? `${first.instancePath || '(root)'} ${first.message ?? 'is invalid'}` : 'invalid'}`;
}

type AjvConstructor = new (options: object) => { compile: (schema: object) => ((value: unknown) => boolean) & { errors?: { instancePath: string; message?: string }[] | null } };

/** JSON Schema support loads only when a plan names a schema. A bundled chunk may expose the class as `default`. */
async function loadAjv(draft2020: boolean): Promise<AjvConstructor> {
  const mod = (draft2020 ? await import('ajv/dist/2020.js') : await import('ajv')) as Record<string, unknown>;
  const found = mod.Ajv2020 ?? mod.Ajv ?? (mod.default as Record<string, unknown> | undefined)?.default ?? mod.default;
  return found as AjvConstructor;
}
