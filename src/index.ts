/**
 * The public API of Tokenworks (`tokenworks`): one explicit export list, all of it pure (no Node APIs), so it
 * runs in the browser, in workers and in Node alike; a test bundles it for the browser and fails on any Node
 * built-in. What needs Node (files, the output layer, the worker-thread runner) is the `tokenworks/node` entry
 * (src/node.ts).
 * @module
 */
// biome-ignore-all assist/source/organizeImports: the export list is grouped by room, in the order of the layers

// Errors
export { type ErrorCode, EXIT_CODES, TokenworksError } from './errors.js';

// Version
export { VERSION } from './version.js';

// Catalog: every figure with its source
export {
  ACCELERATORS,
  type AcceleratorEntry,
  type ActiveParamsConvention,
  DEFAULT_ELECTRICITY_PRICE,
  FABRICS,
  FACILITY_PRESETS,
  type FabricEntry,
  type FacilityPreset,
  type Figure,
  facilityPreset,
  findAccelerator,
  findFabric,
  findModelPreset,
  type LookupResult,
  MODEL_PRESETS,
  type ModelPreset,
  type PeakPrecision,
} from './catalog/index.js';

// Specs: one schema per concept, loading and resolution
export { type CompareInput, CompareSchema } from './spec/compare.js';
export { type Constraints, ConstraintsSchema } from './spec/constraints.js';
export { specDocument } from './spec/document.js';
export { type Cooling, FacilitySchema } from './spec/facility.js';
export type { Result, SpecIssue } from './spec/issues.js';
export { formatFromName, loadSpec, parseText, type SpecFormat, validateSpec } from './spec/load.js';
export { type Plan, PlanSchema, type Sharding } from './spec/plan.js';
export {
  type Accelerator,
  type ResolvedFacility,
  type ResolvedModel,
  type ResolvedPlan,
  type ResolvedSpec,
  type ResolvedSystem,
  type ResolvedTraining,
  type ResolvedWorkload,
  resolveModel,
  resolveSpec,
} from './spec/resolve.js';
export { type SpecInput, SpecSchema } from './spec/spec.js';
export { type InlineAccelerator, SystemSchema } from './spec/system.js';
export { type TwinInput, TwinSchema } from './spec/twin.js';
export {
  type Model,
  type ModelInput,
  ModelSchema,
  type Training,
  TrainingSchema,
  WorkloadSchema,
} from './spec/workload.js';

// Performance model
export { type Calibration, DEFAULT_CALIBRATION } from './perf/calibration.js';
export { type DeviceRates, deviceRates, type MatmulPrecision } from './perf/compute-rates.js';
export {
  checkPlan,
  type Estimate,
  type EstimateOptions,
  type EstimateResult,
  estimate,
  type Infeasibility,
  type MemoryBreakdown,
  type StepBreakdown,
} from './perf/estimate.js';
export {
  ADAM_STATE_BYTES_PER_PARAMETER,
  countParameters,
  type FlopsPerToken,
  flopsPerToken,
  type ParameterCounts,
  WEIGHT_BYTES_PER_PARAMETER,
} from './perf/model-size.js';
export { type PublishedParameters, type SpecSummary, summarizeSpec } from './perf/summary.js';

// Plan search and factory design (what `tokenworks plan` does)
export {
  type BindingConstraint,
  catalogSystem,
  type DesignOptions,
  type DesignPoint,
  type DesignResult,
  missedConstraints,
  paretoFront,
  searchDesigns,
} from './plan/design.js';
export { explainPlan } from './plan/explain.js';
export { designFactory, type Factory, type FactoryResult, fabricRadix } from './plan/factory.js';
export { designFabric, type FabricDesign, type FabricInput, MAX_FABRIC_TIERS, maxFabricGpus } from './plan/network.js';
export {
  enumeratePlans,
  mergeSearches,
  type RankedPlan,
  type SearchOptions,
  type SearchResult,
  searchPlans,
  withPrecision,
} from './plan/search.js';

