/**
 * Seeded generators of bad input: command lines, plan files and checkpoint files, each a small
 * mutation of a good one (truncated, wrong types, huge, deeply nested, invalid UTF-8, wrong
 * schema version...). The same seed gives the same cases.
 */
import { rng } from './crash-harness.js';

export type Random = () => number;

export function seeded(seed: number): Random {
  return rng(seed);
}

const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

/** Nested arrays `depth` deep, as JSON text. */
export function deepJson(depth: number): string {
  return `${'['.repeat(depth)}${']'.repeat(depth)}`;
}

const WEIRD_STRINGS = [
  '',
  ' ',
  '-',
  '--',
  '=',
  'KEY=',
  '=VALUE',
  'A=B=C',
  '-1',
  '0',
  '1e309',
  'NaN',
  'Infinity',
  '0x10',
  '2147483648',
  '99999999999999999999',
  '1.5',
  '-h',
  '--help',
  '--version',
  'a\nb',
  '\u0000',
  '\ud800',
  'ünïcødé',
  '🙂',
  '../../x',
  'x'.repeat(5000),
];

/** Values of a wrong type for any field, some huge or deeply nested (as JSON text markers). */
const WRONG_VALUES: unknown[] = [null, true, false, 0, -1, 1.5, 1e308, -0, '', 'x', [], [1, 'a'], {}, { a: 1 }, '\u0000', 'ünï'];

const FLAGS = [
  '--resume',
  '--simulate-blocked',
  '--timeout-ms',
  '--kill-grace-ms',
  '--concurrency',
  '--cost-budget',
  '--max-wall-ms',
  '--checkpoint-path',
  '--plan',
  '--config',
  '--manager-bin',
  '--manager-arg',
  '--manager-env',
  '--manager-expected-artifact',
  '--executor-bin',
  '--executor-arg',
  '--executor-env',
  '--executor-expected-artifact',
  '--debug',
  '--json',
  '--gate',
  '--by',
  '--note',
  '--help',
  '-h',
  '--version',
  '--resum',
  '--timeout',
  '--unknown-flag',
  '-x',
  '--',
  '--timeout-ms=5',
  '--concurrency=0',
];

const COMMANDS = ['run', 'config', 'approve', 'help', 'runn', ''];

/** A command line: maybe a command, maybe an output dir, flags with good, odd or missing values. */
export function argvCase(random: Random, outDir: string): string[] {
  const argv: string[] = [];
  if (random() < 0.3) argv.push(pick(random, COMMANDS));
  if (random() < 0.6) argv.push(random() < 0.8 ? outDir : pick(random, WEIRD_STRINGS));
  const count = Math.floor(random() * 6);
  for (let i = 0; i < count; i++) {
    const flag = pick(random, FLAGS);
    argv.push(flag);
    const r = random();
    if (r < 0.5) argv.push(pick(random, WEIRD_STRINGS));
    else if (r < 0.75) argv.push(String(Math.floor(random() * 100_000)));
  }
  return argv;
}

/** Paths into a JSON document, for mutations. */
function paths(value: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((v, i) => paths(v, [...prefix, i], out));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) paths(v, [...prefix, k], out);
  return out;
}

function setAt(doc: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(doc) as Record<string | number, unknown>;
  let at = copy;
  for (const key of path.slice(0, -1)) at = at[key] as Record<string | number, unknown>;
  at[path.at(-1)!] = value;
  return copy;
}

function deleteAt(doc: unknown, path: (string | number)[]): unknown {
  if (path.length === 0) return doc;
  const copy = structuredClone(doc) as Record<string | number, unknown>;
  let at = copy;
  for (const key of path.slice(0, -1)) at = at[key] as Record<string | number, unknown>;
  if (Array.isArray(at)) at.splice(Number(path.at(-1)), 1);
  else delete at[path.at(-1)!];
  return copy;
}

const MARK = '"__BAD_INPUT_MARK__"';

export interface FileCase {
  kind: string;
  bytes: Buffer;
}

