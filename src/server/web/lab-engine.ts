/**
 * What the workspace server needs from the lab engine (src/server/labs/engine.ts). Declared here,
 * structurally, so the server and its tests can take any engine with these methods.
 */
import type { LabReport } from '../../shared/lab-results.ts';
import type { LabSummary, ProgressSnapshot } from '../../shared/lab-summary.ts';

export interface WorkspaceLabEngine {
  list(): LabSummary[];
  /** Throws for an unknown lab id. */
  summary(id: string): LabSummary;
  start(id: string): Promise<LabReport>;
  /** Cheap (≤200 ms); environment problems come back as `report.environment`. */
  check(id: string): Promise<LabReport>;
  solve(id: string): Promise<LabReport>;
  reset(id: string): Promise<LabReport>;
  workspaceDir(id: string): string;
  solutionFiles(id: string): Array<{ path: string; content: string }>;
  /** Every lab's progress, from the engine's store. */
  progress(): ProgressSnapshot;
}
