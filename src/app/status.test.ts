import { describe, expect, it } from 'vitest';
import type { ContainerInfo } from '../runtime/containers.js';
import { formatAge, formatStatusProblems, formatStatusTable, projectStatusRows, statusJson, statusRows } from './status.js';

const NOW = new Date('2024-05-01T12:00:00Z');
const secondsAgo = (seconds: number) => new Date(NOW.getTime() - seconds * 1000);

function container(service: string, overrides: Partial<ContainerInfo> = {}): ContainerInfo {
  return {
    id: `id-${service}`,
    service,
    project: 'mesh-local',
    role: 'control-plane',
    component: service,
    sidecarFor: undefined,
    image: `example/${service}:1`,
    state: 'running',
    health: 'none',
    exitCode: undefined,
    restartCount: 0,
    createdAt: secondsAgo(120),
    startedAt: secondsAgo(100),
    ports: [],
    networkMode: 'mesh-local_mesh',
    addresses: ['172.18.0.2'],
    ...overrides,
  };
}

/** An app with its init and proxy sidecars; overrides per container. */
function app(
  name: string,
  parts: { app?: Partial<ContainerInfo>; init?: Partial<ContainerInfo>; proxy?: Partial<ContainerInfo> } = {},
): ContainerInfo[] {
  return [
    container(name, { role: 'app', component: name, ...parts.app }),
    container(`${name}-istio-init`, {
      role: 'sidecar-init',
      component: 'istio-init',
      sidecarFor: name,
      state: 'exited',
      exitCode: 0,
      ...parts.init,
    }),
    container(`${name}-istio-proxy`, { role: 'sidecar-proxy', component: 'istio-proxy', sidecarFor: name, health: 'healthy', ...parts.proxy }),
  ];
}

const only = (containers: ContainerInfo[]) => {
  const rows = statusRows(containers, NOW);
  expect(rows).toHaveLength(1);
  return rows[0]!;
};

describe('statusRows', () => {
  it('folds init and proxy into the app row: init exited 0 and a healthy proxy is 2/2 Running', () => {
    const row = only(app('productpage-v1'));
    expect(row).toMatchObject({ name: 'productpage-v1', kind: 'app', role: 'app', ready: 2, total: 2, status: 'Running', restarts: 0 });
    expect(row.services).toEqual(['productpage-v1', 'productpage-v1-istio-init', 'productpage-v1-istio-proxy']);
  });

  it('an exited proxy is 1/2 Exited (N)', () => {
    const row = only(app('reviews-v1', { proxy: { state: 'exited', exitCode: 137, health: 'none' } }));
    expect(row).toMatchObject({ ready: 1, total: 2, status: 'Exited (137)' });
  });

  it('an init container that exited non-zero is Init:Error (N)', () => {
    const row = only(app('ratings-v1', { init: { exitCode: 1 }, proxy: { state: 'created', health: 'none', startedAt: undefined } }));
    expect(row).toMatchObject({ ready: 1, total: 2, status: 'Init:Error (1)' });
  });

  it('a running init container is Init:0/1', () => {
    const row = only(app('details-v1', { init: { state: 'running', exitCode: undefined }, proxy: { state: 'created', health: 'none' } }));
    expect(row.status).toBe('Init:0/1');
  });

  it('an app that stopped before its init container ran shows the exit, not the pending init', () => {
    const row = only(
      app('details-v1', {
        app: { state: 'exited', exitCode: 2 },
        init: { state: 'created', exitCode: undefined },
        proxy: { state: 'created', health: 'none' },
      }),
    );
    expect(row).toMatchObject({ ready: 0, total: 2, status: 'Exited (2)' });
  });

  it('a restarting service sums its restarts', () => {
    const row = only([container('pilot', { state: 'restarting', restartCount: 4 })]);
    expect(row).toMatchObject({ kind: 'infrastructure', ready: 0, total: 1, status: 'Restarting', restarts: 4 });
  });

  it('restarts of the sidecars count toward the app row', () => {
    const row = only(app('reviews-v2', { app: { restartCount: 1 }, proxy: { restartCount: 2 } }));
    expect(row.restarts).toBe(3);
  });

  it('a job that exited 0 is Completed and counts nothing toward READY', () => {
    const row = only([container('config-init', { role: 'job', state: 'exited', exitCode: 0 })]);
    expect(row).toMatchObject({ ready: 0, total: 0, status: 'Completed' });
  });

  it('a job that failed is Error (N)', () => {
    expect(only([container('config-init', { role: 'job', state: 'exited', exitCode: 3 })]).status).toBe('Error (3)');
  });

  it('health: unhealthy is not ready, starting is', () => {
    expect(only([container('consul', { health: 'unhealthy' })])).toMatchObject({ ready: 0, total: 1, status: 'Running (unhealthy)' });
    expect(only([container('consul', { health: 'starting' })])).toMatchObject({ ready: 1, total: 1, status: 'Starting' });
    expect(only([container('consul', { health: 'healthy' })])).toMatchObject({ ready: 1, total: 1, status: 'Running' });
  });

  it('a created container is Created', () => {
    expect(only([container('zipkin', { role: 'addon', state: 'created', startedAt: undefined })]).status).toBe('Created');
  });

  it('AGE comes from the oldest start, or creation when a container never started', () => {
    const row = only(
      app('web', {
        app: { startedAt: secondsAgo(3 * 60 + 5) },
        init: { startedAt: undefined, createdAt: secondsAgo(7200) },
        proxy: { startedAt: secondsAgo(30) },
      }),
    );
    expect(row.ageSeconds).toBe(7200);
    expect(formatStatusTable([row]).split('\n')[1]).toMatch(/ 2h$/);
  });

  it('PORTS lists every binding once, IPv6 in brackets', () => {
    const row = only([
      container('istio-ingress', {
        ports: [
          { hostIp: '127.0.0.1', hostPort: 9081, containerPort: 80 },
          { hostIp: '127.0.0.1', hostPort: 9081, containerPort: 80 },
          { hostIp: '::1', hostPort: 9082, containerPort: 443 },
        ],
      }),
    ]);
    expect(formatStatusTable([row]).split('\n')[1]).toMatch(/ 127\.0\.0\.1:9081->80,\[::1\]:9082->443$/);
  });

  it('sorts infrastructure first by service name, then apps by name', () => {
    const rows = statusRows(
      [
        ...app('reviews-v1'),
        container('pilot'),
        ...app('details-v1'),
        container('consul', { role: 'registry' }),
        container('config-init', { role: 'job', state: 'exited', exitCode: 0 }),
        container('apiserver'),
      ],
      NOW,
    );
    expect(rows.map((row) => row.name)).toEqual(['apiserver', 'config-init', 'consul', 'pilot', 'details-v1', 'reviews-v1']);
  });

  it('sidecars whose app container is gone still make an app row', () => {
    const row = only(app('ghost').slice(1));
    expect(row).toMatchObject({ name: 'ghost', kind: 'app', role: undefined, ready: 1, total: 1 });
  });
});

