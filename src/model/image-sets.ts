import { posix } from 'node:path';
import type { ImageKey, ImageTable } from './images.js';
import { ISTIO_VERSIONS, type IstioVersion } from './istio-versions.js';

/**
 * Two image sets run the same Compose document: the same services, entrypoints, commands,
 * healthchecks and start order; only `image` differs. `upstream` is the real Istio, Consul and
 * Eureka images (pulled). `sandbox` is built locally from Debian's packages and mesh-local's own
 * code, because no container registry may be reachable: real etcd, iptables and
 * Prometheus, BookInfo in TypeScript, and stand-ins, clearly named `*-standin`, for what no
 * reachable source ships. Each sandbox image stands in for one upstream image: it has that
 * image's ENTRYPOINT and CMD (taken from `upstream/`'s facts when it is built) and a program at
 * every path the upstream image runs, which parses its command line with the upstream program's
 * flag set.
 */
export const IMAGE_SETS = ['upstream', 'sandbox'] as const;
export type ImageSetName = (typeof IMAGE_SETS)[number];

/** Debian bookworm: a local `debian:bookworm-slim`, else debootstrap + `docker import`. */
export const SANDBOX_BASE_IMAGE = 'mesh-local/base:bookworm';
export const SANDBOX_BASE_SOURCE = 'debian:bookworm-slim';
/** Debian's Node.js, curl and wget, with mesh-local's sandbox programs under /opt/mesh-local. */
export const NODE_RUNTIME_IMAGE = 'mesh-local/node-runtime:sandbox';
export const SANDBOX_PROGRAM_ROOT = '/opt/mesh-local';
/** Label on every sandbox image: the upstream reference it stands in for. */
export const STANDS_IN_LABEL = 'dev.mesh-local.stands-in-for';
/** The same reference, as environment inside the image: stand-ins look their flag sets up by it. */
export const STANDS_IN_ENV = 'MESH_LOCAL_STANDS_IN';

/** What an image is: real software, a stand-in, mesh-local's own component, or the sample app. */
export type ImageNature = 'real' | 'stand-in' | 'mesh-local' | 'sample';

/** Built from a folder under images/sandbox/ with its own Dockerfile. */
export interface DockerfileBuild {
  kind: 'dockerfile';
  dir: string;
  /** The image the Dockerfile's `ARG BASE` names. */
  from: 'base' | 'node-runtime';
  /** Further build arguments. */
  args?: Record<string, string>;
}

/** A program of build/sandbox on the Node.js runtime; the Dockerfile is generated. */
export interface NodeProgramBuild {
  kind: 'node-program';
  /** Path in the image (an upstream program's path) -> compiled program it runs, under SANDBOX_PROGRAM_ROOT. */
  programs: Record<string, string>;
  /** Path in the image -> file of this package copied there as an executable (shell scripts). */
  files?: Record<string, string>;
  env?: Record<string, string>;
  user?: string;
}

export interface SandboxImage {
  reference: string;
  /** The upstream image it replaces; `null` only for the shared Node.js runtime. */
  standsInFor: string | null;
  nature: ImageNature;
  /** One line for `images list` and the README table. */
  description: string;
  /**
   * Commands a healthcheck or a rendered script may call inside it, by name on PATH; the image
   * test runs `command -v` for each in the built image.
   */
  tools: string[];
  /**
   * The image's CMD when upstream's cannot be kept (BookInfo runs node, not python or ruby), with
   * the reason; otherwise the build takes ENTRYPOINT and CMD from the upstream image's facts.
   */
  cmdOverride?: { cmd: string[]; reason: string };
  build: DockerfileBuild | NodeProgramBuild;
}

/** What every image built on the Node.js runtime has (Debian's packages). */
const RUNTIME_TOOLS = ['sh', 'env', 'grep', 'cat', 'curl', 'wget', 'openssl', 'node'];

/** The upstream reference of an image key at each Istio version, with the version. */
const ISTIO_REFERENCES = (key: ImageKey): Array<{ version: IstioVersion; upstream: string }> =>
  ISTIO_VERSIONS.map((version) => ({ version, upstream: version.images[key] }));
const ONLY_VERSION = ISTIO_VERSIONS[0]!;

function standin(
  name: string,
  upstream: string,
  programs: Record<string, string>,
  description: string,
  extra: Pick<NodeProgramBuild, 'env' | 'files'> = {},
): SandboxImage {
  const tag = tagFor(upstream);
  return {
    reference: `mesh-local/${name}-standin:${tag}`,
    standsInFor: upstream,
    nature: 'stand-in',
    description,
    tools: RUNTIME_TOOLS,
    build: { kind: 'node-program', programs, ...extra },
  };
}

/** `sandbox` for an image every Istio version shares, `<istio version>-sandbox` for the others. */
function tagFor(upstream: string): string {
  const owner = ISTIO_VERSIONS.find((version) => Object.values(version.images).includes(upstream));
  const sharedByAll = ISTIO_VERSIONS.every((version) => Object.values(version.images).includes(upstream));
  return sharedByAll || !owner ? 'sandbox' : `${owner.version}-sandbox`;
}

