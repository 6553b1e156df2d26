import { cp, readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readComposeYaml } from '../src/common/compose-yaml.js';
import { INJECT_LABEL, wantsSidecar } from '../src/compose/inject.js';
import { runProcess } from '../src/runtime/compose-cli.js';
import { COMPOSE_UNDER_TEST, requireCompose, runCli, temporaryDirectory } from './support/cli.js';

/**
 * The corpus (test/fixtures/compose-corpus, written by its generate.mjs): each case is injected
 * and the output checked against what `docker compose config` (v2) makes of the input.
 */
type Doc = Record<string, any>;
const CORPUS = path.join(import.meta.dirname, 'fixtures', 'compose-corpus');
const PROJECT = 'corpusinject';
const SIDECAR_FOR = 'dev.mesh-local.sidecar-for';
/** The labels inject adds to an injected app (sidecar.ts REGISTRATOR_IGNORES). */
const APP_ADDITIONS: Record<string, string> = { SERVICE_IGNORE: '1' };
const CONCURRENCY = 4;

interface Manifest {
  cases: string[];
  refused: Record<string, { contains: string[]; why: string }>;
}

async function v2Config(file: string): Promise<Doc> {
  const compose = await requireCompose('v2');
  return (await compose.effectiveConfig(file, { projectDirectory: path.dirname(file), project: PROJECT })) as Doc;
}

/**
 * `config -q` acceptance by each Compose under test other than v2, whose `config --format json`
 * of both files already ran (v1 reads no `include`, so it may reject an input: then the output too).
 */
async function accepted(file: string): Promise<Record<string, boolean>> {
  const result: Record<string, boolean> = {};
  for (const { choice } of COMPOSE_UNDER_TEST.filter((compose) => compose.choice !== 'v2')) {
    const compose = await requireCompose(choice);
    const run = await runProcess([...compose.variant.command, '-f', file, '-p', PROJECT, 'config', '-q'], { cwd: path.dirname(file) });
    result[choice] = run.exitCode === 0;
  }
  return result;
}

const portKey = (port: Doc) =>
  [port.host_ip ?? '', port.published ?? '', port.target, port.protocol ?? 'tcp', port.mode ?? 'ingress', port.app_protocol ?? ''].join('|');
const ports = (service: Doc | undefined) => ((service?.ports ?? []) as Doc[]).map(portKey).sort();
const expose = (service: Doc | undefined) => ((service?.expose ?? []) as unknown[]).map(String).sort();
const sorted = (labels: Doc | undefined) => Object.fromEntries(Object.entries(labels ?? {}).sort(([a], [b]) => a.localeCompare(b)));
const profiles = (service: Doc | undefined) => (service?.profiles ?? []) as string[];

/** What the init step must capture: every target port and exposed port, ascending. */
function inboundPorts(service: Doc): number[] {
  const found = new Set<number>();
  for (const port of (service.ports ?? []) as Doc[]) found.add(Number(port.target));
  for (const spec of (service.expose ?? []) as unknown[]) {
    const [low, high] = String(spec).split('/')[0]!.split('-').map(Number);
    for (let port = low!; port <= (high ?? low!); port++) found.add(port);
  }
  return [...found].sort((a, b) => a - b);
}

function capturedPorts(service: Doc): number[] {
  const command = (service.command ?? []) as string[];
  const at = command.indexOf('-b');
  return at === -1 ? [] : command[at + 1]!.split(',').map(Number);
}

/** The services the input's own document defines, and which of them inject should give a pod. */
async function expectedPods(file: string, input: Doc): Promise<{ own: string[]; injected: string[] }> {
  const document = (await readComposeYaml(file)).value as Doc;
  const own = Object.keys(document?.services ?? {});
  const bases = new Set(
    own.map((name) => document.services[name]?.extends).filter((e) => e !== undefined && (typeof e === 'string' || e.file === undefined)).map((e) => (typeof e === 'string' ? e : e.service)),
  );
  const injected = own.filter((name) => {
    const service = input.services[name] as Doc;
    return wantsSidecar('enabled', service.labels?.[INJECT_LABEL]) && service.network_mode === undefined && !bases.has(name) &&
      !own.includes(`${name}-pod`);
  });
  return { own, injected };
}

