import { describe, expect, it } from 'vitest';
import { applyMirror, IMAGE_KEYS, repositoryPath, resolveImages } from './images.js';
import { ISTIO_VERSIONS } from './istio-versions.js';

describe('repositoryPath', () => {
  it.each([
    ['docker.io/istio/pilot:0.8.0', 'istio/pilot:0.8.0'],
    ['quay.io/coreos/etcd:v3.2.18', 'coreos/etcd:v3.2.18'],
    ['localhost:5000/me/app:1', 'me/app:1'],
    ['istio/pilot:0.8.0', 'istio/pilot:0.8.0'],
    ['consul:1.3.0', 'library/consul:1.3.0'],
    ['docker.io/library/consul:1.3.0', 'library/consul:1.3.0'],
  ])('%s -> %s', (reference, path) => {
    expect(repositoryPath(reference)).toBe(path);
  });
});

describe('applyMirror', () => {
  it('replaces the registry host and keeps the path, with or without a trailing slash', () => {
    expect(applyMirror('gcr.io/google_containers/kube-apiserver-amd64:v1.7.3', 'mirror.local:5000/')).toBe(
      'mirror.local:5000/google_containers/kube-apiserver-amd64:v1.7.3',
    );
    expect(applyMirror('docker.io/istio/pilot:0.8.0', 'harbor.corp/proxy')).toBe('harbor.corp/proxy/istio/pilot:0.8.0');
  });
});

describe('image tables', () => {
  it('give every version a fully qualified reference for every key', () => {
    for (const version of ISTIO_VERSIONS) {
      expect(Object.keys(version.images).sort()).toEqual([...IMAGE_KEYS].sort());
      for (const reference of Object.values(version.images)) expect(reference).toMatch(/^[a-z0-9.-]+\.[a-z]+\/[^:]+:[^:]+$/);
    }
  });

  it('apply overrides after the mirror', () => {
    const table = ISTIO_VERSIONS[0]!.images;
    const resolved = resolveImages(table, { mirror: 'm.local', overrides: { pilot: 'x/pilot:dev' } });
    expect(resolved.pilot).toBe('x/pilot:dev');
    expect(resolved.mixer).toBe('m.local/istio/mixer:0.8.0');
  });
});
