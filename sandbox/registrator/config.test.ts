import { describe, expect, it } from 'vitest';
import { ConsulBackend } from './consul-backend.js';
import { createBackend, parseConfig, parseRegistryUri, type RegistratorConfig } from './config.js';
import { resolveDockerSocket } from './docker.js';
import { EurekaBackend } from './eureka-backend.js';

const noSockets = () => false;
const GLIDERLABS = { MESH_LOCAL_STANDS_IN: 'docker.io/gliderlabs/registrator:master' };
const FORK = { MESH_LOCAL_STANDS_IN: 'docker.io/ijsnellf/registrator:v7' };
const consul = (argv: string[], env: NodeJS.ProcessEnv = {}, exists: (path: string) => boolean = noSockets): RegistratorConfig => parseConfig(argv, { ...GLIDERLABS, ...env }, exists);
const eureka = (argv: string[], env: NodeJS.ProcessEnv = {}): RegistratorConfig => parseConfig(argv, { ...FORK, ...env }, noSockets);

describe('parseConfig', () => {
  it("reads upstream's Consul command line", () => {
    const config = consul(['-internal', '-retry-attempts=-1', '-resync=5', 'consul://consul:8500'], {}, (path) => path === '/tmp/docker.sock');
    expect(config).toEqual({
      registry: { kind: 'consul', baseUrl: 'http://consul:8500' },
      dockerSocket: '/tmp/docker.sock',
      heartbeatMs: 0,
      resyncMs: 5000,
      ttlSeconds: 0,
      retryAttempts: -1,
      retryIntervalMs: 2000,
      explicit: false,
      forceTags: [],
    });
  });

  it("has upstream's defaults: no resync, one ping, no heartbeats", () => {
    expect(consul(['consul://c'])).toMatchObject({ resyncMs: 0, retryAttempts: 0, heartbeatMs: 0, ttlSeconds: 0 });
  });

  it("reads upstream's Eureka command line: -ttl-refresh is the heartbeat, -ttl the lease", () => {
    const config = eureka(['-internal', '-retry-attempts=-1', '-ttl-refresh=10', '-ttl=40', '-resync=5', 'eureka://eureka:8080/eureka/v2']);
    expect(config).toMatchObject({ registry: { kind: 'eureka', baseUrl: 'http://eureka:8080/eureka/v2' }, heartbeatMs: 10_000, ttlSeconds: 40, resyncMs: 5000 });
  });

  it('lets tests shorten heartbeats and resyncs where the flags are not given', () => {
    expect(eureka(['eureka://e:8080'], { HEARTBEAT_SECONDS: '0.25', RESYNC_SECONDS: '0.5' })).toMatchObject({ heartbeatMs: 250, resyncMs: 500 });
    expect(eureka(['-ttl-refresh', '7', '-ttl=20', '-resync=3', 'eureka://e:8080'], { HEARTBEAT_SECONDS: '5', RESYNC_SECONDS: '0' })).toMatchObject({
      heartbeatMs: 7000,
      resyncMs: 3000,
    });
  });

  it("reads -explicit, -tags and Go's --flag and -flag value forms", () => {
    expect(consul(['--explicit', '-tags', 'mesh, local', 'consul://c:8500'])).toMatchObject({ explicit: true, forceTags: ['mesh', 'local'] });
  });

  it('refuses what registrator refuses, with its wording and exit codes', () => {
    const refusal = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        return { message: (error as Error).message.split('\n')[0], exitCode: (error as { exitCode?: number }).exitCode };
      }
      throw new Error('not refused');
    };
    expect(refusal(() => consul([]))).toEqual({ message: expect.stringContaining('Missing required argument'), exitCode: 2 });
    expect(refusal(() => consul(['consul://a', 'consul://b']))).toEqual({ message: expect.stringContaining('consul://b'), exitCode: 2 });
    expect(refusal(() => consul(['-resync=5s', 'consul://c']))).toEqual({ message: expect.stringContaining('invalid value "5s" for flag -resync'), exitCode: 2 });
    expect(refusal(() => consul(['-ttl'])).exitCode).toBe(2);
    expect(refusal(() => eureka(['-no-such-flag', 'eureka://e']))).toEqual({ message: 'flag provided but not defined: -no-such-flag', exitCode: 2 });
    expect(refusal(() => consul(['-ttl=30', 'consul://c']))).toEqual({ message: '-ttl and -ttl-refresh must be specified together or not at all', exitCode: 1 });
    expect(refusal(() => consul(['-ttl=30', '-ttl-refresh=30', 'consul://c']))).toEqual({ message: '-ttl must be greater than -ttl-refresh', exitCode: 1 });
    expect(refusal(() => consul(['-retry-interval=0', 'consul://c']))).toEqual({ message: '-retry-interval must be greater than 0', exitCode: 1 });
  });

  it('refuses by name what upstream accepts and this registrator does not implement', () => {
    expect(() => consul(['-ip=1.2.3.4', 'consul://c'])).toThrow("-ip is a flag of docker.io/gliderlabs/registrator:master that mesh-local's registrator does not implement");
    expect(() => consul(['-internal=false', 'consul://c'])).toThrow('only -internal mode is supported');
    expect(() => consul(['-deregister=on-success', 'consul://c'])).toThrow('-deregister=on-success is not supported');
    expect(() => consul(['consul://c'], { HEARTBEAT_SECONDS: 'soon' })).toThrow("HEARTBEAT_SECONDS must be a non-negative number of seconds, got 'soon'");
  });

  it('stops reading flags at the first positional argument, as Go\'s flag package does', () => {
    expect(() => consul(['-internal', 'consul://c', '-explicit'])).toThrow(/-explicit/);
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
    expect(createBackend(consul(['consul://c:8500']))).toBeInstanceOf(ConsulBackend);
    const backend = createBackend(eureka(['eureka://e:8080/eureka/v2']));
    expect(backend).toBeInstanceOf(EurekaBackend);
    expect(backend.description).toBe('eureka at http://e:8080/eureka/v2');
    expect(backend.needsHeartbeat).toBe(true);
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
