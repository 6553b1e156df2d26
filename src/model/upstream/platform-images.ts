/**
 * Upstream facts of the third-party images mesh-local renders around Istio: etcd, the Kubernetes
 * API server, Prometheus, the curl image that bootstraps the API server, Zipkin, and the Node.js
 * image the registrator's Docker API view runs on. Every fact was read from the upstream files
 * named in `sources` (Dockerfiles, build scripts, flag definitions) at the tag or commit given;
 * nothing here was taken from a running image. What could not be confirmed is listed in
 * `unverified`.
 */
import type { FlagFacts, ImageFacts, Source } from './types.js';

// ---------------------------------------------------------------------------------------------
// Tools of the busybox-based images. Only applets confirmed enabled in the configuration the image
// was built with (busybox `make defconfig`, or Alpine's own busyboxconfig) are listed.

/** Applets that are `default y` in busybox 1.27.x and so in `make defconfig` (docker-library busybox). */
const BUSYBOX_DEFCONFIG_TOOLS = [
  'sh',
  'env',
  'wget',
  'nc',
  'nslookup',
  'cat',
  'echo',
  'printf',
  'test',
  'true',
  'false',
  'grep',
  'sed',
  'awk',
  'head',
  'tail',
  'cut',
  'tr',
  'ls',
  'mkdir',
  'sleep',
  'timeout',
  'date',
  'ps',
  'kill',
  'hostname',
  'id',
];

/** The same applets, each checked `=y` in Alpine's busybox 1.27.2 configuration (Alpine 3.7 series). */
const ALPINE_37_BUSYBOX_TOOLS = [...BUSYBOX_DEFCONFIG_TOOLS];

/** A smaller set for Alpine releases whose busybox configuration was not read (always in Alpine's busybox). */
const ALPINE_BASIC_TOOLS = ['sh', 'env', 'wget', 'cat', 'echo', 'grep', 'sleep'];

const DOCKER_LIBRARY_BUSYBOX_AUG_2017: Source[] = [
  {
    repo: 'docker-library/busybox',
    path: 'uclibc/Dockerfile.builder',
    ref: '17adcc27ca05ff0120ee6370d00ead15793aa63e',
    note:
      'busybox:uclibc as of 2017-07-19 (the newest before the v1.7.3 release build): busybox 1.27.1, ' +
      '`make defconfig`, static, every applet installed into /bin with `busybox --install /bin`',
  },
  {
    repo: 'docker-library/busybox',
    path: 'uclibc/Dockerfile',
    ref: '17adcc27ca05ff0120ee6370d00ead15793aa63e',
    note: 'FROM scratch, ADD busybox.tar.xz /, CMD ["sh"]: no ENTRYPOINT, USER or WORKDIR',
  },
  {
    repo: 'docker-library/busybox',
    path: 'generate-stackbrew-library.sh',
    ref: '17adcc27ca05ff0120ee6370d00ead15793aa63e',
    note: 'variant order uclibc, glibc, musl: `latest` is the uclibc variant',
  },
  {
    repo: 'mirror/busybox',
    path: 'networking/wget.c',
    ref: '1_27_1',
    note: 'WGET, like ENV (coreutils/env.c), NC, CAT and the other listed applets, is `default y`; shell/Config.src makes SH_IS_ASH the default',
  },
];

const ALPINE_BUSYBOX_1_27_2: Source = {
  repo: 'alpinelinux/aports',
  path: 'main/busybox/busyboxconfig',
  ref: '05253d2ccfbc33afa159c80635963e9c34d8cf45',
  note:
    "Alpine's busybox 1.27.2 configuration (generated 2017-10-27, the Alpine 3.7 series): SH_IS_ASH, " +
    'WGET, ENV, NC, NSLOOKUP and the other listed applets =y',
};

// ---------------------------------------------------------------------------------------------
// etcd v3.2.18: Go's flag package (etcdmain/config.go), defaults as etcdmain/help.go prints them.

const ETCD_REF = 'v3.2.18';

/** Old flags etcd still accepts and ignores (a warning is logged); each is a boolean flag. */
const ETCD_IGNORED_FLAGS = [
  'cluster-active-size',
  'cluster-remove-delay',
  'cluster-sync-interval',
  'config',
  'force',
  'max-result-buffer',
  'max-retry-attempts',
  'peer-heartbeat-interval',
  'peer-election-timeout',
  'retry-interval',
  'snapshot',
  'v',
  'vv',
  'test.coverprofile',
  'test.outputdir',
];

