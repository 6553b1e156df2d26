/**
 * `mesh-local route apply|list|get|delete`: RouteRule and DestinationPolicy objects in the API
 * server, what `istioctl create/replace/get/delete` did in Istio 0.6-0.8
 * (istioctl/cmd/istioctl/main.go@0.8.0). One code path for the CLI and the library: every use case
 * takes its inputs, its dependencies (the config store, Pilot's registry view) and a signal, and
 * returns data; the `format*` functions make the CLI's text.
 */
import { dump } from 'js-yaml';
import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { alignColumns } from '../output/columns.js';
import { deadline } from '../common/deadline.js';
import { readYamlDocuments } from '../common/yaml-file.js';
import { ConfigStoreError, NotFoundError, RuleValidationError, UsageError, type RuleIssue } from '../errors.js';
import {
  RULE_API_VERSION,
  RULE_KINDS,
  checkAgainstRegistry,
  parseRuleDocuments,
  resolveHostname,
  type IstioService,
  type RuleDocument,
  type RuleKind,
} from '../model/route-rules.js';
import { HttpConfigStore, type ConfigObject, type ConfigStore, type StoredConfig } from '../runtime/config-store.js';
import type { DockerEngine } from '../runtime/docker-engine.js';
import { pilotRegistry, type LabelQuery, type RegistryView } from '../runtime/pilot-registry.js';
import { requireEndpoints } from './endpoints.js';

/** istioctl's namespace when neither `--namespace` nor the document names one (main.go@0.8.0 `getDefaultNamespace`). */
export const DEFAULT_RULE_NAMESPACE = 'default';
/** How long putting things back after a failed apply may take; it runs even after Ctrl-C. */
export const ROLLBACK_TIMEOUT_MS = 30_000;

export interface RouteDeps {
  store: ConfigStore;
  /** Pilot's view of the registry; only `applyRules` uses it. */
  registry: RegistryView;
}

/** `routerule`, `destinationpolicy`: how objects are named in output and in `route get/delete` arguments. */
export function kindLabel(kind: RuleKind): string {
  return kind.toLowerCase();
}

const KIND_NAMES: ReadonlyMap<string, RuleKind> = new Map([
  ['routerule', 'RouteRule'],
  ['routerules', 'RouteRule'],
  ['route-rule', 'RouteRule'],
  ['destinationpolicy', 'DestinationPolicy'],
  ['destinationpolicies', 'DestinationPolicy'],
  ['destination-policy', 'DestinationPolicy'],
]);

/** `routerule`, `RouteRule`, `route-rule`, `destinationpolicies`... -> the kind. Errors: UsageError. */
export function parseKind(text: string): RuleKind {
  const kind = KIND_NAMES.get(text.toLowerCase());
  if (!kind) throw new UsageError(`unknown kind '${text}': use routerule or destinationpolicy`);
  return kind;
}

/**
 * A name as `route get/delete` take it: `NAME`, or `KIND/NAME` as `route apply` prints it.
 * Errors: UsageError when a kind is given twice and they differ.
 */
export function parseRuleReference(text: string, kind?: RuleKind): { name: string; kind?: RuleKind } {
  const slash = text.indexOf('/');
  if (slash === -1) return kind ? { name: text, kind } : { name: text };
  const named = parseKind(text.slice(0, slash));
  if (kind && kind !== named) throw new UsageError(`'${text}' names a ${named}, but --kind says ${kind}`);
  const name = text.slice(slash + 1);
  if (name === '') throw new UsageError(`'${text}' has no name after the kind`);
  return { name, kind: named };
}

// ---- apply ------------------------------------------------------------------------------------

export type ApplyAction = 'created' | 'configured' | 'unchanged';

export interface AppliedObject {
  kind: RuleKind;
  name: string;
  namespace: string;
  action: ApplyAction;
  /** The resourceVersion the object has now. */
  resourceVersion: string;
  /** Where it came from: the file and the 1-based document index in it. */
  file: string;
  document: number;
}

