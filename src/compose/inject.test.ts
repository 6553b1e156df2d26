import { describe, expect, it } from 'vitest';
import { parseYaml, toYaml } from '../common/yaml-file.js';
import { InputShapeError } from '../errors.js';
import { findIstioVersion, type IstioVersion } from '../model/istio-versions.js';
import { injectSidecars, wantsSidecar, type InjectionPolicy, type InjectOptions, type InjectResult } from './inject.js';

// The tests look into untyped Compose documents; `any` keeps that readable.
type Doc = Record<string, any>;

const V080 = findIstioVersion('0.8.0')!;
const V060 = findIstioVersion('0.6.0')!;
const FILE = 'compose.yaml';
const MESH = 'mesh-local_mesh';
const INJECT_LABEL = 'sidecar.istio.io/inject';

function options(
  overrides: { policy?: InjectionPolicy; version?: IstioVersion; meshNetwork?: string | null; tracing?: boolean } = {},
): InjectOptions {
  return {
    policy: overrides.policy ?? 'enabled',
    sidecar: {
      version: overrides.version ?? V080,
      registry: 'consul',
      images: { proxyInit: 'init:x', proxy: 'proxy:x' },
      tracing: overrides.tracing ?? false,
    },
    meshNetwork: overrides.meshNetwork === undefined ? MESH : overrides.meshNetwork,
  };
}

function parse(text: string): Doc {
  return parseYaml(text, FILE) as Doc;
}

function inject(input: unknown, opts: InjectOptions = options()): InjectResult & { document: Doc } {
  return injectSidecars(input, FILE, opts) as InjectResult & { document: Doc };
}

function services(result: InjectResult): Doc {
  return result.document.services as Doc;
}

/** The value after `flag` in an argv list. */
function argAfter(argv: readonly string[], flag: string): string | undefined {
  const index = argv.indexOf(flag);
  return index === -1 ? undefined : argv[index + 1];
}

function withoutKey(value: Doc, key: string): Doc {
  const { [key]: _dropped, ...rest } = value;
  return rest;
}

/** Expects `fn` to throw an InputShapeError and returns it. */
function shapeError(fn: () => unknown): InputShapeError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InputShapeError);
    return error as InputShapeError;
  }
  throw new Error('expected an InputShapeError, nothing was thrown');
}

