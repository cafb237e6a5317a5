/**
 * A Classroom: who may sign in (a join code, an OIDC roster, or both), which labs, how many
 * learners, and the life cycle of their lab pods. Held in PostgreSQL as JSON and read back through
 * this schema, so a row written by an older hub still says what is wrong with it.
 */
import { z } from 'zod';

/** Lab ids as the labs/ folder names them: lowercase words joined by dashes. */
const LabIdSchema = z
  .string()
  .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'a lab id is lowercase words joined by dashes, e.g. first-daemonset')
  .describe('A lab id, the name of its folder under labs/');

/** Classroom ids appear in URLs and Kubernetes labels: at most 40 characters, DNS-label style. */
export const ClassroomIdSchema = z
  .string()
  .regex(/^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/, 'a classroom id is 1–40 lowercase letters, digits and dashes, starting and ending with a letter or digit')
  .describe('Stable id of the classroom, e.g. "k8s-101-autumn"');

export const ClassroomSchema = z
  .strictObject({
    id: ClassroomIdSchema,
    title: z.string().min(1).max(200).describe('What learners see on the sign-in page'),
    joinCode: z
      .string()
      .regex(/^[A-Za-z0-9-]{8,64}$/, 'a join code is 8–64 letters, digits or dashes (short codes are guessable)')
      .optional()
      .describe('Static code for workshops: anyone who knows it signs in with a display name'),
    roster: z
      .array(z.email())
      .max(5000)
      .optional()
      .describe('E-mail addresses allowed to sign in through OpenID Connect (verified e-mail only)'),
    instructorCode: z
      .string()
      .regex(/^[A-Za-z0-9-]{16,128}$/, 'an instructor code is 16–128 letters, digits or dashes')
      .optional()
      .describe('Secret code that opens the instructor page without OIDC (workshops); keep it out of the join link'),
    instructors: z.array(z.email()).default([]).describe('E-mail addresses (OIDC) that see the instructor page'),
    labs: z.array(LabIdSchema).min(1).describe('Labs of this class, in order'),
    capacity: z.number().int().min(1).max(2000).describe('Most learners with a pod at the same time'),
    warmPool: z.number().int().min(0).max(500).default(0).describe('Ready, unclaimed pods kept for instant sign-in'),
    sessionExpiryMinutes: z.number().int().min(5).max(7 * 24 * 60).default(8 * 60).describe('How long a sign-in lasts'),
    idleTimeoutMinutes: z.number().int().min(1).max(24 * 60).default(30).describe('Pod culled when no page of it sent a heartbeat for this long'),
    hiddenTimeoutMinutes: z.number().int().min(1).max(24 * 60).default(60).describe('Pod culled when its pages were all hidden (background tab) for this long'),
    maxPodHours: z.number().min(0.25).max(72).default(8).describe('Hard cap on one pod\'s life, whatever its activity'),
  })
  .refine((c) => c.joinCode !== undefined || (c.roster?.length ?? 0) > 0, {
    message: 'a classroom needs a joinCode, a roster, or both: otherwise nobody can sign in',
    path: ['joinCode'],
  })
  .refine((c) => c.instructorCode === undefined || c.instructorCode !== c.joinCode, {
    message: 'the instructor code must differ from the join code, or every learner could open the instructor page',
    path: ['instructorCode'],
  })
  .refine((c) => c.warmPool <= c.capacity, { message: 'warmPool cannot exceed capacity', path: ['warmPool'] })
  .describe('One class: sign-in, labs, capacity and pod life cycle');

export type Classroom = z.infer<typeof ClassroomSchema>;
export type ClassroomInput = z.input<typeof ClassroomSchema>;

/** A classroom definition that does not validate, with every problem named by its field. */
export class ClassroomDefinitionError extends Error {
  readonly problems: readonly { path: string; message: string }[];

  constructor(source: string, problems: readonly { path: string; message: string }[]) {
    super(`${source} is not a valid classroom: ${problems.map((p) => `${p.path || '(top)'}: ${p.message}`).join('; ')}`);
    this.problems = problems;
  }
}

/** Parses a classroom definition; `source` names where it came from in the error (a file, a row). */
export function parseClassroom(value: unknown, source: string): Classroom {
  const parsed = ClassroomSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new ClassroomDefinitionError(
    source,
    parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
  );
}
