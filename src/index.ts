/**
 * autonomy-orchestrator as a library: run or resume an orchestration, read its report.
 */
import { checkpointSchemas } from './checkpoint/schema.js';
import { executionRecordSchema, reportSchemas } from './report/schema.js';

export { runOrchestration, CHECKPOINT_FILE, type RunOptions, type RunResult } from './run/orchestrate.js';
export type { TraceCarrier } from './trace/trace-carrier.js';
export { orchestrationMachine, STAGE_WORK_ID, STAGE_WORK_SRC } from '../machines/orchestration.js';
export type { StageWorkInput, StageWorkOutput, OrchestrationContext } from '../machines/orchestration.js';
export { thermostatMachine, netRoi, THERMOSTAT_STATES } from '../machines/thermostat.js';
export type { ThermostatSettings, ThermostatDecision, ThermostatState, PersistedThermostat } from '../machines/thermostat.js';
export { thermostatSchema, THERMOSTAT_DEFAULTS } from './plan/thermostat.js';
export { STAGES, TERMINAL_STATES, STAGE_STATUSES, type Stage, type TerminalState, type StageStatus } from '../machines/stages.js';
export { orchestrationConfigSchema, type OrchestrationConfig, type OrchestrationConfigInput } from './config/schema.js';
export { planSchema, stepSchema, type Plan, type PlanInput, type Step } from './plan/schema.js';
export { loadPlanFile, validatePlan } from './plan/load.js';
export { approveRun, type ApproveRequest } from './checkpoint/approve.js';
export { reportSchemas, executionRecordSchema, type RunReport, type StageExecution, type Transition } from './report/schema.js';
/** Built for the library's users, as the checkpoint's below. */
export const { runReportSchema, transitionSchema } = reportSchemas();
export const stageExecutionSchema = executionRecordSchema();
export { REPORT_FILE, readReport } from './report/report-file.js';
export { checkpointSchemas, type Checkpoint, type CheckpointV3, type CheckpointV2 } from './checkpoint/schema.js';
/** The CLI builds the checkpoint's schemas only when it reads one; the library's users get them built. */
export const { checkpointSchema, checkpointV3Schema, checkpointV2Schema, checkpointV1Schema, v0CheckpointSchema } = checkpointSchemas();
export { RECORDS_FILE } from './report/records-log.js';
export type { CheckpointStore, RunCheckpointStore, CheckpointLock, Lease, StoredCheckpoint, StoredRunEntry, WriteOptions } from './checkpoint/store.js';
export { FileCheckpointStore } from './checkpoint/file-store.js';
export { EXIT, OrchestratorError } from './exit-codes.js';
export { PostgresCheckpointStore } from './checkpoint/postgres-store.js';
export { RedisCheckpointStore } from './checkpoint/redis-store.js';
export { RunView } from './checkpoint/run-view.js';
export { chooseStore, openStore, type StoreChoice } from './checkpoint/open-store.js';
export { CheckpointConflictError, CheckpointIntegrityError, LeaseLostError } from './checkpoint/store-errors.js';
