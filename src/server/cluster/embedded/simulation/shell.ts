/**
 * A small shell interpreter for the scripts people put in manifests (`sh -c '…'`), run against a
 * virtual clock: it tells what the script prints, when, and how it ends, without running anything.
 *
 * Accepted: simple commands with quoting and `$VAR`/`${VAR}`, `VAR=value`, `;` `&&` `||` and
 * newlines, `while`/`until`/`for` loops, `trap`, `set -e`, `exec`, comments, output redirections
 * (`>`, `>>`, `2>&1`), and the commands of {@link BUILTINS} plus whatever the caller's
 * {@link ShellHost.program} knows. Anything else (pipes, `if`, `case`, functions, background jobs,
 * command substitution other than `$(date)` and `$(hostname)`) is declined: the run says so, and
 * the caller treats the process as one that keeps running.
 */

/** A line the script printed, `at` seconds after it started. */
export interface PrintedLine {
  readonly at: number;
  readonly stream: 'stdout' | 'stderr';
  readonly text: string;
}

/** How a run ended within the horizon. */
export type ShellEnd =
  | { readonly kind: 'exited'; readonly code: number; readonly at: number }
  | { readonly kind: 'running' }
  | { readonly kind: 'declined'; readonly reason: string; readonly at: number };

/** The result of running a script up to a horizon. */
export interface ShellRun {
  readonly lines: PrintedLine[];
  readonly end: ShellEnd;
  /** Whether the script installs a handler for SIGTERM (a shell as PID 1 otherwise ignores it). */
  readonly handlesTerm: boolean;
  /** Whether the shell replaced itself with a program (`exec`), which then takes the signals. */
  readonly execed: boolean;
}

/** What a program other than the builtins does, as the container model knows it. */
export type ProgramBehaviour =
  | { readonly kind: 'exits'; readonly code: number; readonly after: number; readonly lines?: readonly string[] }
  | { readonly kind: 'serves'; readonly lines?: readonly string[] }
  | { readonly kind: 'missing' };

/** What the script's surroundings provide. */
export interface ShellHost {
  readonly env: Readonly<Record<string, string>>;
  /** The behaviour of a command that is not a builtin; undefined when the model cannot tell. */
  program(argv: readonly string[]): ProgramBehaviour | undefined;
  /** How a missing command is reported, e.g. `sh: foo: not found` (busybox). */
  notFound(name: string): string;
  /** The wall-clock time of the container's start, for `date`. */
  readonly startedAt: Date;
}

/** Options of a run. */
export interface ShellOptions {
  /** Stop simulating after this many seconds of virtual time (the process is then `running`). */
  readonly horizon: number;
  /** Keep at most this many lines (the last ones). */
  readonly maxLines?: number;
}

/** A script the interpreter declines, with the construct it met. */
export class DeclinedScript extends Error {
  readonly construct: string;
  constructor(construct: string) {
    super(`the script uses ${construct}, which the simulated node does not interpret`);
    this.construct = construct;
  }
}

// ---------------------------------------------------------------- lexer

type WordPart = { kind: 'text'; text: string; quoted: boolean } | { kind: 'var'; name: string; quoted: boolean } | { kind: 'subst'; command: 'date' | 'hostname'; quoted: boolean };
interface Word {
  parts: WordPart[];
}
type Token = { kind: 'word'; word: Word; raw: string } | { kind: 'op'; op: string };

const OPERATORS = ['&&', '||', '2>&1', '1>&2', '>&2', '>>', '2>>', '2>', '>', ';;', ';', '\n', '|', '&', '(', ')', '<'];

