import { describe, expect, it } from 'vitest';
import { parseYaml, toYaml } from '../common/yaml-file.js';
import { InputShapeError } from '../errors.js';
import { findIstioVersion, type IstioVersion } from '../model/istio-versions.js';
import {
  injectSidecars,
  POD_NETWORK_KEYS,
  registratorDefaultName,
  wantsSidecar,
  type InjectionPolicy,
  type InjectOptions,
  type InjectResult,
} from './inject.js';

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
      images: { pause: 'pause:x', proxyInit: 'init:x', proxy: 'proxy:x' },
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

function withoutKeys(value: Doc, keys: readonly string[]): Doc {
  return keys.reduce(withoutKey, value);
}

/** The labels of `<app>-pod`, before any registrator settings copied from the app or its default name. */
function podLabels(app: string): Doc {
  return { 'dev.mesh-local.role': 'pod', 'dev.mesh-local.component': 'pause', 'dev.mesh-local.sidecar-for': app };
}

/**
 * The labels of `<app>-pod` for an app that sets no SERVICE_NAME: the name registrator would have
 * given the app (after its image), so that it does not name the pod after the pause image.
 */
function namedPodLabels(app: string, name: string): Doc {
  return { SERVICE_NAME: name, ...podLabels(app) };
}

/** A pod's `networks`: each network, in map form, with the app's service name as an alias. */
function aliasedNetworks(app: string, ...networks: string[]): Doc {
  return Object.fromEntries(networks.map((network) => [network, { aliases: [app] }]));
}

/** What the app waits for in its pod: the namespace, the capture rules, then a healthy proxy. */
function podDependsOn(app: string): Doc {
  return {
    [`${app}-pod`]: { condition: 'service_started' },
    [`${app}-istio-init`]: { condition: 'service_completed_successfully' },
    [`${app}-istio-proxy`]: { condition: 'service_healthy' },
  };
}

