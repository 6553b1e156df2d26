import type { RegistryKind } from './mesh.js';

/**
 * Image keys: the names users pass to `--image NAME=REF`. Each version of the matrix gives a
 * reference for every key; the renderer only ever looks images up through these keys.
 */
export const IMAGE_KEYS = [
  'etcd',
  'apiserver',
  'config-init',
  'pilot',
  'mixer',
  'ca',
  'consul',
  'consul-registrator',
  'eureka',
  'eureka-registrator',
  'docker-api-view',
  'pause',
  'proxy-init',
  'proxy',
  'prometheus',
  'grafana',
  'zipkin',
  'servicegraph',
  'productpage-v1',
  'details-v1',
  'ratings-v1',
  'reviews-v1',
  'reviews-v2',
  'reviews-v3',
] as const;
export type ImageKey = (typeof IMAGE_KEYS)[number];
export type ImageTable = Record<ImageKey, string>;

export function isImageKey(name: string): name is ImageKey {
  return (IMAGE_KEYS as readonly string[]).includes(name);
}

export function registratorImageKey(registry: RegistryKind): ImageKey {
  return registry === 'consul' ? 'consul-registrator' : 'eureka-registrator';
}

/**
 * Puts every image behind one registry mirror: the registry host of the reference is replaced
 * by the prefix and the repository path is kept, `docker.io/istio/pilot:0.8.0` with prefix
 * `mirror.local:5000` becomes `mirror.local:5000/istio/pilot:0.8.0`.
 */
export function applyMirror(reference: string, mirrorPrefix: string): string {
  const prefix = mirrorPrefix.replace(/\/+$/, '');
  return `${prefix}/${repositoryPath(reference)}`;
}

/** The reference without its registry host; Docker Hub's implicit `library/` is made explicit. */
export function repositoryPath(reference: string): string {
  const firstSlash = reference.indexOf('/');
  const first = firstSlash === -1 ? '' : reference.slice(0, firstSlash);
  // Docker's rule: the first component is a registry host if it has a dot or a colon, or is localhost.
  const hasRegistryHost = first.includes('.') || first.includes(':') || first === 'localhost';
  const path = hasRegistryHost ? reference.slice(firstSlash + 1) : reference;
  return path.includes('/') ? path : `library/${path}`;
}

/**
 * Resolves the final reference of every image: the version's table, then the mirror prefix,
 * then explicit overrides (taken literally, never mirrored).
 */
export function resolveImages(
  table: ImageTable,
  options: { mirror?: string | undefined; overrides?: Partial<Record<ImageKey, string>> },
): ImageTable {
  const resolved = { ...table };
  for (const key of IMAGE_KEYS) {
    if (options.mirror) resolved[key] = applyMirror(table[key], options.mirror);
    const override = options.overrides?.[key];
    if (override) resolved[key] = override;
  }
  return resolved;
}
