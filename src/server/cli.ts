/**
 * What every command-line entry point shares: turning errors into clear messages and exit codes.
 * 0 success, 1 a failed result (e.g. checks that do not pass) or a crash, 2 an environment or
 * usage error that names its fix.
 */
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { EnvironmentError, UsageError } from './errors.ts';

/**
 * Parses `process.argv` for a `<command> [args] [--options]` tool whose options include
 * `help: { type: 'boolean', short: 'h' }`. Prints the usage and exits (0 with --help, 2 without a
 * command); a bad option is a UsageError that shows the usage.
 */
export function parseCommandLine<Options extends ParseArgsOptionsConfig>(options: Options, usage: string) {
  let parsed;
  try {
    parsed = parseArgs<{ allowPositionals: true; options: Options }>({ allowPositionals: true, options });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n\n${usage}`);
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  const help = (values as { help?: boolean }).help === true;
  if (help || !command) {
    process.stdout.write(usage);
    process.exit(help ? 0 : 2);
  }
  return { command, rest, values };
}

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