describe('formatAge', () => {
  it.each([
    [-5, '0s'],
    [0, '0s'],
    [45, '45s'],
    [59, '59s'],
    [60, '1m'],
    [3 * 60 + 59, '3m'],
    [3599, '59m'],
    [3600, '1h'],
    [2 * 3600 + 59 * 60, '2h'],
    [86399, '23h'],
    [86400, '1d'],
    [4 * 86400 + 23 * 3600, '4d'],
    [364 * 86400, '364d'],
    [365 * 86400, '1y'],
  ])('%i seconds is %s', (seconds, expected) => {
    expect(formatAge(seconds)).toBe(expected);
  });
});

describe('formatStatusTable', () => {
  it('renders aligned columns with three spaces between them', () => {
    const rows = statusRows(
      [
        container('pilot', { restartCount: 1, startedAt: secondsAgo(45), ports: [{ hostIp: '127.0.0.1', hostPort: 8081, containerPort: 8080 }] }),
        ...app('productpage-v1', {
          app: { startedAt: secondsAgo(3 * 3600), ports: [{ hostIp: '127.0.0.1', hostPort: 9081, containerPort: 9080 }] },
        }),
      ],
      NOW,
    );
    expect(formatStatusTable(rows)).toBe(
      [
        'NAME             READY   STATUS    RESTARTS   AGE   PORTS',
        'pilot            1/1     Running   1          45s   127.0.0.1:8081->8080',
        'productpage-v1   2/2     Running   0          3h    127.0.0.1:9081->9080',
      ].join('\n'),
    );
  });

  it('prints only the header when nothing runs, and no trailing spaces for empty PORTS', () => {
    expect(formatStatusTable([])).toBe('NAME   READY   STATUS   RESTARTS   AGE   PORTS');
    const table = formatStatusTable(statusRows([container('etcd')], NOW));
    expect(table.split('\n')[1]).toBe('etcd   1/1     Running   0          1m');
  });
});