const ETCD_FLAGS: FlagFacts[] = [
  { name: 'config-file', kind: 'string' },
  // member
  { name: 'cors', kind: 'stringSlice' },
  { name: 'data-dir', kind: 'string', default: '${name}.etcd' },
  { name: 'wal-dir', kind: 'string' },
  { name: 'listen-peer-urls', kind: 'stringSlice', default: 'http://localhost:2380' },
  { name: 'listen-client-urls', kind: 'stringSlice', default: 'http://localhost:2379' },
  { name: 'max-snapshots', kind: 'uint', default: '5' },
  { name: 'max-wals', kind: 'uint', default: '5' },
  { name: 'name', kind: 'string', default: 'default' },
  { name: 'snapshot-count', kind: 'uint', default: '100000' },
  { name: 'heartbeat-interval', kind: 'uint', default: '100' },
  { name: 'election-timeout', kind: 'uint', default: '1000' },
  { name: 'quota-backend-bytes', kind: 'int', default: '0' },
  { name: 'max-request-bytes', kind: 'uint', default: '1572864' },
  { name: 'grpc-keepalive-min-time', kind: 'duration', default: '5s' },
  { name: 'grpc-keepalive-interval', kind: 'duration', default: '2h' },
  { name: 'grpc-keepalive-timeout', kind: 'duration', default: '20s' },
  // clustering
  { name: 'initial-advertise-peer-urls', kind: 'stringSlice', default: 'http://localhost:2380' },
  { name: 'advertise-client-urls', kind: 'stringSlice', default: 'http://localhost:2379' },
  { name: 'discovery', kind: 'string' },
  { name: 'discovery-fallback', kind: 'string', default: 'proxy' },
  { name: 'discovery-proxy', kind: 'string' },
  { name: 'discovery-srv', kind: 'string' },
  { name: 'initial-cluster', kind: 'string', default: 'default=http://localhost:2380' },
  { name: 'initial-cluster-token', kind: 'string', default: 'etcd-cluster' },
  { name: 'initial-cluster-state', kind: 'string', default: 'new' },
  { name: 'strict-reconfig-check', kind: 'bool', default: 'true' },
  { name: 'enable-v2', kind: 'bool', default: 'true' },
  // proxy
  { name: 'proxy', kind: 'string', default: 'off' },
  { name: 'proxy-failure-wait', kind: 'uint', default: '5000' },
  { name: 'proxy-refresh-interval', kind: 'uint', default: '30000' },
  { name: 'proxy-dial-timeout', kind: 'uint', default: '1000' },
  { name: 'proxy-write-timeout', kind: 'uint', default: '5000' },
  { name: 'proxy-read-timeout', kind: 'uint', default: '0' },
  // security
  { name: 'ca-file', kind: 'string' },
  { name: 'cert-file', kind: 'string' },
  { name: 'key-file', kind: 'string' },
  { name: 'client-cert-auth', kind: 'bool', default: 'false' },
  { name: 'trusted-ca-file', kind: 'string' },
  { name: 'auto-tls', kind: 'bool', default: 'false' },
  { name: 'peer-ca-file', kind: 'string' },
  { name: 'peer-cert-file', kind: 'string' },
  { name: 'peer-key-file', kind: 'string' },
  { name: 'peer-client-cert-auth', kind: 'bool', default: 'false' },
  { name: 'peer-trusted-ca-file', kind: 'string' },
  { name: 'peer-auto-tls', kind: 'bool', default: 'false' },
  // logging
  { name: 'debug', kind: 'bool', default: 'false' },
  { name: 'log-package-levels', kind: 'string' },
  { name: 'log-output', kind: 'string', default: 'default' },
  // unsafe, version, compaction, profiling, metrics, auth
  { name: 'force-new-cluster', kind: 'bool', default: 'false' },
  { name: 'version', kind: 'bool', default: 'false' },
  { name: 'auto-compaction-retention', kind: 'int', default: '0' },
  { name: 'enable-pprof', kind: 'bool', default: 'false' },
  { name: 'metrics', kind: 'string', default: 'basic' },
  { name: 'auth-token', kind: 'string', default: 'simple' },
  ...ETCD_IGNORED_FLAGS.map((name): FlagFacts => ({ name, kind: 'bool' })),
];

// ---------------------------------------------------------------------------------------------
// kube-apiserver v1.7.3: the whole pflag.CommandLine as main() builds it (ServerRunOptions.AddFlags,
// then the Go flag set added with `_` normalized to `-`). Defaults as pflag's help prints them
// (zero values are not printed, so they are absent here).

/** Third-party import of the upstream v1.7.3 source tree (see the image's `unverified`). */
const K8S_REPO = 'ruhip/kubernetes-1.7.3';
const K8S_REF = '903ecb88c3c06ba0f22902c76ed42713a20ecbfb';

