/**
 * Everything the hub keeps: classrooms, learners, sign-in sessions, and each learner's progress
 * (the last check report of every lab) and editor files, so a culled or crashed lab pod is
 * re-created as it was. PostgreSQL through `pg`; every JSON column is read back through zod.
 */
import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { z } from 'zod';
import { LabReportSchema, type LabReport } from '../src/shared/lab-results.ts';
import { parseClassroom, type Classroom } from './classroom.ts';

/** Tables are created if missing; the statements are idempotent so every hub start runs them. */
const MIGRATION = `
CREATE TABLE IF NOT EXISTS hub_classrooms (
  id text PRIMARY KEY,
  definition jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS hub_learners (
  id text PRIMARY KEY,
  classroom_id text NOT NULL REFERENCES hub_classrooms(id) ON DELETE CASCADE,
  subject text NOT NULL,
  display_name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (classroom_id, subject)
);
CREATE TABLE IF NOT EXISTS hub_sessions (
  token_hash text PRIMARY KEY,
  classroom_id text NOT NULL REFERENCES hub_classrooms(id) ON DELETE CASCADE,
  learner_id text REFERENCES hub_learners(id) ON DELETE CASCADE,
  role text NOT NULL CHECK (role IN ('learner', 'instructor')),
  email text,
  expires_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS hub_progress (
  learner_id text NOT NULL REFERENCES hub_learners(id) ON DELETE CASCADE,
  lab_id text NOT NULL,
  report jsonb NOT NULL,
  passed boolean NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (learner_id, lab_id)
);
CREATE TABLE IF NOT EXISTS hub_files (
  learner_id text NOT NULL REFERENCES hub_learners(id) ON DELETE CASCADE,
  lab_id text NOT NULL,
  path text NOT NULL,
  content text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (learner_id, lab_id, path)
);
CREATE TABLE IF NOT EXISTS hub_workspaces (
  learner_id text PRIMARY KEY REFERENCES hub_learners(id) ON DELETE CASCADE,
  active_lab text,
  applied jsonb NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS hub_oidc_pending (
  state text PRIMARY KEY,
  classroom_id text NOT NULL,
  verifier text NOT NULL,
  expires_at timestamptz NOT NULL
);
`;

/** A learner of one classroom. `subject` is `join:<name>` or `oidc:<issuer>#<sub>`. */
export interface Learner {
  readonly id: string;
  readonly classroomId: string;
  readonly subject: string;
  readonly displayName: string;
}

/** Who a hub cookie belongs to. */
export interface Session {
  readonly classroomId: string;
  readonly role: 'learner' | 'instructor';
  readonly learnerId: string | null;
  readonly email: string | null;
  readonly expiresAt: Date;
}

/** A file the learner saved in a lab's workspace. */
export interface SavedFile {
  readonly labId: string;
  readonly path: string;
  readonly content: string;
}

/** What to put back into a new pod: files, the lab it had open, and the files applied there, in order. */
export interface WorkspaceSnapshot {
  readonly activeLab: string | null;
  readonly applied: readonly { labId: string; path: string }[];
  readonly files: readonly SavedFile[];
}

/** A learner's latest report per lab, for the instructor grid. */
export interface ProgressRow {
  readonly learnerId: string;
  readonly displayName: string;
  readonly labId: string;
  readonly report: LabReport;
}

/** The same name is already in use in this classroom (join-code learners are told to pick another). */
export class NameTakenError extends Error {}

const AppliedSchema = z.array(z.strictObject({ labId: z.string(), path: z.string() }));

/** Learner ids: 16 lowercase base32 characters, valid in Kubernetes names and labels. */
export function newLearnerId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  return [...randomBytes(16)].map((b) => alphabet[b % 32]).join('');
}

