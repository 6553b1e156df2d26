import { describe, expect, it } from 'vitest';
import { ConsulBackend } from './consul-backend.js';
import { createBackend, parseConfig, parseRegistryUri, type RegistratorConfig } from './config.js';
import { resolveDockerEndpoint } from './docker.js';
import { EurekaBackend } from './eureka-backend.js';

const GLIDERLABS = { MESH_LOCAL_STANDS_IN: 'docker.io/gliderlabs/registrator:master' };
const FORK = { MESH_LOCAL_STANDS_IN: 'docker.io/ijsnellf/registrator:v7' };
const consul = (argv: string[], env: NodeJS.ProcessEnv = {}): RegistratorConfig => parseConfig(argv, { ...GLIDERLABS, ...env });
const eureka = (argv: string[], env: NodeJS.ProcessEnv = {}): RegistratorConfig => parseConfig(argv, { ...FORK, ...env });

describe('parseConfig', () => {
  it("reads upstream's Consul command line", () => {
    const config = consul(['-internal', '-retry-attempts=-1', '-resync=5', '-cleanup', 'consul://consul:8500'], { DOCKER_HOST: 'tcp://registrator-docker-api:2375' });
    expect(config).toEqual({
      registry: { kind: 'consul', baseUrl: 'http://consul:8500' },
      docker: { baseUrl: 'http://registrator-docker-api:2375' },
      heartbeatMs: 0,
      resyncMs: 5000,
      ttlSeconds: 0,
      retryAttempts: -1,
      retryIntervalMs: 2000,
      explicit: false,
      cleanup: true,
      forceTags: [],
    });
  });

  it("has upstream's defaults: no resync, one ping, no heartbeats, no cleanup", () => {
    expect(consul(['consul://c'])).toMatchObject({ resyncMs: 0, retryAttempts: 0, heartbeatMs: 0, ttlSeconds: 0, cleanup: false });
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

describe('resolveDockerEndpoint', () => {
  it("takes registrator's default, unix:///tmp/docker.sock, when DOCKER_HOST is empty", () => {
    expect(resolveDockerEndpoint({})).toEqual({ socketPath: '/tmp/docker.sock' });
    expect(resolveDockerEndpoint({ DOCKER_HOST: '' })).toEqual({ socketPath: '/tmp/docker.sock' });
  });

  it('reads DOCKER_HOST as go-dockerclient does: unix://, tcp:// and http:// (plain HTTP), no scheme as tcp://', () => {
    expect(resolveDockerEndpoint({ DOCKER_HOST: 'unix:///var/run/docker.sock' })).toEqual({ socketPath: '/var/run/docker.sock' });
    expect(resolveDockerEndpoint({ DOCKER_HOST: 'tcp://registrator-docker-api:2375' })).toEqual({ baseUrl: 'http://registrator-docker-api:2375' });
    expect(resolveDockerEndpoint({ DOCKER_HOST: 'tcp://10.0.0.2:2376' })).toEqual({ baseUrl: 'http://10.0.0.2:2376' });
    expect(resolveDockerEndpoint({ DOCKER_HOST: 'http://docker:8080' })).toEqual({ baseUrl: 'http://docker:8080' });
    expect(resolveDockerEndpoint({ DOCKER_HOST: 'docker:2375' })).toEqual({ baseUrl: 'http://docker:2375' });
  });

  it('lets tests name a socket with DOCKER_SOCKET, over DOCKER_HOST', () => {
    expect(resolveDockerEndpoint({ DOCKER_SOCKET: '/x.sock', DOCKER_HOST: 'tcp://d:2375' })).toEqual({ socketPath: '/x.sock' });
  });

  it('refuses what go-dockerclient cannot use, and TLS, which this registrator lacks', () => {
    expect(() => resolveDockerEndpoint({ DOCKER_HOST: 'ftp://docker:21' })).toThrow('invalid endpoint');
    expect(() => resolveDockerEndpoint({ DOCKER_HOST: 'tcp://docker:0' })).toThrow('invalid endpoint');
    expect(() => resolveDockerEndpoint({ DOCKER_HOST: 'tcp://docker:99999' })).toThrow('invalid endpoint');
    expect(() => resolveDockerEndpoint({ DOCKER_HOST: 'tcp://docker' })).toThrow('unsupported protocol scheme "tcp"');
    expect(() => resolveDockerEndpoint({ DOCKER_HOST: 'https://docker:2376' })).toThrow('TLS to the Docker Engine is not implemented');
    expect(() => resolveDockerEndpoint({ DOCKER_HOST: 'tcp://docker:2376', DOCKER_TLS_VERIFY: '1' })).toThrow('TLS to the Docker Engine is not implemented');
  });

  it('refuses a bad DOCKER_HOST as registrator does, with exit code 1 (log.Fatal)', () => {
    expect(() => consul(['consul://c'], { DOCKER_HOST: 'ftp://docker:21' })).toThrow(expect.objectContaining({ exitCode: 1, message: expect.stringMatching(/^invalid endpoint/) }));
  });
});
