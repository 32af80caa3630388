/**
 * The `autonomy-orchestrator` bin. It loads the CLI's bundle (`cli-main.cjs`, built from main.ts)
 * through a V8 code cache, so that a run does not spend tens of milliseconds compiling the same
 * code again. Node 22.1 has this built in (`module.enableCompileCache`); Node 20, which this package
 * supports, does not. The bin is CommonJS because Node starts a CommonJS entry a few ms sooner.
 *
 * - The cache is keyed by the bundle's build hash, size and mtime and by Node's version, arch and
 *   flags; V8 also refuses data made by another version or with other flags. A refused or unreadable
 *   cache costs only the compile it would have saved: the bundle is then compiled from source.
 * - It is written once, after a run that compiled without it, with everything that run compiled,
 *   to a temporary file renamed into place: concurrent runs never read a half-written cache.
 * - It lives beside the bundle (`.cache/`), or, where the package is not writable by this user, in
 *   a directory of this user's own (mode 0700) under the temp dir.
 * - `NODE_DISABLE_COMPILE_CACHE=1` turns it off, as it does Node's own; `NODE_DEBUG=compile_cache`
 *   says on stderr what became of it.
 * - A run that changed V8's flags while it ran (`v8.setFlagsFromString`: long runs do, see
 *   long-run-memory.ts) writes no cache: V8 would refuse it at the next start, whose flags are the
 *   command line's. A short run writes it.
 */
import crypto = require('node:crypto');
import fs = require('node:fs');
import nodeModule = require('node:module');
import os = require('node:os');
import path = require('node:path');
import url = require('node:url');
import v8 = require('node:v8');
import vm = require('node:vm');

const { mkdirSync, readFileSync, readdirSync, renameSync, statSync, unlinkSync, writeFileSync } = fs;
const { dirname, join } = path;

declare const CLI_BUNDLE_HASH: string;

const bundle = join(__dirname, 'cli-main.cjs');
// The build makes the bundle pure ASCII, so latin1 reads it as it is, several times faster than utf8.
const source = readFileSync(bundle, 'latin1');
const enabled = !process.env.NODE_DISABLE_COMPILE_CACHE;
const cacheName = enabled ? cacheFileName() : '';
const found = enabled ? readCache() : null;

// The bundle is a function expression: CommonJS's wrapper, plus the bundle's own URL for
// `import.meta.url` (scripts/build-options.mjs). V8 compiles the string read from disk as it is.
const script = new vm.Script(source, {
  filename: bundle,
  ...(found ? { cachedData: found.data } : {}),
  importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
});
const debug = /\bcompile_cache\b/i.test(process.env.NODE_DEBUG ?? '');
if (debug) process.stderr.write(`compile cache: ${!enabled ? 'off' : !found ? `none ${cacheName}` : `${script.cachedDataRejected ? 'refused' : 'used'} ${cacheName}`}\n`);
const versionTag = v8.cachedDataVersionTag();
if (enabled && (!found || script.cachedDataRejected)) process.once('exit', writeCache);
const bundleModule = { exports: {} };
(script.runInThisContext() as (...args: unknown[]) => void)(bundleModule.exports, nodeModule.createRequire(bundle), bundleModule, bundle, dirname(bundle), url.pathToFileURL(bundle).href);

function cacheFileName(): string {
  const { size, mtimeMs } = statSync(bundle);
  const key = crypto.createHash('sha256')
    .update(`${process.execArgv.join(' ')}\0${process.env.NODE_OPTIONS ?? ''}\0${size}\0${mtimeMs}`)
    .digest('hex')
    .slice(0, 12);
  return `cli-${CLI_BUNDLE_HASH}-${process.version}-${process.arch}-${key}.v8`;
}

/** Where a cache may be, in order: beside the bundle, then this user's own directory (looked at only if needed). */
function* cacheDirs(create: boolean): Generator<string> {
  yield join(dirname(bundle), '.cache');
  const own = privateDir(create);
  if (own !== null) yield own;
}

/** This user's own cache directory under the temp dir; null if it is anyone else's or open to others. */
function privateDir(create: boolean): string | null {
  const dir = join(os.tmpdir(), `autonomy-orchestrator-cache-${process.getuid?.() ?? 'user'}`);
  try {
    if (create) mkdirSync(dir, { recursive: true, mode: 0o700 });
    const stat = statSync(dir);
    return stat.isDirectory() && stat.uid === (process.getuid?.() ?? stat.uid) && (stat.mode & 0o077) === 0 ? dir : null;
  } catch {
    return null;
  }
}

function readCache(): { data: Buffer } | null {
  for (const dir of cacheDirs(false)) {
    try {
      return { data: readFileSync(join(dir, cacheName)) };
    } catch {
      // not there: try the next place, or compile from source
    }
  }
  return null;
}

function writeCache(): void {
  if (v8.cachedDataVersionTag() !== versionTag) return;
  let data: Buffer;
  try {
    data = script.createCachedData();
  } catch {
    return;
  }
  for (const dir of cacheDirs(true)) {
    const temp = join(dir, `.${cacheName}.${process.pid}.tmp`);
    try {
      mkdirSync(dir, { recursive: true });
      writeFileSync(temp, data);
      renameSync(temp, join(dir, cacheName));
      if (debug) process.stderr.write(`compile cache: wrote ${join(dir, cacheName)}\n`);
    } catch {
      try {
        unlinkSync(temp);
      } catch {
        // never written
      }
      continue;
    }
    // Caches of other builds are dead weight (other Node versions and flags may still be in use).
    try {
      for (const name of readdirSync(dir)) if (name.endsWith('.v8') && !name.startsWith(`cli-${CLI_BUNDLE_HASH}-`)) unlinkSync(join(dir, name));
    } catch {
      // another run cleaned up first
    }
    return;
  }
}