describe('statusJson', () => {
  it('is plain, JSON-round-trippable data', () => {
    const rows = statusRows([...app('reviews-v3', { app: { ports: [{ hostIp: '127.0.0.1', hostPort: 9081, containerPort: 9080 }] } })], NOW);
    const json = statusJson(rows);
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
    expect(json).toEqual([
      {
        name: 'reviews-v3',
        kind: 'app',
        role: 'app',
        ready: 2,
        total: 2,
        status: 'Running',
        restarts: 0,
        age: '1m',
        ageSeconds: 100,
        ports: [{ hostIp: '127.0.0.1', hostPort: 9081, containerPort: 9080 }],
        services: ['reviews-v3', 'reviews-v3-istio-init', 'reviews-v3-istio-proxy'],
        problems: [],
      },
    ]);
  });
});

/** An app in its pod: pause container `id-<name>-pod`, members joined to it, started in order. */
function pod(name: string, parts: { pod?: Partial<ContainerInfo>; init?: Partial<ContainerInfo>; proxy?: Partial<ContainerInfo>; app?: Partial<ContainerInfo> } = {}): ContainerInfo[] {
  const joined = `container:id-${name}-pod`;
  return [
    container(`${name}-pod`, { role: 'pod', component: 'pause', sidecarFor: name, startedAt: secondsAgo(100), ports: [{ hostIp: '127.0.0.1', hostPort: 9081, containerPort: 9080 }], ...parts.pod }),
    container(`${name}-istio-init`, { role: 'sidecar-init', component: 'istio-init', sidecarFor: name, state: 'exited', exitCode: 0, startedAt: secondsAgo(99), networkMode: joined, ...parts.init }),
    container(`${name}-istio-proxy`, { role: 'sidecar-proxy', component: 'istio-proxy', sidecarFor: name, startedAt: secondsAgo(98), networkMode: joined, ...parts.proxy }),
    container(name, { role: 'app', component: name, startedAt: secondsAgo(97), networkMode: joined, ...parts.app }),
  ];
}

describe('statusRows: pods', () => {
  it('folds the pod into its app row without counting it, and shows its ports', () => {
    const [row] = statusRows(pod('reviews-v2'), NOW);
    expect(row).toMatchObject({ name: 'reviews-v2', kind: 'app', ready: 2, total: 2, status: 'Running', problems: [] });
    expect(row!.ports).toEqual([{ hostIp: '127.0.0.1', hostPort: 9081, containerPort: 9080 }]);
    expect(row!.services).toEqual(['reviews-v2', 'reviews-v2-istio-init', 'reviews-v2-istio-proxy', 'reviews-v2-pod']);
  });

  it('keeps an app restarted after its pod (same namespace) ready', () => {
    const [row] = statusRows(pod('reviews-v2', { app: { startedAt: secondsAgo(5) }, proxy: { startedAt: secondsAgo(3) } }), NOW);
    expect(row).toMatchObject({ ready: 2, status: 'Running', problems: [] });
  });

  it('says Detached, with the member and why, when the pod container was replaced', () => {
    const replaced = pod('reviews-v1', { pod: { id: 'id-new-pod', startedAt: secondsAgo(10) } });
    const [row] = statusRows(replaced, NOW);
    expect(row!.status).toBe('Detached');
    expect(row!.ready).toBe(0);
    expect(row!.problems).toEqual([
      'reviews-v1 runs in the namespace of a pod container that was replaced',
      'reviews-v1-istio-proxy runs in the namespace of a pod container that was replaced',
      'traffic is not captured: reviews-v1-istio-init set up its rules before reviews-v1-pod last started',
    ]);
    expect(statusJson([row!])[0]!.problems).toEqual(row!.problems);
  });

  it('says Detached when the pod restarted after its members (a new namespace, without rules)', () => {
    const [row] = statusRows(pod('details-v1', { pod: { startedAt: secondsAgo(2) } }), NOW);
    expect(row!.status).toBe('Detached');
    expect(row!.problems[0]).toBe('details-v1 started before details-v1-pod restarted, so it is in the old namespace');
    expect(row!.problems.at(-1)).toMatch(/^traffic is not captured/);
  });

  it('marks every member not ready when only the rules are stale', () => {
    // The app and proxy restarted into the new namespace, but the init step ran before it.
    const [row] = statusRows(pod('ratings-v1', { pod: { startedAt: secondsAgo(20) }, proxy: { startedAt: secondsAgo(10) }, app: { startedAt: secondsAgo(9) } }), NOW);
    expect(row).toMatchObject({ ready: 0, total: 2, status: 'Detached' });
    expect(row!.problems).toEqual(['traffic is not captured: ratings-v1-istio-init set up its rules before ratings-v1-pod last started']);
  });

  it('names a stopped pod under running members', () => {
    const [row] = statusRows(pod('reviews-v3', { pod: { state: 'exited', exitCode: 0 } }), NOW);
    expect(row!.status).toBe('Detached');
    expect(row!.problems).toContain('reviews-v3 runs but its pod reviews-v3-pod is exited');
  });

  it('shows a stopped pod with stopped members as Pod:Exited, not Detached', () => {
    const [row] = statusRows(
      pod('reviews-v3', { pod: { state: 'exited', exitCode: 0 }, proxy: { state: 'exited', exitCode: 0 }, app: { state: 'exited', exitCode: 0 } }),
      NOW,
    );
    expect(row!.status).toBe('Exited (0)');
    expect(row!.problems).toEqual([]);
  });

  it('prints the problems and the repair under the table', () => {
    const rows = statusRows(pod('reviews-v1', { pod: { id: 'id-new-pod' } }), NOW);
    expect(formatStatusProblems(rows, 'demo')).toBe(
      '\nnot ready:\n' +
        '  reviews-v1: reviews-v1 runs in the namespace of a pod container that was replaced\n' +
        '  reviews-v1: reviews-v1-istio-proxy runs in the namespace of a pod container that was replaced\n' +
        '  reviews-v1: traffic is not captured: reviews-v1-istio-init set up its rules before reviews-v1-pod last started\n' +
        'repair: mesh-local up --project demo (or bookinfo) recreates what is detached\n',
    );
    expect(formatStatusProblems(statusRows(pod('ok'), NOW), 'demo')).toBe('');
  });
});

