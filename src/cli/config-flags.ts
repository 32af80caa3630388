/**
 * V0's config I/O flags on the run command, JSON only. Every upstream form parses, so V0's command
 * lines do; its RON and binary formats are refused (exit 2) in one line naming the flag: a path for
 * `--config-save`/`--config-load` picks the format by its extension, as upstream, and only `.json`
 * is one this project reads and writes.
 */
import { type Command, CommanderError, Option } from 'commander';

export interface ConfigIoFlags {
  configSave?: string;
  configSaveJson?: string;
  configSaveRon?: string;
  configSaveBin?: string;
  configLoad?: string;
  configLoadJson?: string;
  configLoadRon?: string;
  configLoadBin?: string;
  aiConfigOnlyBinary?: boolean;
}

/** What the run does with config files: null where it does nothing. */
export interface ConfigIo {
  /** Written before the run, with the configuration the run has (the loaded one, with --config-load). */
  save: string | null;
  /** Replaces the configuration the command line gives, but for its paths (src/cli/config-io.ts). */
  load: string | null;
}

export function addConfigIoOptions(command: Command): Command {
  const path = (flag: string, help: string) => new Option(`${flag} <path>`, help).argParser(once(flag));
  return command
    .addOption(path('--config-save', 'write the run\'s config to this JSON file before the run (the path must end in .json)'))
    .addOption(path('--config-save-json', 'write the run\'s config to this JSON file before the run'))
    .addOption(path('--config-save-ron', 'V0\'s RON config: refused, only JSON is supported (--config-save-json)'))
    .addOption(path('--config-save-bin', 'V0\'s binary config: refused, only JSON is supported (--config-save-json)'))
    .addOption(path('--config-load', 'run the config in this JSON file (the path must end in .json): it replaces the flags, but for output_dir and the checkpoint, cycle-memory and next-actions paths'))
    .addOption(path('--config-load-json', 'as --config-load, whatever the file\'s extension'))
    .addOption(path('--config-load-ron', 'V0\'s RON config: refused, only JSON is supported (--config-load-json)'))
    .addOption(path('--config-load-bin', 'V0\'s binary config: refused, only JSON is supported (--config-load-json)'))
    .option('--ai-config-only-binary', 'V0\'s binary-only mode: with a config path, refused (only JSON config files are supported)');
}

/** The config files a run reads and writes; V0's conflicts and the formats not supported are usage errors. */
export function configIoOf(flags: ConfigIoFlags): ConfigIo {
  const explicitSaves = [flags.configSaveRon, flags.configSaveBin, flags.configSaveJson];
  if (flags.configSave !== undefined && explicitSaves.some((p) => p !== undefined)) {
    throw usage('When --config-save is used, do not combine it with --config-save-ron/--config-save-bin/--config-save-json');
  }
  const loads = [flags.configLoad, flags.configLoadRon, flags.configLoadBin, flags.configLoadJson].filter((p) => p !== undefined);
  if (loads.length > 1) {
    throw usage('Only one config load mode is allowed: choose exactly one of --config-load, --config-load-ron, --config-load-bin, --config-load-json');
  }
  for (const [flag, value] of [
    ['--config-save-ron', flags.configSaveRon],
    ['--config-save-bin', flags.configSaveBin],
    ['--config-load-ron', flags.configLoadRon],
    ['--config-load-bin', flags.configLoadBin],
  ] as const) {
    if (value !== undefined) throw usage(`${flag} ${value}: only JSON config files are supported (V0's RON and binary config formats are not); use ${flag.replace(/-(ron|bin)$/, '-json')}`);
  }
  if (flags.configSave !== undefined) checkJsonPath('--config-save', flags.configSave);
  if (flags.configLoad !== undefined) checkJsonPath('--config-load', flags.configLoad);
  const io: ConfigIo = { save: flags.configSave ?? flags.configSaveJson ?? null, load: flags.configLoad ?? flags.configLoadJson ?? null };
  const path = io.load ?? io.save;
  if (flags.aiConfigOnlyBinary && path !== null) throw usage(binaryOnlyRefusal(path));
  return io;
}

/** `--ai-config-only-binary` with a config path: every path this project takes is JSON, which that mode forbids. */
export function binaryOnlyRefusal(path: string): string {
  return `--ai-config-only-binary forbids the non-binary config path ${path}, and only JSON config files are supported here (not V0's binary format)`;
}

/** `--config-save`/`--config-load` (and `config-validate`) pick the format by extension, as V0: only `.json` is one here. */
export function checkJsonPath(what: string, path: string): void {
  if (/\.json$/i.test(path)) return;
  const format = /\.ron$/i.test(path) ? "V0's RON format" : "V0's binary format (.bin, no extension or any other than .json)";
  throw usage(`${what} ${path}: the extension picks the format, and this path's is ${format}; only JSON config files are supported: give a path ending in .json`);
}

/** Each path flag once: V0 (clap) refuses a second one. */
function once(flag: string) {
  return (value: string, previous: string | undefined): string => {
    if (previous !== undefined) throw usage(`${flag} was given more than once; give it once`);
    return value;
  };
}

function usage(message: string): CommanderError {
  return new CommanderError(2, 'commander.configIo', message);
}