const program = (path: string) => `sandbox/standins/${path}.js`;

/** BookInfo's images carry their version's settings as ENV, as upstream's do (build args of samples/bookinfo/src/reviews). */
function bookinfo(instance: ImageKey, service: string, env: Record<string, string> = {}): SandboxImage {
  const upstream = ONLY_VERSION.images[instance];
  return {
    reference: `mesh-local/bookinfo-${instance}:sandbox`,
    standsInFor: upstream,
    nature: 'sample',
    description: `BookInfo ${instance} in TypeScript: upstream's API, port 9080 and env`,
    tools: RUNTIME_TOOLS,
    cmdOverride: {
      cmd: ['node', `${SANDBOX_PROGRAM_ROOT}/samples/bookinfo/${service}.js`],
      reason: "upstream's CMD starts python, ruby, node 4 or Liberty; Compose renders no command for the apps",
    },
    build: { kind: 'node-program', programs: {}, env },
  };
}

/** The Node.js runtime every program image is built on; it stands in for nothing itself. */
const NODE_RUNTIME: SandboxImage = {
  reference: NODE_RUNTIME_IMAGE,
  standsInFor: null,
  nature: 'real',
  description: "Debian's Node.js, curl and wget, and mesh-local's compiled sandbox programs",
  tools: RUNTIME_TOOLS,
  build: { kind: 'dockerfile', dir: 'images/sandbox/node-runtime', from: 'base' },
};