const KUBE_APISERVER_FLAGS: FlagFacts[] = [
      { name: 'address', kind: 'ip', default: '127.0.0.1' },
      { name: 'admission-control', kind: 'stringSlice', default: '[AlwaysAdmit]' },
      { name: 'admission-control-config-file', kind: 'string' },
      { name: 'advertise-address', kind: 'ip' },
      // kube-apiserver's flag for pods' security context; mesh-local never passes it and runs no privileged container.
      { name: 'allow-privileged', kind: 'bool' },
      { name: 'alsologtostderr', kind: 'bool' },
      { name: 'anonymous-auth', kind: 'bool', default: 'true' },
      { name: 'apiserver-count', kind: 'int', default: '1' },
      { name: 'audit-log-maxage', kind: 'int' },
      { name: 'audit-log-maxbackup', kind: 'int' },
      { name: 'audit-log-maxsize', kind: 'int' },
      { name: 'audit-log-path', kind: 'string' },
      { name: 'audit-policy-file', kind: 'string' },
      { name: 'audit-webhook-config-file', kind: 'string' },
      { name: 'audit-webhook-mode', kind: 'string', default: 'batch' },
      { name: 'authentication-token-webhook-cache-ttl', kind: 'duration', default: '2m0s' },
      { name: 'authentication-token-webhook-config-file', kind: 'string' },
      { name: 'authorization-mode', kind: 'string', default: 'AlwaysAllow' },
      { name: 'authorization-policy-file', kind: 'string' },
      { name: 'authorization-rbac-super-user', kind: 'string' },
      { name: 'authorization-webhook-cache-authorized-ttl', kind: 'duration', default: '5m0s' },
      { name: 'authorization-webhook-cache-unauthorized-ttl', kind: 'duration', default: '30s' },
      { name: 'authorization-webhook-config-file', kind: 'string' },
      { name: 'basic-auth-file', kind: 'string' },
      { name: 'bind-address', kind: 'ip', default: '0.0.0.0' },
      { name: 'cert-dir', kind: 'string', default: '/var/run/kubernetes' },
      { name: 'client-ca-file', kind: 'string' },
      { name: 'cloud-config', kind: 'string' },
      { name: 'cloud-provider', kind: 'string' },
      { name: 'cloud-provider-gce-lb-src-cidrs', kind: 'string', default: '35.191.0.0/16,209.85.152.0/22,209.85.204.0/22,130.211.0.0/22' },
      { name: 'contention-profiling', kind: 'bool' },
      { name: 'cors-allowed-origins', kind: 'stringSlice' },
      { name: 'default-not-ready-toleration-seconds', kind: 'int', default: '300' },
      { name: 'default-unreachable-toleration-seconds', kind: 'int', default: '300' },
      { name: 'delete-collection-workers', kind: 'int', default: '1' },
      { name: 'deserialization-cache-size', kind: 'int' },
      { name: 'enable-aggregator-routing', kind: 'bool' },
      { name: 'enable-garbage-collector', kind: 'bool', default: 'true' },
      { name: 'enable-logs-handler', kind: 'bool', default: 'true' },
      { name: 'enable-swagger-ui', kind: 'bool' },
      { name: 'etcd-cafile', kind: 'string' },
      { name: 'etcd-certfile', kind: 'string' },
      { name: 'etcd-keyfile', kind: 'string' },
      { name: 'etcd-prefix', kind: 'string', default: '/registry' },
      { name: 'etcd-quorum-read', kind: 'bool' },
      { name: 'etcd-servers', kind: 'stringSlice' },
      { name: 'etcd-servers-overrides', kind: 'stringSlice' },
      { name: 'event-ttl', kind: 'duration', default: '1h0m0s' },
      { name: 'experimental-bootstrap-token-auth', kind: 'bool' },
      { name: 'experimental-encryption-provider-config', kind: 'string' },
      { name: 'experimental-keystone-ca-file', kind: 'string' },
      { name: 'experimental-keystone-url', kind: 'string' },
      { name: 'external-hostname', kind: 'string' },
      { name: 'feature-gates', kind: 'string' },
      { name: 'insecure-allow-any-token', kind: 'bool' },
      { name: 'insecure-bind-address', kind: 'ip', default: '127.0.0.1' },
      { name: 'insecure-port', kind: 'int', default: '8080' },
      { name: 'ir-data-source', kind: 'string', default: 'influxdb' },
      { name: 'ir-dbname', kind: 'string', default: 'k8s' },
      { name: 'ir-hawkular', kind: 'string' },
      { name: 'ir-influxdb-host', kind: 'string', default: 'localhost:8080/api/v1/namespaces/kube-system/services/monitoring-influxdb:api/proxy' },
      { name: 'ir-namespace-only', kind: 'bool' },
      { name: 'ir-password', kind: 'string', default: 'root' },
      { name: 'ir-percentile', kind: 'int', default: '90' },
      { name: 'ir-user', kind: 'string', default: 'root' },
      { name: 'kubelet-certificate-authority', kind: 'string' },
      { name: 'kubelet-client-certificate', kind: 'string' },
      { name: 'kubelet-client-key', kind: 'string' },
      { name: 'kubelet-https', kind: 'bool', default: 'true' },
      { name: 'kubelet-port', kind: 'uint', default: '10250' },
      { name: 'kubelet-preferred-address-types', kind: 'stringSlice', default: '[Hostname,InternalDNS,InternalIP,ExternalDNS,ExternalIP]' },
      { name: 'kubelet-read-only-port', kind: 'uint', default: '10255' },
      { name: 'kubelet-timeout', kind: 'duration', default: '5s' },
      { name: 'kubernetes-service-node-port', kind: 'int' },
      { name: 'log-backtrace-at', kind: 'string', default: ':0' },
      { name: 'log-dir', kind: 'string' },
      { name: 'log-flush-frequency', kind: 'duration', default: '5s' },
      { name: 'logtostderr', kind: 'bool', default: 'true' },
      { name: 'long-running-request-regexp', kind: 'string' },
      { name: 'master-service-namespace', kind: 'string', default: 'default' },
      { name: 'max-connection-bytes-per-sec', kind: 'int' },
      { name: 'max-mutating-requests-inflight', kind: 'int', default: '200' },
      { name: 'max-requests-inflight', kind: 'int', default: '400' },
      { name: 'min-request-timeout', kind: 'int', default: '1800' },
      { name: 'oidc-ca-file', kind: 'string' },
      { name: 'oidc-client-id', kind: 'string' },
      { name: 'oidc-groups-claim', kind: 'string' },
      { name: 'oidc-issuer-url', kind: 'string' },
      { name: 'oidc-username-claim', kind: 'string', default: 'sub' },
      { name: 'port', kind: 'int', default: '8080' },
      { name: 'portal-net', kind: 'string' },
      { name: 'profiling', kind: 'bool', default: 'true' },
      { name: 'proxy-client-cert-file', kind: 'string' },
      { name: 'proxy-client-key-file', kind: 'string' },
      { name: 'public-address-override', kind: 'ip', default: '0.0.0.0' },
      { name: 'repair-malformed-updates', kind: 'bool', default: 'true' },
      { name: 'requestheader-allowed-names', kind: 'stringSlice' },
      { name: 'requestheader-client-ca-file', kind: 'string' },
      { name: 'requestheader-extra-headers-prefix', kind: 'stringSlice' },
      { name: 'requestheader-group-headers', kind: 'stringSlice' },
      { name: 'requestheader-username-headers', kind: 'stringSlice' },
      { name: 'runtime-config', kind: 'string' },
      { name: 'secure-port', kind: 'int', default: '6443' },
      { name: 'service-account-key-file', kind: 'stringArray' },
      { name: 'service-account-lookup', kind: 'bool', default: 'true' },
      { name: 'service-cluster-ip-range', kind: 'string' },
      { name: 'service-node-port-range', kind: 'string', default: '30000-32767' },
      { name: 'service-node-ports', kind: 'string', default: '30000-32767' },
      { name: 'ssh-keyfile', kind: 'string' },
      { name: 'ssh-user', kind: 'string' },
      { name: 'stderrthreshold', kind: 'string', default: '2' },
      { name: 'storage-backend', kind: 'string' },
      { name: 'storage-media-type', kind: 'string', default: 'application/vnd.kubernetes.protobuf' },
      { name: 'storage-version', kind: 'string' },
      { name: 'storage-versions', kind: 'string', default: 'admission.k8s.io/v1alpha1,admissionregistration.k8s.io/v1alpha1,apps/v1beta1,authentication.k8s.io/v1,authorization.k8s.io/v1,autoscaling/v1,batch/v1,certificates.k8s.io/v1beta1,componentconfig/v1alpha1,extensions/v1beta1,federation/v1beta1,imagepolicy.k8s.io/v1alpha1,networking.k8s.io/v1,policy/v1beta1,rbac.authorization.k8s.io/v1beta1,settings.k8s.io/v1alpha1,storage.k8s.io/v1,v1' },
      { name: 'target-ram-mb', kind: 'int' },
      { name: 'tls-ca-file', kind: 'string' },
      { name: 'tls-cert-file', kind: 'string' },
      { name: 'tls-private-key-file', kind: 'string' },
      { name: 'tls-sni-cert-key', kind: 'stringArray' },
      { name: 'token-auth-file', kind: 'string' },
      { name: 'v', kind: 'int', shorthand: 'v' },
      { name: 'version', kind: 'bool' },
      { name: 'vmodule', kind: 'string' },
      { name: 'watch-cache', kind: 'bool', default: 'true' },
      { name: 'watch-cache-sizes', kind: 'stringSlice' },
];