/** What joining its pod adds to an app: the pod's namespace, the ignore label, the start order. */
const APP_JOIN_KEYS = ['network_mode', 'labels', 'depends_on'] as const;

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
      expect(Object.keys(services(result)).sort()).toEqual(['app', 'app-istio-init', 'app-istio-proxy', 'app-pod']);
      // The pod joins the mesh, answering to the app's name; the app joins the pod.
      expect(services(result)['app-pod'].networks).toEqual(aliasedNetworks('app', 'default', 'istio-mesh'));
      expect(services(result).app).not.toHaveProperty('networks');
      expect(services(result).app.network_mode).toBe('service:app-pod');
      expect(result.document.networks).toEqual({ 'istio-mesh': { external: true, name: MESH } });
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
    expect(Object.keys(services(result)).sort()).toEqual(['app', 'other', 'other-istio-init', 'other-istio-proxy', 'other-pod']);
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
    expect(skip!.reason).toBe('a service named web-istio-init already exists');
    expect(result.injected).not.toContain('web');
    expect(services(result)['web-pod']).toBeUndefined();
    expect(services(result)['web-istio-proxy']).toBeUndefined();
    expect(services(result).web).toEqual(input.services.web);
    // The user's own service is an app like any other: it keeps its settings and gets its own pod.
    const own = services(result)['web-istio-init'];
    expect(withoutKeys(own, APP_JOIN_KEYS)).toEqual(input.services['web-istio-init']);
    expect(own.network_mode).toBe('service:web-istio-init-pod');
    expect(result.injected).toEqual(['web-istio-init']);
    expect(services(result)['web-istio-init-pod'].labels).toEqual(namedPodLabels('web-istio-init', 'my-own-init'));
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
    expect(enabled.skipped.find((entry) => entry.service === 'web')?.reason).toBe('a service named web-istio-proxy already exists');
    expect(services(enabled)['web-istio-init']).toBeUndefined();
    expect(services(enabled)['web-pod']).toBeUndefined();
  });

  it.each([
    { order: 'after the app', text: 'services:\n  web:\n    image: nginx\n  web-pod:\n    image: example/web-pod\n' },
    { order: 'before the app', text: 'services:\n  web-pod:\n    image: example/web-pod\n  web:\n    image: nginx\n' },
  ])('skips an app whose <app>-pod name is taken by a service that is not ours ($order)', ({ text }) => {
    const input = parse(text);
    const result = inject(input);
    expect(result.skipped).toEqual([{ service: 'web', reason: 'a service named web-pod already exists' }]);
    expect(services(result).web).toEqual(input.services.web);
    expect(services(result)['web-istio-init']).toBeUndefined();
    expect(services(result)['web-istio-proxy']).toBeUndefined();
    // The user's web-pod is an app of its own, in a pod of its own; it is not web's pod.
    expect(result.injected).toEqual(['web-pod']);
    expect(services(result)['web-pod'].image).toBe('example/web-pod');
    expect(services(result)['web-pod'].network_mode).toBe('service:web-pod-pod');
    expect(services(result)['web-pod'].labels).toEqual({ SERVICE_IGNORE: '1' });
    expect(services(result)['web-pod-pod'].labels).toEqual(namedPodLabels('web-pod', 'web-pod'));
    // A second run finds the same clash, and nothing else to do.
    const twice = inject(result.document);
    expect(twice.document).toEqual(result.document);
    expect(twice.skipped).toEqual(result.skipped);
    expect(twice.injected).toEqual([]);
  });

  it('skips an app whose pod members exist but whose own network_mode is not the pod', () => {
    // Everything looks like ours except the app, which a user pointed elsewhere after injecting.
    const once = inject(parse('services:\n  web:\n    image: nginx\n'));
    const edited = structuredClone(once.document);
    delete edited.services.web.network_mode;
    const result = inject(edited);
    expect(result.skipped).toEqual([{ service: 'web', reason: 'a service named web-pod and web-istio-init and web-istio-proxy already exists' }]);
    expect(result.document).toEqual(edited);
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
  ])('Istio $version.version: pod, init and proxy services for app', ({ version, discovery }) => {
    const result = inject(input(), options({ version }));
    const pod = services(result)['app-pod'];
    const init = services(result)['app-istio-init'];
    const proxy = services(result)['app-istio-proxy'];
    const app = services(result).app;

    expect(pod).toEqual({
      image: 'pause:x',
      ports: ['8080:8080'],
      networks: aliasedNetworks('app', 'default', 'istio-mesh'),
      restart: 'unless-stopped',
      labels: namedPodLabels('app', 'app'),
    });

    expect(init.image).toBe('init:x');
    expect(init.cap_add).toEqual(['NET_ADMIN']);
    expect(init).not.toHaveProperty('privileged');
    expect(init.network_mode).toBe('service:app-pod');
    expect(init.restart).toBe('no');
    expect(init.depends_on).toEqual({ 'app-pod': { condition: 'service_started' } });
    expect(init.labels).toEqual({
      'dev.mesh-local.role': 'sidecar-init',
      'dev.mesh-local.component': 'istio-init',
      'dev.mesh-local.sidecar-for': 'app',
      SERVICE_IGNORE: '1',
    });

    expect(proxy.image).toBe('proxy:x');
    expect(proxy.user).toBe('1337');
    expect(proxy).not.toHaveProperty('privileged');
    expect(proxy).not.toHaveProperty('cap_add');
    expect(proxy.network_mode).toBe('service:app-pod');
    expect(proxy.restart).toBe('unless-stopped');
    expect(proxy.healthcheck.test).toEqual(['CMD', 'curl', '-fsS', '-o', '/dev/null', 'http://127.0.0.1:15000/server_info']);
    expect(proxy.depends_on).toEqual({ 'app-istio-init': { condition: 'service_completed_successfully' } });
    expect(proxy.entrypoint).toEqual(['/usr/local/bin/pilot-agent']);
    expect(argAfter(proxy.command, '--discoveryAddress')).toBe(discovery);
    expect(argAfter(proxy.command, '--serviceregistry')).toBe('Consul');
    expect(argAfter(proxy.command, '--serviceCluster')).toBe('app');
    expect(proxy.command).not.toContain('--zipkinAddress');
    expect(proxy.labels).toEqual({
      'dev.mesh-local.role': 'sidecar-proxy',
      'dev.mesh-local.component': 'istio-proxy',
      'dev.mesh-local.sidecar-for': 'app',
      SERVICE_IGNORE: '1',
    });
    // Everyone but the pod shares the pod's namespace, so they must not join networks themselves.
    for (const member of [init, proxy, app]) {
      expect(member).not.toHaveProperty('networks');
      expect(member).not.toHaveProperty('ports');
    }

    expect(app).toEqual({
      image: 'example/app',
      network_mode: 'service:app-pod',
      labels: { SERVICE_IGNORE: '1' },
      depends_on: podDependsOn('app'),
    });
  });

  it('0.6.0 proxies keep the -v flag, 0.8.0 proxies do not', () => {
    expect(services(inject(input(), options({ version: V060 })))['app-istio-proxy'].command.slice(0, 3)).toEqual(['proxy', '-v', '2']);
    expect(services(inject(input(), options({ version: V080 })))['app-istio-proxy'].command).not.toContain('-v');
  });

  it('tracing adds the Zipkin address to the proxy', () => {
    const proxy = services(inject(input(), options({ tracing: true })))['app-istio-proxy'];
    expect(argAfter(proxy.command, '--zipkinAddress')).toBe('zipkin:9411');
  });

  it('the pod and sidecars of an app in a profile carry the same profiles', () => {
    // Compose refuses `up` when an enabled service pulls in one whose profile is not active:
    // 'Service "debug-pod" was pulled in as a dependency of service "debug" but is not enabled by
    // the active profiles'. The pod, init and proxy must be enabled exactly when the app is.
    const result = inject(parse('services:\n  debug:\n    image: example/debug\n    profiles: ["debug", "tools"]\n'));
    for (const name of ['debug', 'debug-pod', 'debug-istio-init', 'debug-istio-proxy']) {
      expect(services(result)[name].profiles, name).toEqual(['debug', 'tools']);
    }
    // Copies, not the app's own list: editing one service's profiles must not edit another's.
    expect(services(result)['debug-pod'].profiles).not.toBe(services(result).debug.profiles);
  });

  it('an app without profiles gives its pod and sidecars none', () => {
    const result = inject(input());
    for (const name of ['app', 'app-pod', 'app-istio-init', 'app-istio-proxy']) {
      expect(services(result)[name], name).not.toHaveProperty('profiles');
    }
  });

  it('the app keeps its own restart policy; pod and proxy restart unless stopped, init never', () => {
    const result = inject(
      parse(`
services:
  always:
    image: example/a
    restart: always
  never:
    image: example/b
    restart: "no"
  unset:
    image: example/c
`),
    );
    expect(services(result).always.restart).toBe('always');
    expect(services(result).never.restart).toBe('no');
    expect(services(result).unset).not.toHaveProperty('restart');
    for (const app of ['always', 'never', 'unset']) {
      expect(services(result)[`${app}-pod`].restart, app).toBe('unless-stopped');
      expect(services(result)[`${app}-istio-proxy`].restart, app).toBe('unless-stopped');
      expect(services(result)[`${app}-istio-init`].restart, app).toBe('no');
    }
  });
});

