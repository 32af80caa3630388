/**
 * --debug stack traces name the sources, not the minified bundle: each frame in dist/cli-main.cjs
 * is mapped through the source map the build writes beside it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { sourceMappedStack } from '../../src/cli/debug-stack.js';
import { ROOT } from '../support/cli.js';

/** 1-based line and column of `text` in `file`. */
function positionOf(file: string, text: string): { line: number; column: number } {
  const content = readFileSync(file, 'latin1');
  const at = content.indexOf(text);
  if (at < 0) throw new Error(`${text} not in ${file}`);
  const before = content.slice(0, at);
  return { line: before.split('\n').length, column: at - before.lastIndexOf('\n') };
}

it('maps a frame of the bundle to the source file and line it was built from, and leaves other frames alone', () => {
  const bundle = join(ROOT, 'dist', 'cli-main.cjs');
  const text = 'the run stopped with nothing left to wait for';
  const inBundle = positionOf(bundle, text);
  const inSource = positionOf(join(ROOT, 'src', 'cli', 'main.ts'), text);
  const stack = [
    'Error: boom',
    `    at t (${bundle}:${inBundle.line}:${inBundle.column})`,
    '    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)',
  ].join('\n');
  const mapped = sourceMappedStack(stack).split('\n');
  expect(mapped[1]).toMatch(new RegExp(`^    at t \\(src/cli/main\\.ts:${inSource.line}:\\d+\\)$`));
  expect(mapped[2]).toBe('    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)');
});

it('leaves the stack as it is when the map is not there', () => {
  const stack = 'Error: boom\n    at t (/nowhere/dist/cli-main.cjs:1:2)';
  expect(sourceMappedStack(stack)).toBe(stack);
});
