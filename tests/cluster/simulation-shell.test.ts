/**
 * The simulated node's shell interpreter: each form it accepts, and each it declines, judged by
 * what a learner would see (the lines `kubectl logs` prints, the exit code, when it exits).
 */
import { describe, expect, it } from 'vitest';
import { runCommand, runScript, sleepSeconds, type ProgramBehaviour, type ShellHost } from '../../src/server/cluster/embedded/simulation/shell.ts';

const host = (programs: Record<string, ProgramBehaviour> = {}): ShellHost => ({
  env: { HOSTNAME: 'agent-x7k2p', GREETING: 'hello there' },
  startedAt: new Date('2026-01-05T10:00:00Z'),
  notFound: (name) => `sh: ${name}: not found`,
  program: (argv) => programs[argv[0]!],
});

const run = (script: string, horizon = 3600, programs?: Record<string, ProgramBehaviour>) => runScript(script, host(programs), { horizon });
const texts = (result: ReturnType<typeof run>) => result.lines.map((l) => l.text);

describe('the shell interpreter accepts', () => {
  it('echo, and ends with status 0 at the end of the script', () => {
    const result = run('echo one; echo two');
    expect(texts(result)).toEqual(['one', 'two']);
    expect(result.end).toEqual({ kind: 'exited', code: 0, at: 0 });
  });

  it('echo -n and -e, and printf with %s and \\n', () => {
    expect(texts(run('echo -n "a"; echo b; echo -e "c\\nd"; printf "%s=%d\\n" x 42'))).toEqual(['ab', 'c', 'd', 'x=42']);
  });

  it('exit N, ending the script at once with that code', () => {
    const result = run('echo starting\nexit 3\necho never');
    expect(texts(result)).toEqual(['starting']);
    expect(result.end).toMatchObject({ kind: 'exited', code: 3 });
  });

  it('sleep, advancing the clock, with s/m/h suffixes', () => {
    const result = run('echo a; sleep 5; echo b; sleep 1m; exit 2');
    expect(result.lines.map((l) => l.at)).toEqual([0, 5]);
    expect(result.end).toEqual({ kind: 'exited', code: 2, at: 65 });
    expect(sleepSeconds('2h')).toBe(7200);
    expect(sleepSeconds('infinity')).toBe(Number.POSITIVE_INFINITY);
  });

  it('sleep infinity and a loop that sleeps: running at the horizon', () => {
    expect(run('sleep infinity').end).toEqual({ kind: 'running' });
    const loop = run('while true; do echo tick; sleep 10; done', 35);
    expect(loop.end).toEqual({ kind: 'running' });
    expect(loop.lines.map((l) => l.at)).toEqual([0, 10, 20, 30]);
  });

  it('true, false and :, with && and ||', () => {
    expect(texts(run('true && echo yes; false && echo no; false || echo fallback; : && echo colon'))).toEqual(['yes', 'fallback', 'colon']);
    expect(run('false').end).toMatchObject({ kind: 'exited', code: 1 });
  });

  it('until loops and while loops that end', () => {
    expect(texts(run('until true; do echo never; done; echo after'))).toEqual(['after']);
    expect(texts(run('while false; do echo never; done; echo after'))).toEqual(['after']);
  });

  it('for loops over words and variables', () => {
    expect(texts(run('for n in 1 2 3; do echo "n=$n"; done'))).toEqual(['n=1', 'n=2', 'n=3']);
  });

  it('variables: the container env, assignments, ${VAR}, $? and HOSTNAME', () => {
    expect(texts(run('NAME=agent; echo "$GREETING from ${NAME} on $HOSTNAME"; false; echo "status $?"'))).toEqual([
      'hello there from agent on agent-x7k2p',
      'status 1',
    ]);
  });

  it('single quotes keep $ literally; comments and line continuations are ignored', () => {
    expect(texts(run("echo '$HOME' # a comment\necho a \\\n  b"))).toEqual(['$HOME', 'a b']);
  });

  it('$(date), date and $(hostname), at the virtual time', () => {
    expect(texts(run('sleep 61; echo "$(date) up on $(hostname)"'))).toEqual(['Mon Jan  5 10:01:01 UTC 2026 up on agent-x7k2p']);
  });

  it('set -e: a failing command ends the script with its status, except in conditions and && lists', () => {
    expect(run('set -e; echo a; false; echo b').end).toMatchObject({ kind: 'exited', code: 1 });
    expect(texts(run('set -e; false && echo no; echo still'))).toEqual(['still']);
    expect(texts(run('set -e; while false; do :; done; echo after'))).toEqual(['after']);
  });

  it('trap on TERM marks the script as handling SIGTERM; without it a shell as PID 1 ignores it', () => {
    expect(run("trap 'exit 0' TERM; sleep infinity").handlesTerm).toBe(true);
    expect(run('trap "echo bye" SIGTERM SIGINT; sleep 1').handlesTerm).toBe(true);
    expect(run('sleep infinity').handlesTerm).toBe(false);
  });

  it('exec: the shell becomes the program, and ends with it', () => {
    const serving = run('echo config ok; exec nginx -g "daemon off;"', 60, { nginx: { kind: 'serves', lines: ['nginx started'] } });
    expect(texts(serving)).toEqual(['config ok', 'nginx started']);
    expect(serving.end).toEqual({ kind: 'running' });
    expect(serving.execed).toBe(true);
    expect(run('exec sleep 2').end).toEqual({ kind: 'exited', code: 0, at: 2 });
  });

  it('output redirections: > and >> hide a line from the log, >&2 sends it to stderr', () => {
    const result = run('echo kept; echo hidden > /var/log/app.log; echo gone >> /tmp/x 2>&1; echo warn >&2');
    expect(result.lines).toEqual([
      { at: 0, stream: 'stdout', text: 'kept' },
      { at: 0, stream: 'stderr', text: 'warn' },
    ]);
  });

  it('cat of a file and tail -f: tail -f keeps running', () => {
    expect(run('cat /etc/hostname; echo done').end).toMatchObject({ kind: 'exited', code: 0 });
    expect(run('tail -f /dev/null').end).toEqual({ kind: 'running' });
  });

  it('a command the image lacks: the shell reports it and goes on with status 127', () => {
    const result = run('agent --start; echo "status $?"', 60, { agent: { kind: 'missing' } });
    expect(result.lines).toEqual([
      { at: 0, stream: 'stderr', text: 'sh: agent: not found' },
      { at: 0, stream: 'stdout', text: 'status 127' },
    ]);
  });

  it('a program that exits, with its code and duration', () => {
    expect(run('job; echo "job said $?"', 60, { job: { kind: 'exits', code: 4, after: 3 } }).lines).toEqual([{ at: 3, stream: 'stdout', text: 'job said 4' }]);
  });

  it('a busy loop without sleep: running, its output bounded', () => {
    const result = runScript('while true; do echo spin; done', host(), { horizon: 60, maxLines: 100 });
    expect(result.end).toEqual({ kind: 'running' });
    expect(result.lines.length).toBeLessThanOrEqual(100);
  });

  it('a container argv without a shell (command: ["sleep", "5"])', () => {
    expect(runCommand(['sleep', '5'], host(), { horizon: 60 }).end).toEqual({ kind: 'exited', code: 0, at: 5 });
    expect(runCommand(['echo', 'hello world'], host(), { horizon: 60 }).lines.map((l) => l.text)).toEqual(['hello world']);
  });
});