// Event kernel
export { type EventHandle, type RandomStream, ReplicaStreams, Simulation } from './sim/index.js';

// Digital twin
export {
  BADPUT_CAUSES,
  type BadputCause,
  type RunResult,
  type RunSummary,
  simulateRun,
  type Timeline,
  type TwinEvent,
} from './twin/run.js';
export { type TwinConfig, type TwinDesign, twinConfig } from './twin/setup.js';
export { runStudy, type StudyResult, type StudyStat } from './twin/study.js';

// Dedicated factory versus shared data center
export { type ClusterJob, type ClusterRun, jobsFromPods, runCluster } from './breakpoint/cluster.js';
export {
  type Breakpoint,
  type CompareData,
  type ComparePoint,
  type CompareResult,
  comparePoint,
  DEFAULT_SIZES,
  findBreakpoint,
  type SideFigures,
} from './breakpoint/compare.js';
export { interferenceSlowdown, placedSystem, placementCost, type SharedFabric } from './breakpoint/effects.js';
export { flagshipStart, type TenantMix, tenantJobs, tenantMix } from './breakpoint/tenants.js';
export { nodesFromRecords, podsFromRecords, type TraceNode, type TracePod } from './breakpoint/trace.js';

// Validation against published runs
export { type PublishedRun, PublishedRunSchema, type Scenario, scenarioFromRun } from './validation/runs.js';
export {
  type ErrorSummary,
  type Metric,
  predictRun,
  type SkippedRow,
  summarize,
  type ValidationReport,
  type ValidationRow,
  validateRuns,
} from './validation/validate.js';

// Observed runs (the operate side, in progress): pure parsers of training logs and Prometheus text
export {
  DCGM_1X_NAMES,
  type DcgmSample,
  type DcgmScrape,
  dcgmFieldName,
  type GpuIdentity,
  normaliseDcgm,
} from './telemetry/dcgm.js';
export {
  detectRestarts,
  type MegatronCiSeries,
  medianIterationSeconds,
  type Restart,
  readMegatronCiGolden,
  type Stall,
  type StepPoint,
  stalls,
} from './telemetry/megatron-ci.js';
export {
  type KpiOptions,
  OBSERVED_BADPUT_CAUSES,
  type ObservedBadputCause,
  type ObservedKpis,
  observedKpis,
  type RunFacts,
  runKpis,
} from './telemetry/kpis.js';
export { type Exposition, type PromSample, parsePrometheusText } from './telemetry/prometheus-text.js';
export {
  createStepLogParser,
  parseStepLog,
  type StepLog,
  type StepSample,
  toStepPoints,
} from './telemetry/step-log.js';

// Use cases: what the CLI (and later the HTTP API) call, with their ports, runners and output contracts
export { type CheckOutcome, checkFeasibility, type Feasibility, runCheck } from './app/check.js';
export { type CompareOutcome, type CompareRunInput, compareOutput, runCompare } from './app/compare.js';
export { DEFAULT_ACCELERATOR, defaultFacility, designOf, designOfPlan, designOfPoint } from './app/design.js';
export { type EstimateOutcome, runEstimate } from './app/estimate.js';
export { compareSizesWith, runStudyWith, searchDesignsWith, searchPlansWith } from './app/fan-out.js';
export { createInlineRunner } from './app/inline-runner.js';
export { OUTPUT_SCHEMAS, outputJsonSchemas } from './app/outputs.js';
export { type PlanInput, type PlanOutcome, type PlanResult, runPlan } from './app/plan.js';
export {
  type CompareDataRef,
  type DataSource,
  type Ports,
  type Progress,
  type RunOptions,
  SILENT,
  type StepBatch,
  type TaskRunner,
  type TelemetrySource,
  type UseCaseOptions,
} from './app/ports.js';
export { runSimulate, type SimulateInput, type SimulateOutcome, simulateDesign } from './app/simulate.js';
export { runTask, type Task, type TaskResult } from './app/tasks.js';
export { runValidate, type ValidateOutcome } from './app/validate.js';
