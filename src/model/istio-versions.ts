import type { ImageTable } from './images.js';

/**
 * The Istio version matrix. Each entry is one coherent set: every fact a rendered stack depends on
 * is written here once, and the renderer derives all flags, ports and mesh-config keys from it.
 * Upstream shipped sets whose pilot port and sidecar `--discoveryAddress` disagreed (0.3.0-0.5.0,
 * 0.7.x) and an init script that captured nothing (0.8.0 with only `-p -u`); `version-matrix.test.ts`
 * renders every version and checks those agreements on the output.
 *
 * Sources: ../shared/research/istio-compose.md (sections 1, 3, 7, 8).
 */

/** The two iptables scripts upstream's proxy_init images shipped. */
export type InitScript =
  /** 0.2-0.7 `prepare_proxy.sh -p PORT -u UID`: captures all inbound and outbound TCP; not idempotent. */
  | 'prepare-proxy'
  /** 0.8 `istio-iptables.sh`: captures inbound only with `-b` and outbound only with `-i`; flushes first. */
  | 'istio-iptables';

export interface IstioVersion {
  version: string;
  /** Reference of every image key for this version (before mirror and overrides). */
  images: ImageTable;
  pilot: {
    /**
     * HTTP (REST xDS v1) discovery port, set with `discovery --port N` in 0.6 and 0.8 alike
     * (`--httpAddr` only arrived in 1.0.0, istio/istio#6115): pilot listens here and every
     * sidecar's `--discoveryAddress` names it.
     */
    discoveryPort: number;
    /** gRPC xDS port pilot opens by default (0.8: sidecars fetch EDS from it). */
    grpcPort?: number;
    monitoringPort: number;
    /** Pass glog's `-v 2`: a real flag in 0.6; 0.8 keeps `-v` only as an ignored, deprecated one (istio/istio#3759). */
    hasVerbosityFlag: boolean;
    /** CustomResourceDefinitions pilot registers at start; it exits if the API server is down. */
    crds: string[];
  };
  proxy: {
    hasVerbosityFlag: boolean;
  };
  init: {
    script: InitScript;
    /** Path of the script inside the proxy_init image (the image's entrypoint). */
    scriptPath: string;
  };
  mixer: {
    /** How the listen port is given: `--port 9091` (0.6) or `--address tcp://0.0.0.0:9091` (0.8). */
    listenFlag: '--port' | '--address';
    grpcPort: number;
    monitoringPort: number;
    prometheusPort: number;
    /** How pilot's mesh config points sidecars at Mixer. */
    meshConfigKeys: 'mixerAddress' | 'mixerCheckAndReportServer';
    /**
     * Flag that sends Mixer's own traces to Zipkin: `--trace_zipkin_url` at both tags
     * (pkg/tracing/options.go); 0.6.0 also has a hidden, deprecated `--zipkinURL` that warns.
     */
    zipkinFlag: '--trace_zipkin_url';
    /** CRDs Mixer's Kubernetes config store watches; the config-init job creates them. */
    crds: string[];
  };
  ca: {
    /** Names the CA answers to on the mesh network (its aliases) and names in its gRPC server certificate. */
    hostnames: string[];
    /**
     * How istio_ca is given those names: 0.6.0 `--grpc-hostname` (one name); 0.8.0
     * `--grpc-host-identities` (a list; its `--grpc-hostname` is a deprecated no-op,
     * security/cmd/istio_ca/main.go at each tag).
     */
    hostnameFlag: '--grpc-hostname' | '--grpc-host-identities';
    grpcPort: number;
    /** Flag naming the namespace where the CA keeps its root secret. */
    storageNamespaceFlag: '--istio-ca-storage-namespace' | '--citadel-storage-namespace';
    extraArgs: string[];
  };
}

/** Namespace Mixer and the CA keep their config and secrets in; created by the config-init job. */
export const ISTIO_SYSTEM_NAMESPACE = 'istio-system';

/**
 * CRDs pilot-discovery registers at start: its config descriptor (`pilot/pkg/bootstrap/server.go`)
 * with the kinds of `pilot/pkg/model/config.go`, each named `<plural without dashes>.<group>.istio.io`
 * (`pilot/pkg/config/kube/crd`), at the tag.
 */