/**
 * One mutation of `good` (a JSON document), as file bytes. `huge` cases are a few MiB (cheap to
 * make many); `size` scales them.
 */
export function documentCase(random: Random, good: unknown, options: { versions: unknown[]; hugeBytes: number }): FileCase {
  const text = JSON.stringify(good, null, 2);
  const all = paths(good);
  const somePath = () => pick(random, all);
  const r = Math.floor(random() * 14);
  switch (r) {
    case 0: {
      const cut = Math.floor(random() * text.length);
      return { kind: 'truncated', bytes: Buffer.from(text.slice(0, cut)) };
    }
    case 1:
    case 2:
      return { kind: 'wrong type', bytes: Buffer.from(JSON.stringify(setAt(good, somePath(), pick(random, WRONG_VALUES)))) };
    case 3:
      return { kind: 'field removed', bytes: Buffer.from(JSON.stringify(deleteAt(good, somePath()))) };
    case 4: {
      const version = pick(random, options.versions);
      return { kind: 'schema version', bytes: Buffer.from(JSON.stringify(setAt(good, ['schema_version'], version))) };
    }
    case 5: {
      const bytes = Buffer.from(text);
      const at = Math.floor(random() * bytes.length);
      const bad = pick(random, [[0xff], [0xfe, 0xff], [0xc3], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80]]);
      return { kind: 'invalid UTF-8', bytes: Buffer.concat([bytes.subarray(0, at), Buffer.from(bad), bytes.subarray(at)]) };
    }
    case 6: {
      // invalid UTF-8 inside a string value: still "JSON" to a lenient decoder
      const withMark = JSON.stringify(setAt(good, somePath(), '__BAD_INPUT_MARK__'));
      const [before, after] = withMark.split(MARK) as [string, string];
      return { kind: 'invalid UTF-8 in a string', bytes: Buffer.concat([Buffer.from(`${before}"a`), Buffer.from([0xff, 0xc3]), Buffer.from(`b"${after ?? ''}`)]) };
    }
    case 7: {
      const depth = pick(random, [64, 1_000, 10_000, 100_000]);
      const withMark = JSON.stringify(setAt(good, somePath(), '__BAD_INPUT_MARK__'));
      return { kind: `nested ${depth} deep`, bytes: Buffer.from(withMark.replace(MARK, deepJson(depth))) };
    }
    case 8: {
      const withMark = JSON.stringify(setAt(good, somePath(), '__BAD_INPUT_MARK__'));
      return { kind: 'huge string', bytes: Buffer.from(withMark.replace(MARK, JSON.stringify('x'.repeat(options.hugeBytes)))) };
    }
    case 9: {
      const n = Math.floor(options.hugeBytes / 16);
      const withMark = JSON.stringify(setAt(good, somePath(), '__BAD_INPUT_MARK__'));
      return { kind: 'huge array', bytes: Buffer.from(withMark.replace(MARK, `[${'1,'.repeat(n)}1]`)) };
    }
    case 10:
      return { kind: 'not an object', bytes: Buffer.from(pick(random, ['', ' ', '\n', 'null', '[]', '5', '"x"', 'true', '{', '}', '\ufeff{}', '{}{}', 'NaN'])) };
    case 11:
      return { kind: 'binary', bytes: Buffer.from(Array.from({ length: 1 + Math.floor(random() * 4096) }, () => Math.floor(random() * 256))) };
    case 12: {
      const key = pick(random, ['__proto__', 'constructor', 'extra', '']);
      const extra = `{${JSON.stringify(key)}:${JSON.stringify(pick(random, WRONG_VALUES))},`;
      return { kind: `extra key ${JSON.stringify(key)}`, bytes: Buffer.from(extra + JSON.stringify(good).slice(1)) };
    }
    default: {
      // a few mutations at once
      let doc = good;
      for (let i = 0; i < 3; i++) doc = setAt(doc, pick(random, paths(doc)), pick(random, WRONG_VALUES));
      return { kind: 'several wrong types', bytes: Buffer.from(JSON.stringify(doc)) };
    }
  }
}
