/**
 * Reads a checkpoint document of any version this tool knows, migrating older ones. Errors name
 * the field and leave the stored document as it is.
 */
import { EXIT, OrchestratorError } from '../exit-codes.js';
import { type Checkpoint, checkpointSchemas, migrateV1, migrateV2 } from './schema.js';

export function parseCheckpoint(data: unknown, location: string): Checkpoint {
  const { checkpointV1Schema, checkpointV2Schema, checkpointV3Schema, v0CheckpointSchema } = checkpointSchemas();
  const isObject = typeof data === 'object' && data !== null && !Array.isArray(data);
  const version = isObject && 'schema_version' in data ? (data as { schema_version: unknown }).schema_version : 0;
  if (version === 1) {
    const v1 = checkpointV1Schema.safeParse(data);
    if (v1.success) return migrateV2(migrateV1(v1.data));
    throw unreadable(location, v1.error.issues[0]);
  }
  if (version === 2) {
    const v2 = checkpointV2Schema.safeParse(data);
    if (v2.success) return migrateV2(v2.data);
    throw unreadable(location, v2.error.issues[0]);
  }
  if (version !== 0 && version !== 3) {
    throw new OrchestratorError(
      `cannot read checkpoint ${location}: field schema_version: ${describeValue(version)} is not a version this tool knows (0, 1, 2, 3); the file was left as it is`,
      EXIT.failed,
    );
  }
  const result = version === 3 ? checkpointV3Schema.safeParse(data) : v0CheckpointSchema.safeParse(data);
  if (result.success) return result.data;
  throw unreadable(location, result.error.issues[0]);
}

function unreadable(location: string, issue: { path: PropertyKey[]; message: string } | undefined): OrchestratorError {
  const field = issue && issue.path.length > 0 ? issue.path.map(String).join('.') : '(document)';
  return new OrchestratorError(
    `cannot read checkpoint ${location}: field ${field}: ${issue?.message ?? 'invalid'}; the file was left as it is`,
    EXIT.failed,
  );
}

/** A short, safe description: the value may be huge or nested too deep to stringify. */
function describeValue(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value) ?? String(value);
    return text.length > 40 ? `${text.slice(0, 40)}...` : text;
  }
  return Array.isArray(value) ? 'a list' : 'an object';
}

export function describeIoError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  return code ? `${code}` : String(error);
}