interface Planned {
  doc: RuleDocument;
  file: string;
  namespace: string;
  desired: ConfigObject;
}

/**
 * The namespace an object goes to, as istioctl's `handleNamespaces` (main.go@0.8.0) decided it:
 * `--namespace`, else the document's, else `default`; a document naming another namespace than
 * `--namespace` is refused.
 */
function namespaceOf(doc: RuleDocument, flag: string | undefined): { namespace: string } | { problem: string } {
  const own = doc.metadata.namespace;
  if (own !== undefined && flag !== undefined && own !== flag) {
    return { problem: `the document's namespace "${own}" does not match --namespace "${flag}"; pass --namespace ${own} to apply it` };
  }
  return { namespace: flag ?? own ?? DEFAULT_RULE_NAMESPACE };
}

/** The label selectors the rules use, per destination hostname (what `checkAgainstRegistry` checks). */
export function labelQueries(docs: readonly RuleDocument[]): LabelQuery[] {
  const out: LabelQuery[] = [];
  for (const doc of docs) {
    if (doc.kind !== 'RouteRule') continue;
    for (const route of doc.spec.route ?? []) {
      if (!route.labels || Object.keys(route.labels).length === 0) continue;
      const hostname = resolveHostname(route.destination ?? doc.spec.destination, doc.metadata);
      if (hostname !== undefined) out.push({ hostname, labels: route.labels });
    }
  }
  return out;
}

const objectKey = (kind: RuleKind, namespace: string, name: string) => `${kind}/${namespace}/${name}`;

/**
 * Reads and validates every document of every file, then checks them against Pilot's registry,
 * and only then writes: creates each object, or replaces it (with the stored resourceVersion) when
 * one of that name exists and its spec differs. Validation is all or nothing over all files; a
 * store failure midway puts back what this call already wrote (deletes what it created, restores
 * what it replaced) and rethrows the failure.
 *
 * Returns one entry per object, in file and document order.
 * Errors: YamlError/InputFileError (exit 2) for unreadable files; RuleValidationError (exit 2)
 * naming file, document, name, field and problem; UsageError (exit 2) when the files hold no
 * object; ServiceFailedError (exit 1) when Pilot does not answer; ConfigStoreError (exit 1) when
 * the API server refuses or fails (the CRDs not registered, a 409 Conflict from a concurrent change).
 */