describe('injectSidecars: the injection policy table', () => {
  type LabelForm = 'map' | 'list' | 'yaml-bool';
  const labelYaml = (form: LabelForm, value: 'true' | 'false'): string => {
    switch (form) {
      case 'map':
        return `    labels:\n      ${INJECT_LABEL}: "${value}"\n`;
      case 'list':
        return `    labels:\n      - "${INJECT_LABEL}=${value}"\n`;
      case 'yaml-bool':
        return `    labels:\n      ${INJECT_LABEL}: ${value}\n`;
    }
  };
  const appFile = (labels: string) => `services:\n  app:\n    image: "example/app:1"\n${labels}`;

  const table: Array<{ policy: InjectionPolicy; label: 'true' | 'false' | undefined; injected: boolean }> = [
    { policy: 'enabled', label: undefined, injected: true },
    { policy: 'enabled', label: 'true', injected: true },
    { policy: 'enabled', label: 'false', injected: false },
    { policy: 'disabled', label: undefined, injected: false },
    { policy: 'disabled', label: 'true', injected: true },
    { policy: 'disabled', label: 'false', injected: false },
    { policy: 'off', label: undefined, injected: false },
    { policy: 'off', label: 'true', injected: false },
    { policy: 'off', label: 'false', injected: false },
  ];
  const forms: LabelForm[] = ['map', 'list', 'yaml-bool'];
  type Case = (typeof table)[number] & { form: LabelForm | 'none' };
  const cases: Case[] = table.flatMap((row): Case[] =>
    row.label === undefined ? [{ ...row, form: 'none' }] : forms.map((form) => ({ ...row, form })),
  );

  it.each(cases)('policy $policy, label $label ($form form) -> injected: $injected', ({ policy, label, form, injected }) => {
    const input = parse(appFile(label === undefined || form === 'none' ? '' : labelYaml(form, label)));
    if (form === 'yaml-bool') expect(input.services.app.labels[INJECT_LABEL]).toBe(label === 'true');
    if (form === 'list') expect(input.services.app.labels).toEqual([`${INJECT_LABEL}=${label}`]);
    const before = structuredClone(input);

    const result = inject(input, options({ policy }));

    expect(result.skipped).toEqual([]);
    if (injected) {
      expect(result.injected).toEqual(['app']);
      expect(Object.keys(services(result)).sort()).toEqual(['app', 'app-istio-init', 'app-istio-proxy']);
      expect(services(result).app.networks).toEqual(['default', 'istio-mesh']);
    } else {
      expect(result.injected).toEqual([]);
      expect(Object.keys(services(result))).toEqual(['app']);
      expect(services(result).app).toEqual(before.services.app);
      // Nothing joined the mesh, so no external network is declared either.
      expect(result.document.networks).toBeUndefined();
    }
    expect(input).toEqual(before); // pure: the input is never modified
  });

  it('policy off leaves a whole document, with several services, unchanged', () => {
    const input = parse(`
version: "3.8"
services:
  web:
    image: nginx
    ports: ["8080:80"]
  opted-in:
    image: example/api
    labels:
      ${INJECT_LABEL}: "true"
  host:
    image: example/agent
    network_mode: host
networks:
  backend: {}
`);
    const result = inject(input, options({ policy: 'off' }));
    expect(result.injected).toEqual([]);
    expect(result.skipped).toEqual([]);
    expect(result.document.services).toEqual(input.services);
    expect(result.document).toEqual(input);
  });

  it('the three label forms give the same document under every policy', () => {
    for (const policy of ['enabled', 'disabled'] as const) {
      for (const value of ['true', 'false'] as const) {
        const outputs = forms.map((form) => {
          const result = inject(parse(appFile(labelYaml(form, value))), options({ policy }));
          // Compare everything but the app's own labels, which are kept in the form they came in.
          return { injected: result.injected, services: withoutKey(services(result), 'app'), app: withoutKey(services(result).app, 'labels') };
        });
        expect(outputs[1]).toEqual(outputs[0]);
        expect(outputs[2]).toEqual(outputs[0]);
      }
    }
  });
});

describe('injectSidecars: services that cannot take a sidecar', () => {
  const modes = ['host', 'none', 'service:other', 'container:abc'];

  it.each(modes)('skips network_mode %s with a reason and adds nothing for it', (mode) => {
    const input = parse(`
services:
  other:
    image: example/other
  app:
    image: example/app
    network_mode: "${mode}"
`);
    const result = inject(input);
    expect(result.skipped).toHaveLength(1);
    expect(result.skipped[0]!.service).toBe('app');
    expect(result.skipped[0]!.reason).toContain(`network_mode is ${mode}`);
    expect(result.injected).toEqual(['other']);
    expect(Object.keys(services(result)).sort()).toEqual(['app', 'other', 'other-istio-init', 'other-istio-proxy']);
    expect(services(result).app).toEqual(input.services.app);
    expect(services(result).app.networks).toBeUndefined();
  });

  it('reports a skip only for services the policy selected', () => {
    const input = parse(`
services:
  agent:
    image: example/agent
    network_mode: host
`);
    expect(inject(input, options({ policy: 'disabled' })).skipped).toEqual([]);
    expect(inject(input, options({ policy: 'enabled' })).skipped.map((s) => s.service)).toEqual(['agent']);
  });

  it('skips an app whose <app>-istio-init name is taken by a service that is not ours', () => {
    const input = parse(`
services:
  web:
    image: nginx
  web-istio-init:
    image: example/my-own-init
    command: ["setup"]
`);
    const result = inject(input);
    const skip = result.skipped.find((entry) => entry.service === 'web');
    expect(skip).toBeDefined();
    expect(skip!.reason).toContain('web-istio-init');
    expect(skip!.reason).toContain('already exists');
    expect(result.injected).not.toContain('web');
    expect(services(result)['web-istio-proxy']).toBeUndefined();
    expect(services(result).web).toEqual(input.services.web);
    // The user's own service is an app like any other: it keeps its settings and gets its own sidecar.
    expect(withoutKey(services(result)['web-istio-init'], 'networks')).toEqual(input.services['web-istio-init']);
    expect(result.injected).toEqual(['web-istio-init']);
    expect(services(result)['web-istio-init-istio-init'].labels['dev.mesh-local.sidecar-for']).toBe('web-istio-init');
  });

  it('skips an app whose <app>-istio-proxy name is taken by a service that is not ours', () => {
    const input = parse(`
services:
  web:
    image: nginx
  web-istio-proxy:
    image: example/nginx-proxy
`);
    const result = inject(input, options({ policy: 'disabled' }));
    expect(result.skipped).toEqual([]); // policy disabled: web did not ask for a sidecar
    const enabled = inject(input);
    expect(enabled.skipped.find((entry) => entry.service === 'web')?.reason).toContain('web-istio-proxy');
    expect(services(enabled)['web-istio-init']).toBeUndefined();
  });
});

