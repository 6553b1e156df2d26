/**
 * API tests for the pilot-discovery stand-in, against a running pilot (in-process or a container)
 * and the API server it registered its CRDs with.
 */
import { describe, expect, it } from 'vitest';

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
  });
}
