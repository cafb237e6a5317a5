/**
 * What every command-line entry point shares: turning errors into clear messages and exit codes.
 * 0 success, 1 a failed result (e.g. checks that do not pass) or a crash, 2 an environment or
 * usage error that names its fix.
 */
import { EnvironmentError, UsageError } from './errors.ts';

/** Runs a command-line main function and exits with the right code. */
export async function runCli(main: () => Promise<number | void>): Promise<never> {
  try {
    const code = await main();
    process.exit(code ?? 0);
  } catch (error) {
    if (error instanceof EnvironmentError) {
      process.stderr.write(`✗ ${error.message}\n  Fix: ${error.fix.replaceAll('\n', '\n  ')}\n`);
      process.exit(2);
    }
    if (error instanceof UsageError) {
      process.stderr.write(`✗ ${error.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`✗ ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  }
}
