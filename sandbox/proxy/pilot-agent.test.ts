import { describe, expect, it } from 'vitest';
import { ISTIO_VERSIONS } from '../../src/model/istio-versions.js';
import { parseUpstreamCommandLine } from '../common/upstream-cli.js';
import { nodeOf, optionsFromCommandLine, PILOT_AGENT } from './pilot-agent.js';

const parse = (reference: string, argv: string[]) => optionsFromCommandLine(parseUpstreamCommandLine(PILOT_AGENT, argv, { MESH_LOCAL_STANDS_IN: reference }));

describe('pilot-agent stand-in command line', () => {
  it.each(ISTIO_VERSIONS.map((version) => [version.version, version.images.proxy] as const))('Istio %s: the node from --serviceregistry and the own address', (_version, reference) => {
    const consul = parse(reference, ['proxy', '--serviceregistry', 'Consul', '--serviceCluster', 'reviews-v2', '--discoveryAddress', 'istio-pilot:15007']);
    expect(consul).toMatchObject({ serviceCluster: 'reviews-v2', discoveryAddress: 'istio-pilot:15007', adminPort: 15000, refreshDelayMs: 1000 });
    expect(nodeOf(consul, ['172.18.0.5', '10.0.0.2'])).toBe('sidecar~172.18.0.5~172.18.0.5.service.consul~service.consul');
    const eureka = parse(reference, ['proxy', '--serviceregistry', 'Eureka', '--discoveryAddress', 'istio-pilot:15003']);
    expect(nodeOf(eureka, ['172.18.0.6'])).toBe('sidecar~172.18.0.6~172.18.0.6~');
    const flags = parse(reference, ['proxy', 'ingress', '--serviceregistry', 'Consul', '--ip', '10.1.1.1', '--id', 'me', '--domain', '', '--proxyAdminPort', '15100']);
    expect(flags.adminPort).toBe(15100);
    expect(nodeOf(flags, ['172.18.0.5'])).toBe('ingress~10.1.1.1~me~');
  });

  it('refuses what the stand-in cannot run', () => {
    const reference = ISTIO_VERSIONS[0]!.images.proxy;
    expect(() => parse(reference, ['version'])).toThrow(/runs 'pilot-agent proxy' only/);
    expect(() => parse(reference, ['proxy', '--serviceregistry', 'Zookeeper'])).toThrow(/--serviceregistry 'Zookeeper'/);
    expect(() => parse(reference, ['proxy', '--no-such-flag'])).toThrow(/unknown flag/);
  });
});
