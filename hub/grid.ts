/**
 * The instructor's view of a class: learners × lab checks, built from each learner's latest
 * report per lab, and the same as CSV.
 */
import type { CheckStatus, LabReport } from '../src/shared/lab-results.ts';
import type { Learner, ProgressRow } from './store.ts';

/** One column: a check of a step of a lab. */
export interface GridColumn {
  readonly labId: string;
  readonly stepId: string;
  readonly checkId: string;
  readonly title: string;
}

/** One cell: the check's status for a learner (not-applicable is not a pass), with what was observed. */
export interface GridCell {
  readonly status: CheckStatus;
  readonly observed: string;
  readonly checkedAt: string;
}

export interface GridRow {
  readonly learnerId: string;
  readonly displayName: string;
  /** Keyed by {@link columnKey}; a missing key: not checked yet. */
  readonly cells: Record<string, GridCell>;
}

export interface Grid {
  readonly columns: readonly GridColumn[];
  readonly rows: readonly GridRow[];
}

export const columnKey = (c: Pick<GridColumn, 'labId' | 'stepId' | 'checkId'>) => `${c.labId}/${c.stepId}/${c.checkId}`;

/** The cells one report fills. */
export function reportCells(report: LabReport): { column: GridColumn; cell: GridCell }[] {
  return report.steps.flatMap((step) =>
    step.checks.map((check) => ({
      column: { labId: report.labId, stepId: step.id, checkId: check.id, title: `${step.title}: ${check.title}` },
      cell: { status: check.status, observed: check.observed, checkedAt: report.checkedAt },
    })),
  );
}

/** The grid of a classroom: every learner a row, columns in the classroom's lab order. */
export function buildGrid(labs: readonly string[], learners: readonly Learner[], progress: readonly ProgressRow[]): Grid {
  const columns = new Map<string, GridColumn>();
  const rows = new Map(learners.map((l) => [l.id, { learnerId: l.id, displayName: l.displayName, cells: {} as Record<string, GridCell> }]));
  for (const row of progress) {
    for (const { column, cell } of reportCells(row.report)) {
      columns.set(columnKey(column), column);
      const gridRow = rows.get(row.learnerId);
      if (gridRow) gridRow.cells[columnKey(column)] = cell;
    }
  }
  const labOrder = (id: string) => (labs.includes(id) ? labs.indexOf(id) : labs.length);
  const ordered = [...columns.values()].map((c, i) => ({ c, i })).sort((a, b) => labOrder(a.c.labId) - labOrder(b.c.labId) || a.i - b.i).map(({ c }) => c);
  return { columns: ordered, rows: [...rows.values()] };
}

/**
 * One CSV field. Fields a spreadsheet would run as a formula (=, +, -, @, tab, CR) get a leading
 * apostrophe: a learner's display name must never become a formula on the instructor's machine.
 */
export function csvField(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** The grid as CSV, one line per learner and check (RFC 4180, CRLF). */
export function gridCsv(grid: Grid): string {
  const lines = [['learner', 'lab', 'step', 'check', 'status', 'observed', 'checked_at'].join(',')];
  for (const row of grid.rows) {
    for (const column of grid.columns) {
      const cell = row.cells[columnKey(column)];
      lines.push([row.displayName, column.labId, column.stepId, column.checkId, cell?.status ?? 'not-checked', cell?.observed ?? '', cell?.checkedAt ?? ''].map(csvField).join(','));
    }
  }
  return `${lines.join('\r\n')}\r\n`;
}
