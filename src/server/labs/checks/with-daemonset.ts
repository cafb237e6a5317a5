/** The guard every DaemonSet check starts with: the DaemonSet must exist. */
import type { V1DaemonSet } from '@kubernetes/client-node';
import { fail, type CheckContext, type CheckFunction, type CheckOutcome } from '../define.ts';

/** Runs `judge` on the named DaemonSet, or fails saying it does not exist and how to create it. */
export function withDaemonSet(
  name: string,
  file: string,
  judge: (daemonSet: V1DaemonSet, context: CheckContext) => Promise<CheckOutcome> | CheckOutcome,
): CheckFunction {
  return async (context) => {
    const daemonSet = await context.snapshot.daemonSet(name);
    if (!daemonSet) {
      const others = (await context.snapshot.daemonSets()).map((d) => d.metadata?.name);
      const seen = others.length ? `; DaemonSets there: ${others.join(', ')}` : '';
      return fail(
        `There is no DaemonSet ${name} in namespace default${seen}.`,
        `Create it from your file: kubectl apply -f ${file}, then list it with kubectl get daemonsets.`,
      );
    }
    return judge(daemonSet, context);
  };
}