const K8S_SOURCES_NOTE =
  'third-party import ("k8s v1.7.3 init version") of the upstream v1.7.3 source tree; its pkg/version/base.go ' +
  'carries gitVersion v1.7.3 and gitCommit 2c2fe6e8278a5db2d15a013987b53968c743f2a1';

// ---------------------------------------------------------------------------------------------
// Prometheus v2.0.0: kingpin (cmd/prometheus/main.go). Defaults as `prometheus --help` prints them.

const PROMETHEUS_REF = 'v2.0.0';

const PROMETHEUS_FLAGS: FlagFacts[] = [
  // kingpin's own flags (help-long, help-man and the completion flags are hidden); --help is the
  // parser's implicit help flag and is not repeated here.
  { name: 'help-long', kind: 'bool' },
  { name: 'help-man', kind: 'bool' },
  { name: 'completion-bash', kind: 'bool' },
  { name: 'completion-script-bash', kind: 'bool' },
  { name: 'completion-script-zsh', kind: 'bool' },
  { name: 'version', kind: 'bool' },
  // cmd/prometheus/main.go
  { name: 'config.file', kind: 'string', default: 'prometheus.yml' },
  { name: 'web.listen-address', kind: 'string', default: '0.0.0.0:9090' },
  { name: 'web.read-timeout', kind: 'string', default: '5m' },
  { name: 'web.max-connections', kind: 'int', default: '512' },
  { name: 'web.external-url', kind: 'string' },
  { name: 'web.route-prefix', kind: 'string' },
  { name: 'web.user-assets', kind: 'string' },
  { name: 'web.enable-lifecycle', kind: 'bool' },
  { name: 'web.enable-admin-api', kind: 'bool' },
  { name: 'web.console.templates', kind: 'string', default: 'consoles' },
  { name: 'web.console.libraries', kind: 'string', default: 'console_libraries' },
  { name: 'storage.tsdb.path', kind: 'string', default: 'data/' },
  { name: 'storage.tsdb.min-block-duration', kind: 'string', default: '2h' },
  { name: 'storage.tsdb.max-block-duration', kind: 'string' },
  { name: 'storage.tsdb.retention', kind: 'string', default: '15d' },
  { name: 'storage.tsdb.no-lockfile', kind: 'bool' },
  { name: 'alertmanager.notification-queue-capacity', kind: 'int', default: '10000' },
  { name: 'alertmanager.timeout', kind: 'string', default: '10s' },
  { name: 'query.lookback-delta', kind: 'string', default: '5m' },
  { name: 'query.timeout', kind: 'string', default: '2m' },
  { name: 'query.max-concurrency', kind: 'int', default: '20' },
  // vendor/github.com/prometheus/common/promlog/flag
  { name: 'log.level', kind: 'string', default: 'info' },
];

// ---------------------------------------------------------------------------------------------
// Zipkin: openzipkin/docker-zipkin's zipkin/Dockerfile and its base chain.

const ZIPKIN_BASE =
  'openzipkin/jre-full:1.8.0_152: cantara/alpine-zulu-jdk8 (Zulu JRE 8u152 under /usr/local/java, on PATH) ' +
  'on cantara/jvmprep on frolvlad/alpine-glibc:alpine-3.4 (Alpine 3.4 with glibc; busybox sh), plus curl from apk';

const ZIPKIN_BASE_SOURCES: Source[] = [
  {
    repo: 'openzipkin/docker-jre-full',
    path: 'Dockerfile',
    ref: '1.8.0_152',
    note: 'FROM cantara/alpine-zulu-jdk8; removes the JDK tools, keeps the JRE; `apk add curl`; no ENTRYPOINT, CMD, USER or WORKDIR',
  },
  {
    repo: 'openzipkin/docker-jre-full',
    path: 'README.md',
    ref: '1.8.0_152',
    note: 'based on Cantara/maven-infrastructure docker-baseimages/alpine-zulu-jdk8, which only pushes latest',
  },
  {
    repo: 'Cantara/maven-infrastructure',
    path: 'docker-baseimages/alpine-zulu-jdk8/Dockerfile',
    ref: '915220f26c110bf821be1db8e645bf732b618a7d',
    note: 'Zulu 8.25.0.1 (jdk8.0.152) on cantara/jvmprep; WORKDIR /root; no ENTRYPOINT, CMD or USER (newest version before jre-full 1.8.0_152)',
  },
  {
    repo: 'Cantara/maven-infrastructure',
    path: 'docker-baseimages/jvmprep/Dockerfile',
    ref: '98eee17016c85b526d3c59eb1b12ed8fb380814a',
    note: 'FROM frolvlad/alpine-glibc:alpine-3.4; USER root; apk add ca-certificates curl; JAVA_HOME=/usr/local/java, PATH gains ${JRE}/bin',
  },
];