const PILOT_CRDS_0_6_0 = [
  'routerules',
  'v1alpha2routerules',
  'gateways',
  'egressrules',
  'externalservices',
  'destinationpolicies',
  'destinationrules',
  'httpapispecs',
  'httpapispecbindings',
  'quotaspecs',
  'quotaspecbindings',
  'enduserauthenticationpolicyspecs',
  'enduserauthenticationpolicyspecbindings',
].map((plural) => `${plural}.config.istio.io`);

const PILOT_CRDS_0_8_0 = [
  'routerules.config.istio.io',
  'virtualservices.networking.istio.io',
  'gateways.networking.istio.io',
  'egressrules.config.istio.io',
  'serviceentries.networking.istio.io',
  'destinationpolicies.config.istio.io',
  'destinationrules.networking.istio.io',
  'httpapispecs.config.istio.io',
  'httpapispecbindings.config.istio.io',
  'quotaspecs.config.istio.io',
  'quotaspecbindings.config.istio.io',
  'policies.authentication.istio.io',
  'serviceroles.config.istio.io',
  'servicerolebindings.config.istio.io',
];

/** Mixer's core kinds and the adapters and templates its default config uses (0.8 chart). */
const MIXER_CRDS = [
  'rules',
  'attributemanifests',
  'prometheuses',
  'stdios',
  'kubernetesenvs',
  'metrics',
  'logentries',
  'kuberneteses',
  'tracespans',
].map((plural) => `${plural}.config.istio.io`);

const THIRD_PARTY_IMAGES = {
  // Pinned: upstream used `:latest`, which has moved on past what kube-apiserver 1.7 supports.
  etcd: 'quay.io/coreos/etcd:v3.2.18',
  apiserver: 'gcr.io/google_containers/kube-apiserver-amd64:v1.7.3',
  'config-init': 'docker.io/curlimages/curl:7.85.0',
  // `consul:latest` is gone from Docker Hub; gliderlabs/consul-server is schema-1 era.
  consul: 'docker.io/library/consul:1.3.0',
  // `:latest` is a schema-1 manifest current engines refuse (gliderlabs/registrator#694).
  'consul-registrator': 'docker.io/gliderlabs/registrator:master',
  eureka: 'docker.io/netflixoss/eureka:1.3.1',
  // Istio contributor's fork: registers hostName = service name and `istio.protocol=http`.
  'eureka-registrator': 'docker.io/ijsnellf/registrator:v7',
  prometheus: 'docker.io/prom/prometheus:v2.0.0',
  // Runs mesh-local's Docker API view, the registrator's project-scoped view of the engine.
  'docker-api-view': 'docker.io/library/node:24.19.0-alpine3.24',
  // The pod's network-namespace holder: Kubernetes' pause of the Kubernetes 1.9-1.10 era that
  // Istio 0.6-0.8 ran on; registry.k8s.io serves what k8s.gcr.io did.
  pause: 'registry.k8s.io/pause:3.1',
} as const;

function bookinfoImages(tag: string) {
  return {
    'productpage-v1': `docker.io/istio/examples-bookinfo-productpage-v1:${tag}`,
    'details-v1': `docker.io/istio/examples-bookinfo-details-v1:${tag}`,
    'ratings-v1': `docker.io/istio/examples-bookinfo-ratings-v1:${tag}`,
    'reviews-v1': `docker.io/istio/examples-bookinfo-reviews-v1:${tag}`,
    'reviews-v2': `docker.io/istio/examples-bookinfo-reviews-v2:${tag}`,
    'reviews-v3': `docker.io/istio/examples-bookinfo-reviews-v3:${tag}`,
  };
}

