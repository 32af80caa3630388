/**
 * Which package each function of the CLI's bundle came from. The bundle is minified (no module
 * comments, long lines), so the bench rebuilds it in memory with the build's own options plus a
 * source map, checks that the code is byte for byte what dist/ holds, and reads the map.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decode } from '@jridgewell/sourcemap-codec';
import { build } from 'esbuild';
import { CLI_BUNDLE, cliBundleOptions } from '../scripts/build-options.mjs';

export interface BundleMap {
  /** package (or the project's `src/`, `machines/`, or esbuild's prelude) of a 0-based line and column */
  packageAt(line: number, column: number): string;
  /** bytes per package, largest first */
  bytesByPackage: Array<{ pkg: string; bytes: number }>;
  totalBytes: number;
  /** false if the rebuilt code differs from dist/'s (then the attribution is not to be trusted) */
  matchesDist: boolean;
}

const PRELUDE = '(bundle prelude: esbuild helpers)';

export function packageOfPath(path: string): string {
  const parts = path.replace(/^(\.\.\/)+/, '').split('/');
  const at = parts.indexOf('node_modules');
  if (at !== -1) {
    const scoped = parts[at + 1]?.startsWith('@');
    return scoped ? `${parts[at + 1]}/${parts[at + 2]}` : (parts[at + 1] ?? path);
  }
  if (parts[0] === 'src' || parts[0] === 'machines') return `(project) ${parts[0]}/`;
  return `(project) ${path}`;
}

export async function mapBundle(root: string): Promise<BundleMap> {
  // Asynchronous: the build's options carry a plugin, which esbuild's synchronous API refuses.
  const result = await build({
    ...cliBundleOptions,
    absWorkingDir: root,
    outfile: join(root, CLI_BUNDLE),
    sourcemap: 'external',
    metafile: true,
    write: false,
    logLevel: 'silent',
  });
  const code = result.outputFiles.find((f) => f.path.endsWith('.cjs'));
  const map = result.outputFiles.find((f) => f.path.endsWith('.cjs.map'));
  if (!code || !map) throw new Error('bench: the in-memory build gave no bundle or no map');
  const matchesDist = Buffer.from(code.contents).equals(readFileSync(join(root, CLI_BUNDLE)));
  const { sources, mappings } = JSON.parse(map.text) as { sources: string[]; mappings: string };
  const lines = decode(mappings);
  const packages = sources.map(packageOfPath);

  const output = Object.values(result.metafile.outputs).find((o) => o.entryPoint !== undefined);
  const bytes = new Map<string, number>();
  for (const [path, input] of Object.entries(output?.inputs ?? {})) {
    const pkg = packageOfPath(path);
    bytes.set(pkg, (bytes.get(pkg) ?? 0) + input.bytesInOutput);
  }
  const bytesByPackage = [...bytes].map(([pkg, n]) => ({ pkg, bytes: n })).sort((a, b) => b.bytes - a.bytes);
  return {
    packageAt(line, column) {
      const segments = lines[line] ?? [];
      // The last segment that starts at or before the column.
      let lo = 0;
      let hi = segments.length - 1;
      let found = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if ((segments[mid]![0] ?? 0) <= column) {
          found = mid;
          lo = mid + 1;
        } else hi = mid - 1;
      }
      const source = found === -1 ? undefined : segments[found]![1];
      return source === undefined ? PRELUDE : (packages[source] ?? PRELUDE);
    },
    bytesByPackage,
    totalBytes: code.contents.length,
    matchesDist,
  };
}
