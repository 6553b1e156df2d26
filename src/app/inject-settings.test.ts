import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LABELS } from '../compose/compose-spec.js';
import { DockerUnreachableError, UsageError } from '../errors.js';
import { buildModel, resolveSettings } from '../model/settings.js';
import type { ContainerInfo } from '../runtime/containers.js';
import { containerInfo } from '../runtime/test-support.js';
import { injectSettings, runningSettings, type InjectSettingsContext, type RunningProjectEngine } from './inject-settings.js';

const container = containerInfo;

/** A project as `up` labels it: every container carries the Istio version label. */
function project(registry: 'consul' | 'eureka', istioVersion: string, extra: ContainerInfo[] = []): { containers: ContainerInfo[]; labels: Record<string, Record<string, string>> } {
  const containers = [
    container('istio-pilot', { component: 'pilot' }),
    container(registry, { role: 'registry', component: registry }),
    container('registrator', { role: 'registrator', component: 'registrator' }),
    ...extra,
  ];
  const labels = Object.fromEntries(containers.map((c) => [c.id, { [LABELS.role]: c.role!, [LABELS.istioVersion]: istioVersion }]));
  return { containers, labels };
}

/** The Engine's two calls over fixed containers; records which projects were asked for. */
function engineOf(stack: { containers: ContainerInfo[]; labels: Record<string, Record<string, string>> }, asked: string[] = []): RunningProjectEngine {
  return {
    projectContainers: async (name) => {
      asked.push(name);
      return stack.containers;
    },
    inspectContainer: async (id) => ({ Id: id, Config: { Labels: stack.labels[id] ?? {} } }),
  };
}

async function context(engine: RunningProjectEngine | undefined, extra: Partial<InjectSettingsContext> = {}): Promise<InjectSettingsContext> {
  const cwd = await mkdtemp(join(tmpdir(), 'mesh-local-inject-settings-'));
  return { cwd, env: {}, ...(engine ? { engine: () => engine } : {}), ...extra };
}

async function saveState(cwd: string, projectName: string, flags: Record<string, unknown>): Promise<void> {
  await mkdir(join(cwd, '.mesh-local', projectName), { recursive: true });
  await writeFile(join(cwd, '.mesh-local', projectName, 'state.json'), JSON.stringify({ flags, bookinfo: false }));
}

function usageError(promise: Promise<unknown>): Promise<UsageError> {
  return promise.then(
    () => {
      throw new Error('expected a UsageError, it resolved');
    },
    (error: unknown) => {
      expect(error).toBeInstanceOf(UsageError);
      return error as UsageError;
    },
  );
}

