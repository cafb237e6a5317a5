/**
 * What the workspace server needs from the lab engine: its public API without the helpers that
 * only verify-all and tests use, so the server and its tests can take any engine with these methods.
 */
import type { LabEngine } from '../labs/engine.ts';

export type WorkspaceLabEngine = Omit<LabEngine, 'actions' | 'close'>;
