/**
 * Commands that live in files of their own, by name: each takes the arguments after its name and
 * returns the exit code. main.ts hands them their command line before V0's parsing.
 */
export const COMMAND_FILES: Record<string, (argv: string[]) => Promise<number>> = {
  submit: async (argv) => (await import('./submit.js')).submitCommand(argv),
  worker: async (argv) => (await import('./worker.js')).workerCommand(argv),
  status: async (argv) => (await import('./status.js')).statusCommand(argv),
  export: async (argv) => (await import('./export.js')).exportCommand(argv),
  queue: async (argv) => (await import('./queue-verbs.js')).queueCommand(argv),
  retry: async (argv) => (await import('./queue-verbs.js')).retryCommand(argv),
  schedules: async (argv) => (await import('./queue-verbs.js')).schedulesCommand(argv),
  unschedule: async (argv) => (await import('./queue-verbs.js')).unscheduleCommand(argv),
  'config-validate': async (argv) => (await import('./config-validate.js')).configValidateCommand(argv),
  'config-canonicalize': async () => (await import('./config-validate.js')).configCanonicalizeCommand(),
};
