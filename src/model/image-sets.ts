import type { ImageKey } from './images.js';

/**
 * Two image sets render the same topology. `upstream` is the real Istio, Consul and Eureka images
 * (pulled). `sandbox` is built locally from Debian's packages and mesh-local's own code, because
 * no container registry may be reachable: real etcd, iptables, nginx and Prometheus, BookInfo
 * in TypeScript, and stand-ins, clearly named `*-standin`, for what no reachable source ships.
 */
export const IMAGE_SETS = ['upstream', 'sandbox'] as const;
export type ImageSetName = (typeof IMAGE_SETS)[number];

/** Debian bookworm: a local `debian:bookworm-slim`, else debootstrap + `docker import`. */
export const SANDBOX_BASE_IMAGE = 'mesh-local/base:bookworm';
export const SANDBOX_BASE_SOURCE = 'debian:bookworm-slim';
/** Debian's Node.js with mesh-local's sandbox programs under /opt/mesh-local. */
export const NODE_RUNTIME_IMAGE = 'mesh-local/node-runtime:sandbox';
export const SANDBOX_PROGRAM_ROOT = '/opt/mesh-local';

/** What an image is: real software, a stand-in, mesh-local's own component, or the sample app. */
export type ImageNature = 'real' | 'stand-in' | 'mesh-local' | 'sample';

export interface SandboxImage {
  reference: string;
  nature: ImageNature;
  /** One line for `images list` and the README table. */
  description: string;
  build:
    | { kind: 'dockerfile'; dir: string; from: 'base' }
    | { kind: 'node-program'; program: string; env?: Record<string, string>; user?: string };
}

const standin = (name: string, program: string, description: string, env?: Record<string, string>): SandboxImage => ({
  reference: `mesh-local/${name}-standin:sandbox`,
  nature: 'stand-in',
  description,
  build: { kind: 'node-program', program: `sandbox/standins/${program}.js`, ...(env ? { env } : {}) },
});

const bookinfo = (service: string, env: Record<string, string> = {}): SandboxImage => ({
  reference: `mesh-local/bookinfo-${service}:sandbox`,
  nature: 'sample',
  description: `BookInfo ${service} in TypeScript: upstream's API, ports and env`,
  build: { kind: 'node-program', program: `samples/bookinfo/${service.replace(/-v\d+$/, '')}.js`, env },
});

const registrator: SandboxImage = {
  reference: 'mesh-local/registrator:sandbox',
  nature: 'mesh-local',
  description: "mesh-local's registrator: Docker events (read-only socket) to the registry's real API",
  // The engine's socket belongs to root; like upstream's registrator it runs as root, and the
  // renderer drops every capability from it.
  build: { kind: 'node-program', program: 'sandbox/registrator/main.js', user: '0:0' },
};

/** The sandbox image of every image key; `null` where nothing honest can stand in (no fakes). */
export const SANDBOX_IMAGES: Record<ImageKey, SandboxImage | null> = {
  etcd: {
    reference: 'mesh-local/etcd:sandbox',
    nature: 'real',
    description: "etcd from Debian's etcd-server package",
    build: { kind: 'dockerfile', dir: 'images/sandbox/etcd', from: 'base' },
  },
  apiserver: standin('apiserver', 'apiserver', 'Kubernetes-style REST store (namespaces, CRDs, custom resources) on the real etcd'),
  'config-init': {
    reference: NODE_RUNTIME_IMAGE,
    nature: 'real',
    description: "Debian's curl and sh, running the rendered config-init script",
    build: { kind: 'dockerfile', dir: 'images/sandbox/node-runtime', from: 'base' },
  },
  pilot: standin('pilot', 'pilot', "registers pilot's CRDs (exits when the API server is down) and serves /v1/registration"),
  mixer: standin('mixer', 'mixer', 'Prometheus /metrics counting reports, and health'),
  // The image runs as uid 1000, which may write /tmp but not /var/lib.
  ca: standin('ca', 'ca', 'self-signed root and per-service certificates made with openssl', { CA_DIR: '/tmp/istio-ca' }),
  consul: standin('consul', 'consul', "Consul's HTTP API subset used by registration and pilot"),
  'consul-registrator': registrator,
  eureka: standin('eureka', 'eureka', "Eureka's /eureka/v2/apps REST subset"),
  'eureka-registrator': registrator,
  'proxy-init': {
    reference: 'mesh-local/proxy-init:sandbox',
    nature: 'real',
    description: "Debian's iptables: REDIRECT to 15001, uid 1337 bypassed, idempotent",
    build: { kind: 'dockerfile', dir: 'images/sandbox/proxy-init', from: 'base' },
  },
  proxy: {
    reference: 'mesh-local/proxy:sandbox',
    nature: 'real',
    description: "Debian's nginx as the sidecar (not Envoy): forwards by Host, logs every request",
    build: { kind: 'dockerfile', dir: 'images/sandbox/proxy', from: 'base' },
  },
  prometheus: {
    reference: 'mesh-local/prometheus:sandbox',
    nature: 'real',
    description: "Prometheus from Debian's prometheus package",
    build: { kind: 'dockerfile', dir: 'images/sandbox/prometheus', from: 'base' },
  },
  grafana: null,
  zipkin: null,
  servicegraph: null,
  'productpage-v1': bookinfo('productpage-v1'),
  'details-v1': bookinfo('details-v1'),
  'ratings-v1': bookinfo('ratings-v1'),
  'reviews-v1': bookinfo('reviews-v1', { SERVICE_VERSION: 'v1', ENABLE_RATINGS: 'false' }),
  'reviews-v2': bookinfo('reviews-v2', { SERVICE_VERSION: 'v2', ENABLE_RATINGS: 'true', STAR_COLOR: 'black' }),
  'reviews-v3': bookinfo('reviews-v3', { SERVICE_VERSION: 'v3', ENABLE_RATINGS: 'true', STAR_COLOR: 'red' }),
};

/** Addons the sandbox set cannot run, because no reachable source ships them. */
export const SANDBOX_MISSING_ADDONS = ['grafana', 'zipkin', 'servicegraph'] as const;

/** Every distinct sandbox image in build order: the Node.js runtime before the programs on it. */
export function sandboxBuildOrder(): SandboxImage[] {
  const unique = new Map<string, SandboxImage>();
  for (const image of Object.values(SANDBOX_IMAGES)) if (image) unique.set(image.reference, image);
  const images = [...unique.values()];
  const rank = (image: SandboxImage) => (image.build.kind === 'node-program' ? 1 : 0);
  return images.sort((a, b) => rank(a) - rank(b));
}