describe('injectSidecars: the pod takes over the network', () => {
  // One value per key, as a Compose file writes it; the test below keeps it in step with the list.
  const NETWORK_KEY_YAML: Record<(typeof POD_NETWORK_KEYS)[number], string> = {
    network_mode: 'bridge',
    networks: '[backend]',
    ports: '["8080:80"]',
    expose: '["9000"]',
    hostname: 'web1',
    domainname: 'example.test',
    dns: '[10.0.0.2]',
    dns_opt: '[use-vc]',
    dns_search: '[example.test]',
    extra_hosts: '["db.local:10.0.0.5"]',
    mac_address: '"02:42:ac:11:00:02"',
    links: '["db:database"]',
    external_links: '["redis_1:redis"]',
  };

  it('covers every key in POD_NETWORK_KEYS', () => {
    expect(Object.keys(NETWORK_KEY_YAML).sort()).toEqual([...POD_NETWORK_KEYS].sort());
  });

  it.each(POD_NETWORK_KEYS.map((key) => ({ key })))('$key moves from the app to its pod', ({ key }) => {
    // No mesh network, so that `network_mode: bridge` is allowed and nothing but the key reaches the pod.
    const input = parse(`services:\n  web:\n    image: nginx\n    ${key}: ${NETWORK_KEY_YAML[key]}\n`);
    const result = inject(input, options({ meshNetwork: null }));
    expect(result.injected).toEqual(['web']);
    expect(result.skipped).toEqual([]);
    // The pod answers to the app's name on its networks: the implicit `default`, or the app's
    // own `[backend]` (now in map form). A pod on `network_mode: bridge` has no networks at all.
    const podNetworks: Doc = key === 'network_mode' ? {} : { networks: aliasedNetworks('web', key === 'networks' ? 'backend' : 'default') };
    expect(services(result)['web-pod']).toEqual({
      image: 'pause:x',
      [key]: input.services.web[key],
      ...podNetworks,
      restart: 'unless-stopped',
      labels: namedPodLabels('web', 'nginx'),
    });
    expect(services(result).web).toEqual({
      image: 'nginx',
      network_mode: 'service:web-pod',
      labels: { SERVICE_IGNORE: '1' },
      depends_on: podDependsOn('web'),
    });
  });

  it('all network keys at once move to the pod, which also joins the mesh network', () => {
    const input = parse(`
services:
  web:
    image: nginx
    command: ["nginx", "-g", "daemon off;"]
    environment: { FOO: bar }
    volumes: ["./html:/usr/share/nginx/html:ro"]
${POD_NETWORK_KEYS.filter((key) => key !== 'network_mode').map((key) => `    ${key}: ${NETWORK_KEY_YAML[key]}\n`).join('')}`);
    const result = inject(input);
    const pod = services(result)['web-pod'];
    const web = services(result).web;
    for (const key of POD_NETWORK_KEYS) {
      if (key === 'network_mode') continue;
      expect(web, key).not.toHaveProperty(key);
      if (key !== 'networks') expect(pod[key], key).toEqual(input.services.web[key]);
    }
    expect(pod.networks).toEqual(aliasedNetworks('web', 'backend', 'istio-mesh'));
    expect(pod).not.toHaveProperty('network_mode');
    expect(web).toEqual({
      image: 'nginx',
      command: ['nginx', '-g', 'daemon off;'],
      environment: { FOO: 'bar' },
      volumes: ['./html:/usr/share/nginx/html:ro'],
      network_mode: 'service:web-pod',
      labels: { SERVICE_IGNORE: '1' },
      depends_on: podDependsOn('web'),
    });
    // Inbound capture still covers the ports the app listens on, now published by the pod.
    expect(argAfter(services(result)['web-istio-init'].command, '-b')).toBe('80,9000');
  });

  it.each(['bridge', 'default'])('network_mode: %s with meshNetwork null moves to the pod', (mode) => {
    const input = parse(`services:\n  web:\n    image: nginx\n    network_mode: ${mode}\n    ports: ["8080:80"]\n`);
    const result = inject(input, options({ meshNetwork: null }));
    expect(result.injected).toEqual(['web']);
    expect(services(result)['web-pod'].network_mode).toBe(mode);
    expect(services(result)['web-pod'].ports).toEqual(['8080:80']);
    expect(services(result)['web-pod']).not.toHaveProperty('networks');
    expect(services(result).web.network_mode).toBe('service:web-pod');
    expect(result.document).not.toHaveProperty('networks');
    // With a mesh network the same app is skipped: the pod cannot have both.
    expect(inject(input).skipped.map((entry) => entry.service)).toEqual(['web']);
  });

  it('sysctls in map form: net.* go to the pod, the others stay with the app', () => {
    const result = inject(
      parse(`
services:
  web:
    image: nginx
    sysctls:
      net.core.somaxconn: 1024
      kernel.msgmax: 65536
      net.ipv4.tcp_syncookies: 0
`),
    );
    expect(services(result)['web-pod'].sysctls).toEqual({ 'net.core.somaxconn': 1024, 'net.ipv4.tcp_syncookies': 0 });
    expect(services(result).web.sysctls).toEqual({ 'kernel.msgmax': 65536 });
  });

  it('sysctls in list form: net.* go to the pod, the others stay with the app', () => {
    const result = inject(parse('services:\n  web:\n    image: nginx\n    sysctls: ["net.core.somaxconn=1024", "kernel.msgmax=65536"]\n'));
    expect(services(result)['web-pod'].sysctls).toEqual(['net.core.somaxconn=1024']);
    expect(services(result).web.sysctls).toEqual(['kernel.msgmax=65536']);
  });

  it('sysctls that are all net.* leave the app without sysctls; none net.* leave the pod without', () => {
    const onlyNet = inject(parse('services:\n  web:\n    image: nginx\n    sysctls: { net.core.somaxconn: 1024 }\n'));
    expect(services(onlyNet)['web-pod'].sysctls).toEqual({ 'net.core.somaxconn': 1024 });
    expect(services(onlyNet).web).not.toHaveProperty('sysctls');
    const noNet = inject(parse('services:\n  web:\n    image: nginx\n    sysctls: ["kernel.msgmax=65536"]\n'));
    expect(services(noNet)['web-pod']).not.toHaveProperty('sysctls');
    expect(services(noNet).web.sysctls).toEqual(['kernel.msgmax=65536']);
  });

  it('registrator SERVICE_* settings from a map environment and labels are copied to the pod', () => {
    const input = parse(`
services:
  reviews:
    image: example/reviews
    ports: ["9080"]
    environment:
      SERVICE_NAME: reviews
      SERVICE_9080_TAGS: v1
      SERVICE_CHECK_INTERVAL: 10
      LOG_LEVEL: debug
    labels:
      SERVICE_9080_NAME: reviews-http
      com.example.team: books
`);
    const before = structuredClone(input);
    const result = inject(input);
    const pod = services(result)['reviews-pod'];
    expect(pod.environment).toEqual({ SERVICE_NAME: 'reviews', SERVICE_9080_TAGS: 'v1', SERVICE_CHECK_INTERVAL: '10' });
    expect(pod.labels).toEqual({ SERVICE_9080_NAME: 'reviews-http', ...podLabels('reviews') });
    // The app keeps its environment exactly, and its labels plus the ignore label.
    expect(services(result).reviews.environment).toEqual(before.services.reviews.environment);
    expect(services(result).reviews.labels).toEqual({ SERVICE_9080_NAME: 'reviews-http', 'com.example.team': 'books', SERVICE_IGNORE: '1' });
    expect(input).toEqual(before);
  });

  it('registrator SERVICE_* settings from a list environment and list labels are copied to the pod', () => {
    const input = parse(`
services:
  reviews:
    image: example/reviews
    environment:
      - SERVICE_NAME=reviews
      - SERVICE_TAGS=a=b,c
      - SERVICE_REGION
      - LOG_LEVEL=debug
    labels:
      - SERVICE_9080_NAME=reviews-http
      - com.example.team=books
`);
    const result = inject(input);
    // The environment's own form is kept on the app; the pod gets a map. A bare KEY (taken from
    // the shell by Compose) stays bare: null.
    expect(services(result)['reviews-pod'].environment).toEqual({ SERVICE_NAME: 'reviews', SERVICE_TAGS: 'a=b,c', SERVICE_REGION: null });
    expect(services(result)['reviews-pod'].labels).toEqual({ SERVICE_9080_NAME: 'reviews-http', ...podLabels('reviews') });
    expect(services(result).reviews.environment).toEqual(['SERVICE_NAME=reviews', 'SERVICE_TAGS=a=b,c', 'SERVICE_REGION', 'LOG_LEVEL=debug']);
  });

  it('an app without SERVICE_* settings gives its pod no environment, and labels with only its default name', () => {
    const result = inject(parse('services:\n  web:\n    image: nginx\n    environment: { SERVICES: "a,b", MY_SERVICE_NAME: x }\n    labels: { service_name: lower }\n'));
    expect(services(result)['web-pod']).not.toHaveProperty('environment');
    expect(services(result)['web-pod'].labels).toEqual(namedPodLabels('web', 'nginx'));
  });

  it("the user's SERVICE_IGNORE goes to the pod, so an app hidden from the registry stays hidden", () => {
    // The pod now registers the instance; without the copy the hidden app would appear in Consul.
    const result = inject(
      parse(`
services:
  by-env:
    image: example/a
    ports: ["8080"]
    environment: [SERVICE_IGNORE=true]
  by-label:
    image: example/b
    ports: ["8080"]
    labels: { SERVICE_IGNORE: "yes" }
`),
    );
    expect(services(result)['by-env-pod'].environment).toEqual({ SERVICE_IGNORE: 'true' });
    expect(services(result)['by-env-pod'].labels).toEqual(namedPodLabels('by-env', 'a'));
    expect(services(result)['by-label-pod'].labels).toEqual({ SERVICE_IGNORE: 'yes', ...namedPodLabels('by-label', 'b') });
    // On the app itself, a label map's SERVICE_IGNORE becomes mesh-local's "1" (still ignored).
    expect(services(result)['by-label'].labels).toEqual({ SERVICE_IGNORE: '1' });
  });

  it('depends_on in list form becomes the long form, merged with the pod members', () => {
    const result = inject(parse('services:\n  web:\n    image: nginx\n    depends_on: [db, cache]\n'));
    expect(services(result).web.depends_on).toEqual({
      db: { condition: 'service_started' },
      cache: { condition: 'service_started' },
      ...podDependsOn('web'),
    });
  });

  it('depends_on in map form keeps its conditions and other settings, merged with the pod members', () => {
    const result = inject(
      parse(`
services:
  web:
    image: nginx
    depends_on:
      db:
        condition: service_healthy
        restart: true
      migrate:
        condition: service_completed_successfully
`),
    );
    expect(services(result).web.depends_on).toEqual({
      db: { condition: 'service_healthy', restart: true },
      migrate: { condition: 'service_completed_successfully' },
      ...podDependsOn('web'),
    });
  });

  it('refuses depends_on that is neither a list of names nor a mapping', () => {
    expect(shapeError(() => inject(parse('services:\n  web:\n    image: nginx\n    depends_on: db\n'))).path).toBe('services.web.depends_on');
    expect(shapeError(() => inject(parse('services:\n  web:\n    image: nginx\n    depends_on: [{db: x}]\n'))).path).toBe('services.web.depends_on');
  });

  it('a labels list gets SERVICE_IGNORE=1 appended and stays a list', () => {
    const result = inject(parse('services:\n  web:\n    image: nginx\n    labels: ["com.example.tier=web", "flag"]\n'));
    expect(services(result).web.labels).toEqual(['com.example.tier=web', 'flag', 'SERVICE_IGNORE=1']);
  });

  it('a labels map gets SERVICE_IGNORE: "1"; no labels at all get a map with it', () => {
    const result = inject(parse('services:\n  a:\n    image: x\n    labels: { com.example.tier: web }\n  b:\n    image: y\n'));
    expect(services(result).a.labels).toEqual({ 'com.example.tier': 'web', SERVICE_IGNORE: '1' });
    expect(services(result).b.labels).toEqual({ SERVICE_IGNORE: '1' });
  });

  it('the generated services come right after the input services, in app order', () => {
    const result = inject(parse('services:\n  b:\n    image: x\n  a:\n    image: y\n'));
    expect(Object.keys(services(result))).toEqual(['b', 'a', 'b-pod', 'b-istio-init', 'b-istio-proxy', 'a-pod', 'a-istio-init', 'a-istio-proxy']);
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

    // Every app keeps every key except those its pod takes over (`networks`, `ports`), and gains
    // only what joining the pod adds.
    for (const name of ['api', 'worker', 'admin']) {
      expect(withoutKeys(services(result)[name], APP_JOIN_KEYS)).toEqual(withoutKeys(input.services[name], ['networks', 'ports', 'labels']));
      expect(services(result)[name].network_mode).toBe(`service:${name}-pod`);
      expect(services(result)[name].depends_on).toEqual(podDependsOn(name));
    }
    // Values that came through anchors and merge keys.
    const api = services(result).api;
    expect(api.restart).toBe('unless-stopped');
    expect(api.environment).toEqual({ LOG_LEVEL: 'debug', TZ: 'UTC' });
    expect(api.logging).toEqual({ driver: 'json-file', options: { 'max-size': '10m' } });
    expect(api.labels).toEqual({ 'com.example.team': 'payments', 'com.example.cost-center': '1234', SERVICE_IGNORE: '1' });
    expect(api.build).toEqual({ context: './api', dockerfile: 'Dockerfile.dev', args: { NODE_ENV: 'development' } });
    expect(api.volumes).toEqual(['api-data:/var/lib/api', './config:/etc/api:ro']);
    const worker = services(result).worker;
    expect(worker.restart).toBe('unless-stopped');
    expect(worker.environment).toEqual({ LOG_LEVEL: 'debug', TZ: 'UTC', QUEUE: 'jobs' });
    expect(services(result).admin.profiles).toEqual(['admin']);
    expect(services(result)['admin-pod'].profiles).toEqual(['admin']);
    expect(services(result).admin.healthcheck).toEqual(input.services.admin.healthcheck);
    // The pods hold what the apps gave up.
    expect(services(result)['api-pod'].ports).toEqual(['8080:8080']);
    expect(services(result)['worker-pod']).not.toHaveProperty('ports');
    expect(services(result)['api-pod'].labels).toEqual(namedPodLabels('api', 'api'));
  });

  it('the pod joins the mesh network, with the app name as alias: none -> default and istio-mesh, list or map -> istio-mesh added', () => {
    const result = inject(parse(PRESERVATION_FILE));
    expect(services(result)['admin-pod'].networks).toEqual(aliasedNetworks('admin', 'default', 'istio-mesh'));
    expect(services(result)['api-pod'].networks).toEqual(aliasedNetworks('api', 'backend', 'istio-mesh'));
    expect(services(result)['worker-pod'].networks).toEqual({ backend: { aliases: ['jobs', 'worker'] }, 'istio-mesh': { aliases: ['worker'] } });
    for (const name of ['api', 'worker', 'admin']) expect(services(result)[name]).not.toHaveProperty('networks');
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
    expect(services(result)['web-pod'].networks).toEqual(aliasedNetworks('web', 'istio-mesh'));
    expect(services(result).web).not.toHaveProperty('networks');
    expect(result.document.networks).toEqual({ 'istio-mesh': { external: true, name: 'custom_mesh' } });
  });

  it('with meshNetwork null, the pods take the app networks with the app name as alias, and top-level networks are untouched', () => {
    const input = parse(PRESERVATION_FILE);
    const result = inject(input, options({ meshNetwork: null }));
    expect(result.injected).toEqual(['api', 'worker', 'admin']);
    expect(services(result)['api-pod'].networks).toEqual(aliasedNetworks('api', 'backend'));
    expect(services(result)['worker-pod'].networks).toEqual({ backend: { aliases: ['jobs', 'worker'] } });
    // No networks meant Compose's `default`, which the pod now names to put the alias on it.
    expect(services(result)['admin-pod'].networks).toEqual(aliasedNetworks('admin', 'default'));
    for (const name of ['api', 'worker', 'admin']) expect(services(result)[name], name).not.toHaveProperty('networks');
    expect(result.document.networks).toEqual(input.networks);
    expect(result.document.networks).not.toHaveProperty('istio-mesh');
    expect(services(result)['api-istio-proxy']).toBeDefined();
  });

  it('skips an app whose network_mode names a network: the pod could not also join the mesh network', () => {
    const result = inject(parse('services:\n  web:\n    image: nginx\n    network_mode: backnet\n    expose: ["80"]\n'));
    expect(result.injected).toEqual([]);
    expect(result.skipped).toEqual([{ service: 'web', reason: expect.stringContaining('network_mode is backnet: it cannot also join the mesh network') }]);
    expect(services(result).web.network_mode).toBe('backnet');
  });

  it.each(['bridge', 'default', 'backnet'])('never combines network_mode: %s with networks (Compose refuses both)', (mode) => {
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

/** One app per Compose form of `networks`, and one on the default bridge (which takes no alias). */
const NETWORK_FORMS_FILE = `
services:
  none:
    image: example/none
  list:
    image: example/list
    networks: [front, back]
  nulls:
    image: example/nulls
    networks:
      front:
      back: null
  settings:
    image: example/settings:v2
    networks:
      front:
        ipv4_address: 172.30.0.10
        priority: 100
        aliases: [www]
  present:
    build: ./present
    networks:
      front:
        aliases: [present, www]
  bridged:
    image: example/bridged
    network_mode: bridge
networks:
  front:
    ipam:
      config:
        - subnet: 172.30.0.0/24
  back: {}
`;

describe("injectSidecars: the pod answers to the app's name on its networks", () => {
  // Neighbours reach an app by its service name; once the app shares its pod's namespace, only
  // the pod is on a network, so the pod carries the name as an alias on each of them.
  const FORMS: Array<{ form: string; yaml: string; expected: Doc }> = [
    { form: 'no networks', yaml: '', expected: aliasedNetworks('web', 'default') },
    { form: 'a list', yaml: '    networks: [front, back]\n', expected: aliasedNetworks('web', 'front', 'back') },
    { form: 'a map of empty entries', yaml: '    networks:\n      front:\n      back: null\n', expected: aliasedNetworks('web', 'front', 'back') },
    {
      form: 'a map with settings and aliases',
      yaml: '    networks:\n      front:\n        ipv4_address: 172.30.0.10\n        priority: 100\n        aliases: [www]\n',
      expected: { front: { ipv4_address: '172.30.0.10', priority: 100, aliases: ['www', 'web'] } },
    },
    {
      form: 'a map that already has the alias',
      yaml: '    networks:\n      front:\n        aliases: [web, www]\n',
      expected: { front: { aliases: ['web', 'www'] } },
    },
  ];
  const cases = FORMS.flatMap((row) => [
    { ...row, mesh: true },
    { ...row, mesh: false },
  ]);

  it.each(cases)('$form, mesh network $mesh: the pod gets the alias on each network, once', ({ yaml, expected, mesh }) => {
    const input = parse(`services:\n  web:\n    image: nginx\n${yaml}networks:\n  front: {}\n  back: {}\n`);
    const before = structuredClone(input);
    const opts = options({ meshNetwork: mesh ? MESH : null });

    const once = inject(input, opts);

    expect(once.injected).toEqual(['web']);
    expect(services(once)['web-pod'].networks).toEqual(mesh ? { ...expected, ...aliasedNetworks('web', 'istio-mesh') } : expected);
    expect(services(once).web).not.toHaveProperty('networks');
    for (const member of ['web-istio-init', 'web-istio-proxy']) expect(services(once)[member], member).not.toHaveProperty('networks');
    expect(input).toEqual(before); // an existing aliases list is copied, never appended to
    // Idempotent, in memory and through YAML.
    const twice = inject(once.document, opts);
    expect(twice.document).toEqual(once.document);
    expect(twice.injected).toEqual([]);
    expect(inject(parse(toYaml(once.document)), opts).document).toEqual(once.document);
  });

  it('a file with every network form, with the mesh network: each pod exactly, and a second run that changes nothing', () => {
    const input = parse(NETWORK_FORMS_FILE);
    const before = structuredClone(input);
    const once = inject(input);
    expect(once.injected).toEqual(['none', 'list', 'nulls', 'settings', 'present']);
    expect(once.skipped.map((entry) => entry.service)).toEqual(['bridged']);
    const out = services(once);
    expect(out['none-pod'].networks).toEqual(aliasedNetworks('none', 'default', 'istio-mesh'));
    expect(out['list-pod'].networks).toEqual(aliasedNetworks('list', 'front', 'back', 'istio-mesh'));
    expect(out['nulls-pod'].networks).toEqual(aliasedNetworks('nulls', 'front', 'back', 'istio-mesh'));
    expect(out['settings-pod'].networks).toEqual({
      front: { ipv4_address: '172.30.0.10', priority: 100, aliases: ['www', 'settings'] },
      'istio-mesh': { aliases: ['settings'] },
    });
    expect(out['present-pod'].networks).toEqual({ front: { aliases: ['present', 'www'] }, 'istio-mesh': { aliases: ['present'] } });
    expect(out.bridged).toEqual(input.services.bridged);
    expect(once.document.networks).toEqual({ ...input.networks, 'istio-mesh': { external: true, name: MESH } });
    expect(input).toEqual(before);

    const twice = inject(once.document);
    expect(twice.document).toEqual(once.document);
    expect(twice.injected).toEqual([]);
    expect(twice.skipped).toEqual(once.skipped);
  });

  it('a file with every network form, without the mesh network: each pod exactly, and a second run that changes nothing', () => {
    const opts = options({ meshNetwork: null });
    const once = inject(parse(NETWORK_FORMS_FILE), opts);
    expect(once.injected).toEqual(['none', 'list', 'nulls', 'settings', 'present', 'bridged']);
    expect(once.skipped).toEqual([]);
    const out = services(once);
    expect(out['none-pod'].networks).toEqual(aliasedNetworks('none', 'default'));
    expect(out['list-pod'].networks).toEqual(aliasedNetworks('list', 'front', 'back'));
    expect(out['nulls-pod'].networks).toEqual(aliasedNetworks('nulls', 'front', 'back'));
    expect(out['settings-pod'].networks).toEqual({ front: { ipv4_address: '172.30.0.10', priority: 100, aliases: ['www', 'settings'] } });
    expect(out['present-pod'].networks).toEqual({ front: { aliases: ['present', 'www'] } });
    expect(out['bridged-pod']).toEqual({
      image: 'pause:x',
      network_mode: 'bridge',
      restart: 'unless-stopped',
      labels: namedPodLabels('bridged', 'bridged'),
    });
    expect(once.document.networks).toEqual(parse(NETWORK_FORMS_FILE).networks);

    const twice = inject(once.document, opts);
    expect(twice.document).toEqual(once.document);
    expect(twice.injected).toEqual([]);
  });

  it.each(['bridge', 'default'])('a pod with network_mode: %s gets no networks and so no alias', (mode) => {
    const opts = options({ meshNetwork: null });
    const once = inject(parse(`services:\n  web:\n    image: nginx\n    network_mode: ${mode}\n    ports: ["8080:80"]\n`), opts);
    expect(services(once)['web-pod']).toEqual({
      image: 'pause:x',
      network_mode: mode,
      ports: ['8080:80'],
      restart: 'unless-stopped',
      labels: namedPodLabels('web', 'nginx'),
    });
    expect(inject(once.document, opts).document).toEqual(once.document);
  });
});

describe("injectSidecars: the pod registers under the app's name", () => {
  // Registrator names a container without SERVICE_NAME after its image, which for the pod would
  // be the pause image; the pod gets the name registrator would have given the app.
  it.each([
    { image: 'mesh-local/curl:sandbox', name: 'curl' },
    { image: 'nginx:1.25', name: 'nginx' },
    { image: 'registry:5000/team/api@sha256:abc', name: 'api@sha256' },
  ])('image $image without SERVICE_NAME: the pod is labelled SERVICE_NAME=$name', ({ image, name }) => {
    const input = parse(`services:\n  app:\n    image: "${image}"\n    environment: { LOG_LEVEL: debug }\n`);
    const result = inject(input);
    expect(services(result)['app-pod'].labels).toEqual(namedPodLabels('app', name));
    expect(services(result)['app-pod']).not.toHaveProperty('environment');
    // The app itself is unchanged apart from joining its pod; it is ignored by registrators.
    expect(services(result).app.environment).toEqual({ LOG_LEVEL: 'debug' });
    expect(services(result).app.labels).toEqual({ SERVICE_IGNORE: '1' });
  });

  it('a service with only a build section is named after the service', () => {
    const result = inject(parse('services:\n  api:\n    build: ./api\n    ports: ["8080:8080"]\n'));
    expect(services(result)['api-pod'].labels).toEqual(namedPodLabels('api', 'api'));
    expect(services(result).api.build).toBe('./api');
  });

  it('a port-specific SERVICE_<port>_NAME is no SERVICE_NAME: the default name is still added', () => {
    const result = inject(parse('services:\n  reviews:\n    image: example/reviews:v1\n    labels: { SERVICE_9080_NAME: reviews-http }\n'));
    expect(services(result)['reviews-pod'].labels).toEqual({ SERVICE_9080_NAME: 'reviews-http', ...namedPodLabels('reviews', 'reviews') });
  });

  // The image would give `reviews-image`; each form of SERVICE_NAME keeps the user's `reviews`.
  it.each([
    { form: 'environment map', yaml: '    environment: { SERVICE_NAME: reviews }\n', environment: { SERVICE_NAME: 'reviews' }, labels: podLabels('app') },
    { form: 'environment list', yaml: '    environment: ["SERVICE_NAME=reviews"]\n', environment: { SERVICE_NAME: 'reviews' }, labels: podLabels('app') },
    // Compose takes a bare KEY from the shell; whatever it holds there is the user's choice.
    { form: 'environment list, bare', yaml: '    environment: ["SERVICE_NAME"]\n', environment: { SERVICE_NAME: null }, labels: podLabels('app') },
    { form: 'labels map', yaml: '    labels: { SERVICE_NAME: reviews }\n', environment: undefined, labels: { SERVICE_NAME: 'reviews', ...podLabels('app') } },
    { form: 'labels list', yaml: '    labels: ["SERVICE_NAME=reviews"]\n', environment: undefined, labels: { SERVICE_NAME: 'reviews', ...podLabels('app') } },
  ])('SERVICE_NAME in the $form: no default name is added', ({ yaml, environment, labels }) => {
    const result = inject(parse(`services:\n  app:\n    image: example/reviews-image:v1\n${yaml}`));
    const pod = services(result)['app-pod'];
    if (environment === undefined) expect(pod).not.toHaveProperty('environment');
    else expect(pod.environment).toEqual(environment);
    expect(pod.labels).toEqual(labels);
  });

  // Registrator reads an empty SERVICE_NAME as none (bridge/util.go `mapDefault`).
  it.each([
    { form: 'an empty label', yaml: '    labels: { SERVICE_NAME: "" }\n' },
    { form: 'an empty environment entry', yaml: '    environment: ["SERVICE_NAME="]\n' },
  ])('SERVICE_NAME as $form: the default name is added, as registrator would use it', ({ yaml }) => {
    const result = inject(parse(`services:\n  app:\n    image: example/reviews-image:v1\n${yaml}`));
    expect(services(result)['app-pod'].labels.SERVICE_NAME).toBe('reviews-image');
  });

  it('the default name survives a second run unchanged', () => {
    const once = inject(parse('services:\n  curl:\n    image: mesh-local/curl:sandbox\n  api:\n    build: ./api\n'));
    const twice = inject(once.document);
    expect(twice.document).toEqual(once.document);
    expect(services(twice)['curl-pod'].labels.SERVICE_NAME).toBe('curl');
    expect(services(twice)['api-pod'].labels.SERVICE_NAME).toBe('api');
  });
});

describe("registratorDefaultName: registrator's name for a container without SERVICE_NAME", () => {
  it.each([
    { image: 'mesh-local/curl:sandbox', expected: 'curl' },
    { image: 'nginx:1.25', expected: 'nginx' },
    { image: 'nginx', expected: 'nginx' },
    { image: 'registry:5000/team/api@sha256:abc', expected: 'api@sha256' },
    { image: 'localhost:5000/app', expected: 'app' }, // the registry's port is not a tag
    { image: 'docker.io/library/redis:7-alpine', expected: 'redis' },
  ])('$image -> $expected', ({ image, expected }) => {
    expect(registratorDefaultName(image, 'svc')).toBe(expected);
  });

  it.each([
    { image: undefined, why: 'no image (build only)' },
    { image: '', why: 'an empty image' },
    { image: null, why: 'a null image' },
  ])('$why -> the service name', ({ image }) => {
    expect(registratorDefaultName(image, 'svc')).toBe('svc');
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
  // A bookinfo-like file using what a pod takes over: ports, hostname, DNS, net.* sysctls,
  // registrator settings in both forms, depends_on in both forms, a profile and a user restart.
  const REALISTIC = `
x-registrator: &registrator
  SERVICE_CHECK_HTTP: /health
  SERVICE_CHECK_INTERVAL: 10s
services:
  productpage:
    image: example/productpage:v1
    restart: always
    hostname: productpage
    ports: ["9080:9080"]
    dns_search: [example.test]
    extra_hosts: ["legacy.local:10.0.0.9"]
    environment:
      <<: *registrator
      SERVICE_NAME: productpage
      LOG_LEVEL: info
    labels: ["com.example.tier=frontend", "SERVICE_9080_TAGS=v1"]
    depends_on: [details, reviews]
    sysctls:
      net.core.somaxconn: 1024
      kernel.msgmax: 65536
  details:
    image: example/details:v1
    expose: ["9080"]
    environment: ["SERVICE_NAME=details", "SERVICE_TAGS=v1"]
    networks:
      backend:
        aliases: [details.backend]
  reviews:
    image: example/reviews:v2
    expose: ["9080"]
    environment: { SERVICE_NAME: reviews, SERVICE_TAGS: v2 }
    depends_on:
      ratings:
        condition: service_healthy
  ratings:
    image: example/ratings:v1
    expose: ["9080"]
    profiles: [full]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://localhost:9080/health"]
    sysctls: ["net.ipv4.ip_local_port_range=1024 65000"]
  db:
    image: mongo:4
    labels:
      ${INJECT_LABEL}: "false"
networks:
  backend: {}
`;
  const cases = [
    { name: 'realistic file, 0.8.0', text: REALISTIC, opts: options() },
    { name: 'realistic file, 0.6.0, no mesh network', text: REALISTIC, opts: options({ version: V060, meshNetwork: null }) },
    { name: 'preservation file, 0.8.0', text: PRESERVATION_FILE, opts: options() },
    { name: 'preservation file, 0.6.0', text: PRESERVATION_FILE, opts: options({ version: V060 }) },
    { name: 'skips and labels, enabled', text: SKIPS_AND_LABELS, opts: options() },
    { name: 'skips and labels, disabled', text: SKIPS_AND_LABELS, opts: options({ policy: 'disabled' }) },
    { name: 'skips and labels, no mesh network', text: SKIPS_AND_LABELS, opts: options({ meshNetwork: null }) },
    { name: 'network forms, 0.8.0', text: NETWORK_FORMS_FILE, opts: options() },
    { name: 'network forms, no mesh network', text: NETWORK_FORMS_FILE, opts: options({ meshNetwork: null }) },
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

  it('the realistic file: what the first run does, and a second run that changes nothing', () => {
    const once = inject(parse(REALISTIC));
    expect(once.injected).toEqual(['productpage', 'details', 'reviews', 'ratings']);
    expect(once.skipped).toEqual([]);
    const out = services(once);
    expect(Object.keys(out)).toHaveLength(5 + 4 * 3);
    expect(out.productpage.depends_on).toEqual({
      details: { condition: 'service_started' },
      reviews: { condition: 'service_started' },
      ...podDependsOn('productpage'),
    });
    expect(out.productpage.restart).toBe('always');
    expect(out.productpage.sysctls).toEqual({ 'kernel.msgmax': 65536 });
    expect(out.productpage.labels).toEqual(['com.example.tier=frontend', 'SERVICE_9080_TAGS=v1', 'SERVICE_IGNORE=1']);
    expect(out['productpage-pod']).toEqual({
      image: 'pause:x',
      hostname: 'productpage',
      ports: ['9080:9080'],
      dns_search: ['example.test'],
      extra_hosts: ['legacy.local:10.0.0.9'],
      networks: aliasedNetworks('productpage', 'default', 'istio-mesh'),
      sysctls: { 'net.core.somaxconn': 1024 },
      environment: { SERVICE_CHECK_HTTP: '/health', SERVICE_CHECK_INTERVAL: '10s', SERVICE_NAME: 'productpage' },
      restart: 'unless-stopped',
      labels: { SERVICE_9080_TAGS: 'v1', ...podLabels('productpage') },
    });
    expect(out['details-pod'].networks).toEqual({ backend: { aliases: ['details.backend', 'details'] }, 'istio-mesh': { aliases: ['details'] } });
    expect(out.reviews.depends_on).toEqual({ ratings: { condition: 'service_healthy' }, ...podDependsOn('reviews') });
    expect(out['ratings-pod'].sysctls).toEqual(['net.ipv4.ip_local_port_range=1024 65000']);
    expect(out.ratings).not.toHaveProperty('sysctls');
    expect(out['ratings-pod'].profiles).toEqual(['full']);
    expect(out.db).toEqual(parse(REALISTIC).services.db);

    const twice = inject(once.document);
    expect(twice.document).toEqual(once.document);
    expect(twice.injected).toEqual([]);
    expect(twice.skipped).toEqual([]);
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

  it('a network entry that is neither a mapping nor empty', () => {
    const error = shapeError(() => inject(parse('services:\n  web:\n    image: nginx\n    networks: { front: yes }\n')));
    expect(error.path).toBe('services.web.networks.front');
  });

  it('network aliases that are not a list', () => {
    const error = shapeError(() => inject(parse('services:\n  web:\n    image: nginx\n    networks: { front: { aliases: www } }\n')));
    expect(error.path).toBe('services.web.networks.front.aliases');
    expect(error.message).toContain('"www"');
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

describe('injectSidecars: replicas (a pod per replica is not expressible in one Compose service)', () => {
  const refusal = (text: string, opts?: InjectOptions) => shapeError(() => inject(parse(text), opts));

  it.each([
    ['deploy.replicas: 3', 'deploy:\n      replicas: 3', 'services.web.deploy.replicas', '3'],
    ['scale: 2', 'scale: 2', 'services.web.scale', '2'],
    ['replicas as a string', 'deploy:\n      replicas: "4"', 'services.web.deploy.replicas', '4'],
    ['replicas from ${N:-3}', 'deploy:\n      replicas: ${N:-3}', 'services.web.deploy.replicas', '3'],
    ['scale from ${N}, unknown here', 'scale: ${N}', 'services.web.scale', 'a string ("${N}"), a count inject cannot know'],
  ])('%s is refused naming the file, the service and the field', (_name, yaml, path, found) => {
    const error = refusal(`services:\n  db:\n    image: postgres\n  web:\n    image: nginx\n    ${yaml}\n`);
    expect(error.exitCode).toBe(2);
    expect(error.file).toBe(FILE);
    expect(error.path).toBe(path);
    expect(error.message).toContain(`found ${found}`);
    expect(error.message).toContain('network_mode: service:web-pod names one container');
    expect(error.message).toContain('sidecar.istio.io/inject: "false"');
  });

  it('replicas that come through an anchor and a merge key are refused too', () => {
    const error = refusal(`
x-scaled: &scaled
  deploy:
    replicas: 3
x-deploy: &deploy
  replicas: 2
services:
  merged:
    <<: *scaled
    image: nginx
`);
    expect(error.path).toBe('services.merged.deploy.replicas');
    expect(error.message).toContain('found 3');
    expect(refusal('x-deploy: &deploy\n  replicas: 2\nservices:\n  aliased:\n    image: nginx\n    deploy: *deploy\n').path).toBe(
      'services.aliased.deploy.replicas',
    );
  });

  it.each([
    ['deploy.replicas: 1', 'deploy:\n      replicas: 1'],
    ['deploy.replicas: 0', 'deploy:\n      replicas: 0'],
    ['scale: 1', 'scale: 1'],
    ['scale: 0', 'scale: 0'],
    ['deploy without replicas', 'deploy:\n      resources: { limits: { cpus: "0.5" } }'],
  ])('%s is injected, the field kept on the app', (_name, yaml) => {
    const input = parse(`services:\n  web:\n    image: nginx\n    ${yaml}\n`);
    const result = inject(input);
    expect(result.injected).toEqual(['web']);
    expect(services(result).web.deploy).toEqual(input.services.web.deploy);
    expect(services(result).web.scale).toEqual(input.services.web.scale);
  });

  it('a replicated service the policy skips is no refusal: opted out, disabled policy, policy off, network_mode host', () => {
    const scaled = (extra: string) => parse(`services:\n  web:\n    image: nginx\n    deploy: { replicas: 3 }\n${extra}`);
    expect(inject(scaled(`    labels: { ${INJECT_LABEL}: "false" }\n`)).injected).toEqual([]);
    expect(inject(scaled(''), options({ policy: 'disabled' })).injected).toEqual([]);
    expect(inject(scaled(''), options({ policy: 'off' })).injected).toEqual([]);
    const host = inject(scaled('    network_mode: host\n'));
    expect(host.skipped.map((skip) => skip.service)).toEqual(['web']);
  });

  it('an injected file that has since been given replicas is refused when injected again', () => {
    const once = inject(parse('services:\n  web:\n    image: nginx\n')).document;
    once.services.web.deploy = { replicas: 2 };
    expect(shapeError(() => inject(once)).path).toBe('services.web.deploy.replicas');
  });

  it('deploy that is not a mapping is a shape error', () => {
    expect(refusal('services:\n  web:\n    image: nginx\n    deploy: 3\n').path).toBe('services.web.deploy');
  });
});