export async function applyRules(
  options: { files: readonly string[]; namespace?: string; /** For hints only. */ project?: string },
  deps: RouteDeps,
  signal?: AbortSignal,
): Promise<AppliedObject[]> {
  if (options.files.length === 0) throw new UsageError('route apply needs at least one file (-f FILE)');
  const issues: RuleIssue[] = [];
  const plan: Planned[] = [];
  const seen = new Map<string, string>();
  const docsByFile = new Map<string, RuleDocument[]>();
  for (const file of options.files) {
    const raw = await readYamlDocuments(file);
    let docs: RuleDocument[];
    try {
      docs = parseRuleDocuments(raw, file);
    } catch (error) {
      if (!(error instanceof RuleValidationError)) throw error;
      issues.push(...error.issues);
      continue;
    }
    const resolved: RuleDocument[] = [];
    for (const doc of docs) {
      const issue = (path: string, message: string) => issues.push({ file, document: doc.index, name: doc.metadata.name, path, message });
      const where = namespaceOf(doc, options.namespace);
      if ('problem' in where) {
        issue('metadata.namespace', where.problem);
        continue;
      }
      const key = objectKey(doc.kind, where.namespace, doc.metadata.name);
      const first = seen.get(key);
      if (first !== undefined) {
        issue('metadata.name', `a ${doc.kind} named ${doc.metadata.name} in namespace ${where.namespace} is also in ${first}`);
        continue;
      }
      seen.set(key, `${file} document ${doc.index}`);
      // Pilot resolves `name` (+ namespace, domain) with the namespace the object is stored in.
      const stored = { ...doc, metadata: { ...doc.metadata, namespace: where.namespace } } as RuleDocument;
      resolved.push(stored);
      const spec = (raw[doc.index - 1] as { spec: Record<string, unknown> }).spec;
      plan.push({
        doc: stored,
        file,
        namespace: where.namespace,
        desired: { apiVersion: RULE_API_VERSION, kind: doc.kind, metadata: { name: doc.metadata.name, namespace: where.namespace }, spec },
      });
    }
    docsByFile.set(file, resolved);
  }
  if (issues.length > 0) throw new RuleValidationError(issues);
  if (plan.length === 0) throw new UsageError(`no RouteRule or DestinationPolicy in ${options.files.join(', ')}`);

  const services = await deps.registry(labelQueries(plan.map((step) => step.doc)), signal);
  for (const [file, docs] of docsByFile) {
    try {
      checkAgainstRegistry(docs, services, file);
    } catch (error) {
      if (!(error instanceof RuleValidationError)) throw error;
      issues.push(...error.issues);
    }
  }
  if (issues.length > 0) {
    throw new RuleValidationError(issues, services.size === 0 ? { hint: 'Pilot knows no service yet: deploy the apps first (`mesh-local bookinfo`, or your own with `mesh-local inject`)' } : {});
  }

  // A namespace the API server lacks is bad input (kubectl says so too), not a failure midway.
  const missing = new Set<string>();
  for (const namespace of new Set(plan.map((step) => step.namespace))) {
    if (!(await deps.store.namespaceExists(namespace, signal))) missing.add(namespace);
  }
  for (const step of plan.filter((candidate) => missing.delete(candidate.namespace))) {
    issues.push({
      file: step.file,
      document: step.doc.index,
      name: step.doc.metadata.name,
      path: 'metadata.namespace',
      message: `namespace ${JSON.stringify(step.namespace)} does not exist in the API server (Pilot reads every namespace; ${DEFAULT_RULE_NAMESPACE} is always there)`,
    });
  }
  if (issues.length > 0) throw new RuleValidationError(issues);

  await deps.store.checkRegistered([...new Set(plan.map((step) => step.doc.kind))], signal);
  const current = new Map<Planned, StoredConfig | undefined>();
  for (const step of plan) current.set(step, await deps.store.get(step.doc.kind, step.namespace, step.doc.metadata.name, signal));

  const journal: Array<{ written: StoredConfig; previous: StoredConfig | undefined }> = [];
  const results: AppliedObject[] = [];
  try {
    for (const step of plan) {
      const previous = current.get(step);
      const base = { kind: step.doc.kind, name: step.doc.metadata.name, namespace: step.namespace, file: step.file, document: step.doc.index };
      if (previous && sameContent(previous, step.desired)) {
        results.push({ ...base, action: 'unchanged', resourceVersion: previous.metadata.resourceVersion });
        continue;
      }
      const written = previous
        ? await deps.store.replace({ ...step.desired, metadata: { ...step.desired.metadata, resourceVersion: previous.metadata.resourceVersion } }, step.namespace, signal)
        : await deps.store.create(step.desired, step.namespace, signal);
      journal.push({ written, previous });
      results.push({ ...base, action: previous ? 'configured' : 'created', resourceVersion: written.metadata.resourceVersion });
    }
  } catch (error) {
    const problems = await rollBack(journal, deps.store);
    if (problems.length === 0) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigStoreError(`${reason}\nputting back what this apply had written also failed, so some of it is still stored:\n${problems.map((line) => `  - ${line}`).join('\n')}`, {
      cause: error,
      hint: listHint(options.project, options.namespace),
    });
  }
  return results;
}

/** Whether a stored object already says what `desired` says (so replacing it would change nothing). */
function sameContent(stored: StoredConfig, desired: ConfigObject): boolean {
  return stored.apiVersion === desired.apiVersion && canonical(stored.spec) === canonical(desired.spec);
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    item && typeof item === 'object' && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : item,
  );
}