describe('injectSidecars: ports and the init step', () => {
  it('a service without ports still gets init and proxy, capturing outbound only (0.8.0)', () => {
    const result = inject(parse('services:\n  client:\n    image: example/client\n'));
    expect(result.injected).toEqual(['client']);
    const init = services(result)['client-istio-init'];
    const proxy = services(result)['client-istio-proxy'];
    expect(proxy).toBeDefined();
    expect(init.command).toEqual(['-p', '15001', '-u', '1337', '-m', 'REDIRECT', '-i', '*']);
    expect(init.command).not.toContain('-b');
    expect(init.entrypoint).toBeUndefined();
  });

  it('inbound capture lists container ports from short ports, numeric ports and expose, sorted numerically', () => {
    const result = inject(
      parse(`
services:
  web:
    image: nginx
    ports: ["127.0.0.1:8080:80/tcp", 9000]
    expose: ["7000"]
`),
    );
    const command: string[] = services(result)['web-istio-init'].command;
    expect(argAfter(command, '-i')).toBe('*');
    expect(argAfter(command, '-b')).toBe('80,7000,9000');
  });

  it('long-syntax ports count by their target', () => {
    const result = inject(
      parse(`
services:
  web:
    image: nginx
    ports:
      - target: 81
        published: 8081
        protocol: tcp
      - "9443:443"
`),
    );
    expect(argAfter(services(result)['web-istio-init'].command, '-b')).toBe('81,443');
  });

  it('a container port range counts every port in it', () => {
    const result = inject(parse('services:\n  web:\n    image: nginx\n    ports: ["8000-8002:9000-9002"]\n'));
    expect(argAfter(services(result)['web-istio-init'].command, '-b')).toBe('9000,9001,9002');
  });

  it('never lists port 0 for a container port given as an unresolved ${VAR:-default}', () => {
    // Compose interpolates `${PORT:-3000}` at load time; the injector does not, and must not turn
    // the text into port 0 (it splits "-3000}" on "-" and reads Number("") === 0).
    const result = inject(
      parse(`
services:
  web:
    image: nginx
    expose: ["\${PORT:-3000}"]
    ports: ["8080:80"]
`),
    );
    const inbound = argAfter(services(result)['web-istio-init'].command, '-b') ?? '';
    expect(inbound.split(',').map(Number)).not.toContain(0);
    expect(inbound.split(',')).toContain('80');
  });

  it('0.6.0 runs prepare_proxy.sh through a re-runnable wrapper and ignores ports', () => {
    const result = inject(parse('services:\n  web:\n    image: nginx\n    ports: ["8080:80"]\n'), options({ version: V060 }));
    const init = services(result)['web-istio-init'];
    expect(init.command).toEqual(['-p', '15001', '-u', '1337']);
    expect(init.entrypoint[0]).toBe('/bin/sh');
    expect(init.entrypoint[1]).toBe('-c');
    expect(init.entrypoint[2]).toBe('iptables-save -t nat | grep -v ISTIO_ | iptables-restore; exec /usr/local/bin/prepare_proxy.sh "$$@"'); // $$: Compose's escape for $
    expect(init.entrypoint[3]).toBe('istio-init');
  });

  it('refuses ports that are not a list', () => {
    const error = shapeError(() => inject(parse('services:\n  web:\n    image: nginx\n    ports: "80"\n')));
    expect(error.path).toBe('services.web.ports');
  });
});

