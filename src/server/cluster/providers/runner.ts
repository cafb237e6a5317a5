import { spawn } from 'node:child_process';
import type { CommandOptions, CommandResult, CommandRunner } from './provider.ts';

/** Runs commands for real. A missing program is exit code 127 with a message, not an exception. */
export const processRunner: CommandRunner = {
  run(command, args, options: CommandOptions = {}) {
    return new Promise<CommandResult>((resolve) => {
      const child = spawn(command, args, {
        env: { ...process.env, ...options.env },
        stdio: options.interactive ? ['ignore', 'inherit', 'inherit'] : ['pipe', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', (error: NodeJS.ErrnoException) =>
        resolve({ code: error.code === 'ENOENT' ? 127 : 1, stdout, stderr: `${command}: ${error.message}` }),
      );
      child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
      if (options.input !== undefined) child.stdin?.end(options.input);
      else child.stdin?.end();
    });
  },
};

/** A recorded command: what would have run, with the environment it set. */
export interface RecordedCommand {
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly input?: string;
}

/**
 * Records commands instead of running them, answering each from `respond` (default: success with
 * no output). For golden tests of the exact commands an engine runs.
 */
export function recordingRunner(
  respond: (command: string, args: readonly string[]) => Partial<CommandResult> = () => ({}),
): CommandRunner & { readonly commands: RecordedCommand[] } {
  const commands: RecordedCommand[] = [];
  return {
    commands,
    async run(command, args, options = {}) {
      commands.push({
        command,
        args: [...args],
        ...(options.env ? { env: { ...options.env } } : {}),
        ...(options.input !== undefined ? { input: options.input } : {}),
      });
      return { code: 0, stdout: '', stderr: '', ...respond(command, args) };
    },
  };
}
