/**
 * npm run cluster -- up|down|status|reset|kubeconfig|env|add-node|add-nodes|remove-node|node-condition [--provider auto|embedded|kind|existing]
 */
import { parseCommandLine, runCli } from '../src/server/cli.ts';
import { EnvironmentError, UsageError } from '../src/server/errors.ts';
import { withProgress } from '../src/server/progress.ts';
import { MAX_NEW_NODES, parseLabel, parseTaint } from '../src/server/cluster/baseline.ts';
import type { NodeTemplate } from '../src/server/cluster/topology.ts';
import { defaultProviderContext } from '../src/server/cluster/providers/context.ts';
import { parseProviderChoice, resolveProvider, startCluster } from '../src/server/cluster/providers/registry.ts';
import { ALLOW_NON_LAB_CLUSTER_FLAG } from '../src/server/cluster/providers/existing.ts';
import { kubeClients } from '../src/server/cluster/kube.ts';
import { parseNodeCondition, setNodeCondition } from '../src/server/cluster/embedded/simulation/conditions.ts';

const USAGE = `Usage: npm run cluster -- <command> [options]

Commands:
  up                 start the lab cluster (idempotent) and bring it to the baseline topology
  down [--purge]     stop it (embedded keeps its data unless --purge; kind deletes it)
  status [--json]    which engine, whether it runs, which nodes are Ready
  reset              remove everything learners made; restore node labels and taints
  kubeconfig         print the kubeconfig path
  env                print shell lines for: eval "$(npm run -s cluster -- env)"
  add-node [--name NAME] [--label k=v]... [--taint k=v:Effect]...
  add-nodes COUNT [--label k=v]... [--taint k=v:Effect]...
                     add COUNT workers alike (embedded engine), e.g. add-nodes 1000 for a big cluster
  remove-node NAME
  node-condition NODE NotReady|MemoryPressure|DiskPressure|PIDPressure [--clear]
                     make a simulated node report a condition (embedded engine); the node
                     lifecycle controller then taints it

Options:
  --provider auto|embedded|kind|existing   (default: the engine \`up\` started, else auto)
  --context NAME --kubeconfig PATH          for --provider existing
  ${ALLOW_NON_LAB_CLUSTER_FLAG}                   let reset and lab setup change a cluster without the lab marker
`;

/** The labels and taints of `--label` and `--taint`. */
function nodeTemplate(values: { label?: string[]; taint?: string[] }): NodeTemplate {
  return { labels: Object.fromEntries((values.label ?? []).map(parseLabel)), taints: (values.taint ?? []).map(parseTaint) };
}

/** The COUNT of `add-nodes`: a whole number from 1 to MAX_NEW_NODES. */
function parseNodeCount(text: string | undefined): number {
  const count = Number(text);
  if (text === undefined || !/^\d+$/.test(text) || count < 1 || count > MAX_NEW_NODES) {
    throw new UsageError(`add-nodes needs how many nodes to add, a whole number from 1 to ${MAX_NEW_NODES}${text === undefined ? '' : ` (got "${text}")`}: npm run cluster -- add-nodes 1000`);
  }
  return count;
}

const shellQuote = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;

await runCli(async () => {
  const { command, rest, values } = parseCommandLine(
    {
      provider: { type: 'string' },
      context: { type: 'string' },
      kubeconfig: { type: 'string' },
      name: { type: 'string' },
      label: { type: 'string', multiple: true },
      taint: { type: 'string', multiple: true },
      purge: { type: 'boolean' },
      clear: { type: 'boolean' },
      json: { type: 'boolean' },
      'allow-non-lab-cluster': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    USAGE,
  );
  const choice = values.provider === undefined ? undefined : parseProviderChoice(values.provider);
  const context = defaultProviderContext(
    values.context || values.kubeconfig || values['allow-non-lab-cluster']
      ? { existing: { context: values.context, kubeconfig: values.kubeconfig, allowNonLabCluster: values['allow-non-lab-cluster'] } }
      : {},
  );
  const { provider, explanation } = await resolveProvider(choice, context);
  const say = (line: string) => process.stderr.write(`${line}\n`);

  switch (command) {
    case 'up': {
      say(`▸ ${explanation}`);
      const status = await startCluster(provider, context);
      say(`✓ ${status.summary}: ${status.nodes.map((n) => n.name).join(', ')}`);
      say(`  Use it: eval "$(npm run -s cluster -- env)" && kubectl get nodes`);
      return 0;
    }
    case 'down':
      say(await provider.down({ purge: values.purge }));
      return 0;
    case 'status': {
      const status = await provider.status();
      if (values.json) process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
      else {
        process.stdout.write(`engine: ${status.provider} (${explanation})\nstate: ${status.summary}\nkubeconfig: ${status.kubeconfig}\ncontext: ${status.context}\n`);
        for (const node of status.nodes) process.stdout.write(`  ${node.name}  ${node.ready ? 'Ready' : 'NotReady'}  ${node.roles.join(',') || '<none>'}\n`);
      }
      return status.running ? 0 : 1;
    }
    case 'reset':
      await withProgress(`Resetting the ${provider.name} cluster`, () => provider.reset());
      return 0;
    case 'kubeconfig':
      process.stdout.write(`${(await provider.connection()).kubeconfig}\n`);
      return 0;
    case 'env': {
      const connection = await provider.connection();
      process.stdout.write(`export KUBECONFIG=${shellQuote(connection.kubeconfig)}\n`);
      process.stdout.write(`export PATH=${shellQuote(connection.kubectlDir)}:"$PATH"\n`);
      return 0;
    }
    case 'add-node': {
      if (!provider.canChangeNodes) await provider.addNode({}); // throws the engine's explanation
      const name = await provider.addNode({ name: values.name, ...nodeTemplate(values) });
      say(`✓ node ${name} is Ready`);
      return 0;
    }
    case 'add-nodes': {
      const count = parseNodeCount(rest[0]);
      if (!provider.canChangeNodes || !provider.addNodes) await provider.addNode({}); // throws the engine's explanation
      const names = await withProgress(`Adding ${count} nodes`, () => provider.addNodes!(count, nodeTemplate(values)));
      const span = names.length === 1 ? names[0] : `${names[0]} … ${names.at(-1)}`;
      say(`  ${names.length} new nodes, all Ready: ${span}`);
      return 0;
    }
    case 'remove-node': {
      const [name] = rest;
      if (!name) throw new UsageError('remove-node needs the node name: npm run cluster -- remove-node NAME');
      await provider.removeNode(name);
      say(`✓ node ${name} and its pods are removed`);
      return 0;
    }
    case 'node-condition': {
      const [node, name] = rest;
      if (!node) throw new UsageError('node-condition needs a node and a condition: npm run cluster -- node-condition daemonset-lab-worker2 NotReady [--clear]');
      const condition = parseNodeCondition(name);
      if (provider.name !== 'embedded') {
        throw new EnvironmentError(
          `node-condition changes simulated nodes only; the ${provider.name} engine's kubelets report their own conditions.`,
          'Use the embedded engine: npm run cluster -- up --provider embedded',
        );
      }
      const connection = await provider.connection();
      const reported = await setNodeCondition(kubeClients(connection.kubeconfig, connection.context), node, condition, values.clear);
      say(`✓ ${node} reports ${reported}`);
      return 0;
    }
    default:
      throw new UsageError(`Unknown command "${command}".\n\n${USAGE}`);
  }
});