/**
 * Undoes `journal` newest first: deletes what was created, puts back the previous spec of what was
 * replaced (with the resourceVersion this apply wrote, so a change made since by someone else is
 * not overwritten). Runs under its own deadline, not the caller's signal: after Ctrl-C the store
 * must still be put back. Returns one line per object it could not put back.
 */
async function rollBack(journal: ReadonlyArray<{ written: StoredConfig; previous: StoredConfig | undefined }>, store: ConfigStore): Promise<string[]> {
  const { signal, clear } = deadline(ROLLBACK_TIMEOUT_MS);
  setMaxListeners(0, signal);
  const problems: string[] = [];
  try {
    for (const { written, previous } of [...journal].reverse()) {
      const { kind, metadata } = written;
      const label = `${kindLabel(kind)}/${metadata.name}`;
      try {
        if (previous) {
          await store.replace({ ...previous, metadata: { ...previous.metadata, resourceVersion: metadata.resourceVersion } }, metadata.namespace, signal);
        } else {
          await store.delete(kind, metadata.namespace, metadata.name, signal);
        }
      } catch (error) {
        problems.push(`${label} (${previous ? 'replaced' : 'created'}): ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  } finally {
    clear();
  }
  return problems;
}

/** `routerule/reviews-default created`, one line per object. */
export function formatApplied(results: readonly AppliedObject[]): string {
  return results.map((result) => `${kindLabel(result.kind)}/${result.name} ${result.action}\n`).join('');
}

// ---- list -------------------------------------------------------------------------------------

export interface RuleSummary {
  kind: RuleKind;
  name: string;
  namespace: string;
  /** The destination as written: `service`, or `name[.namespace][.domain]`. */
  destination: string;
  /** RouteRules only, when set. */
  precedence?: number;
  resourceVersion: string;
  /** creationTimestamp (RFC 3339), when the API server gave one. */
  created?: string;
}

function destinationText(spec: Record<string, unknown>): string {
  const destination = spec.destination as IstioService | undefined;
  if (!destination || typeof destination !== 'object') return '';
  if (typeof destination.service === 'string' && destination.service) return destination.service;
  return [destination.name, destination.namespace, destination.domain].filter((part) => typeof part === 'string' && part).join('.');
}

export function summarize(object: StoredConfig): RuleSummary {
  const summary: RuleSummary = {
    kind: object.kind,
    name: object.metadata.name,
    namespace: object.metadata.namespace,
    destination: destinationText(object.spec),
    resourceVersion: object.metadata.resourceVersion,
  };
  if (object.kind === 'RouteRule' && typeof object.spec.precedence === 'number') summary.precedence = object.spec.precedence;
  if (typeof object.metadata.creationTimestamp === 'string') summary.created = object.metadata.creationTimestamp;
  return summary;
}

/**
 * Every RouteRule, then every DestinationPolicy, of the namespace (default `default`), each by name.
 * Errors: ConfigStoreError (the CRDs not registered, the API server failing).
 */
export async function listRules(options: { namespace?: string }, deps: Pick<RouteDeps, 'store'>, signal?: AbortSignal): Promise<RuleSummary[]> {
  const namespace = options.namespace ?? DEFAULT_RULE_NAMESPACE;
  await deps.store.checkRegistered(RULE_KINDS, signal);
  const out: RuleSummary[] = [];
  for (const kind of RULE_KINDS) out.push(...(await deps.store.list(kind, namespace, signal)).map(summarize));
  return out;
}

const LIST_COLUMNS = ['KIND', 'NAME', 'NAMESPACE', 'DESTINATION', 'PRECEDENCE', 'RESOURCE-VERSION', 'CREATED'] as const;

/** A table like `kubectl get` (columns LIST_COLUMNS, two spaces apart), or a line saying there is nothing. */
export function formatRuleTable(rules: readonly RuleSummary[], namespace = DEFAULT_RULE_NAMESPACE): string {
  if (rules.length === 0) return `no route rules or destination policies in namespace ${namespace}\n`;
  const cells = [
    [...LIST_COLUMNS],
    ...rules.map((rule) => [
      rule.kind,
      rule.name,
      rule.namespace,
      rule.destination || '-',
      rule.precedence === undefined ? '-' : String(rule.precedence),
      rule.resourceVersion,
      rule.created ?? '-',
    ]),
  ];
  return alignColumns(cells).map((line) => `${line}\n`).join('');
}

// ---- get ----------------------------------------------------------------------------------------

/** The stored objects named `name`, of `kind` or of both kinds. */
async function findNamed(name: string, kind: RuleKind | undefined, namespace: string, store: ConfigStore, signal?: AbortSignal): Promise<StoredConfig[]> {
  const found: StoredConfig[] = [];
  for (const candidate of kind ? [kind] : RULE_KINDS) {
    const object = await store.get(candidate, namespace, name, signal);
    if (object) found.push(object);
  }
  return found;
}

/** The `route list` command line that shows what a command looked at (its project and namespace). */
function listHint(project: string | undefined, namespace: string | undefined): string {
  const flags = `${project !== undefined ? ` --project ${project}` : ''}${namespace !== undefined && namespace !== DEFAULT_RULE_NAMESPACE ? ` --namespace ${namespace}` : ''}`;
  return `see what is stored with \`mesh-local route list${flags}\``;
}

function notFound(name: string, kind: RuleKind | undefined, namespace: string, project: string | undefined): NotFoundError {
  return new NotFoundError(`no ${kind ?? 'RouteRule or DestinationPolicy'} named ${name} in namespace ${namespace}`, {
    hint: listHint(project, namespace),
  });
}

/**
 * The stored object named `name` (`KIND/NAME` works too), as the API server returns it (with
 * metadata.resourceVersion, uid, creationTimestamp).
 * Errors: NotFoundError (exit 1); UsageError (exit 2) when both a RouteRule and a DestinationPolicy
 * have that name and no kind is given; ConfigStoreError.
 */
export async function getRule(
  options: { name: string; kind?: RuleKind; namespace?: string; /** For hints only. */ project?: string },
  deps: Pick<RouteDeps, 'store'>,
  signal?: AbortSignal,
): Promise<StoredConfig> {
  const namespace = options.namespace ?? DEFAULT_RULE_NAMESPACE;
  const { name, kind } = parseRuleReference(options.name, options.kind);
  await deps.store.checkRegistered(kind ? [kind] : RULE_KINDS, signal);
  const found = await findNamed(name, kind, namespace, deps.store, signal);
  if (found.length === 0) throw notFound(name, kind, namespace, options.project);
  if (found.length > 1) throw ambiguous(name);
  return found[0]!;
}

function ambiguous(name: string): UsageError {
  return new UsageError(`both a RouteRule and a DestinationPolicy are named ${name}; say which: routerule/${name} or destinationpolicy/${name}`);
}

export type OutputFormat = 'yaml' | 'json';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['yaml', 'json'];

/** The object as YAML (block style, no anchors) or as indented JSON, ending with a newline. */
export function formatRule(object: StoredConfig, format: OutputFormat): string {
  if (format === 'json') return `${JSON.stringify(object, null, 2)}\n`;
  return dump(object, { noRefs: true, lineWidth: -1 });
}

// ---- delete -----------------------------------------------------------------------------------

export interface DeletedObject {
  kind: RuleKind;
  name: string;
  namespace: string;
}

/**
 * Deletes the object named `name` (`KIND/NAME` works too), or with `all` every RouteRule and
 * DestinationPolicy of the namespace. Returns what was deleted (empty when `all` found nothing).
 * Errors: NotFoundError (exit 1) for a name nothing has; UsageError (exit 2) for neither or both of
 * name and all, or a name both kinds have without a kind; ConfigStoreError, naming what was deleted
 * before the failure.
 */
export async function deleteRules(
  options: { name?: string; all?: boolean; kind?: RuleKind; namespace?: string; /** For hints only. */ project?: string },
  deps: Pick<RouteDeps, 'store'>,
  signal?: AbortSignal,
): Promise<DeletedObject[]> {
  const namespace = options.namespace ?? DEFAULT_RULE_NAMESPACE;
  if ((options.name === undefined) === !options.all) throw new UsageError('route delete takes either a NAME or --all');
  let targets: DeletedObject[];
  if (options.all) {
    const kinds = options.kind ? [options.kind] : RULE_KINDS;
    await deps.store.checkRegistered(kinds, signal);
    targets = [];
    for (const kind of kinds) targets.push(...(await deps.store.list(kind, namespace, signal)).map((object) => ({ kind, name: object.metadata.name, namespace })));
  } else {
    const { name, kind } = parseRuleReference(options.name!, options.kind);
    await deps.store.checkRegistered(kind ? [kind] : RULE_KINDS, signal);
    const found = await findNamed(name, kind, namespace, deps.store, signal);
    if (found.length === 0) throw notFound(name, kind, namespace, options.project);
    if (found.length > 1) throw ambiguous(name);
    targets = [{ kind: found[0]!.kind, name, namespace }];
  }
  const deleted: DeletedObject[] = [];
  for (const target of targets) {
    try {
      await deps.store.delete(target.kind, target.namespace, target.name, signal);
    } catch (error) {
      if (deleted.length === 0 || !(error instanceof ConfigStoreError)) throw error;
      throw new ConfigStoreError(`${error.message}\n(deleted before this failure: ${deleted.map((object) => `${kindLabel(object.kind)}/${object.name}`).join(', ')})`, { cause: error });
    }
    deleted.push(target);
  }
  return deleted;
}

/** `routerule/reviews-default deleted`, one line per object. */
export function formatDeleted(deleted: readonly DeletedObject[], namespace = DEFAULT_RULE_NAMESPACE): string {
  if (deleted.length === 0) return `no route rules or destination policies in namespace ${namespace}\n`;
  return deleted.map((object) => `${kindLabel(object.kind)}/${object.name} deleted\n`).join('');
}

// ---- propagation ------------------------------------------------------------------------------

/**
 * How long a stored change takes, at most, to reach every sidecar (ms): Pilot serves it on its next
 * read of the API server (the sandbox's stand-in re-reads after 500 ms; the real Pilot watches), and
 * each sidecar polls Pilot's v1 REST discovery once a second (ProxyConfig.discoveryRefreshDelay,
 * default 1 s, pilot/pkg/model/context.go@0.8.0). The v1 API has no acknowledgement from the
 * sidecars to wait for, so this is the bound the sandbox is tested against, not an observation.
 */
export const PROPAGATION_MS = 2_000;

/** Waits PROPAGATION_MS; rejects with the signal's reason (Ctrl-C) when it aborts first. */
export async function waitForPropagation(signal?: AbortSignal): Promise<void> {
  await sleep(PROPAGATION_MS, undefined, signal ? { signal } : {});
}

// ---- dependencies of a running project ----------------------------------------------------------

/**
 * The store and registry of a running project: the API server's and Pilot's published ports, looked
 * up (once, by labels) only when first needed, so that bad rule files are refused without Docker.
 * Errors (on first use): ProjectNotRunningError (exit 1) naming what is not running.
 */
export function projectRouteDeps(
  engine: DockerEngine,
  project: string,
  options: { timeoutMs?: number } = {},
  signal?: AbortSignal,
): RouteDeps {
  let apiserver: Promise<string> | undefined;
  let pilot: Promise<string> | undefined;
  const store = new HttpConfigStore(() => (apiserver ??= requireEndpoints(engine, project, ['apiserver'], signal).then((found) => found.apiserver)), options);
  const registry = pilotRegistry(() => (pilot ??= requireEndpoints(engine, project, ['pilot'], signal).then((found) => found.pilot)), options);
  return { store, registry };
}
