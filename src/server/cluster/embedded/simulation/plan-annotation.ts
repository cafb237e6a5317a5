/** The pod annotation holding the behaviour model's plan (JSON), which the Stages read. */
export const PLAN_ANNOTATION = 'simulation.daemonset-lab.dev/plan';

/** The pod annotation counting image pull attempts, for the pull back-off. */
export const PULLS_ANNOTATION = 'simulation.daemonset-lab.dev/pulls';

/** The node annotation listing the conditions set by `npm run cluster -- node-condition`. */
export const CONDITIONS_ANNOTATION = 'simulation.daemonset-lab.dev/conditions';

/** The pod annotation the helper sets on a pod kwok left in ContainerCreating (stuck-pods.ts). */
export const NUDGED_ANNOTATION = 'simulation.daemonset-lab.dev/nudged';
