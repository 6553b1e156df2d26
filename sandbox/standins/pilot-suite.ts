/**
 * API tests for the pilot-discovery stand-in, against a running pilot (in-process or a container)
 * and the API server it registered its CRDs with. The discovery checks (CDS, RDS, LDS) ask as the
 * sidecar of the first expected service's first host, and hold whatever route rules are stored.
 */
import { describe, expect, it } from 'vitest';
import { serviceNode } from '../common/envoy-v1.js';

export interface PilotSuiteTarget {
  /** The pilot's discovery URL. */
  url: string;
  /** The API server pilot registered with. */
  kubeApi: string;
  /** CRD names pilot was told to register (`<plural>.<group>`). */
  crds: string[];
  /** Entries `/v1/registration` must contain, exactly (the registry may hold others too). */
  expected: Array<{ 'service-key': string; hosts: Array<{ ip_address: string; port: number; tags: Record<string, string> }> }>;
}

export function pilotApiSuite(target: () => PilotSuiteTarget): void {
  describe('pilot-discovery stand-in API', () => {
    it('GET /ready answers 200 and names itself a stand-in', async () => {
      const response = await fetch(`${target().url}/ready`);
      expect(response.status).toBe(200);
      expect(response.headers.get('x-mesh-local-standin')).toBe('pilot-discovery');
    });

    it('registered every CRD with the API server, Established and Namespaced', async () => {
      const { kubeApi, crds } = target();
      expect(crds.length).toBeGreaterThan(0);
      for (const name of crds) {
        const response = await fetch(`${kubeApi}/apis/apiextensions.k8s.io/v1beta1/customresourcedefinitions/${name}`);
        expect(response.status, name).toBe(200);
        const crd = (await response.json()) as any;
        expect(`${crd.spec.names.plural}.${crd.spec.group}`).toBe(name);
        expect(crd.spec.scope).toBe('Namespaced');
        expect(crd.spec.names.kind).toMatch(/^[A-Z]/);
        expect(crd.status.conditions).toContainEqual(expect.objectContaining({ type: 'Established', status: 'True' }));
      }
    });

    it('GET /v1/registration lists every service and instance in pilot v1 format', async () => {
      const response = await fetch(`${target().url}/v1/registration`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/application\/json/);
      const body = (await response.json()) as any[];
      expect(Array.isArray(body)).toBe(true);
      for (const entry of body) {
        expect(entry['service-key']).toMatch(/^[^|]+\|[^|]+$/);
        for (const host of entry.hosts) {
          expect(Object.keys(host).sort()).toEqual(['ip_address', 'port', 'tags']);
          expect(typeof host.ip_address).toBe('string');
          expect(Number.isInteger(host.port)).toBe(true);
        }
      }
      for (const expected of target().expected) {
        const found = body.find((entry) => entry['service-key'] === expected['service-key']);
        expect(found, expected['service-key']).toBeDefined();
        expect(found.hosts).toEqual(expected.hosts);
      }
    });

    it('GET /v1/registration/:serviceKey lists one service, filtered by labels', async () => {
      for (const expected of target().expected) {
        const key = expected['service-key'];
        const response = await fetch(`${target().url}/v1/registration/${encodeURIComponent(key)}`);
        expect(response.status).toBe(200);
        expect(await response.json()).toEqual({ hosts: expected.hosts });

        const version = expected.hosts.find((host) => host.tags.version)?.tags.version;
        if (version) {
          const filtered = await fetch(`${target().url}/v1/registration/${encodeURIComponent(`${key}|version=${version}`)}`);
          expect(await filtered.json()).toEqual({ hosts: expected.hosts.filter((host) => host.tags.version === version) });
        }
      }
      const none = await fetch(`${target().url}/v1/registration/${encodeURIComponent('no-such-service.service.consul|http')}`);
      expect(await none.json()).toEqual({ hosts: [] });
    });

    /** The node of a sidecar next to the first expected host; Consul keys end in `.service.consul`. */
    const sidecar = () => {
      const first = target().expected[0]!;
      const consul = first['service-key'].split('|')[0]!.endsWith('.service.consul');
      const host = first.hosts[0]!;
      return { node: serviceNode(consul ? 'Consul' : 'Eureka', host.ip_address), port: host.port };
    };
    const discovery = async (path: string) => {
      const response = await fetch(`${target().url}${path}`);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/application\/json/);
      return (await response.json()) as any;
    };

    it('GET /v1/clusters/:cluster/:node: in.<port> for the node, out.<service key> (sds) for every service', async () => {
      const { node, port } = sidecar();
      const body = await discovery(`/v1/clusters/istio-proxy/${encodeURIComponent(node)}`);
      const names = body.clusters.map((cluster: any) => cluster.name);
      expect(names).toEqual([...names].sort());
      expect(body.clusters).toContainEqual({
        name: `in.${port}`,
        connect_timeout_ms: 1000,
        type: 'static',
        lb_type: expect.any(String),
        hosts: [{ url: `tcp://127.0.0.1:${port}` }],
      });
      for (const expected of target().expected) {
        expect(body.clusters).toContainEqual(
          expect.objectContaining({ name: `out.${expected['service-key']}`, service_name: expected['service-key'], type: 'sds' }),
        );
      }
    });

    it('GET /v1/routes/:port/:cluster/:node: a virtual host per service on the port, its short name with the port among the domains', async () => {
      const { node, port } = sidecar();
      const body = await discovery(`/v1/routes/${port}/istio-proxy/${encodeURIComponent(node)}`);
      expect(body.validate_clusters).toBe(true);
      for (const expected of target().expected.filter((entry) => entry.hosts.some((host) => host.port === port))) {
        const hostname = expected['service-key'].split('|')[0]!;
        const host = body.virtual_hosts.find((candidate: any) => candidate.name === expected['service-key']);
        expect(host, expected['service-key']).toBeDefined();
        expect(host.domains).toContain(`${hostname.split('.')[0]}:${port}`);
        expect(host.routes.length).toBeGreaterThan(0);
        expect(host.routes.at(-1)).toMatchObject({ prefix: '/' });
      }
      const none = await discovery(`/v1/routes/1/istio-proxy/${encodeURIComponent(node)}`);
      expect(none).toEqual({ validate_clusters: true, virtual_hosts: [] });
    });

    it('GET /v1/listeners/:cluster/:node: virtual on 15001, outbound 0.0.0.0:<port> from RDS, inbound on the node\'s address', async () => {
      const { node, port } = sidecar();
      const body = await discovery(`/v1/listeners/istio-proxy/${encodeURIComponent(node)}`);
      const byAddress = new Map(body.listeners.map((listener: any) => [listener.address, listener]));
      expect(byAddress.get('tcp://0.0.0.0:15001')).toEqual({
        address: 'tcp://0.0.0.0:15001',
        name: 'virtual',
        filters: [],
        bind_to_port: true,
        use_original_dst: true,
      });
      const outbound = byAddress.get(`tcp://0.0.0.0:${port}`) as any;
      expect(outbound.bind_to_port).toBe(false);
      expect(outbound.filters[0].config.rds).toEqual({ cluster: 'rds', route_config_name: String(port), refresh_delay_ms: 1000 });
      expect(outbound.filters[0].config.filters.at(-1)).toEqual({ type: 'decoder', name: 'router', config: {} });
      const ip = node.split('~')[1];
      const inbound = byAddress.get(`tcp://${ip}:${port}`) as any;
      expect(inbound.filters[0].config.route_config.virtual_hosts[0].routes.at(-1)).toMatchObject({ prefix: '/', cluster: `in.${port}` });
    });

    it('answers 404 for a node that is not a service node, with the reason', async () => {
      for (const path of ['/v1/clusters/c/not-a-node', '/v1/listeners/c/sidecar~not-an-ip~x~', '/v1/routes/9080/c/sidecar~1.2.3']) {
        const response = await fetch(`${target().url}${path}`);
        expect(response.status, path).toBe(404);
        expect(((await response.json()) as { error: string }).error).toMatch(/service node/);
      }
    });
  });
}
