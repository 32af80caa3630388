/**
 * `autonomy-orchestrator config-validate <path> [--ai-config-only-binary]` (V0's): checks a run config
 * file (JSON) without running it. Exit 0 valid; 1 it cannot be loaded (one line naming the file and
 * the field); 2 a usage error (a path of V0's RON or binary format, or binary-only mode); 3 it loads,
 * but settings in it do nothing together: each such diagnostic on a line of its own.
 * `config-canonicalize` wrote V0's binary format, which this project does not: refused.
 */
import { Command, CommanderError } from 'commander';
import { runConfigDiagnostics } from '../../config/run-config-file.js';
import { EXIT } from '../../exit-codes.js';
import { binaryOnlyRefusal, checkJsonPath } from '../config-flags.js';
import { readRunConfigFile } from '../config-io.js';

/** V0's exit code for a config that loads but has diagnostics. */
const DIAGNOSTICS = 3;

export async function configValidateCommand(argv: string[]): Promise<number> {
  let path = '';
  const flags = new Command('config-validate')
    .description('check a run config file (JSON) without running it: exit 0 valid, 1 not loadable, 2 usage, 3 diagnostics')
    .argument('<path>', 'the file (--config-save wrote it)')
    .option('--ai-config-only-binary', "V0's binary-only mode: refused, only JSON config files are supported")
    .exitOverride()
    .configureOutput({ writeErr: () => {} })
    .allowExcessArguments(false)
    .action((given: string) => {
      path = given;
    })
    .parse(argv, { from: 'user' })
    .opts<{ aiConfigOnlyBinary?: boolean }>();
  checkJsonPath('config-validate', path);
  if (flags.aiConfigOnlyBinary) throw new CommanderError(EXIT.usage, 'commander.configIo', binaryOnlyRefusal(path));
  const diagnostics = runConfigDiagnostics(readRunConfigFile(path).file);
  if (diagnostics.length === 0) {
    process.stdout.write(`Config validation: OK (${path})\n`);
    return EXIT.done;
  }
  process.stderr.write(`Config validation failed for '${path}':\n${diagnostics.map((line) => `- ${line}\n`).join('')}`);
  return DIAGNOSTICS;
}

export async function configCanonicalizeCommand(): Promise<number> {
  throw new CommanderError(
    EXIT.usage,
    'commander.configIo',
    "config-canonicalize is not supported: it writes V0's binary config format, and only JSON config files are supported here (config-validate checks one)",
  );
}
