/**
 * `autonomy-orchestrator graph [--format mermaid|dot|json] [--machine orchestration|thermostat]`:
 * a machine, as the golden files in snapshots/ hold it.
 */
import { Command, Option } from 'commander';
import { MACHINES, machineDot, machineGraphJson, machineMermaid } from '../graph/export.js';
import { EXIT } from '../exit-codes.js';

const RENDER = { mermaid: machineMermaid, dot: machineDot, json: machineGraphJson } as const;

export function graphProgram(): Command {
  return new Command('autonomy-orchestrator graph')
    .description("print the orchestration machine's graph (paste the Mermaid into any Mermaid renderer)")
    .helpOption('-h, --help', 'print this help and exit')
    .addOption(new Option('--format <format>', 'mermaid, dot or json').choices(Object.keys(RENDER)).default('mermaid'))
    .addOption(new Option('--machine <machine>', 'orchestration, or thermostat (the ROI thermostat)').choices(Object.keys(MACHINES)).default('orchestration'))
    .allowExcessArguments(false);
}

export async function graphCommand(program: Command): Promise<number> {
  const { format, machine } = program.opts<{ format: keyof typeof RENDER; machine: string }>();
  process.stdout.write(RENDER[format](MACHINES[machine]));
  return EXIT.done;
}