describe('the shell interpreter declines, saying what it met', () => {
  const declined: Array<[string, string]> = [
    ['tail -f /var/log/syslog | grep error', 'a pipe (|)'],
    ['sleep 100 &', 'a background job (&)'],
    ['if [ -f /etc/config ]; then echo yes; fi', 'an if statement'],
    ['case $1 in a) echo a;; esac', 'a case statement'],
    ['[ -d /data ] && echo yes', 'a [ test'],
    ['test -f /x && echo yes', 'a test'],
    ['echo "$(cat /etc/hostname)"', 'the command substitution $(cat /etc/hostname)'],
    ['echo `date`', 'a command substitution (`…`)'],
    ['read line', 'read'],
    ['. /etc/profile', 'source (.)'],
    ['echo "${NAME:-default}"', 'the parameter expansion ${NAME:-default}'],
    ["echo 'unclosed", 'an unclosed quote'],
    ['while true; do echo x', 'a loop without done'],
  ];
  it.each(declined)('%s', (script, construct) => {
    const result = run(script);
    expect(result.end).toMatchObject({ kind: 'declined', reason: `the script uses ${construct}, which the simulated node does not interpret` });
  });

  it('a program the model does not know, after the lines printed before it', () => {
    const result = run('echo before; wget http://example.com');
    expect(texts(result)).toEqual(['before']);
    expect(result.end).toMatchObject({ kind: 'declined', reason: 'the script uses the command "wget", which the simulated node does not interpret' });
  });
});