/** The database keeps only a hash of a session token: a leaked table signs nobody in. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

/** The hub's PostgreSQL store. */
/**
 * How long a session read from the database answers again from memory. Every proxied request of a
 * lab page (its scripts, its API calls, its sockets) looks its session up, a dozen on a page load;
 * one hub process (the chart runs one replica) ends sessions through {@link HubStore.endSession},
 * which forgets the remembered one at once, so only a row deleted by hand outlives it, this long.
 */
export const SESSION_MEMORY_MS = 30_000;
/** At most this many sessions are remembered; the oldest go first. */
const SESSIONS_REMEMBERED = 10_000;

export class HubStore {
  readonly pool: pg.Pool;
  /** Sessions read back recently, by token hash, with when they were read (see SESSION_MEMORY_MS). */
  readonly #sessions = new Map<string, { session: Session; readAt: number }>();
  /** Sessions ended recently (token hash → when), so a lookup still running at sign-out is not remembered. */
  readonly #ended = new Map<string, number>();

  constructor(connectionString: string, maxConnections = 10) {
    this.pool = new pg.Pool({ connectionString, max: maxConnections });
    // An idle connection that the server drops (a restart, a failover) must not crash the hub:
    // the pool replaces it on the next query, and that query reports any lasting problem.
    this.pool.on('error', (error) => process.stderr.write(`hub: a PostgreSQL connection failed: ${error.message}\n`));
  }