function zipkinImage(
  reference: string,
  dockerZipkinRef: string,
  options: { scribe: boolean; unverified?: string[] },
): ImageFacts {
  return {
    reference,
    base: ZIPKIN_BASE,
    entrypoint: null,
    cmd: ['/bin/sh', '-c', zipkinCmd(options.scribe)],
    user: 'root',
    workdir: '/zipkin',
    tools: [...ALPINE_BASIC_TOOLS, 'curl', 'java'],
    // mesh-local renders no command line for Zipkin: the image's own CMD starts the server.
    programs: [],
    sources: [
      {
        repo: 'openzipkin/docker-zipkin',
        path: 'zipkin/Dockerfile',
        ref: dockerZipkinRef,
        note:
          `ZIPKIN_VERSION ${dockerZipkinRef}; FROM openzipkin/jre-full:1.8.0_152; WORKDIR /zipkin; EXPOSE 9410 9411; ` +
          'shell-form CMD that sources .${STORAGE_TYPE}_profile when set and ends in `exec java ${JAVA_OPTS} -cp . ' +
          'org.springframework.boot.loader.PropertiesLauncher`; no ENTRYPOINT or USER',
      },
      ...ZIPKIN_BASE_SOURCES,
    ],
    unverified: [
      'frolvlad/alpine-glibc:alpine-3.4 was not read: that it sets no ENTRYPOINT and that its busybox has the listed applets is assumed (every Alpine busybox has sh, env, wget, cat, echo, grep, sleep).',
      'cantara/alpine-zulu-jdk8 and cantara/jvmprep are published as latest only; the versions read are the newest before jre-full 1.8.0_152 was tagged (2017-12-16), not confirmed to be the layers actually used.',
      'The CMD string joins the Dockerfile continuation lines as Docker does (leading spaces of each continuation line kept); the exact whitespace was not checked against the published image.',
      ...(options.unverified ?? []),
    ],
  };
}

/** The shell-form CMD as Docker stores it: continuation lines joined, their leading spaces kept. */
function zipkinCmd(scribe: boolean): string {
  const sp = '     ';
  return [
    'test -n "$STORAGE_TYPE" && source .${STORAGE_TYPE}_profile;',
    ...(scribe
      ? ['test -n "$SCRIBE_ENABLED" && JAVA_OPTS="${JAVA_OPTS} -Dloader.path=scribe -Dspring.profiles.active=scribe";']
      : []),
    'test -n "$KAFKA_BOOTSTRAP_SERVERS" && JAVA_OPTS="${JAVA_OPTS} -Dloader.path=kafka10 -Dspring.profiles.active=kafka";',
    'exec java ${JAVA_OPTS} -cp . org.springframework.boot.loader.PropertiesLauncher',
  ].join(sp);
}

// ---------------------------------------------------------------------------------------------
// Node.js, the runtime of mesh-local's Docker API view (the registrator's project-scoped engine).

/** The official image, pinned: Node.js 24 (LTS) on Alpine 3.24. */
export const NODE_IMAGE = 'docker.io/library/node:24.19.0-alpine3.24';
/** nodejs/docker-node "feat: Node.js" (2026-08-03), the commit official-images builds that tag from. */
const NODE_DOCKER_REF = 'fd1bf45c51970427bc899084b5381f6827722246';

// ---------------------------------------------------------------------------------------------