describe('injectSidecars: the generated sidecar services', () => {
  const input = () => parse('services:\n  app:\n    image: example/app\n    ports: ["8080:8080"]\n');

  it.each([
    { version: V080, discovery: 'istio-pilot:15007' },
    { version: V060, discovery: 'istio-pilot:15003' },
  ])('Istio $version.version: init and proxy services for app', ({ version, discovery }) => {
    const result = inject(input(), options({ version }));
    const init = services(result)['app-istio-init'];
    const proxy = services(result)['app-istio-proxy'];

    expect(init.image).toBe('init:x');
    expect(init.cap_add).toEqual(['NET_ADMIN']);
    expect(init).not.toHaveProperty('privileged');
    expect(init.network_mode).toBe('service:app');
    expect(init.restart).toBe('no');
    expect(init.labels['dev.mesh-local.sidecar-for']).toBe('app');
    expect(init.labels['dev.mesh-local.role']).toBe('sidecar-init');

    expect(proxy.image).toBe('proxy:x');
    expect(proxy.user).toBe('1337');
    expect(proxy).not.toHaveProperty('privileged');
    expect(proxy).not.toHaveProperty('cap_add');
    expect(proxy.network_mode).toBe('service:app');
    expect(proxy.depends_on).toEqual({ 'app-istio-init': { condition: 'service_completed_successfully' } });
    expect(proxy.entrypoint).toEqual(['/usr/local/bin/pilot-agent']);
    expect(argAfter(proxy.command, '--discoveryAddress')).toBe(discovery);
    expect(argAfter(proxy.command, '--serviceregistry')).toBe('Consul');
    expect(argAfter(proxy.command, '--serviceCluster')).toBe('app');
    expect(proxy.command).not.toContain('--zipkinAddress');
    expect(proxy.labels['dev.mesh-local.sidecar-for']).toBe('app');
    expect(proxy.labels['dev.mesh-local.role']).toBe('sidecar-proxy');
    // Sidecars share the app's namespace, so they must not join networks themselves.
    expect(init).not.toHaveProperty('networks');
    expect(proxy).not.toHaveProperty('networks');
  });

  it('0.6.0 proxies keep the -v flag, 0.8.0 proxies do not', () => {
    expect(services(inject(input(), options({ version: V060 })))['app-istio-proxy'].command.slice(0, 3)).toEqual(['proxy', '-v', '2']);
    expect(services(inject(input(), options({ version: V080 })))['app-istio-proxy'].command).not.toContain('-v');
  });

  it('tracing adds the Zipkin address to the proxy', () => {
    const proxy = services(inject(input(), options({ tracing: true })))['app-istio-proxy'];
    expect(argAfter(proxy.command, '--zipkinAddress')).toBe('zipkin:9411');
  });

  it('sidecars of an app in a profile carry the same profiles', () => {
    // Compose refuses `up` when an enabled service (the sidecar, no profiles) pulls in an app whose
    // profile is not active: 'Service "debug" was pulled in as a dependency of service
    // "debug-istio-init" but is not enabled by the active profiles'.
    const result = inject(parse('services:\n  debug:\n    image: example/debug\n    profiles: ["debug", "tools"]\n'));
    expect(services(result).debug.profiles).toEqual(['debug', 'tools']);
    expect(services(result)['debug-istio-init'].profiles).toEqual(['debug', 'tools']);
    expect(services(result)['debug-istio-proxy'].profiles).toEqual(['debug', 'tools']);
  });
});