  /** Creates missing tables. */
  async migrate(): Promise<void> {
    await this.pool.query(MIGRATION);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /** Creates or replaces a classroom definition. */
  async putClassroom(classroom: Classroom): Promise<void> {
    await this.pool.query(
      `INSERT INTO hub_classrooms (id, definition) VALUES ($1, $2)
       ON CONFLICT (id) DO UPDATE SET definition = EXCLUDED.definition, updated_at = now()`,
      [classroom.id, JSON.stringify(classroom)],
    );
  }

  /** A classroom, or undefined. A stored row that no longer validates throws a ClassroomDefinitionError. */
  async classroom(id: string): Promise<Classroom | undefined> {
    const { rows } = await this.pool.query<{ definition: unknown }>('SELECT definition FROM hub_classrooms WHERE id = $1', [id]);
    return rows[0] ? parseClassroom(rows[0].definition, `classroom row "${id}"`) : undefined;
  }

  async classrooms(): Promise<Classroom[]> {
    const { rows } = await this.pool.query<{ id: string; definition: unknown }>('SELECT id, definition FROM hub_classrooms ORDER BY id');
    return rows.map((row) => parseClassroom(row.definition, `classroom row "${row.id}"`));
  }

  /** The learner with this subject, created on first sign-in. */
  async learnerFor(classroomId: string, subject: string, displayName: string): Promise<Learner> {
    const { rows } = await this.pool.query<{ id: string; display_name: string }>(
      `INSERT INTO hub_learners (id, classroom_id, subject, display_name) VALUES ($1, $2, $3, $4)
       ON CONFLICT (classroom_id, subject) DO UPDATE SET display_name = hub_learners.display_name
       RETURNING id, display_name`,
      [newLearnerId(), classroomId, subject, displayName],
    );
    const row = rows[0]!;
    return { id: row.id, classroomId, subject, displayName: row.display_name };
  }

  /** A new learner; throws NameTakenError when the subject exists (join codes: one browser per name). */
  async newLearner(classroomId: string, subject: string, displayName: string): Promise<Learner> {
    const id = newLearnerId();
    const { rowCount } = await this.pool.query(
      `INSERT INTO hub_learners (id, classroom_id, subject, display_name) VALUES ($1, $2, $3, $4)
       ON CONFLICT (classroom_id, subject) DO NOTHING`,
      [id, classroomId, subject, displayName],
    );
    if (rowCount === 0) throw new NameTakenError(`The name "${displayName}" is already signed in to ${classroomId}`);
    return { id, classroomId, subject, displayName };
  }

  async learner(id: string): Promise<Learner | undefined> {
    const { rows } = await this.pool.query<{ id: string; classroom_id: string; subject: string; display_name: string }>(
      'SELECT id, classroom_id, subject, display_name FROM hub_learners WHERE id = $1',
      [id],
    );
    const row = rows[0];
    return row && { id: row.id, classroomId: row.classroom_id, subject: row.subject, displayName: row.display_name };
  }

  async learners(classroomId: string): Promise<Learner[]> {
    const { rows } = await this.pool.query<{ id: string; subject: string; display_name: string }>(
      'SELECT id, subject, display_name FROM hub_learners WHERE classroom_id = $1 ORDER BY display_name, id',
      [classroomId],
    );
    return rows.map((row) => ({ id: row.id, classroomId, subject: row.subject, displayName: row.display_name }));
  }

  /** Starts a session; returns the cookie token (only its hash is stored). */
  async createSession(session: Omit<Session, 'expiresAt'>, lifetimeMs: number): Promise<{ token: string; expiresAt: Date }> {
    const token = randomBytes(32).toString('base64url');
    const expiresAt = new Date(Date.now() + lifetimeMs);
    await this.pool.query(
      'INSERT INTO hub_sessions (token_hash, classroom_id, learner_id, role, email, expires_at) VALUES ($1, $2, $3, $4, $5, $6)',
      [hashToken(token), session.classroomId, session.learnerId, session.role, session.email, expiresAt],
    );
    return { token, expiresAt };
  }

  /** The live session of a cookie token, or undefined when unknown or expired. */
  async session(token: string): Promise<Session | undefined> {
    const hash = hashToken(token);
    const now = Date.now();
    const remembered = this.#sessions.get(hash);
    if (remembered && now - remembered.readAt < SESSION_MEMORY_MS && remembered.session.expiresAt.getTime() > now) return remembered.session;
    this.#sessions.delete(hash);
    const session = await this.#readSession(hash);
    // Its row may have been read just before a sign-out deleted it.
    if ((this.#ended.get(hash) ?? -Infinity) >= now) return undefined;
    if (session) {
      this.#sessions.set(hash, { session, readAt: now });
      if (this.#sessions.size > SESSIONS_REMEMBERED) this.#sessions.delete(this.#sessions.keys().next().value!);
    }
    return session;
  }

  async #readSession(hash: string): Promise<Session | undefined> {
    const { rows } = await this.pool.query<{ classroom_id: string; role: 'learner' | 'instructor'; learner_id: string | null; email: string | null; expires_at: Date }>(
      'SELECT classroom_id, role, learner_id, email, expires_at FROM hub_sessions WHERE token_hash = $1 AND expires_at > now()',
      [hash],
    );
    const row = rows[0];
    return row && { classroomId: row.classroom_id, role: row.role, learnerId: row.learner_id, email: row.email, expiresAt: row.expires_at };
  }

  async endSession(token: string): Promise<void> {
    const hash = hashToken(token);
    const now = Date.now();
    this.#sessions.delete(hash);
    for (const [ended, at] of this.#ended) if (now - at > SESSION_MEMORY_MS) this.#ended.delete(ended);
    this.#ended.set(hash, now);
    await this.pool.query('DELETE FROM hub_sessions WHERE token_hash = $1', [hash]);
  }

  /** Keeps the latest report of a lab for a learner. */
  async saveReport(learnerId: string, report: LabReport): Promise<void> {
    await this.pool.query(
      `INSERT INTO hub_progress (learner_id, lab_id, report, passed) VALUES ($1, $2, $3, $4)
       ON CONFLICT (learner_id, lab_id) DO UPDATE SET report = EXCLUDED.report, passed = EXCLUDED.passed, updated_at = now()`,
      [learnerId, report.labId, JSON.stringify(report), report.passed],
    );
  }

  /** Every learner's latest report per lab in a classroom. */
  async progress(classroomId: string): Promise<ProgressRow[]> {
    const { rows } = await this.pool.query<{ learner_id: string; display_name: string; lab_id: string; report: unknown }>(
      `SELECT p.learner_id, l.display_name, p.lab_id, p.report FROM hub_progress p
       JOIN hub_learners l ON l.id = p.learner_id WHERE l.classroom_id = $1 ORDER BY l.display_name, p.lab_id`,
      [classroomId],
    );
    return rows.map((row) => ({ learnerId: row.learner_id, displayName: row.display_name, labId: row.lab_id, report: LabReportSchema.parse(row.report) }));
  }

  async saveFile(learnerId: string, file: SavedFile): Promise<void> {
    await this.pool.query(
      `INSERT INTO hub_files (learner_id, lab_id, path, content) VALUES ($1, $2, $3, $4)
       ON CONFLICT (learner_id, lab_id, path) DO UPDATE SET content = EXCLUDED.content, updated_at = now()`,
      [learnerId, file.labId, file.path, file.content],
    );
  }

  /** Records the lab the learner opened (a start or reset clears what was applied there). */
  async setActiveLab(learnerId: string, labId: string, resetApplied: boolean): Promise<void> {
    await this.pool.query(
      `INSERT INTO hub_workspaces (learner_id, active_lab) VALUES ($1, $2)
       ON CONFLICT (learner_id) DO UPDATE SET active_lab = EXCLUDED.active_lab,
         applied = CASE WHEN $3 OR hub_workspaces.active_lab IS DISTINCT FROM EXCLUDED.active_lab THEN '[]'::jsonb ELSE hub_workspaces.applied END`,
      [learnerId, labId, resetApplied],
    );
  }

  /** Records an apply of a saved file, so a re-created pod's cluster gets it again. */
  async recordApply(learnerId: string, labId: string, path: string): Promise<void> {
    await this.pool.query(
      `INSERT INTO hub_workspaces (learner_id, active_lab, applied) VALUES ($1, $2, jsonb_build_array(jsonb_build_object('labId', $2::text, 'path', $3::text)))
       ON CONFLICT (learner_id) DO UPDATE SET applied = hub_workspaces.applied || jsonb_build_array(jsonb_build_object('labId', $2::text, 'path', $3::text))`,
      [learnerId, labId, path],
    );
  }

  /** What a new pod for this learner must be given back. */
  async snapshot(learnerId: string): Promise<WorkspaceSnapshot> {
    const [workspace, files] = await Promise.all([
      this.pool.query<{ active_lab: string | null; applied: unknown }>('SELECT active_lab, applied FROM hub_workspaces WHERE learner_id = $1', [learnerId]),
      this.pool.query<{ lab_id: string; path: string; content: string }>('SELECT lab_id, path, content FROM hub_files WHERE learner_id = $1 ORDER BY lab_id, path', [learnerId]),
    ]);
    const row = workspace.rows[0];
    return {
      activeLab: row?.active_lab ?? null,
      applied: row ? AppliedSchema.parse(row.applied) : [],
      files: files.rows.map((f) => ({ labId: f.lab_id, path: f.path, content: f.content })),
    };
  }

  /** Keeps a PKCE verifier between the redirect to the OIDC provider and its callback. */
  async putOidcPending(state: string, classroomId: string, verifier: string): Promise<void> {
    await this.pool.query('INSERT INTO hub_oidc_pending (state, classroom_id, verifier, expires_at) VALUES ($1, $2, $3, now() + interval \'10 minutes\')', [state, classroomId, verifier]);
  }

  /** Takes (and deletes) a pending OIDC sign-in; undefined when unknown or older than 10 minutes. */
  async takeOidcPending(state: string): Promise<{ classroomId: string; verifier: string } | undefined> {
    const { rows } = await this.pool.query<{ classroom_id: string; verifier: string }>(
      'DELETE FROM hub_oidc_pending WHERE state = $1 AND expires_at > now() RETURNING classroom_id, verifier',
      [state],
    );
    return rows[0] && { classroomId: rows[0].classroom_id, verifier: rows[0].verifier };
  }
}
