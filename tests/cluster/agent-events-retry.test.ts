/**
 * The simulated kubelet's helper writes an event again when the API server refused it: a refused
 * POST (429, as a busy kube-apiserver answers) must not count as written, or the event is lost.
 * The API server is a fixture answering the helper's requests; the helper is the real program.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { PLAN_ANNOTATION } from '../../src/server/cluster/embedded/simulation/plan-annotation.ts';
import { TOO_MANY_REQUESTS, startAgentAgainstFixture, type AgentFixture } from '../support/agent-fixture.ts';

let fixture: AgentFixture | undefined;

afterAll(() => fixture?.close());

/**
 * A running pod whose readiness probe fails (its plan says so): the helper owes one Unhealthy event,
 * whose count stays 1 (one probe period is longer than the test), so only a retry sends it again.
 */
const POD = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'web-abcde',
    namespace: 'default',
    uid: 'u-1',
    resourceVersion: '7',
    annotations: { [PLAN_ANNOTATION]: JSON.stringify({ containers: { web: { readinessFailure: 'Readiness probe failed: HTTP probe failed with statuscode: 404' } } }) },
  },
  spec: { nodeName: 'daemonset-lab-worker', containers: [{ name: 'web', image: 'nginx:1.27', readinessProbe: { httpGet: { path: '/missing', port: 80 }, periodSeconds: 100_000_000 } }] },
  status: { phase: 'Running', podIP: '10.244.1.7', containerStatuses: [{ name: 'web', ready: false, restartCount: 0, state: { running: { startedAt: '2026-01-01T00:00:00Z' } } }] },
};

describe('the simulated kubelet helper', () => {
  it('sends an event again after the API server refused it', async () => {
    const posts: number[] = [];
    let accepted: () => void = () => {};
    const acceptedPost = new Promise<void>((resolve) => (accepted = resolve));
    fixture = await startAgentAgainstFixture(POD, ({ method, path }) => {
      if (method !== 'POST' || !path.endsWith('/events')) return { status: 200, body: JSON.stringify(POD) }; // The plan patch.
      const status = posts.length === 0 ? 429 : 201;
      posts.push(status);
      if (status === 201) accepted();
      return status === 429 ? TOO_MANY_REQUESTS : { status, body: '{}' };
    });

    await acceptedPost;
    expect(posts.slice(0, 2)).toEqual([429, 201]);
  }, 60_000);
});
