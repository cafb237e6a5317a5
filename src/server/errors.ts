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
