/**
 * A broken or missing environment (no binaries, a busy port, a cluster that is down), as opposed
 * to a learner's unfinished work, which is a check result and never an exception.
 * `fix` names the command or action that repairs it.
 */
export class EnvironmentError extends Error {
  readonly fix: string;

  constructor(message: string, fix: string) {
    super(message);
    this.name = 'EnvironmentError';
    this.fix = fix;
  }
}

/** A command line used wrongly: unknown subcommand, provider or lab id. Exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * The engine cannot add or remove nodes (kind, existing). Lab checks that need node changes are
 * not applicable there; verify-all and solve read this class, never the message.
 */
export class NodeChangesUnsupportedError extends EnvironmentError {
  constructor(message: string, fix: string) {
    super(message, fix);
    this.name = 'NodeChangesUnsupportedError';
  }
}

/**
 * Solve applied a step's reference solution, but the step did not pass in time: something else
 * changed the lab's objects meanwhile (most often the learner's own `kubectl apply` of their file,
 * which replaces the solution) or the cluster is too busy. The page answers it as 409 Conflict.
 */
export class SolveStalledError extends EnvironmentError {
  /** The step that did not pass. */
  readonly stepId: string;

  constructor(message: string, fix: string, stepId: string) {
    super(message, fix);
    this.name = 'SolveStalledError';
    this.stepId = stepId;
  }
}
