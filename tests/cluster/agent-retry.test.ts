/**
 * The simulated kubelet's helper under a busy API server: a plan patch that is refused (429, as
 * kube-apiserver answers when its in-flight limit is reached) is sent again, so the pod does not
 * stay Pending for ever. The API server here is a fixture (an HTTPS server answering the helper's
 * three requests); the helper is the real program the embedded engine runs.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { PLAN_ANNOTATION } from '../../src/server/cluster/embedded/simulation/plan-annotation.ts';
import { TOO_MANY_REQUESTS, startAgentAgainstFixture, type AgentFixture } from '../support/agent-fixture.ts';

let fixture: AgentFixture | undefined;

afterAll(() => fixture?.close());

const POD = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'nginx-daemonset-abcde', namespace: 'default', resourceVersion: '7' },
  spec: { nodeName: 'daemonset-lab-worker', containers: [{ name: 'nginx', image: 'nginx:1.14.2' }] },
  status: { phase: 'Pending' },
};

describe('the simulated kubelet helper', () => {
  it('plans a pod again when the API server refused its first plan patch', async () => {
    const patches: { status: number; body: string }[] = [];
    let planned: (body: string) => void = () => {};
    const plannedBody = new Promise<string>((resolve) => (planned = resolve));
    fixture = await startAgentAgainstFixture(POD, ({ body }) => {
      const status = patches.length === 0 ? 429 : 200;
      patches.push({ status, body });
      if (status === 200) planned(body);
      return status === 429 ? TOO_MANY_REQUESTS : { status, body: JSON.stringify(POD) };
    });

    const body = JSON.parse(await plannedBody) as { metadata: { annotations: Record<string, string> } };
    expect(patches.map((patch) => patch.status)).toEqual([429, 200]);
    expect(JSON.parse(body.metadata.annotations[PLAN_ANNOTATION]!)).toHaveProperty('spec');
  }, 60_000);
});