const PRESERVATION_FILE = `
version: "3.9"
x-common: &defaults
  restart: unless-stopped
  environment: &env
    LOG_LEVEL: debug
    TZ: UTC
  logging:
    driver: json-file
    options:
      max-size: "10m"
x-team-labels: &team
  com.example.team: payments
  com.example.cost-center: "1234"
x-unused:
  anything: [1, 2, 3]
  nested: { deep: { value: yes } }
services:
  api:
    <<: *defaults
    build:
      context: ./api
      dockerfile: Dockerfile.dev
      args:
        NODE_ENV: development
    image: example/api:dev
    labels: *team
    volumes:
      - api-data:/var/lib/api
      - ./config:/etc/api:ro
    networks:
      - backend
    ports: ["8080:8080"]
  worker:
    <<: *defaults
    image: example/worker:1
    environment:
      <<: *env
      QUEUE: jobs
    networks:
      backend:
        aliases: [jobs]
    volumes:
      - type: volume
        source: api-data
        target: /data
        read_only: true
  admin:
    image: example/admin
    profiles: [admin]
    healthcheck:
      test: ["CMD", "curl", "-f", "http://localhost:9000/health"]
      interval: 10s
volumes:
  api-data: {}
  pg:
    driver: local
networks:
  backend:
    driver: bridge
    ipam:
      config:
        - subnet: 172.28.0.0/16
`;