describe('status of a mesh project with deployed apps', () => {
  // An in-memory engine answering the two label queries as Docker's filters would.
  const all = [
    container('istio-pilot'),
    ...app('hello-v1', { app: { project: 'mesh-local-hello-1a2b3c4d' }, init: { project: 'mesh-local-hello-1a2b3c4d' }, proxy: { project: 'mesh-local-hello-1a2b3c4d' } }),
    container('plain', { project: 'mesh-local-other-99aa88bb', role: 'app', component: 'plain' }),
  ];
  const deployed = new Set(['mesh-local-hello-1a2b3c4d', 'mesh-local-other-99aa88bb']);
  const engine = {
    projectContainers: async (project: string) => all.filter((c) => c.project === project),
    labelledContainers: async (key: string, value: string) => (key === 'dev.mesh-local.deployed-into' && value === 'mesh-local' ? all.filter((c) => deployed.has(c.project)) : []),
  };

  it("lists the project's own rows, then each deployed file's apps marked with its project", async () => {
    const rows = await projectStatusRows(engine, 'mesh-local', NOW);
    expect(rows.map((row) => [row.name, row.deployedAs])).toEqual([
      ['istio-pilot', undefined],
      ['hello-v1', 'mesh-local-hello-1a2b3c4d'],
      ['plain', 'mesh-local-other-99aa88bb'],
    ]);
    expect(rows[1]!.services).toEqual(['hello-v1', 'hello-v1-istio-init', 'hello-v1-istio-proxy']);
    expect(statusJson(rows)[0]).not.toHaveProperty('deployedAs');
    expect(statusJson(rows)[1]).toMatchObject({ name: 'hello-v1', deployedAs: 'mesh-local-hello-1a2b3c4d' });
    const table = formatStatusTable(rows).split('\n');
    // Columns are shared by every group: the widest name (istio-pilot) sets the first.
    expect(table[0]).toMatch(/^NAME {10}READY/);
    expect(table[1]).toMatch(/^istio-pilot /);
    expect(table.slice(2)).toEqual([
      '',
      'deployed as project mesh-local-hello-1a2b3c4d:',
      expect.stringMatching(/^hello-v1 {6}2\/2 {5}Running/),
      '',
      'deployed as project mesh-local-other-99aa88bb:',
      expect.stringMatching(/^plain /),
    ]);
  });

  it('a project with nothing deployed into it prints as before', async () => {
    const rows = await projectStatusRows(engine, 'mesh-local-hello-1a2b3c4d', NOW);
    expect(rows.every((row) => row.deployedAs === undefined)).toBe(true);
    expect(formatStatusTable(rows)).toBe(formatStatusTable(statusRows(all.filter((c) => c.project === 'mesh-local-hello-1a2b3c4d'), NOW)));
  });
});
