/**
 * Which package each line of an esbuild bundle came from. esbuild (unminified) writes a
 * `// <path>` comment before each module it inlines; the lines up to the next one are that module's.
 */
import { readFileSync } from 'node:fs';

export interface BundleMap {
  /** package (or the project's `src/`, `machines/`, or the prelude) of a 0-based line */
  packageOfLine(line: number): string;
  /** bytes per package, largest first */
  bytesByPackage: Array<{ pkg: string; bytes: number }>;
  totalBytes: number;
}

const MODULE_COMMENT = /^\/\/ ((?:node_modules\/|src\/|machines\/)\S+|package\.json)$/;

export function packageOfPath(path: string): string {
  const parts = path.split('/');
  if (parts[0] === 'node_modules') {
    const scoped = parts[1]?.startsWith('@');
    return scoped ? `${parts[1]}/${parts[2]}` : (parts[1] ?? path);
  }
  if (parts[0] === 'src' || parts[0] === 'machines') return `(project) ${parts[0]}/`;
  return `(project) ${path}`;
}

export function mapBundle(file: string): BundleMap {
  const lines = readFileSync(file, 'utf8').split('\n');
  const owner: string[] = new Array(lines.length);
  const bytes = new Map<string, number>();
  let current = '(bundle prelude: esbuild helpers)';
  lines.forEach((line, i) => {
    const match = MODULE_COMMENT.exec(line);
    if (match) current = packageOfPath(match[1] as string);
    owner[i] = current;
    bytes.set(current, (bytes.get(current) ?? 0) + Buffer.byteLength(line) + 1);
  });
  const bytesByPackage = [...bytes].map(([pkg, n]) => ({ pkg, bytes: n })).sort((a, b) => b.bytes - a.bytes);
  return {
    packageOfLine: (line) => owner[line] ?? '(bundle prelude: esbuild helpers)',
    bytesByPackage,
    totalBytes: bytesByPackage.reduce((sum, p) => sum + p.bytes, 0),
  };
}