describe('injectSidecars: preservation and the mesh network', () => {
  it('keeps x- fields, profiles, build, volumes, networks and anchor/merge values deep-equal', () => {
    const input = parse(PRESERVATION_FILE);
    const before = structuredClone(input);
    const result = inject(input);
    const out = result.document;

    expect(result.injected).toEqual(['api', 'worker', 'admin']);
    expect(input).toEqual(before);

    expect(out.version).toBe('3.9');
    expect(out['x-common']).toEqual(input['x-common']);
    expect(out['x-team-labels']).toEqual(input['x-team-labels']);
    expect(out['x-unused']).toEqual(input['x-unused']);
    expect(out['x-unused'].nested.deep.value).toBe('yes'); // YAML 1.2: `yes` is a string
    expect(out.volumes).toEqual(input.volumes);
    expect(out.networks.backend).toEqual(input.networks.backend);

    // Every app keeps every key except `networks`, which only gains the mesh network.
    for (const name of ['api', 'worker', 'admin']) {
      expect(withoutKey(services(result)[name], 'networks')).toEqual(withoutKey(input.services[name], 'networks'));
    }
    // Values that came through anchors and merge keys.
    const api = services(result).api;
    expect(api.restart).toBe('unless-stopped');
    expect(api.environment).toEqual({ LOG_LEVEL: 'debug', TZ: 'UTC' });
    expect(api.logging).toEqual({ driver: 'json-file', options: { 'max-size': '10m' } });
    expect(api.labels).toEqual({ 'com.example.team': 'payments', 'com.example.cost-center': '1234' });
    expect(api.build).toEqual({ context: './api', dockerfile: 'Dockerfile.dev', args: { NODE_ENV: 'development' } });
    expect(api.volumes).toEqual(['api-data:/var/lib/api', './config:/etc/api:ro']);
    const worker = services(result).worker;
    expect(worker.restart).toBe('unless-stopped');
    expect(worker.environment).toEqual({ LOG_LEVEL: 'debug', TZ: 'UTC', QUEUE: 'jobs' });
    expect(services(result).admin.profiles).toEqual(['admin']);
    expect(services(result).admin.healthcheck).toEqual(input.services.admin.healthcheck);
  });

  it('joins the mesh network: none -> [default, istio-mesh], list -> appended, map -> new key', () => {
    const result = inject(parse(PRESERVATION_FILE));
    expect(services(result).admin.networks).toEqual(['default', 'istio-mesh']);
    expect(services(result).api.networks).toEqual(['backend', 'istio-mesh']);
    expect(services(result).worker.networks).toEqual({ backend: { aliases: ['jobs'] }, 'istio-mesh': null });
    expect(result.document.networks).toEqual({
      backend: { driver: 'bridge', ipam: { config: [{ subnet: '172.28.0.0/16' }] } },
      'istio-mesh': { external: true, name: MESH },
    });
  });

  it('adds a top-level networks key when the input has none', () => {
    const result = inject(parse('services:\n  web:\n    image: nginx\n'), options({ meshNetwork: 'other_mesh' }));
    expect(result.document.networks).toEqual({ 'istio-mesh': { external: true, name: 'other_mesh' } });
  });

  it('does not add the mesh network twice to an app that already lists it', () => {
    const input = parse(`
services:
  web:
    image: nginx
    networks: [istio-mesh]
networks:
  istio-mesh:
    external: true
    name: custom_mesh
`);
    const result = inject(input);
    expect(services(result).web.networks).toEqual(['istio-mesh']);
    expect(result.document.networks).toEqual({ 'istio-mesh': { external: true, name: 'custom_mesh' } });
  });

  it('with meshNetwork null, app networks and top-level networks are untouched', () => {
    const input = parse(PRESERVATION_FILE);
    const result = inject(input, options({ meshNetwork: null }));
    expect(result.injected).toEqual(['api', 'worker', 'admin']);
    for (const name of ['api', 'worker', 'admin']) expect(services(result)[name]).toEqual(input.services[name]);
    expect(services(result).admin).not.toHaveProperty('networks');
    expect(result.document.networks).toEqual(input.networks);
    expect(result.document.networks).not.toHaveProperty('istio-mesh');
    expect(services(result)['api-istio-proxy']).toBeDefined();
  });

  it.each(['bridge', 'default'])('never combines network_mode: %s with networks (Compose refuses both)', (mode) => {
    const input = parse(`
services:
  web:
    image: nginx
    network_mode: ${mode}
`);
    const result = inject(input);
    for (const [name, service] of Object.entries(services(result))) {
      const keys = Object.keys(service as Doc);
      expect(keys.includes('network_mode') && keys.includes('networks'), `service ${name}`).toBe(false);
    }
  });
});

describe('injectSidecars: idempotence', () => {
  const SKIPS_AND_LABELS = `
services:
  web:
    image: nginx
    ports: ["8080:80"]
    labels: ["com.example.tier=web"]
  legacy:
    image: example/legacy
    labels:
      ${INJECT_LABEL}: "false"
  agent:
    image: example/agent
    network_mode: host
  sidecar-of-web:
    image: example/debug
    network_mode: "service:web"
  opted-in:
    image: example/api
    labels: ["${INJECT_LABEL}=true"]
`;
  const cases = [
    { name: 'preservation file, 0.8.0', text: PRESERVATION_FILE, opts: options() },
    { name: 'preservation file, 0.6.0', text: PRESERVATION_FILE, opts: options({ version: V060 }) },
    { name: 'skips and labels, enabled', text: SKIPS_AND_LABELS, opts: options() },
    { name: 'skips and labels, disabled', text: SKIPS_AND_LABELS, opts: options({ policy: 'disabled' }) },
    { name: 'skips and labels, no mesh network', text: SKIPS_AND_LABELS, opts: options({ meshNetwork: null }) },
  ];

  it.each(cases)('$name: inject(inject(x)) equals inject(x)', ({ text, opts }) => {
    const once = inject(parse(text), opts);
    expect(once.injected.length).toBeGreaterThan(0);
    const twice = inject(once.document, opts);
    expect(twice.document).toEqual(once.document);
    expect(twice.injected).toEqual([]);
  });

  it.each(cases)('$name: idempotent after a toYaml/parseYaml round trip', ({ text, opts }) => {
    const once = inject(parse(text), opts);
    const reread = parse(toYaml(once.document));
    expect(reread).toEqual(once.document);
    const twice = inject(reread, opts);
    expect(twice.document).toEqual(once.document);
    expect(twice.injected).toEqual([]);
    expect(parse(toYaml(twice.document))).toEqual(reread);
  });

  it('a second run still reports skipped services the same way, and nothing new', () => {
    const once = inject(parse(SKIPS_AND_LABELS));
    expect(once.injected).toEqual(['web', 'opted-in']);
    expect(once.skipped.map((entry) => entry.service)).toEqual(['agent', 'sidecar-of-web']);
    const twice = inject(once.document);
    expect(twice.injected).toEqual([]);
    expect(twice.skipped).toEqual(once.skipped);
  });
});

