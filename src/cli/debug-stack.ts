/**
 * The CLI runs from one minified bundle, so a stack trace names its lines and short names. With
 * --debug, each frame in the bundle is given the source file, line and column it came from, read
 * from the source map the build writes beside the bundle (`cli-main.cjs.map`, loaded only here).
 * A frame the map does not cover, or a missing map, is left as it is.
 */
import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';

const FRAME = /([^\s()]*cli-main\.cjs):(\d+):(\d+)/g;

export function sourceMappedStack(stack: string): string {
  const maps = new Map<string, SourceMap | null>();
  return stack.replace(FRAME, (frame: string, file: string, line: string, column: string) => {
    if (!maps.has(file)) maps.set(file, readMap(`${file}.map`));
    const entry = maps.get(file)?.findEntry(Number(line) - 1, Number(column) - 1);
    if (!entry || !('originalSource' in entry)) return frame;
    // Sources are named from the map's directory (`../src/...`): name them from the package's.
    const source = entry.originalSource.replace(/^(\.\.\/)+/, '');
    return `${source}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
  });
}

function readMap(path: string): SourceMap | null {
  try {
    return new SourceMap(JSON.parse(readFileSync(path, 'utf8')));
  } catch {
    return null;
  }
}
