import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { buildModel, DEFAULT_HOST_PORTS, resolveSettings, type SettingsInput } from './settings.js';

const resolve = (input: Partial<SettingsInput>) => resolveSettings({ env: {}, flags: {}, ...input });
const issuesOf = (input: Partial<SettingsInput>) => {
  try {
    resolve(input);
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  throw new Error('expected a ConfigError');
};

describe('settings defaults', () => {
  it('renders a Consul mesh of Istio 0.8.0 bound to 127.0.0.1 with nothing optional', () => {
    const { settings, sources } = resolve({});
    expect(settings).toMatchObject({
      project: 'mesh-local',
      registry: 'consul',
      istioVersion: '0.8.0',
      addons: [],
      mtls: false,
      bookinfo: false,
      hostAddress: '127.0.0.1',
      imageMirror: undefined,
      images: {},
    });
    expect(settings.ports).toEqual(DEFAULT_HOST_PORTS);
    expect(sources).toEqual({});
  });
});

describe('precedence: defaults < file < env < flags', () => {
  const file = { path: 'mesh-local.yaml', data: { registry: 'eureka', project: 'fromfile', addons: ['zipkin'] } };

  it('takes the file over the defaults', () => {
    const { settings, sources } = resolve({ file });
    expect(settings.registry).toBe('eureka');
    expect(sources.registry).toBe('mesh-local.yaml');
  });

  it('takes the environment over the file', () => {
    const { settings, sources } = resolve({ file, env: { MESH_LOCAL_REGISTRY: 'consul' } });
    expect(settings.registry).toBe('consul');
    expect(sources.registry).toBe('MESH_LOCAL_REGISTRY');
    expect(settings.project).toBe('fromfile');
  });

  it('takes flags over everything', () => {
    const { settings, sources } = resolve({
      file,
      env: { MESH_LOCAL_REGISTRY: 'consul', MESH_LOCAL_ADDONS: 'prometheus' },
      flags: { registry: 'eureka', addons: 'zipkin,prometheus' },
    });
    expect(settings.registry).toBe('eureka');
    expect(sources.registry).toBe('--registry');
    expect(settings.addons).toEqual(['zipkin', 'prometheus']);
  });

  it('ignores empty environment variables', () => {
    expect(resolve({ file, env: { MESH_LOCAL_REGISTRY: '' } }).settings.registry).toBe('eureka');
  });

  it('merges images and ports key by key across layers', () => {
    const { settings, sources } = resolve({
      file: { path: 'f.yaml', data: { images: { pilot: 'a/pilot:1', mixer: 'a/mixer:1' }, ports: { gateway: 19081 } } },
      env: { MESH_LOCAL_IMAGES: 'mixer=b/mixer:2', MESH_LOCAL_PORTS: 'pilot=18081' },
      flags: { image: ['ca=c/ca:3'], port: ['gateway=29081'] },
    });
    expect(settings.images).toEqual({ pilot: 'a/pilot:1', mixer: 'b/mixer:2', ca: 'c/ca:3' });
    expect(settings.ports).toMatchObject({ gateway: 29081, pilot: 18081, apiserver: 8080 });
    expect(sources['images.mixer']).toBe('MESH_LOCAL_IMAGES');
    expect(sources['ports.gateway']).toBe('--port');
  });

  it('reads booleans from env words and versions written as numbers in YAML', () => {
    const { settings } = resolve({
      file: { path: 'f.yaml', data: { istioVersion: '0.6.0' } },
      env: { MESH_LOCAL_BOOKINFO: 'yes' },
    });
    expect(settings.bookinfo).toBe(true);
    expect(settings.istioVersion).toBe('0.6.0');
  });
});

describe('validation reports every problem with its source', () => {
  it('names the setting, the valid choices and where the value came from', () => {
    const issues = issuesOf({
      env: { MESH_LOCAL_REGISTRY: 'zookeeper' },
      flags: { istioVersion: '1.0.0', addons: 'kiali', port: ['gateway=99999'], image: ['nope=x/y:1'] },
    });
    expect(issues).toEqual(
      expect.arrayContaining([
        { path: 'registry', message: "'zookeeper' is not one of: consul, eureka", source: 'MESH_LOCAL_REGISTRY' },
        { path: 'istioVersion', message: "'1.0.0' is not one of: 0.8.0, 0.6.0", source: '--istio-version' },
        expect.objectContaining({ path: 'addons', source: '--addons', message: expect.stringContaining('kiali') }),
        expect.objectContaining({ path: 'ports.gateway', source: '--port' }),
        expect.objectContaining({ path: 'images.nope', message: expect.stringContaining('valid names: etcd') }),
      ]),
    );
    expect(issues).toHaveLength(5);
  });

  it('rejects unknown config file keys and a wrong file shape', () => {
    expect(issuesOf({ file: { path: 'f.yaml', data: { registy: 'consul' } } })[0]).toMatchObject({
      path: 'registy',
      message: expect.stringContaining('valid settings: project, registry'),
    });
    expect(issuesOf({ file: { path: 'f.yaml', data: ['registry'] } })[0]).toMatchObject({
      path: '(top level)',
      message: 'expected a mapping of settings, found a list',
    });
    expect(issuesOf({ file: { path: 'f.yaml', data: { images: ['pilot=x'] } } })[0]).toMatchObject({ path: 'images' });
  });

  it('rejects a malformed NAME=VALUE pair and a bad project name', () => {
    const issues = issuesOf({ flags: { image: ['pilot'], project: 'My Project' } });
    expect(issues.map((issue) => issue.path).sort()).toEqual(['images', 'project']);
  });

  it('refuses mTLS, which no Compose stack can deliver certificates for', () => {
    expect(issuesOf({ flags: { mtls: true } })[0]).toMatchObject({ path: 'mtls', source: '--mtls' });
  });

  it('refuses two published services on one host port', () => {
    expect(issuesOf({ flags: { port: ['pilot=8080'] } })[0]).toMatchObject({
      path: 'ports.pilot',
      message: 'host port 8080 is also used by ports.apiserver',
    });
    // A port of a service that is not rendered does not conflict.
    expect(() => resolve({ flags: { port: ['eureka=8080'] } })).not.toThrow();
  });

  it('accepts port 0 (any free port) for several services at once', () => {
    const { settings } = resolve({ flags: { port: ['apiserver=0', 'pilot=0', 'gateway=0'] } });
    expect(settings.ports).toMatchObject({ apiserver: 0, pilot: 0, gateway: 0 });
  });

  it('adds prometheus when grafana or servicegraph needs it, with a warning', () => {
    const { settings, warnings } = resolve({ flags: { addons: 'grafana' } });
    expect(settings.addons).toEqual(['prometheus', 'grafana']);
    expect(warnings).toEqual(['grafana reads its data from prometheus, so prometheus was added to the addons']);
  });

  it('validates apps from the config file', () => {
    const issues = issuesOf({
      file: { path: 'f.yaml', data: { apps: [{ name: 'Bad_Name', image: 'x/y:1', ports: [70000] }, 'oops'] } },
    });
    expect(issues.map((issue) => issue.path)).toEqual(['apps[0].name', 'apps[0].ports', 'apps[1]']);
  });
});

describe('buildModel', () => {
  it('refuses image references Docker would refuse, with its reason', () => {
    const issues = issuesOf({ flags: { image: ['pilot=UPPER:tag', 'mixer=foo:bar:baz', 'ca=my.registry:5000/team/ca@sha256:' + 'a'.repeat(64)] } });
    expect(issues).toEqual([
      expect.objectContaining({ path: 'images.pilot', message: expect.stringContaining("'UPPER:tag' is not an image reference (invalid reference format: repository name must be lowercase)") }),
      expect.objectContaining({ path: 'images.mixer', message: expect.stringContaining("'foo:bar:baz' is not an image reference (invalid reference format)") }),
    ]);
  });

  it('resolves images through the mirror, with overrides taken literally', () => {
    const { settings } = resolve({ flags: { imageMirror: 'mirror.local:5000', image: ['ca=my/ca:dev'], bookinfo: true } });
    const model = buildModel(settings);
    expect(model.images.pilot).toBe('mirror.local:5000/istio/pilot:0.8.0');
    expect(model.images.etcd).toBe('mirror.local:5000/coreos/etcd:v3.2.18');
    expect(model.images.consul).toBe('mirror.local:5000/library/consul:1.3.0');
    expect(model.images.ca).toBe('my/ca:dev');
    expect(model.apps.find((app) => app.name === 'details')?.image).toBe(
      'mirror.local:5000/istio/examples-bookinfo-details-v1:1.5.0',
    );
  });

  it('lists BookInfo as six instances and adds config-file apps after them', () => {
    const { settings } = resolve({
      flags: { bookinfo: true },
      file: { path: 'f.yaml', data: { apps: [{ name: 'web', version: 'v2', image: 'me/web:1', ports: [8000] }] } },
    });
    const model = buildModel(settings);
    expect(model.apps.map((app) => `${app.name}-${app.version}`)).toEqual([
      'productpage-v1', 'details-v1', 'ratings-v1', 'reviews-v1', 'reviews-v2', 'reviews-v3', 'web-v2',
    ]);
  });

  it('refuses an app that duplicates a BookInfo instance', () => {
    const { settings } = resolve({
      flags: { bookinfo: true },
      file: { path: 'f.yaml', data: { apps: [{ name: 'details', version: 'v1', image: 'me/d:1' }] } },
    });
    expect(() => buildModel(settings)).toThrow(/details-v1 is defined twice/);
  });
});