function readVariable(script: string, start: number): { name: string; end: number } {
  if (script[start] === '{') {
    const close = script.indexOf('}', start);
    if (close < 0) throw new DeclinedScript('an unclosed ${');
    const name = script.slice(start + 1, close);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$|^[?#$0-9]$/.test(name)) throw new DeclinedScript(`the parameter expansion \${${name}}`);
    return { name, end: close + 1 };
  }
  const match = /^([A-Za-z_][A-Za-z0-9_]*|[?#$0-9])/.exec(script.slice(start));
  if (!match) return { name: '', end: start };
  return { name: match[1]!, end: start + match[1]!.length };
}

function readSubstitution(script: string, start: number): { command: 'date' | 'hostname'; end: number } {
  const close = script.indexOf(')', start);
  const inner = close < 0 ? '' : script.slice(start + 2, close).trim();
  if (inner === 'date' || inner === 'hostname') return { command: inner, end: close + 1 };
  throw new DeclinedScript(`the command substitution $(${inner.slice(0, 30)})`);
}

/** Splits a script into words and operators. */
export function tokenize(script: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < script.length) {
    const c = script[i]!;
    if (c === ' ' || c === '\t' || c === '\r') { i += 1; continue; }
    if (c === '\\' && script[i + 1] === '\n') { i += 2; continue; }
    if (c === '#') { while (i < script.length && script[i] !== '\n') i += 1; continue; }
    const op = OPERATORS.find((o) => script.startsWith(o, i));
    if (op && !(op.startsWith('2') && /[^\s;&|]/.test(script[i - 1] ?? ' '))) {
      tokens.push({ kind: 'op', op });
      i += op.length;
      continue;
    }
    const parts: WordPart[] = [];
    const start = i;
    const pushText = (text: string, quoted: boolean) => {
      const last = parts.at(-1);
      if (last?.kind === 'text' && last.quoted === quoted) last.text += text;
      else parts.push({ kind: 'text', text, quoted });
    };
    while (i < script.length && !/[\s;&|<>()]/.test(script[i]!)) {
      const ch = script[i]!;
      if (ch === "'") {
        const close = script.indexOf("'", i + 1);
        if (close < 0) throw new DeclinedScript('an unclosed quote');
        pushText(script.slice(i + 1, close), true);
        i = close + 1;
      } else if (ch === '"') {
        i += 1;
        while (i < script.length && script[i] !== '"') {
          if (script[i] === '\\' && '"\\$`'.includes(script[i + 1] ?? '')) { pushText(script[i + 1]!, true); i += 2; }
          else if (script[i] === '$' && script[i + 1] === '(') { const s = readSubstitution(script, i); parts.push({ kind: 'subst', command: s.command, quoted: true }); i = s.end; }
          else if (script[i] === '$') { const v = readVariable(script, i + 1); if (v.name) parts.push({ kind: 'var', name: v.name, quoted: true }); else pushText('$', true); i = v.end || i + 1; }
          else if (script[i] === '`') throw new DeclinedScript('a command substitution (`…`)');
          else { pushText(script[i]!, true); i += 1; }
        }
        if (script[i] !== '"') throw new DeclinedScript('an unclosed quote');
        i += 1;
      } else if (ch === '\\') {
        pushText(script[i + 1] ?? '', true);
        i += 2;
      } else if (ch === '$' && script[i + 1] === '(') {
        const s = readSubstitution(script, i);
        parts.push({ kind: 'subst', command: s.command, quoted: false });
        i = s.end;
      } else if (ch === '$') {
        const v = readVariable(script, i + 1);
        if (v.name) parts.push({ kind: 'var', name: v.name, quoted: false });
        else pushText('$', false);
        i = v.end || i + 1;
      } else if (ch === '`') {
        throw new DeclinedScript('a command substitution (`…`)');
      } else {
        pushText(ch, false);
        i += 1;
      }
    }
    tokens.push({ kind: 'word', word: { parts }, raw: script.slice(start, i) });
  }
  return tokens;
}

// ---------------------------------------------------------------- parser

type Redirect = 'discard' | 'stderr' | 'merge';
type Command =
  | { kind: 'simple'; words: Word[]; assignments: Array<{ name: string; value: Word }>; redirect?: Redirect }
  | { kind: 'loop'; until: boolean; condition: List; body: List }
  | { kind: 'for'; variable: string; items: Word[]; body: List };
type AndOr = { first: Command; rest: Array<{ op: '&&' | '||'; command: Command }> };
type List = AndOr[];

const DECLINED_KEYWORDS: Record<string, string> = {
  if: 'an if statement', case: 'a case statement', function: 'a function', select: 'a select loop', '{': 'a command group',
  '[[': 'a [[ test', '[': 'a [ test', test: 'a test', read: 'read', source: 'source', '.': 'source (.)', eval: 'eval',
};

const DECLINED_OPERATORS: Record<string, string> = {
  '|': 'a pipe (|)', '&': 'a background job (&)', '(': 'a subshell', ')': '")"', '<': 'an input redirection (<)', ';;': '";;"',
};

class Parser {
  private position = 0;
  private readonly tokens: Token[];
  constructor(tokens: Token[]) {
    this.tokens = tokens;
  }

  private peek(): Token | undefined {
    return this.tokens[this.position];
  }

  private isWord(text: string): boolean {
    const token = this.peek();
    return token?.kind === 'word' && token.raw === text;
  }

  private isOp(op: string): boolean {
    const token = this.peek();
    return token?.kind === 'op' && token.op === op;
  }

  private skipSeparators(): void {
    while (this.isOp(';') || this.isOp('\n')) this.position += 1;
  }

  private expectWord(text: string): void {
    this.skipSeparators();
    if (!this.isWord(text)) throw new DeclinedScript(`a ${text === 'done' ? 'loop without done' : `missing "${text}"`}`);
    this.position += 1;
  }

  /** Parses commands until one of the stop words (do, done) or the end. */
  list(stopWords: readonly string[] = []): List {
    const list: List = [];
    for (;;) {
      this.skipSeparators();
      const token = this.peek();
      if (!token || (token.kind === 'word' && stopWords.includes(token.raw))) return list;
      list.push(this.andOr());
    }
  }

  private andOr(): AndOr {
    const first = this.command();
    const rest: AndOr['rest'] = [];
    while (this.isOp('&&') || this.isOp('||')) {
      const op = (this.peek() as { op: '&&' | '||' }).op;
      this.position += 1;
      while (this.isOp('\n')) this.position += 1;
      rest.push({ op, command: this.command() });
    }
    return { first, rest };
  }

  private command(): Command {
    const token = this.peek();
    if (token?.kind === 'word' && DECLINED_KEYWORDS[token.raw]) throw new DeclinedScript(DECLINED_KEYWORDS[token.raw]!);
    if (this.isWord('while') || this.isWord('until')) {
      const until = this.isWord('until');
      this.position += 1;
      const condition = this.list(['do']);
      this.expectWord('do');
      const body = this.list(['done']);
      this.expectWord('done');
      return { kind: 'loop', until, condition, body };
    }
    if (this.isWord('for')) {
      this.position += 1;
      const variable = this.peek();
      if (variable?.kind !== 'word') throw new DeclinedScript('a for loop without a variable');
      this.position += 1;
      const items: Word[] = [];
      if (this.isWord('in')) {
        this.position += 1;
        while (this.peek()?.kind === 'word' && !this.isWord('do')) items.push((this.tokens[this.position++] as { word: Word }).word);
      }
      this.expectWord('do');
      const body = this.list(['done']);
      this.expectWord('done');
      return { kind: 'for', variable: variable.raw, items, body };
    }
    return this.simple();
  }

  private simple(): Command {
    const words: Word[] = [];
    const assignments: Array<{ name: string; value: Word }> = [];
    let redirect: Redirect | undefined;
    for (;;) {
      const token = this.peek();
      if (!token) break;
      if (token.kind === 'op') {
        if (token.op === '>' || token.op === '>>' || token.op === '2>' || token.op === '2>>') {
          this.position += 1;
          const target = this.peek();
          if (target?.kind !== 'word') throw new DeclinedScript('a redirection without a target');
          this.position += 1;
          if (!token.op.startsWith('2')) redirect = 'discard';
          continue;
        }
        if (token.op === '2>&1') { redirect ??= 'merge'; this.position += 1; continue; }
        if (token.op === '>&2' || token.op === '1>&2') { redirect = 'stderr'; this.position += 1; continue; }
        if (DECLINED_OPERATORS[token.op]) throw new DeclinedScript(DECLINED_OPERATORS[token.op]!);
        break;
      }
      const assignment = /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(token.raw);
      if (words.length === 0 && assignment) {
        const name = assignment[1]!;
        const value = structuredClone(token.word);
        const first = value.parts[0];
        if (first?.kind === 'text') first.text = first.text.slice(name.length + 1);
        assignments.push({ name, value });
      } else {
        words.push(token.word);
      }
      this.position += 1;
    }
    if (words.length === 0 && assignments.length === 0) throw new DeclinedScript('an empty command');
    return { kind: 'simple', words, assignments, ...(redirect ? { redirect } : {}) };
  }
}

/** Parses a script; throws {@link DeclinedScript} for what the interpreter does not accept. */
export function parseScript(script: string): List {
  const parser = new Parser(tokenize(script));
  const list = parser.list();
  return list;
}

// ---------------------------------------------------------------- interpreter

class Stop {
  readonly end: ShellEnd;
  constructor(end: ShellEnd) {
    this.end = end;
  }
}

/** `sleep` arguments: seconds with an optional s/m/h/d suffix, or infinity. */
export function sleepSeconds(argument: string): number | undefined {
  if (argument === 'infinity' || argument === 'inf') return Number.POSITIVE_INFINITY;
  const match = /^(\d+(?:\.\d+)?)([smhd]?)$/.exec(argument);
  if (!match) return undefined;
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[match[2] as '' | 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}

function formatDate(date: Date): string {
  // busybox and coreutils `date` in a container (TZ unset): "Mon Jan  1 00:00:00 UTC 2026".
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${days[date.getUTCDay()]} ${months[date.getUTCMonth()]} ${String(date.getUTCDate()).padStart(2, ' ')} ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} UTC ${date.getUTCFullYear()}`;
}

/** The echo builtin's escapes (-e, and busybox/dash echo by default for \n and \t). */
function echoEscapes(text: string): string {
  return text.replace(/\\n/g, '\n').replace(/\\t/g, '\t').replace(/\\\\/g, '\\');
}

function printfFormat(args: readonly string[]): string {
  const [format = '', ...values] = args;
  let index = 0;
  return echoEscapes(format).replace(/%([sdi%])/g, (_, spec: string) => {
    if (spec === '%') return '%';
    const value = values[index++] ?? '';
    return spec === 's' ? value : String(Number.parseInt(value, 10) || 0);
  });
}

const STEP_LIMIT = 20_000;

/** Builtins and utilities the interpreter runs itself. */
export const BUILTINS = ['echo', 'printf', 'sleep', 'exit', 'true', 'false', ':', 'trap', 'set', 'exec', 'export', 'cd', 'wait', 'date', 'hostname', 'cat', 'tail', 'mkdir', 'touch', 'rm', 'cp', 'mv', 'ln', 'chmod', 'chown', 'env', 'printenv', 'unset'] as const;

class Interpreter {
  readonly lines: PrintedLine[] = [];
  handlesTerm = false;
  execed = false;
  private clock = 0;
  status = 0;
  private errexit = false;
  private steps = 0;
  private partial: { stream: 'stdout' | 'stderr'; text: string } | undefined;
  private readonly variables: Record<string, string>;
  private readonly host: ShellHost;
  private readonly options: ShellOptions;

  constructor(host: ShellHost, options: ShellOptions) {
    this.host = host;
    this.options = options;
    this.variables = { ...host.env };
  }

  private print(text: string, redirect: Redirect | undefined, stream: 'stdout' | 'stderr' = 'stdout'): void {
    if (redirect === 'discard') return;
    const target = redirect === 'stderr' ? 'stderr' : stream;
    const pieces = ((this.partial?.stream === target ? this.partial.text : '') + text).split('\n');
    if (this.partial && this.partial.stream !== target) this.flush();
    this.partial = undefined;
    const last = pieces.pop()!;
    for (const piece of pieces) this.lines.push({ at: this.clock, stream: target, text: piece });
    if (last !== '') this.partial = { stream: target, text: last };
    const max = this.options.maxLines ?? 5_000;
    if (this.lines.length > max * 2) this.lines.splice(0, this.lines.length - max);
  }

  flush(): void {
    if (this.partial) this.lines.push({ at: this.clock, stream: this.partial.stream, text: this.partial.text });
    this.partial = undefined;
  }

  private advance(seconds: number): void {
    if (this.clock + seconds > this.options.horizon) {
      this.clock = this.options.horizon;
      throw new Stop({ kind: 'running' });
    }
    this.clock += seconds;
  }

  private expand(word: Word): string[] {
    let fields: string[] = [''];
    let sawQuoted = false;
    for (const part of word.parts) {
      const value = part.kind === 'text' ? part.text
        : part.kind === 'subst' ? (part.command === 'date' ? formatDate(new Date(this.host.startedAt.getTime() + this.clock * 1000)) : this.variables.HOSTNAME ?? '')
        : part.name === '?' ? String(this.status) : part.name === '$' ? '1' : part.name === '#' ? '0' : this.variables[part.name] ?? '';
      if (part.quoted || part.kind === 'text') {
        sawQuoted ||= part.quoted;
        fields[fields.length - 1] += value;
      } else {
        const split = value.split(/\s+/);
        fields[fields.length - 1] += split[0] ?? '';
        for (const more of split.slice(1)) fields.push(more);
      }
    }
    fields = fields.filter((f, index) => f !== '' || (sawQuoted && index === 0));
    return fields;
  }

  /** Runs a list; `set -e` ends the script when the last command of an and-or list fails, outside conditions. */
  run(list: List, condition = false): void {
    for (const item of list) {
      let status = this.command(item.first);
      let ranLast = item.rest.length === 0;
      item.rest.forEach((next, index) => {
        if ((next.op === '&&') !== (status === 0)) return;
        status = this.command(next.command);
        ranLast = index === item.rest.length - 1;
      });
      this.status = status;
      if (this.errexit && !condition && status !== 0 && ranLast) {
        this.flush();
        throw new Stop({ kind: 'exited', code: status, at: this.clock });
      }
    }
  }

  private tick(): void {
    this.steps += 1;
    // A loop that never sleeps still takes time on a real node; let it use a little.
    if (this.steps % 1000 === 0) this.advance(0.001);
    if (this.steps > STEP_LIMIT) throw new Stop({ kind: 'running' });
  }

  private command(command: Command): number {
    this.tick();
    if (command.kind === 'loop') {
      for (;;) {
        this.tick();
        this.run(command.condition, true);
        if ((this.status === 0) === command.until) return 0;
        this.run(command.body);
      }
    }
    if (command.kind === 'for') {
      const items = command.items.flatMap((w) => this.expand(w));
      for (const item of items) {
        this.variables[command.variable] = item;
        this.run(command.body);
      }
      return this.status;
    }
    for (const assignment of command.assignments) this.variables[assignment.name] = this.expand(assignment.value).join(' ');
    const argv = command.words.flatMap((w) => this.expand(w));
    if (argv.length === 0) return 0;
    return this.simple(argv, command.redirect);
  }

  private simple(argv: string[], redirect: Redirect | undefined): number {
    const [name, ...args] = argv as [string, ...string[]];
    switch (name) {
      case 'echo': {
        let newline = true;
        let rest = args;
        while (rest[0] === '-n' || rest[0] === '-e' || rest[0] === '-ne' || rest[0] === '-en') {
          if (rest[0].includes('n')) newline = false;
          rest = rest.slice(1);
        }
        this.print(echoEscapes(rest.join(' ')) + (newline ? '\n' : ''), redirect);
        return 0;
      }
      case 'printf': this.print(printfFormat(args), redirect); return 0;
      case 'sleep': {
        const seconds = args.map(sleepSeconds).reduce<number | undefined>((sum, s) => (sum === undefined || s === undefined ? undefined : sum + s), 0);
        if (seconds === undefined || args.length === 0) {
          this.print(`sleep: invalid number '${args[0] ?? ''}'\n`, redirect, 'stderr');
          return 1;
        }
        this.advance(seconds);
        return 0;
      }
      case 'exit': {
        this.flush();
        throw new Stop({ kind: 'exited', code: args[0] === undefined ? this.status : (Number.parseInt(args[0], 10) & 255), at: this.clock });
      }
      case 'true': case ':': case 'cd': case 'export': case 'unset': case 'wait': case 'mkdir': case 'touch': case 'rm': case 'cp': case 'mv': case 'ln': case 'chmod': case 'chown':
        return 0;
      case 'false': return 1;
      case 'trap': {
        const signals = args.slice(1).map((s) => s.toUpperCase().replace(/^SIG/, ''));
        if (signals.includes('TERM') || signals.includes('15')) this.handlesTerm = args[0] !== '' && args[0] !== '-';
        return 0;
      }
      case 'set': {
        if (args.some((a) => /^-[a-z]*e/.test(a)) || (args[0] === '-o' && args[1] === 'errexit')) this.errexit = true;
        return 0;
      }
      case 'date': this.print(`${formatDate(new Date(this.host.startedAt.getTime() + this.clock * 1000))}\n`, redirect); return 0;
      case 'hostname': this.print(`${this.variables.HOSTNAME ?? ''}\n`, redirect); return 0;
      case 'env': case 'printenv':
        if (args.length > 0) { this.print(args.map((a) => this.variables[a] ?? '').join('\n') + '\n', redirect); return 0; }
        this.print(Object.entries(this.variables).map(([k, v]) => `${k}=${v}`).join('\n') + '\n', redirect);
        return 0;
      case 'cat': case 'tail': {
        const follows = name === 'tail' && args.some((a) => a === '-f' || a === '-F' || a === '--follow');
        if (follows) this.advance(Number.POSITIVE_INFINITY);
        return 0;
      }
      case 'exec': {
        if (args.length === 0) return 0;
        this.execed = true;
        const status = this.simple(args, redirect);
        this.flush();
        throw new Stop({ kind: 'exited', code: status, at: this.clock });
      }
      default:
        return this.external(argv, redirect);
    }
  }

  private external(argv: string[], redirect: Redirect | undefined): number {
    const behaviour = this.host.program(argv);
    if (!behaviour) throw new DeclinedScript(`the command "${argv[0]}"`);
    if (behaviour.kind === 'missing') {
      this.print(`${this.host.notFound(argv[0]!)}\n`, undefined, 'stderr');
      return 127;
    }
    for (const line of behaviour.lines ?? []) this.print(`${line}\n`, redirect);
    if (behaviour.kind === 'serves') this.advance(Number.POSITIVE_INFINITY);
    else this.advance(behaviour.after);
    return behaviour.kind === 'exits' ? behaviour.code : 0;
  }

  get now(): number {
    return this.clock;
  }
}

/** Runs an already tokenized command line (a container's argv) as the shell would run one command. */
export function runCommand(argv: readonly string[], host: ShellHost, options: ShellOptions): ShellRun {
  const word = (text: string): Word => ({ parts: [{ kind: 'text', text, quoted: true }] });
  return execute([{ first: { kind: 'simple', words: argv.map(word), assignments: [] }, rest: [] }], host, options);
}

/** Runs a script (the argument of `sh -c`) up to the horizon. */
export function runScript(script: string, host: ShellHost, options: ShellOptions): ShellRun {
  let list: List;
  try {
    list = parseScript(script);
  } catch (error) {
    if (error instanceof DeclinedScript) return { lines: [], end: { kind: 'declined', reason: error.message, at: 0 }, handlesTerm: false, execed: false };
    throw error;
  }
  return execute(list, host, options);
}

function execute(list: List, host: ShellHost, options: ShellOptions): ShellRun {
  const interpreter = new Interpreter(host, options);
  let end: ShellEnd;
  try {
    interpreter.run(list);
    end = { kind: 'exited', code: interpreter.status, at: interpreter.now };
  } catch (error) {
    if (error instanceof Stop) end = error.end;
    else if (error instanceof DeclinedScript) end = { kind: 'declined', reason: error.message, at: interpreter.now };
    else throw error;
  }
  interpreter.flush();
  const max = options.maxLines ?? 5_000;
  const lines = interpreter.lines.length > max ? interpreter.lines.slice(-max) : interpreter.lines;
  return { lines, end, handlesTerm: interpreter.handlesTerm, execed: interpreter.execed };
}
