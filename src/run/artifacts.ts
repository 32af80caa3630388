/**
 * V0's artifact checks: every expected path must exist; one ending in `.json` must parse.
 */
import { createReadStream, existsSync } from 'node:fs';

export interface ArtifactCheck {
  missing: string[];
  malformed: string[];
}

/** JSON documents larger than this are judged malformed rather than read into memory. */
export const MAX_JSON_ARTIFACT_BYTES = 64 * 1024 * 1024;

export async function checkArtifacts(paths: readonly string[]): Promise<ArtifactCheck> {
  const missing = paths.filter((path) => !existsSync(path));
  const malformed: string[] = [];
  for (const path of paths) {
    if (missing.includes(path) || !path.endsWith('.json')) continue;
    if (!(await parsesAsJson(path))) malformed.push(path);
  }
  return { missing, malformed };
}

async function parsesAsJson(path: string): Promise<boolean> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of createReadStream(path)) {
      size += (chunk as Buffer).length;
      if (size > MAX_JSON_ARTIFACT_BYTES) return false;
      chunks.push(chunk as Buffer);
    }
    JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks)));
    return true;
  } catch {
    return false;
  }
}
