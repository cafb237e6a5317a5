/**
 * The learner's progress, in an embedded SQLite database (node:sqlite) in the state directory:
 * every start of a lab (an attempt), the steps that passed in it and when the lab was completed.
 * It survives restarts; `lab status` shows it and exports it for instructors.
 */
import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { PRIVATE_FILE_MODE } from '../atomic-file.ts';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { LabProgress, ProgressSnapshot } from '../../shared/lab-summary.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS attempts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  lab_id TEXT NOT NULL,
  started_at TEXT NOT NULL,
  completed_at TEXT
);
CREATE INDEX IF NOT EXISTS attempts_by_lab ON attempts (lab_id, id);
CREATE TABLE IF NOT EXISTS step_passes (
  attempt_id INTEGER NOT NULL REFERENCES attempts (id),
  step_id TEXT NOT NULL,
  passed_at TEXT NOT NULL,
  PRIMARY KEY (attempt_id, step_id)
);
`;

/** The progress database. */
export interface ProgressStore {
  /** Records a start (or a reset): a new attempt, with no steps passed. */
  recordStart(labId: string, at?: Date): void;
  /** Records steps that pass now and had not passed in the latest attempt; returns those new ones. */
  recordPassed(labId: string, stepIds: readonly string[], allStepIds: readonly string[], at?: Date): string[];
  /** Step ids passed in the latest attempt. */
  passedSteps(labId: string): Set<string>;
  snapshot(): ProgressSnapshot;
  close(): void;
}

interface AttemptRow {
  id: number;
  lab_id: string;
  started_at: string;
  completed_at: string | null;
}

/** Opens (creating if needed) the database at `file`. */
export function openProgressStore(file: string): ProgressStore {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  // Created 0600 before SQLite opens it: SQLite gives its -wal and -shm files the database's mode.
  closeSync(openSync(file, 'a', PRIVATE_FILE_MODE));
  chmodSync(file, PRIVATE_FILE_MODE);
  const db = new DatabaseSync(file);
  // Other processes (the browser server, a CLI check) may write at the same time.
  db.exec('PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 2000;');
  db.exec(SCHEMA);
  const latestAttempt = db.prepare('SELECT * FROM attempts WHERE lab_id = ? ORDER BY id DESC LIMIT 1');
  const insertAttempt = db.prepare('INSERT INTO attempts (lab_id, started_at) VALUES (?, ?)');
  const insertPass = db.prepare('INSERT OR IGNORE INTO step_passes (attempt_id, step_id, passed_at) VALUES (?, ?, ?)');
  const passesOf = db.prepare('SELECT step_id, passed_at FROM step_passes WHERE attempt_id = ? ORDER BY passed_at, step_id');
  const complete = db.prepare('UPDATE attempts SET completed_at = ? WHERE id = ? AND completed_at IS NULL');
  const labIds = db.prepare('SELECT lab_id, COUNT(*) AS times FROM attempts GROUP BY lab_id ORDER BY lab_id');

  const latest = (labId: string) => latestAttempt.get(labId) as AttemptRow | undefined;
  const passes = (attemptId: number) => passesOf.all(attemptId) as Array<{ step_id: string; passed_at: string }>;

  return {
    recordStart(labId, at = new Date()) {
      insertAttempt.run(labId, at.toISOString());
    },

    recordPassed(labId, stepIds, allStepIds, at = new Date()) {
      let attempt = latest(labId);
      if (!attempt) {
        // Checked without a start (e.g. set up by hand): count it from now.
        insertAttempt.run(labId, at.toISOString());
        attempt = latest(labId)!;
      }
      const before = new Set(passes(attempt.id).map((p) => p.step_id));
      const fresh = stepIds.filter((id) => !before.has(id));
      for (const id of fresh) insertPass.run(attempt.id, id, at.toISOString());
      const after = new Set([...before, ...fresh]);
      if (allStepIds.every((id) => after.has(id))) complete.run(at.toISOString(), attempt.id);
      return fresh;
    },

    passedSteps(labId) {
      const attempt = latest(labId);
      return new Set(attempt ? passes(attempt.id).map((p) => p.step_id) : []);
    },

    snapshot() {
      const labs: LabProgress[] = (labIds.all() as Array<{ lab_id: string; times: number }>).map(({ lab_id, times }) => {
        const attempt = latest(lab_id)!;
        return {
          labId: lab_id,
          startedAt: attempt.started_at,
          ...(attempt.completed_at ? { completedAt: attempt.completed_at } : {}),
          timesStarted: Number(times),
          passedSteps: passes(attempt.id).map((p) => ({ stepId: p.step_id, passedAt: p.passed_at })),
        };
      });
      return { exportedAt: new Date().toISOString(), labs };
    },

    close() {
      db.close();
    },
  };
}