const V0_8_0: IstioVersion = {
  version: '0.8.0',
  images: {
    ...THIRD_PARTY_IMAGES,
    pilot: 'docker.io/istio/pilot:0.8.0',
    mixer: 'docker.io/istio/mixer:0.8.0',
    // 0.8 renamed istio-ca to citadel.
    ca: 'docker.io/istio/citadel:0.8.0',
    'proxy-init': 'docker.io/istio/proxy_init:0.8.0',
    // proxy_debug keeps the v1 REST discovery path that v1alpha2 route rules use.
    proxy: 'docker.io/istio/proxy_debug:0.8.0',
    grafana: 'docker.io/istio/grafana:0.8.0',
    // The 0.8.0 templates' own tag (install/consul/templates/istio.yaml.tmpl).
    zipkin: 'docker.io/openzipkin/zipkin:2.7',
    servicegraph: 'docker.io/istio/servicegraph:0.8.0',
    ...bookinfoImages('1.5.0'),
  },
  pilot: {
    // The 0.8.0 Consul and Eureka templates pass `--port 15007` (pilot/cmd/pilot-discovery/main.go@0.8.0
    // defines `--port`, default 8080, and no `--httpAddr`).
    discoveryPort: 15007,
    grpcPort: 15010,
    monitoringPort: 9093,
    hasVerbosityFlag: false,
    crds: PILOT_CRDS_0_8_0,
  },
  proxy: { hasVerbosityFlag: false },
  init: { script: 'istio-iptables', scriptPath: '/usr/local/bin/istio-iptables.sh' },
  mixer: {
    // In Kubernetes an Envoy in front of Mixer served 9091; without it Mixer must bind 9091 itself.
    listenFlag: '--address',
    grpcPort: 9091,
    monitoringPort: 9093,
    prometheusPort: 42422,
    meshConfigKeys: 'mixerCheckAndReportServer',
    zipkinFlag: '--trace_zipkin_url',
    crds: MIXER_CRDS,
  },
  ca: {
    // Upstream's default is istio-ca,istio-citadel; mesh-local's service and alias are these.
    hostnames: ['istio-ca', 'citadel'],
    hostnameFlag: '--grpc-host-identities',
    grpcPort: 8060,
    storageNamespaceFlag: '--citadel-storage-namespace',
    extraArgs: ['--append-dns-names=true'],
  },
};

const V0_6_0: IstioVersion = {
  version: '0.6.0',
  images: {
    ...THIRD_PARTY_IMAGES,
    pilot: 'docker.io/istio/pilot:0.6.0',
    mixer: 'docker.io/istio/mixer:0.6.0',
    ca: 'docker.io/istio/istio-ca:0.6.0',
    'proxy-init': 'docker.io/istio/proxy_init:0.6.0',
    proxy: 'docker.io/istio/proxy_debug:0.6.0',
    grafana: 'docker.io/istio/grafana:0.6.0',
    // Upstream's 0.6.0 files ran `openzipkin/zipkin:latest`, which has moved on; 2.6.0 is the tag
    // upstream pinned next (istio/istio#4726, April 2018).
    zipkin: 'docker.io/openzipkin/zipkin:2.6.0',
    servicegraph: 'docker.io/istio/servicegraph:0.6.0',
    ...bookinfoImages('1.5.0'),
  },
  pilot: {
    // 0.5.1 moved pilot to 15003 and the sidecar default followed (istio/istio#2970).
    discoveryPort: 15003,
    monitoringPort: 9093,
    hasVerbosityFlag: true,
    crds: PILOT_CRDS_0_6_0,
  },
  proxy: { hasVerbosityFlag: true },
  // pilot/docker/Dockerfile.proxy_init@0.6.0 adds the script at /usr/local/bin/prepare_proxy.sh.
  init: { script: 'prepare-proxy', scriptPath: '/usr/local/bin/prepare_proxy.sh' },
  mixer: {
    listenFlag: '--port',
    grpcPort: 9091,
    monitoringPort: 9093,
    prometheusPort: 42422,
    meshConfigKeys: 'mixerAddress',
    zipkinFlag: '--trace_zipkin_url',
    crds: MIXER_CRDS,
  },
  ca: {
    hostnames: ['istio-ca'],
    hostnameFlag: '--grpc-hostname',
    grpcPort: 8060,
    // Its default is istio-system already; passed to say where the root lives.
    storageNamespaceFlag: '--istio-ca-storage-namespace',
    extraArgs: [],
  },
};

export const ISTIO_VERSIONS: readonly IstioVersion[] = [V0_8_0, V0_6_0];
export const DEFAULT_ISTIO_VERSION = V0_8_0.version;

export function supportedVersions(): string[] {
  return ISTIO_VERSIONS.map((entry) => entry.version);
}

export function findIstioVersion(version: string): IstioVersion | undefined {
  return ISTIO_VERSIONS.find((entry) => entry.version === version);
}