export const PLATFORM_IMAGE_FACTS: readonly ImageFacts[] = [
  {
    reference: 'quay.io/coreos/etcd:v3.2.18',
    base: 'alpine:latest at release time (Alpine 3.7 series, busybox 1.27.2), with etcd and etcdctl in /usr/local/bin',
    entrypoint: null,
    cmd: ['/usr/local/bin/etcd'],
    user: 'root',
    tools: [...ALPINE_37_BUSYBOX_TOOLS, 'etcdctl'],
    programs: [
      {
        path: '/usr/local/bin/etcd',
        syntax: 'go-flag',
        flags: ETCD_FLAGS,
        positionals: { kind: 'none' },
        refusal: { exitCode: 2 },
        complete: true,
        sources: [
          {
            repo: 'etcd-io/etcd',
            path: 'etcdmain/config.go',
            ref: ETCD_REF,
            note:
              'flag.NewFlagSet("etcd", flag.ContinueOnError): every flag and its Go type; a parse error exits 2; ' +
              "a leftover positional argument is refused with \"'X' is not a valid flag\" and exit 1 (etcdmain/etcd.go)",
          },
          { repo: 'etcd-io/etcd', path: 'etcdmain/help.go', ref: ETCD_REF, note: 'the defaults as `etcd --help` prints them' },
          { repo: 'etcd-io/etcd', path: 'embed/config.go', ref: ETCD_REF, note: 'NewConfig defaults; --name alone rewrites the default initial-cluster' },
          { repo: 'etcd-io/etcd', path: 'etcdserver/server.go', ref: ETCD_REF, note: 'DefaultSnapCount = 100000' },
          { repo: 'etcd-io/etcd', path: 'pkg/flags/flag.go', ref: ETCD_REF, note: 'IgnoredFlag is a boolean flag that only logs a warning' },
          { repo: 'etcd-io/etcd', path: 'pkg/flags/urls.go', ref: ETCD_REF, note: 'URL lists are comma-separated; a repeated flag replaces the list' },
          {
            repo: 'etcd-io/etcd',
            path: 'etcdmain/main.go',
            ref: ETCD_REF,
            note: 'first argument `gateway` or `grpc-proxy` runs a cobra subcommand instead (optional, so not listed as subcommands)',
          },
        ],
        unverified: [
          'Kinds: cors and the *-urls flags are comma-separated lists whose repetition replaces rather than appends; discovery-fallback, initial-cluster-state and proxy are enums (listed as string).',
        ],
      },
    ],
    sources: [
      {
        repo: 'etcd-io/etcd',
        path: 'Dockerfile-release',
        ref: ETCD_REF,
        note: 'FROM alpine:latest; ADD etcd and etcdctl to /usr/local/bin; mkdir /var/etcd /var/lib/etcd; EXPOSE 2379 2380; CMD ["/usr/local/bin/etcd"]; no ENTRYPOINT, USER or WORKDIR',
      },
      {
        repo: 'etcd-io/etcd',
        path: 'scripts/build-docker',
        ref: ETCD_REF,
        note: 'builds quay.io/coreos/etcd:<version> from Dockerfile-release (amd64) with the release binaries',
      },
      { repo: 'etcd-io/etcd', path: 'scripts/release.sh', ref: ETCD_REF, note: 'the release runs scripts/build-docker' },
      { repo: 'etcd-io/etcd', path: 'etcdctl/main.go', ref: ETCD_REF, note: 'ETCDCTL_API=3 selects the v3 etcdctl' },
      {
        repo: 'etcd-io/etcd',
        path: 'etcdctl/ctlv3/ctl.go',
        ref: ETCD_REF,
        note: 'v3 global flag --endpoints (stringSlice); etcdctl/ctlv3/command/ep_command.go has `endpoint health`',
      },
      ALPINE_BUSYBOX_1_27_2,
    ],
    unverified: [
      'alpine:latest when v3.2.18 was built (late March 2018) is taken to be Alpine 3.7 (busybox 1.27.2); the published image was not inspected.',
    ],
  },

  {
    reference: 'gcr.io/google_containers/kube-apiserver-amd64:v1.7.3',
    base: 'busybox:latest at release time (uclibc busybox 1.27.1, defconfig, static), plus /usr/local/bin/kube-apiserver',
    entrypoint: null,
    cmd: ['sh'],
    user: 'root',
    tools: [...BUSYBOX_DEFCONFIG_TOOLS],
    programs: [
      {
        path: '/usr/local/bin/kube-apiserver',
        syntax: 'pflag',
        flags: KUBE_APISERVER_FLAGS,
        positionals: { kind: 'any' },
        refusal: { exitCode: 2 },
        complete: true,
        sources: [
          {
            repo: K8S_REPO,
            path: 'cmd/kube-apiserver/apiserver.go',
            ref: K8S_REF,
            note:
              `${K8S_SOURCES_NOTE}. main(): s.AddFlags(pflag.CommandLine), flag.InitFlags() (word-separator normalization, ` +
              'AddGoFlagSet(goflag.CommandLine), pflag.Parse()); no cobra; leftover arguments are ignored',
          },
          { repo: K8S_REPO, path: 'cmd/kube-apiserver/app/options/options.go', ref: K8S_REF },
          { repo: K8S_REPO, path: 'pkg/kubeapiserver/options/authentication.go', ref: K8S_REF },
          { repo: K8S_REPO, path: 'pkg/kubeapiserver/options/authorization.go', ref: K8S_REF },
          { repo: K8S_REPO, path: 'pkg/kubeapiserver/options/serving.go', ref: K8S_REF },
          { repo: K8S_REPO, path: 'pkg/kubeapiserver/options/storage_versions.go', ref: K8S_REF },
          { repo: K8S_REPO, path: 'pkg/kubeapiserver/options/cloudprovider.go', ref: K8S_REF },
          { repo: K8S_REPO, path: 'pkg/kubeapiserver/options/api_enablement.go', ref: K8S_REF },
          { repo: K8S_REPO, path: 'staging/src/k8s.io/apiserver/pkg/server/options/server_run_options.go', ref: K8S_REF },
          { repo: K8S_REPO, path: 'staging/src/k8s.io/apiserver/pkg/server/options/etcd.go', ref: K8S_REF },
          { repo: K8S_REPO, path: 'staging/src/k8s.io/apiserver/pkg/server/options/serving.go', ref: K8S_REF },
          { repo: K8S_REPO, path: 'staging/src/k8s.io/apiserver/pkg/server/options/audit.go', ref: K8S_REF },
          { repo: K8S_REPO, path: 'staging/src/k8s.io/apiserver/pkg/server/options/feature.go', ref: K8S_REF },
          { repo: K8S_REPO, path: 'staging/src/k8s.io/apiserver/pkg/server/options/admission.go', ref: K8S_REF },
          { repo: K8S_REPO, path: 'staging/src/k8s.io/apiserver/pkg/util/flag/flags.go', ref: K8S_REF, note: '`_` in flag names normalized to `-`' },
          { repo: K8S_REPO, path: 'staging/src/k8s.io/apiserver/pkg/util/logs/logs.go', ref: K8S_REF, note: 'log-flush-frequency; logtostderr set to true at init' },
          { repo: K8S_REPO, path: 'pkg/version/verflag/verflag.go', ref: K8S_REF, note: '--version (true, false or raw)' },
          { repo: K8S_REPO, path: 'vendor/github.com/golang/glog/glog.go', ref: K8S_REF, note: 'Go flags v, vmodule, logtostderr, alsologtostderr, stderrthreshold, log_backtrace_at (and log_dir in glog_file.go)' },
          { repo: K8S_REPO, path: 'pkg/cloudprovider/providers/gce/gce_loadbalancer.go', ref: K8S_REF, note: 'Go flag cloud-provider-gce-lb-src-cidrs' },
          { repo: K8S_REPO, path: 'plugin/pkg/admission/defaulttolerationseconds/admission.go', ref: K8S_REF, note: 'Go flags default-*-toleration-seconds' },
          { repo: K8S_REPO, path: 'plugin/pkg/admission/initialresources/data_source.go', ref: K8S_REF, note: 'Go flags ir-* (with admission.go)' },
          {
            repo: K8S_REPO,
            path: 'vendor/github.com/spf13/pflag/golangflag.go',
            ref: K8S_REF,
            note: 'a one-letter Go flag gets the same shorthand, so -v=2 sets glog verbosity; flag.go: CommandLine is ExitOnError (exit 2)',
          },
          {
            repo: 'kubernetes/apiserver',
            path: 'pkg/server/options/server_run_options.go',
            ref: '978f1b4fd14e719088e55e63ce6a7f7aed6703f2',
            note:
              'upstream cross-check: every file of pkg/server/options on release-1.7 before the --request-timeout ' +
              'cherry-pick (authored 2017-08-26, after v1.7.3) is identical to the staging copy read above',
          },
        ],
        unverified: [
          'kubernetes/kubernetes itself could not be read at v1.7.3 (too large to fetch; its index holds no v1.7.3 copy of these files): the flag set comes from the third-party v1.7.3 source import, cross-checked only for the staging apiserver options.',
          'The list was produced by compiling, from that tree with Go 1.19, a throwaway program that registers exactly what main() registers and prints every flag; the release binary was built with Go 1.8 (no standard package in its import graph, such as testing, registers flags).',
          'An unknown flag prints `unknown flag: --name` and the usage (pflag.CommandLine, no cobra `Error: ` prefix) and exits 2; -h/--help also exit 2.',
          'Go flags with `_` are also accepted in that spelling (--log_dir, --log_backtrace_at); only the normalized names are listed.',
          'Kinds: ipNet (service-cluster-ip-range, portal-net), portRange, mapStringBool (feature-gates), mapStringString (runtime-config), cidrs and glog severity/traceLocation/moduleSpec are listed as string; glog -v parses decimal only; --version also takes =raw; tls-sni-cert-key (namedCertKey) is repeatable.',
          'Deprecated flags (address, port, public-address-override, portal-net, service-node-ports, kubelet-port, storage-version, long-running-request-regexp, authorization-rbac-super-user) are accepted with a warning and hidden from --help.',
        ],
      },
    ],
    sources: [
      {
        repo: K8S_REPO,
        path: 'build/common.sh',
        ref: K8S_REF,
        note: `${K8S_SOURCES_NOTE}. kube::build::get_docker_wrapped_binaries: amd64 kube-apiserver,busybox`,
      },
      {
        repo: K8S_REPO,
        path: 'build/lib/release.sh',
        ref: K8S_REF,
        note:
          'create_docker_images_for_server: the Dockerfile is only `FROM busybox` and `ADD kube-apiserver /usr/local/bin/kube-apiserver` ' +
          '(no ENTRYPOINT, CMD, USER or WORKDIR of its own), built with --pull and tagged <registry>/kube-apiserver-amd64:<version>',
      },
      { repo: K8S_REPO, path: 'pkg/version/base.go', ref: K8S_REF, note: 'gitVersion v1.7.3, gitCommit 2c2fe6e8278a5db2d15a013987b53968c743f2a1' },
      ...DOCKER_LIBRARY_BUSYBOX_AUG_2017,
    ],
    unverified: [
      'The busybox:latest pulled for the v1.7.3 release build (2017-08-03) is taken to be the uclibc busybox 1.27.1 image docker-library published on 2017-07-19; the published image was not inspected.',
      'The build scripts were read from the third-party v1.7.3 source import (ruhip/kubernetes-1.7.3), not from kubernetes/kubernetes.',
    ],
  },

  {
    reference: 'docker.io/prom/prometheus:v2.0.0',
    base: 'quay.io/prometheus/busybox:latest (busybox:uclibc plus CA certificates and zoneinfo)',
    entrypoint: ['/bin/prometheus'],
    cmd: [
      '--config.file=/etc/prometheus/prometheus.yml',
      '--storage.tsdb.path=/prometheus',
      '--web.console.libraries=/usr/share/prometheus/console_libraries',
      '--web.console.templates=/usr/share/prometheus/consoles',
    ],
    user: 'nobody',
    workdir: '/prometheus',
    tools: [...BUSYBOX_DEFCONFIG_TOOLS, 'promtool'],
    programs: [
      {
        path: '/bin/prometheus',
        syntax: 'kingpin',
        flags: PROMETHEUS_FLAGS,
        positionals: { kind: 'none' },
        refusal: { exitCode: 2 },
        complete: true,
        sources: [
          {
            repo: 'prometheus/prometheus',
            path: 'cmd/prometheus/main.go',
            ref: PROMETHEUS_REF,
            note: 'kingpin.New; every a.Flag(...) with its default; a parse error prints `Error parsing commandline arguments: ...` and the usage and exits 2',
          },
          { repo: 'prometheus/prometheus', path: 'vendor/github.com/prometheus/common/promlog/flag/flag.go', ref: PROMETHEUS_REF, note: 'log.level, default info' },
          {
            repo: 'prometheus/prometheus',
            path: 'vendor/gopkg.in/alecthomas/kingpin.v2/app.go',
            ref: PROMETHEUS_REF,
            note: "help (-h), version and the hidden help-long, help-man and completion flags; a positional argument is refused with \"unexpected argument 'X'\"",
          },
          { repo: 'prometheus/prometheus', path: 'vendor/gopkg.in/alecthomas/kingpin.v2/flags.go', ref: PROMETHEUS_REF, note: "`unknown long flag '--name'`; --no-<bool>" },
          {
            repo: 'prometheus/prometheus',
            path: 'vendor/github.com/prometheus/common/model/time.go',
            ref: PROMETHEUS_REF,
            note: 'the duration flags are model.Duration: ^([0-9]+)(y|w|d|h|m|s|ms)$',
          },
        ],
        unverified: [
          "kingpin's --help also has the shorthand -h here (a.HelpFlag.Short('h')); it is left to the implicit help flag, which has no shorthand, so -h is not modelled.",
          "A refused command line prints `Error parsing commandline arguments: <reason>` and then the usage (not kingpin's `prometheus: error: <reason>, try --help`), and exits 2.",
          "The duration flags (web.read-timeout, storage.tsdb.*-block-duration, storage.tsdb.retention, alertmanager.timeout, query.lookback-delta, query.timeout) take Prometheus durations: one integer and one unit of y, w, d, h, m, s or ms ('6h', '15d'; '1h30m' is refused). FlagValueKind has no such kind, so they are listed as string.",
        ],
      },
    ],
    sources: [
      {
        repo: 'prometheus/prometheus',
        path: 'Dockerfile',
        ref: PROMETHEUS_REF,
        note:
          'FROM quay.io/prometheus/busybox:latest; /bin/prometheus, /bin/promtool, /etc/prometheus/prometheus.yml, consoles; ' +
          '/prometheus owned by nobody; USER nobody; EXPOSE 9090; VOLUME /prometheus; WORKDIR /prometheus; ENTRYPOINT and CMD as listed',
      },
      {
        repo: 'prometheus/busybox',
        path: 'uclibc/Dockerfile',
        ref: 'cb312b54fe15a9539db7ab9e8fa1885a4d873ee8',
        note: 'FROM busybox:uclibc, ADD rootfs.tar.xz (CA certificates, zoneinfo); Makefile tags uclibc as latest (newest commit before v2.0.0)',
      },
      {
        repo: 'docker-library/busybox',
        path: 'uclibc/Dockerfile.builder',
        ref: 'cba1373b305b3676b0a41a8da05c9885e420d5e9',
        note: 'busybox:uclibc as of 2017-11-01: busybox 1.27.2, `make defconfig`, every applet installed into /bin',
      },
      {
        repo: 'mirror/busybox',
        path: 'networking/wget.c',
        ref: '1_27_2',
        note: 'WGET and the other listed applets are `default y`; SH_IS_ASH is the default sh',
      },
    ],
    unverified: [
      'quay.io/prometheus/busybox:latest is rebuilt from busybox:uclibc from time to time; the busybox release inside the v2.0.0 image (1.27.x expected) was not confirmed.',
    ],
  },

  {
    reference: 'docker.io/curlimages/curl:7.85.0',
    base: 'alpine:3.15.4 (busybox) with curl 7.85.0 built from source into /usr/bin/curl, libssh2, nghttp2 and brotli from apk',
    entrypoint: ['/entrypoint.sh'],
    cmd: ['curl'],
    user: 'curl_user',
    tools: [...ALPINE_BASIC_TOOLS, 'curl'],
    // mesh-local replaces the entrypoint with `/bin/sh <script>`; the script's curl calls are not
    // modelled as a flag set.
    programs: [],
    sources: [
      {
        repo: 'curl/curl-docker',
        path: 'alpine/latest/Dockerfile',
        ref: '57413e281c88f9ca2c430b47a646b27566d89fcb',
        note:
          'commit "bump to curl 7.85.0" (the next one moves to 7.86.0): builder and final stage FROM alpine:3.15.4; ' +
          'adds curl_user in curl_group; CURL_CA_BUNDLE=/cacert.pem; USER curl_user; CMD ["curl"]; ENTRYPOINT ["/entrypoint.sh"]; no WORKDIR in the final stage',
      },
      {
        repo: 'curl/curl-docker',
        path: 'alpine/latest/entrypoint.sh',
        ref: '57413e281c88f9ca2c430b47a646b27566d89fcb',
        note: '#!/bin/sh: prepends `curl` when the first argument is an option or not a command, then exec',
      },
      {
        repo: 'curl/curl-docker',
        path: 'alpine/latest/Makefile',
        ref: '57413e281c88f9ca2c430b47a646b27566d89fcb',
        note: 'pushes the build as curlimages/curl:7.85.0',
      },
    ],
    unverified: [
      "Alpine 3.15's busybox configuration was not read: only applets every Alpine busybox has are listed.",
      'The final stage runs `apk upgrade` unpinned, so package versions in the published image were not confirmed.',
    ],
  },

  {
    reference: NODE_IMAGE,
    base: 'alpine:3.24 (busybox) with Node.js 24.19.0 (the musl build) unpacked into /usr/local, and yarn 1.22.22',
    entrypoint: ['docker-entrypoint.sh'],
    cmd: ['node'],
    user: 'root',
    // Only what the Dockerfile itself shows: node (its smoke test runs `node --version`) and sh
    // (docker-entrypoint.sh is a /bin/sh script). mesh-local runs the Docker API view with these.
    tools: ['sh', 'node'],
    // mesh-local runs its own program (a mounted file) with node; it parses no flags.
    programs: [],
    sources: [
      {
        repo: 'nodejs/docker-node',
        path: '24/alpine3.24/Dockerfile',
        ref: NODE_DOCKER_REF,
        note:
          'FROM alpine:3.24; NODE_VERSION=24.19.0 into /usr/local (node on PATH at /usr/local/bin/node); adds user node (uid 1000) ' +
          'but sets no USER or WORKDIR; COPY docker-entrypoint.sh /usr/local/bin/; ENTRYPOINT ["docker-entrypoint.sh"]; CMD ["node"]',
      },
      {
        repo: 'nodejs/docker-node',
        path: '24/alpine3.24/docker-entrypoint.sh',
        ref: NODE_DOCKER_REF,
        note: '#!/bin/sh: prepends `node` when the first argument is an option, not a command, or a non-executable file; then exec',
      },
      {
        repo: 'docker-library/official-images',
        path: 'library/node',
        ref: '37079fb336f572a88700cf32e5e1f6be54a04e8f',
        note: 'tags 24.19.0-alpine3.24, 24-alpine, lts-alpine: GitCommit fd1bf45c, Directory 24/alpine3.24',
      },
    ],
  },

  zipkinImage('docker.io/openzipkin/zipkin:2.6.0', '2.6.0', { scribe: false }),
  zipkinImage('docker.io/openzipkin/zipkin:2.7', '2.7.6', {
    scribe: true,
    unverified: [
      'The floating tag 2.7 is taken to point at 2.7.6, the last 2.7.x release (release.sh moves the minor tag to each new patch release); every 2.7.x Dockerfile differs only in ZIPKIN_VERSION.',
    ],
  }),
];