/** Every sandbox image, in no particular order (`sandboxBuildOrder` sorts them). */
export const SANDBOX_IMAGES: readonly SandboxImage[] = [
  NODE_RUNTIME,
  {
    reference: 'mesh-local/etcd:sandbox',
    standsInFor: ONLY_VERSION.images.etcd,
    nature: 'real',
    description: "etcd from Debian's etcd-server package, at upstream's /usr/local/bin/etcd",
    tools: ['sh', 'env', 'etcdctl'],
    build: { kind: 'dockerfile', dir: 'images/sandbox/etcd', from: 'base' },
  },
  standin(
    'apiserver',
    ONLY_VERSION.images.apiserver,
    { '/usr/local/bin/kube-apiserver': program('apiserver') },
    'kube-apiserver stand-in: Kubernetes-style REST (namespaces, CRDs, custom resources) on the real etcd',
  ),
  {
    reference: 'mesh-local/curl:sandbox',
    standsInFor: ONLY_VERSION.images['config-init'],
    nature: 'real',
    description: "Debian's curl and sh, for the config-init job's script",
    tools: RUNTIME_TOOLS,
    build: { kind: 'node-program', programs: {}, files: { '/entrypoint.sh': 'images/sandbox/curl/entrypoint.sh' } },
  },
  ...ISTIO_REFERENCES('pilot').map(({ upstream }) =>
    standin(
      'pilot',
      upstream,
      { '/usr/local/bin/pilot-discovery': program('pilot') },
      "pilot-discovery stand-in: registers pilot's CRDs (exits when the API server is down) and serves /v1/registration and Envoy v1 discovery (clusters, routes, listeners) from the registry and the API server's route rules",
    ),
  ),
  ...ISTIO_REFERENCES('mixer').map(({ upstream }) =>
    standin('mixer', upstream, { '/usr/local/bin/mixs': program('mixer') }, 'mixs stand-in: Prometheus /metrics counting reports, and health'),
  ),
  ...ISTIO_REFERENCES('ca').map(({ upstream }) =>
    standin(
      'ca',
      upstream,
      { '/usr/local/bin/istio_ca': program('ca') },
      'istio_ca stand-in: self-signed root and per-service certificates made with openssl',
      // The image runs as uid 1000, which may write /tmp but not /var/lib.
      { env: { CA_DIR: '/tmp/istio-ca' } },
    ),
  ),
  standin(
    'consul',
    ONLY_VERSION.images.consul,
    { '/bin/consul': program('consul') },
    "consul stand-in: Consul's HTTP API subset used by registration and pilot",
    { files: { '/usr/local/bin/docker-entrypoint.sh': 'images/sandbox/consul/docker-entrypoint.sh' } },
  ),
  standin(
    'eureka',
    ONLY_VERSION.images.eureka,
    { '/tomcat/bin/catalina.sh': program('eureka') },
    "Eureka stand-in: the /eureka/v2/apps REST subset",
  ),
  ...(['consul-registrator', 'eureka-registrator'] as const).map(
    (key): SandboxImage => ({
      reference: `mesh-local/${key}:sandbox`,
      standsInFor: ONLY_VERSION.images[key],
      nature: 'mesh-local',
      description: `registrator with ${key === 'consul-registrator' ? "gliderlabs/registrator's" : "the ijsnellf fork's"} flags and retry rules: Docker events (read-only socket) to the registry's real API`,
      tools: RUNTIME_TOOLS,
      // The engine's socket belongs to root; like upstream's registrator it runs as root, and the
      // renderer drops every capability from it.
      build: { kind: 'node-program', programs: { '/bin/registrator': 'sandbox/registrator/main.js' }, user: '0:0' },
    }),
  ),
  {
    reference: 'mesh-local/node:sandbox',
    standsInFor: ONLY_VERSION.images['docker-api-view'],
    nature: 'real',
    description: "Debian's Node.js in place of Node.js 24 on Alpine, with the image's docker-entrypoint.sh: runs the registrator's Docker API view",
    tools: RUNTIME_TOOLS,
    // Upstream's runs as root, which the view needs to open the engine's socket; the renderer
    // drops every capability from it.
    build: { kind: 'node-program', programs: {}, files: { '/usr/local/bin/docker-entrypoint.sh': 'images/sandbox/node/docker-entrypoint.sh' }, user: '0:0' },
  },
  {
    reference: 'mesh-local/pause:sandbox',
    standsInFor: ONLY_VERSION.images.pause,
    nature: 'real',
    description: "Debian's catatonit in pause mode (-P) at upstream's /pause: holds the pod's network namespace, reaps, exits on SIGTERM",
    tools: ['sh', 'catatonit'],
    build: { kind: 'dockerfile', dir: 'images/sandbox/pause', from: 'base' },
  },
  ...ISTIO_REFERENCES('proxy-init').map(
    ({ version, upstream }): SandboxImage => ({
      reference: `mesh-local/proxy-init:${version.version}-sandbox`,
      standsInFor: upstream,
      nature: 'real',
      description: `Debian's iptables, run by ${posix.basename(version.init.scriptPath)} with upstream's options: REDIRECT to 15001, uid 1337 let through`,
      tools: ['sh', 'grep', 'iptables', 'iptables-save', 'iptables-restore'],
      build: {
        kind: 'dockerfile',
        dir: 'images/sandbox/proxy-init',
        from: 'base',
        args: { SCRIPT_PATH: version.init.scriptPath },
      },
    }),
  ),
  ...ISTIO_REFERENCES('proxy').map(
    ({ version, upstream }): SandboxImage => ({
      reference: `mesh-local/proxy-standin:${version.version}-sandbox`,
      standsInFor: upstream,
      nature: 'stand-in',
      description:
        "pilot-agent stand-in running mesh-local's Envoy stand-in (TypeScript, not Envoy): polls pilot's v1 discovery API, applies routes, weights, faults, timeouts, retries; logs every request",
      tools: RUNTIME_TOOLS,
      build: { kind: 'dockerfile', dir: 'images/sandbox/proxy', from: 'node-runtime' },
    }),
  ),
  {
    reference: 'mesh-local/prometheus:sandbox',
    standsInFor: ONLY_VERSION.images.prometheus,
    nature: 'real',
    description: "Prometheus from Debian's prometheus package, at upstream's /bin/prometheus",
    tools: ['sh', 'wget'],
    build: { kind: 'dockerfile', dir: 'images/sandbox/prometheus', from: 'base' },
  },
  bookinfo('productpage-v1', 'productpage'),
  bookinfo('details-v1', 'details'),
  bookinfo('ratings-v1', 'ratings'),
  bookinfo('reviews-v1', 'reviews', { SERVICE_VERSION: 'v1', ENABLE_RATINGS: 'false' }),
  bookinfo('reviews-v2', 'reviews', { SERVICE_VERSION: 'v2', ENABLE_RATINGS: 'true', STAR_COLOR: 'black' }),
  bookinfo('reviews-v3', 'reviews', { SERVICE_VERSION: 'v3', ENABLE_RATINGS: 'true', STAR_COLOR: 'red' }),
];

/** Addons the sandbox set cannot run, because no reachable source ships them. */
export const SANDBOX_MISSING_ADDONS = ['grafana', 'zipkin', 'servicegraph'] as const;

/** The sandbox image standing in for an upstream reference, if there is one. */
export function sandboxImageFor(upstream: string): SandboxImage | undefined {
  return SANDBOX_IMAGES.find((image) => image.standsInFor === upstream);
}

/** The sandbox reference of every key; keys without one keep the upstream reference, never rendered. */
export function sandboxTable(upstream: ImageTable): ImageTable {
  const table = { ...upstream };
  for (const key of Object.keys(table) as ImageKey[]) table[key] = sandboxImageFor(upstream[key])?.reference ?? upstream[key];
  return table;
}

/** Every sandbox image in build order: what the Node.js runtime carries comes after it. */
export function sandboxBuildOrder(): SandboxImage[] {
  const rank = (image: SandboxImage) => (image.build.kind === 'dockerfile' && image.build.from === 'base' ? 0 : 1);
  return [...SANDBOX_IMAGES].sort((a, b) => rank(a) - rank(b));
}
