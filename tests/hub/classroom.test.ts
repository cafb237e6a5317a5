/** The Classroom definition: defaults, and each invalid definition named by its field. */
import { describe, expect, it } from 'vitest';
import { ClassroomDefinitionError, parseClassroom } from '../../hub/classroom.ts';

const valid = { id: 'k8s-101', title: 'Kubernetes 101', joinCode: 'WORKSHOP-2026', labs: ['first-daemonset'], capacity: 30 };

describe('Classroom', () => {
  it('fills in the life-cycle defaults', () => {
    expect(parseClassroom(valid, 'classrooms.yaml')).toMatchObject({ warmPool: 0, idleTimeoutMinutes: 30, hiddenTimeoutMinutes: 60, maxPodHours: 8, sessionExpiryMinutes: 480, instructors: [] });
  });

  it('accepts a roster without a join code', () => {
    const { joinCode: _, ...rest } = valid;
    expect(parseClassroom({ ...rest, roster: ['ada@example.org'] }, 'x').roster).toEqual(['ada@example.org']);
  });

  it.each([
    [{ ...valid, joinCode: undefined }, 'joinCode: a classroom needs a joinCode, a roster, or both'],
    [{ ...valid, joinCode: 'abc' }, 'joinCode: a join code is 8–64 letters'],
    [{ ...valid, warmPool: 31 }, 'warmPool: warmPool cannot exceed capacity'],
    [{ ...valid, labs: ['First DaemonSet'] }, 'labs.0: a lab id is lowercase words joined by dashes'],
    [{ ...valid, id: 'K8s 101' }, 'id: a classroom id is 1–40 lowercase letters'],
    [{ ...valid, instructorCode: 'WORKSHOP-2026' }, 'instructorCode: an instructor code is 16–128'],
    [{ ...valid, instructorCode: 'WORKSHOP-2026-INSTRUCTORS', joinCode: 'WORKSHOP-2026-INSTRUCTORS' }, 'instructorCode: the instructor code must differ from the join code'],
    [{ ...valid, capacity: 0 }, 'capacity:'],
    [{ ...valid, roster: ['not-an-address'] }, 'roster.0:'],
    [{ ...valid, colour: 'blue' }, 'colour'],
  ])('refuses %j, naming the field', (input, message) => {
    expect(() => parseClassroom(input, 'classrooms.yaml')).toThrow(ClassroomDefinitionError);
    expect(() => parseClassroom(input, 'classrooms.yaml')).toThrow(message);
    expect(() => parseClassroom(input, 'classrooms.yaml')).toThrow('classrooms.yaml is not a valid classroom');
  });
});