describe('injectSettings: a running project decides the registry and Istio version', () => {
  it('a running Eureka 0.6.0 project: its values, said on one line', async () => {
    const asked: string[] = [];
    const ctx = await context(engineOf(project('eureka', '0.6.0'), asked));
    const result = await injectSettings({ project: 'demo' }, ctx);
    expect(asked).toEqual(['demo']);
    expect(result.flags).toMatchObject({ project: 'demo', registry: 'eureka', istioVersion: '0.6.0', addons: '' });
    expect(result.message).toBe("using project demo's settings: registry eureka, Istio 0.6.0, images upstream (from its running containers)");
  });

  it('the default project name is looked up when none is given', async () => {
    const asked: string[] = [];
    await injectSettings({}, await context(engineOf({ containers: [], labels: {} }, asked)));
    expect(asked).toEqual(['mesh-local']);
  });

  it('running values beat the config file and the environment, as the saved flags of up do', async () => {
    const ctx = await context(engineOf(project('eureka', '0.6.0')), { env: { MESH_LOCAL_REGISTRY: 'consul', MESH_LOCAL_ISTIO_VERSION: '0.8.0' } });
    await writeFile(join(ctx.cwd, 'mesh-local.yaml'), 'registry: consul\n');
    const result = await injectSettings({ project: 'demo' }, ctx);
    expect(result.flags).toMatchObject({ registry: 'eureka', istioVersion: '0.6.0' });
  });

  it('flags that agree with the running project are taken', async () => {
    const result = await injectSettings({ project: 'demo', registry: 'eureka', istioVersion: '0.6.0' }, await context(engineOf(project('eureka', '0.6.0'))));
    expect(result.flags).toMatchObject({ registry: 'eureka', istioVersion: '0.6.0' });
  });

  it('--registry that contradicts the running project is refused with exit 2, naming both', async () => {
    const error = await usageError(injectSettings({ project: 'demo', registry: 'consul' }, await context(engineOf(project('eureka', '0.6.0')))));
    expect(error.exitCode).toBe(2);
    expect(error.message).toBe(
      '--registry consul contradicts project demo, which runs registry eureka (from its running containers): its sidecars would ask a consul registry that is not there',
    );
    expect(error.hint).toContain('--project');
  });

  it('--istio-version that contradicts the running project is refused with exit 2, naming both', async () => {
    const error = await usageError(injectSettings({ project: 'demo', istioVersion: '0.8.0' }, await context(engineOf(project('eureka', '0.6.0')))));
    expect(error.message).toContain('--istio-version 0.8.0 contradicts project demo, which runs Istio 0.6.0');
  });

  it('running addons come along (zipkin gives the proxy a Zipkin address); a flag still wins for addons', async () => {
    const stack = project('consul', '0.8.0', [container('zipkin', { role: 'addon', component: 'zipkin' }), container('prometheus', { role: 'addon', component: 'prometheus' })]);
    const result = await injectSettings({ project: 'demo' }, await context(engineOf(stack)));
    expect(result.flags.addons).toBe('prometheus,zipkin');
    expect(result.message).toContain('addons prometheus,zipkin');
    expect((await injectSettings({ project: 'demo', addons: '' }, await context(engineOf(stack)))).flags.addons).toBe('');
  });

  it('the image set is the one whose Pilot image the running Pilot has', async () => {
    const sandboxPilot = buildModel(resolveSettings({ env: {}, flags: { istioVersion: '0.6.0', imageSet: 'sandbox' } }).settings).images.pilot!;
    const stack = project('eureka', '0.6.0');
    stack.containers[0] = { ...stack.containers[0]!, image: sandboxPilot };
    const result = await injectSettings({ project: 'demo' }, await context(engineOf(stack)));
    expect(result.flags.imageSet).toBe('sandbox');
    expect(result.message).toContain('images sandbox');
  });

  it('the saved state adds image settings the containers cannot tell', async () => {
    const ctx = await context(engineOf(project('eureka', '0.6.0')));
    await saveState(ctx.cwd, 'demo', { registry: 'eureka', imageMirror: 'mirror.local:5000', image: ['proxy=my/proxy:1'] });
    const result = await injectSettings({ project: 'demo' }, ctx);
    expect(result.flags).toMatchObject({ imageMirror: 'mirror.local:5000', image: ['proxy=my/proxy:1'], registry: 'eureka', istioVersion: '0.6.0' });
    expect(result.message).toContain(`(from its running containers and ${join('.mesh-local', 'demo', 'state.json')})`);
  });

  it('containers that are not running, or are not mesh-local\'s, are no running project: flags unchanged, nothing said', async () => {
    const stopped = project('eureka', '0.6.0');
    stopped.containers = stopped.containers.map((c) => ({ ...c, state: 'exited' as const }));
    const foreign = { containers: [container('web', { role: undefined, component: undefined })], labels: {} };
    for (const stack of [stopped, foreign, { containers: [], labels: {} }]) {
      const ctx = await context(engineOf(stack));
      await saveState(ctx.cwd, 'demo', { registry: 'eureka' }); // a stale state is not a running project
      expect(await injectSettings({ project: 'demo', addons: 'zipkin' }, ctx)).toEqual({ flags: { project: 'demo', addons: 'zipkin' }, message: undefined });
    }
  });

  it('an Engine that does not answer: the saved state stands in, without refusals, and says so', async () => {
    const down: RunningProjectEngine = {
      projectContainers: async () => {
        throw new DockerUnreachableError('cannot reach the Docker Engine at the default Docker socket: connect ENOENT');
      },
      inspectContainer: async () => undefined,
    };
    const ctx = await context(down);
    await saveState(ctx.cwd, 'demo', { registry: 'eureka', istioVersion: '0.6.0' });
    const result = await injectSettings({ project: 'demo', registry: 'consul' }, ctx);
    expect(result.flags).toMatchObject({ registry: 'consul', istioVersion: '0.6.0' });
    expect(result.message).toBe(
      `using project demo's settings: registry consul, Istio 0.6.0, images upstream (from ${join('.mesh-local', 'demo', 'state.json')}; cannot reach the Docker Engine at the default Docker socket: connect ENOENT, so it may not be running)`,
    );
  });

  it('an Engine that hangs is given up after the lookup deadline; without state, the defaults are used and said', async () => {
    const hanging: RunningProjectEngine = {
      projectContainers: (_project, signal) => new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(signal.reason))),
      inspectContainer: async () => undefined,
    };
    const started = Date.now();
    const result = await injectSettings({ project: 'demo' }, await context(hanging, { engineLookupMs: 200 }));
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(result).toEqual({
      flags: { project: 'demo' },
      message: 'could not check for a running project demo (the Docker Engine did not answer within 0.2s); using registry consul, Istio 0.8.0',
    });
  });

  it('Ctrl-C during the lookup rejects with its reason', async () => {
    const interrupt = new AbortController();
    const hanging: RunningProjectEngine = {
      projectContainers: (_project, signal) => new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted call')))),
      inspectContainer: async () => undefined,
    };
    const pending = injectSettings({ project: 'demo' }, await context(hanging, { signal: interrupt.signal }));
    setTimeout(() => interrupt.abort(new Error('Ctrl-C')), 50);
    await expect(pending).rejects.toThrow('Ctrl-C');
  });

  it('without an Engine or a saved state, the flags are used as given and nothing is said', async () => {
    expect(await injectSettings({ registry: 'eureka' }, await context(undefined))).toEqual({ flags: { registry: 'eureka' }, message: undefined });
  });
});

describe('runningSettings: what the labels of a project\'s containers say', () => {
  it('registry from the registry role, version from the label, no image set for an unknown Pilot image', async () => {
    const stack = project('consul', '0.7.1');
    expect(await runningSettings(stack.containers, engineOf(stack))).toEqual({ registry: 'consul', istioVersion: '0.7.1', addons: [], imageSet: undefined });
  });

  it('a restarting container still counts as running; a project without a registry container gives no registry', async () => {
    const stack = { containers: [container('istio-pilot', { component: 'pilot', state: 'restarting' })], labels: { 'id-istio-pilot': { [LABELS.istioVersion]: '0.8.0' } } };
    expect(await runningSettings(stack.containers, engineOf(stack))).toMatchObject({ registry: undefined, istioVersion: '0.8.0' });
  });
});
