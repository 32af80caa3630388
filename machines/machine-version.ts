/**
 * The version of the orchestration statechart's persisted form. A checkpoint records it; `--resume`
 * refuses a checkpoint of another version. Bump it when a snapshot the previous machine persisted
 * can no longer be restored into this one (a state renamed or removed, context reshaped without a
 * migration); adding states or transitions a restored snapshot never stood in needs no bump.
 */
export const ORCHESTRATION_MACHINE_VERSION = 1;
