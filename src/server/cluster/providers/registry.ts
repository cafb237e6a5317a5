/**
 * The registry of cluster providers: one factory per engine, the `auto` choice, and the choice
 * saved by `up` so that later commands talk to the engine that is running.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { writeFileAtomic } from '../../atomic-file.ts';
import { dirname } from 'node:path';
import { EnvironmentError, UsageError } from '../../errors.ts';
import { withProgress } from '../../progress.ts';
import { savedProviderFile, type ProviderContext } from './context.ts';
import { embeddedProvider } from './embedded.ts';
import { existingProvider } from './existing.ts';
import { kindProvider } from './kind.ts';
import { PROVIDER_NAMES, type ClusterProvider, type ClusterStatus, type ProviderChoice, type ProviderName } from './provider.ts';

const FACTORIES: Record<ProviderName, (context: ProviderContext) => ClusterProvider> = {
  embedded: embeddedProvider,
  kind: kindProvider,
  existing: existingProvider,
};

/** Parses a --provider value; an unknown one lists the valid ones. */
export function parseProviderChoice(text: string): ProviderChoice {
  if (text === 'auto' || (PROVIDER_NAMES as readonly string[]).includes(text)) return text as ProviderChoice;
  throw new UsageError(`Unknown provider "${text}". Valid providers: auto, ${PROVIDER_NAMES.join(', ')}.`);
}

/** Creates the named provider. */
export function createProvider(name: ProviderName, context: ProviderContext): ClusterProvider {
  return FACTORIES[name](context);
}

/** A provider and, for `auto`, why it was chosen. */
export interface ResolvedProvider {
  readonly provider: ClusterProvider;
  readonly explanation: string;
}

/** The choice `up` saved, with the existing engine's kubeconfig and context. */
interface SavedChoice {
  provider: ProviderName;
  existing?: ProviderContext['existing'];
}

function readSavedChoice(context: ProviderContext): SavedChoice | undefined {
  const file = savedProviderFile(context);
  if (!existsSync(file)) return undefined;
  try {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as SavedChoice;
    return (PROVIDER_NAMES as readonly string[]).includes(saved.provider) ? saved : undefined;
  } catch {
    return undefined;
  }
}

/** The object without its undefined values (so they do not hide saved ones when spread over them). */
function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Remembers the engine `up` started, so `status`, `down` and the site find it. */
export async function saveChoice(provider: ProviderName, context: ProviderContext): Promise<void> {
  const file = savedProviderFile(context);
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  // Which cluster, never the permission to change it: --allow-non-lab-cluster holds for the one
  // command that was given it, not for every later start.
  const existing = context.existing ? { kubeconfig: context.existing.kubeconfig, context: context.existing.context } : undefined;
  const saved: SavedChoice = { provider, ...(provider === 'existing' && existing ? { existing } : {}) };
  // Whole or not at all: a half-written choice would read as none, and auto might pick another engine.
  await writeFileAtomic(file, `${JSON.stringify(saved, null, 2)}\n`);
}

/**
 * Resolves a choice to a provider. Without an explicit choice, the engine `up` saved is used, and
 * `auto` otherwise: kind where kind and a working container engine exist, embedded elsewhere.
 */
export async function resolveProvider(choice: ProviderChoice | undefined, context: ProviderContext): Promise<ResolvedProvider> {
  if (choice === undefined) {
    const saved = readSavedChoice(context);
    if (saved) {
      // A file saved by an older version may still hold allowNonLabCluster: it is dropped.
      const savedCluster = saved.existing ? { kubeconfig: saved.existing.kubeconfig, context: saved.existing.context } : undefined;
      const withExisting = savedCluster ? { ...context, existing: { ...savedCluster, ...definedOnly(context.existing ?? {}) } } : context;
      return { provider: createProvider(saved.provider, withExisting), explanation: `using the ${saved.provider} engine that \`up\` started` };
    }
    choice = 'auto';
  }
  if (choice !== 'auto') return { provider: createProvider(choice, context), explanation: `using the ${choice} engine, as asked` };
  const kind = createProvider('kind', context);
  const kindAvailability = await kind.availability();
  if (kindAvailability.usable && !kindAvailability.slowStart) {
    return { provider: kind, explanation: `auto chose kind: ${kindAvailability.reason}` };
  }
  if (kindAvailability.usable) {
    return {
      provider: createProvider('embedded', context),
      explanation: `auto chose embedded: kind could run (${kindAvailability.reason}) but ${kindAvailability.slowStart}; \`up --provider kind\` builds it`,
    };
  }
  return {
    provider: createProvider('embedded', context),
    explanation: `auto chose embedded: kind is not usable here (${kindAvailability.reason})`,
  };
}

/**
 * Starts a provider's cluster as `cluster up` and `npm start` do: refuses an engine that cannot run
 * here (saying why), starts it with progress, and saves the choice for later commands.
 */
export async function startCluster(provider: ClusterProvider, context: ProviderContext): Promise<ClusterStatus> {
  const availability = await provider.availability();
  if (!availability.usable) {
    throw new EnvironmentError(
      `The ${provider.name} engine cannot run here: ${availability.reason}.`,
      availability.fix ?? 'Choose another engine with --provider embedded.',
    );
  }
  const status = await withProgress(`Starting the ${provider.name} cluster`, () => provider.up());
  await saveChoice(provider.name, context);
  return status;
}
