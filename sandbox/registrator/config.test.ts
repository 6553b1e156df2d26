import { describe, expect, it } from 'vitest';
import { ConsulBackend } from './consul-backend.js';
import { createBackend, parseConfig, parseFlags, parseRegistryUri } from './config.js';
import { resolveDockerSocket } from './docker.js';
import { EurekaBackend } from './eureka-backend.js';

const noSockets = () => false;

describe('parseConfig', () => {
  it('reads upstream\'s Consul command line', () => {
    const config = parseConfig(['-internal', '-retry-attempts=-1', 'consul://consul:8500'], {}, (path) => path === '/tmp/docker.sock');
    expect(config).toEqual({
      registry: { kind: 'consul', baseUrl: 'http://consul:8500' },
      dockerSocket: '/tmp/docker.sock',
      heartbeatMs: 30_000,
      resyncMs: 30_000,
      ttlSeconds: 90,
      retryAttempts: -1,
      retryIntervalMs: 2000,
      explicit: false,
      forceTags: [],
    });
  });

  it('reads upstream\'s Eureka command line: -ttl-refresh is the heartbeat, -ttl the lease', () => {
    const config = parseConfig(['-internal', '-retry-attempts=-1', '-ttl-refresh=10', '-ttl=40', 'eureka://eureka:8080/eureka/v2'], {}, noSockets);
    expect(config).toMatchObject({ registry: { kind: 'eureka', baseUrl: 'http://eureka:8080/eureka/v2' }, heartbeatMs: 10_000, ttlSeconds: 40 });
  });

  it('takes HEARTBEAT_SECONDS and RESYNC_SECONDS from the environment; flags win; 0 turns resync off', () => {
    expect(parseConfig(['eureka://e:8080'], { HEARTBEAT_SECONDS: '5', RESYNC_SECONDS: '0' }, noSockets)).toMatchObject({ heartbeatMs: 5000, resyncMs: 0 });
    expect(parseConfig(['-ttl-refresh', '7', '-resync=3', 'eureka://e:8080'], { HEARTBEAT_SECONDS: '5', RESYNC_SECONDS: '0' }, noSockets)).toMatchObject({
      heartbeatMs: 7000,
      resyncMs: 3000,
    });
    expect(parseConfig(['consul://c'], { HEARTBEAT_SECONDS: '0.25' }, noSockets).heartbeatMs).toBe(250);
  });

  it('reads -explicit, -tags and Go\'s --flag and -flag value forms', () => {
    expect(parseConfig(['--explicit', '-tags', 'mesh, local', 'consul://c:8500'], {}, noSockets)).toMatchObject({ explicit: true, forceTags: ['mesh', 'local'] });
  });

  it('refuses what it cannot honour, with the usage line', () => {
    const refuse = (argv: string[], env: NodeJS.ProcessEnv = {}) => () => parseConfig(argv, env, noSockets);
    expect(refuse([])).toThrow(/missing the registry URI[\s\S]*usage: registrator/);
    expect(refuse(['consul://a', 'consul://b'])).toThrow('expected one registry URI');
    expect(refuse(['-ip=1.2.3.4', 'consul://c'])).toThrow('unknown flag -ip=1.2.3.4');
    expect(refuse(['-internal=false', 'consul://c'])).toThrow('only -internal mode is supported');
    expect(refuse(['-deregister=on-success', 'consul://c'])).toThrow('-deregister=on-success is not supported');
    expect(refuse(['consul://c'], { HEARTBEAT_SECONDS: 'soon' })).toThrow("HEARTBEAT_SECONDS must be a positive number of seconds, got 'soon'");
    expect(refuse(['-ttl-refresh=0', 'consul://c'])).toThrow('-ttl-refresh must be a positive number');
    expect(refuse(['-retry-attempts=many', 'consul://c'])).toThrow('-retry-attempts must be an integer');
    expect(refuse(['-ttl'])).toThrow('flag -ttl needs a value');
  });
});

describe('parseFlags', () => {
  it('stops at the first positional argument, as Go\'s flag package does', () => {
    expect(parseFlags(['-internal', 'consul://c', '-explicit'])).toEqual({ flags: new Map([['internal', 'true']]), positional: ['consul://c', '-explicit'] });
  });
});

describe('parseRegistryUri', () => {
  it('maps registrator URIs to HTTP base URLs with the registries\' default ports and path', () => {
    expect(parseRegistryUri('consul://consul')).toEqual({ kind: 'consul', baseUrl: 'http://consul:8500' });
    expect(parseRegistryUri('eureka://eureka')).toEqual({ kind: 'eureka', baseUrl: 'http://eureka:8080/eureka/v2' });
    expect(parseRegistryUri('eureka://eureka:9000/eureka/v2/')).toEqual({ kind: 'eureka', baseUrl: 'http://eureka:9000/eureka/v2' });
  });

  it('refuses other registries and non-URIs', () => {
    expect(() => parseRegistryUri('etcd://etcd:2379/services')).toThrow("unsupported registry 'etcd://'");
    expect(() => parseRegistryUri('consul')).toThrow('is not a URI');
  });
});

describe('createBackend', () => {
  it('builds the backend the URI names', () => {
    expect(createBackend(parseConfig(['consul://c:8500'], {}, noSockets))).toBeInstanceOf(ConsulBackend);
    const eureka = createBackend(parseConfig(['eureka://e:8080/eureka/v2'], {}, noSockets));
    expect(eureka).toBeInstanceOf(EurekaBackend);
    expect(eureka.description).toBe('eureka at http://e:8080/eureka/v2');
    expect(eureka.needsHeartbeat).toBe(true);
  });
});

describe('resolveDockerSocket', () => {
  it('prefers DOCKER_SOCKET, then a unix:// DOCKER_HOST', () => {
    expect(resolveDockerSocket({ DOCKER_SOCKET: '/x.sock', DOCKER_HOST: 'unix:///y.sock' }, noSockets)).toBe('/x.sock');
    expect(resolveDockerSocket({ DOCKER_HOST: 'unix:///y.sock' }, noSockets)).toBe('/y.sock');
  });

  it('otherwise takes whichever of /var/run/docker.sock and /tmp/docker.sock exists', () => {
    expect(resolveDockerSocket({}, (path) => path === '/tmp/docker.sock')).toBe('/tmp/docker.sock');
    expect(resolveDockerSocket({}, () => true)).toBe('/var/run/docker.sock');
    expect(resolveDockerSocket({}, noSockets)).toBe('/var/run/docker.sock');
  });

  it('refuses a TCP DOCKER_HOST', () => {
    expect(() => resolveDockerSocket({ DOCKER_HOST: 'tcp://127.0.0.1:2375' }, noSockets)).toThrow('is not a unix socket');
  });
});