async function checkCase(name: string, manifest: Manifest): Promise<string[]> {
  const problems: string[] = [];
  const fail = (what: string) => problems.push(`${name}: ${what}`);
  const dir = await temporaryDirectory('corpus');
  await cp(path.join(CORPUS, name), dir, { recursive: true });
  const input = path.join(dir, 'compose.yaml');
  const output = path.join(dir, 'injected.yaml');
  const result = await runCli(['inject', '--project', PROJECT, '-f', 'compose.yaml', '-o', 'injected.yaml'], { cwd: dir });
  const refused = manifest.refused[name];
  if (refused) {
    if (result.code !== 2) fail(`expected exit 2 (${refused.why}), got ${result.code}: ${result.stderr}`);
    for (const words of refused.contains) if (!result.stderr.includes(words)) fail(`message lacks "${words}": ${result.stderr}`);
    return problems;
  }
  if (result.code !== 0) return [`${name}: exit ${result.code}: ${result.stderr}`];

  const [before, after] = await Promise.all([v2Config(input), v2Config(output)]);
  const { own, injected } = await expectedPods(input, before);
  const equal = (what: string, actual: unknown, expected: unknown) => {
    if (JSON.stringify(actual) !== JSON.stringify(expected)) fail(`${what}: ${JSON.stringify(actual)} instead of ${JSON.stringify(expected)}`);
  };
  for (const service of Object.keys(before.services)) {
    const original = before.services[service] as Doc;
    const app = after.services[service] as Doc | undefined;
    if (!app) {
      fail(`${service} is missing from the output`);
      continue;
    }
    const pod = after.services[`${service}-pod`] as Doc | undefined;
    const isInjected = pod?.labels?.[SIDECAR_FOR] === service && !(`${service}-pod` in before.services);
    equal(`${service} injected`, isInjected, injected.includes(service));
    if (isInjected) {
      const init = after.services[`${service}-istio-init`] as Doc;
      const proxy = after.services[`${service}-istio-proxy`] as Doc;
      equal(`${service}-pod ports`, ports(pod), ports(original));
      equal(`${service}-pod expose`, expose(pod), expose(original));
      for (const [member, value] of [['pod', pod], ['init', init], ['proxy', proxy]] as const) equal(`${service}-${member} profiles`, profiles(value), profiles(original));
      equal(`${service} network_mode`, app.network_mode, `service:${service}-pod`);
      equal(`${service} ports`, ports(app), []);
      equal(`${service} labels`, sorted(app.labels), sorted({ ...original.labels, ...APP_ADDITIONS }));
      for (const key of Object.keys(APP_ADDITIONS)) if (original.labels?.[key] !== undefined && original.labels[key] !== APP_ADDITIONS[key]) fail(`${service} label ${key} changed`);
      equal(`${service}-istio-init -b`, capturedPorts(init), inboundPorts(original));
    } else {
      equal(`${service} ports`, ports(app), ports(original));
      equal(`${service} expose`, expose(app), expose(original));
      equal(`${service} network_mode`, app.network_mode, original.network_mode);
      equal(`${service} profiles`, profiles(app), profiles(original));
      equal(`${service} labels`, sorted(app.labels), sorted(original.labels));
    }
  }
  const added = Object.keys(after.services).filter((service) => !(service in before.services));
  equal('added services', added.sort(), injected.flatMap((s) => [`${s}-pod`, `${s}-istio-init`, `${s}-istio-proxy`]).sort());
  if (own.length === 0 && Object.keys(before.services).length > 0) fail('no own services read');

  const [acceptedBefore, acceptedAfter] = await Promise.all([accepted(input), accepted(output)]);
  for (const [choice, ok] of Object.entries(acceptedBefore)) if (ok && !acceptedAfter[choice]) fail(`${choice} config -q accepts the input but not the output`);

  const again = await runCli(['inject', '--project', PROJECT, '-f', 'injected.yaml', '-o', 'again.yaml'], { cwd: dir });
  if (again.code !== 0) fail(`injecting the output again: exit ${again.code}: ${again.stderr}`);
  else {
    const body = (text: string) => text.slice(text.indexOf('\n') + 1);
    equal('injected again', body(await readFile(path.join(dir, 'again.yaml'), 'utf8')), body(await readFile(output, 'utf8')));
  }

  const written = new Set((await readFile(output, 'utf8')).split('\n'));
  for (const line of (await readFile(input, 'utf8')).split('\n')) {
    if (line.trim().startsWith('#') && !written.has(line)) fail(`comment line lost: ${JSON.stringify(line)}`);
  }
  return problems;
}

describe('inject corpus', () => {
  it('injects every corpus file as Compose v2 reads it, or refuses the shapes it refuses by design', async () => {
    const manifest = JSON.parse(await readFile(path.join(CORPUS, 'manifest.json'), 'utf8')) as Manifest;
    const folders = (await readdir(CORPUS)).filter((entry) => /^\d{3}-/.test(entry)).sort();
    expect(folders).toEqual(manifest.cases);
    expect(folders.length).toBeGreaterThanOrEqual(100);
    for (const name of Object.keys(manifest.refused)) expect(folders).toContain(name);

    const problems: string[] = [];
    const queue = [...folders];
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let name = queue.shift(); name !== undefined; name = queue.shift()) problems.push(...(await checkCase(name, manifest).catch((error: Error) => [`${name}: ${error.message}`])));
      }),
    );
    expect(problems).toEqual([]);
  }, 300_000);
});