describe('injectSidecars: wrong shapes', () => {
  it('services as a list', () => {
    const error = shapeError(() => inject(parse('services:\n  - web\n  - db\n')));
    expect(error.path).toBe('services');
    expect(error.message).toContain("'services'");
    expect(error.message).toContain(FILE);
    expect(error.message).toContain('found a list');
    expect(error.code).toBe('ML_INPUT_SHAPE');
    expect(error.exitCode).toBe(2);
  });

  it('a service that is a string', () => {
    const error = shapeError(() => inject(parse('services:\n  web: nginx\n')));
    expect(error.path).toBe('services.web');
    expect(error.message).toContain("'services.web'");
    expect(error.message).toContain('"nginx"');
  });

  it('labels as a number', () => {
    const error = shapeError(() => inject(parse('services:\n  web:\n    image: nginx\n    labels: 42\n')));
    expect(error.path).toBe('services.web.labels');
    expect(error.message).toContain("'services.web.labels'");
    expect(error.message).toContain('42');
  });

  it('a labels list with a non-string item', () => {
    const error = shapeError(() => inject(parse('services:\n  web:\n    image: nginx\n    labels: [{a: b}]\n')));
    expect(error.path).toBe('services.web.labels');
  });

  it('network_mode as a number', () => {
    const error = shapeError(() => inject(parse('services:\n  web:\n    image: nginx\n    network_mode: 3\n')));
    expect(error.path).toBe('services.web.network_mode');
    expect(error.message).toContain("'services.web.network_mode'");
  });

  it('top-level document a list', () => {
    const error = shapeError(() => inject(parse('- services\n- web\n')));
    expect(error.path).toBe('(top level)');
    expect(error.message).toContain('(top level)');
    expect(error.message).toContain('services');
  });

  it('top-level document a scalar, or nothing', () => {
    expect(shapeError(() => inject(parse('just text\n'))).path).toBe('(top level)');
    expect(shapeError(() => inject(null)).path).toBe('(top level)');
  });

  it('a missing services key', () => {
    const error = shapeError(() => inject(parse('version: "3.8"\n')));
    expect(error.path).toBe('services');
  });

  it('wrong shapes are reported even under policy off', () => {
    expect(shapeError(() => inject(parse('services: [web]\n'), options({ policy: 'off' }))).path).toBe('services');
  });
});

describe('wantsSidecar: label values as Istio reads its annotation', () => {
  it.each([
    ['enabled', undefined, true],
    ['enabled', '', true],
    ['enabled', 'no', false],
    ['enabled', '0', false],
    ['enabled', 'False', false],
    ['enabled', 'YES', true],
    ['disabled', undefined, false],
    ['disabled', 'on', true],
    ['disabled', 'y', true],
    ['disabled', 'enabled', false],
    ['off', 'true', false],
  ] as const)('policy %s, label %s -> %s', (policy, label, expected) => {
    expect(wantsSidecar(policy, label)).toBe(expected);
  });
});
