/**
 * The simulated nodes' leases in kube-node-lease, as kwok's controller holds them.
 *
 * kwok's controller manages a node only while it holds the node's Lease, and it names itself
 * afresh at every start (hostname and a random id). A lease the previous controller held is
 * someone else's until it runs out (200 s as kwokctl configures it) and is tried again only every
 * quarter of that: after `down` and `up`, new pods would stay Pending for minutes. So `down` hands
 * the leases back once the controller has stopped, and `up` frees those a killed engine left.
 * The same holds for the leader leases of the controller manager and the scheduler.
 */
import { CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import { JSON_PATCH, statusCode, type KubeClients } from '../kube.ts';

const NODE_LEASE_NAMESPACE = 'kube-node-lease';
const LEADER_LEASE_NAMESPACE = 'kube-system';

/** When the lease was last renewed, or undefined for one never renewed. */
function renewedAt(lease: V1Lease): Date | undefined {
  const time = lease.spec?.renewTime as Date | string | undefined;
  return time === undefined ? undefined : new Date(time);
}

/**
 * Clears the holder of every lease in `namespace` that `wanted` selects, has a holder and was last
 * renewed before `renewedBefore` (whenever renewed, when not given). A lease whose holder changed
 * meanwhile is left alone: the patch tests the holder it read. Returns the names released.
 */
async function releaseLeases(clients: KubeClients, namespace: string, wanted: (name: string) => boolean, renewedBefore?: Date): Promise<string[]> {
  const coordination = clients.config.makeApiClient(CoordinationV1Api);
  const leases = await coordination.listNamespacedLease({ namespace });
  const stale = leases.items.filter((lease) => {
    if (!lease.spec?.holderIdentity || !wanted(lease.metadata!.name!)) return false;
    const renewed = renewedAt(lease);
    return renewedBefore === undefined || renewed === undefined || renewed < renewedBefore;
  });
  const released: string[] = [];
  for (const lease of stale) {
    const name = lease.metadata!.name!;
    const body = [
      { op: 'test', path: '/spec/holderIdentity', value: lease.spec!.holderIdentity },
      { op: 'remove', path: '/spec/holderIdentity' },
    ];
    try {
      await coordination.patchNamespacedLease({ name, namespace, body }, JSON_PATCH);
      released.push(name);
    } catch (error) {
      // 422: the test failed (a new holder took it); 404: the node and its lease are gone.
      if (statusCode(error) !== 422 && statusCode(error) !== 404) throw error;
    }
  }
  return released;
}

/**
 * Clears the holder of every node lease that has one and was last renewed before `renewedBefore`
 * (every held lease when it is not given). Returns the names of the leases released.
 */
export function releaseNodeLeases(clients: KubeClients, renewedBefore?: Date): Promise<string[]> {
  return releaseLeases(clients, NODE_LEASE_NAMESPACE, () => true, renewedBefore);
}

/**
 * Clears the leader leases in kube-system of `components` (kube-controller-manager,
 * kube-scheduler) last renewed before `renewedBefore`. Only for components whose process is known
 * to have died: a killed one never hands its lease back, and its successor, which asks every 2 s,
 * would wait the whole 60 s lease for it to run out, with no DaemonSet controller meanwhile.
 */
export function releaseLeaderLeases(clients: KubeClients, components: ReadonlySet<string>, renewedBefore: Date): Promise<string[]> {
  return releaseLeases(clients, LEADER_LEASE_NAMESPACE, (name) => components.has(name), renewedBefore);
}

/**
 * Deletes every node lease, for a kwok controller about to start with none running: it then
 * creates each lease afresh, as on a new cluster. Given existing leases instead, kwok v0.8.0 may
 * look for them before its lease cache has filled, try to create them, fail (AlreadyExists) and
 * try again only at its next renewal, 50 s later: seen after `down` and `up` on a busy machine,
 * with two of four nodes unmanaged and their new pods Pending. Only a lease's age shows the change.
 */
export async function deleteNodeLeases(clients: KubeClients): Promise<void> {
  await clients.config.makeApiClient(CoordinationV1Api).deleteCollectionNamespacedLease({ namespace: NODE_LEASE_NAMESPACE });
}
