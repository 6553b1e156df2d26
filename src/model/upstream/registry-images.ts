import type { ImageFacts } from './types.js';
import type { FlagFacts, ProgramFacts, Source } from './types.js';

/**
 * Upstream facts of the registry images (Consul, Eureka), the two registrators, and the BookInfo
 * 1.5.0 images that the Istio 0.6.0 / 0.8.0 Consul and Eureka stacks run. Each fact was read
 * in the upstream file named in `sources`, at the tag or commit given there. Facts that could not
 * be read at the exact version are listed in `unverified`.
 */

// ---------------------------------------------------------------------------------------------
// Consul 1.3.0 (docker.io/library/consul:1.3.0)
// ---------------------------------------------------------------------------------------------

/** hashicorp/docker-consul at "Bump the version to 1.3.0"; Docker Hub's `1.3.0` tag linked this commit. */
const DOCKER_CONSUL_1_3_0 = '3e9120657c15e2f208e3cf16a698f1bb3bee3cdd';

/**
 * `consul agent` flags at v1.3.0 (agent/config/flags.go `AddFlags`). Every flag is a
 * `flag.Var` on a `flag.NewFlagSet(..., flag.ContinueOnError)` with Consul's own value types
 * (agent/config/flagset.go):
 * - `**bool` → `boolPtrValue` (an `IsBoolFlag`, so `-server` or `-server=false`): `bool`.
 * - `**int` → `intPtrValue`, parsed with `strconv.Atoi` (decimal only, no `0x..`): `int`.
 * - `**string` → `stringPtrValue`: `string`.
 * - `*[]string` → `stringSliceValue`, which appends each occurrence whole (no comma split): `stringArray`.
 * - `*map[string]string` (`-node-meta`) → `stringMapValue`, repeatable `key:value`: `stringArray`.
 * The duration-like flags (`-retry-interval`, `-retry-interval-wan`, `-log-rotate-duration`) are
 * string fields of `Config` that the config builder parses with `time.ParseDuration`; a bad value
 * fails the agent before it starts (exit 1), so they are `duration` here.
 * No flag has a default the help prints (every `String()` of an unset value is empty); the
 * defaults live in the config builder (`-client` 127.0.0.1, `-http-port` 8500, ...).
 */
const CONSUL_AGENT_FLAGS: FlagFacts[] = [
  { name: 'advertise', kind: 'string' },
  { name: 'advertise-wan', kind: 'string' },
  { name: 'bind', kind: 'string' },
  { name: 'server-port', kind: 'int' },
  { name: 'bootstrap', kind: 'bool' },
  { name: 'bootstrap-expect', kind: 'int' },
  { name: 'client', kind: 'string' },
  { name: 'config-dir', kind: 'stringArray' },
  { name: 'config-file', kind: 'stringArray' },
  // Checked by the config builder: only `hcl` or `json`.
  { name: 'config-format', kind: 'string' },
  { name: 'data-dir', kind: 'string' },
  { name: 'datacenter', kind: 'string' },
  { name: 'dev', kind: 'bool' },
  { name: 'disable-host-node-id', kind: 'bool' },
  { name: 'disable-keyring-file', kind: 'bool' },
  { name: 'dns-port', kind: 'int' },
  { name: 'domain', kind: 'string' },
  { name: 'enable-script-checks', kind: 'bool' },
  { name: 'enable-local-script-checks', kind: 'bool' },
  { name: 'encrypt', kind: 'string' },
  { name: 'grpc-port', kind: 'int' },
  { name: 'http-port', kind: 'int' },
  { name: 'join', kind: 'stringArray' },
  { name: 'join-wan', kind: 'stringArray' },
  { name: 'log-level', kind: 'string' },
  { name: 'log-file', kind: 'string' },
  { name: 'log-rotate-bytes', kind: 'int' },
  { name: 'log-rotate-duration', kind: 'duration' },
  { name: 'node', kind: 'string' },
  { name: 'node-id', kind: 'string' },
  { name: 'node-meta', kind: 'stringArray' },
  { name: 'non-voting-server', kind: 'bool' },
  { name: 'pid-file', kind: 'string' },
  { name: 'protocol', kind: 'int' },
  { name: 'raft-protocol', kind: 'int' },
  { name: 'recursor', kind: 'stringArray' },
  { name: 'rejoin', kind: 'bool' },
  { name: 'retry-interval', kind: 'duration' },
  { name: 'retry-interval-wan', kind: 'duration' },
  { name: 'retry-join', kind: 'stringArray' },
  { name: 'retry-join-wan', kind: 'stringArray' },
  { name: 'retry-max', kind: 'int' },
  { name: 'retry-max-wan', kind: 'int' },
  { name: 'serf-lan-bind', kind: 'string' },
  { name: 'serf-lan-port', kind: 'int' },
  { name: 'segment', kind: 'string' },
  { name: 'serf-wan-bind', kind: 'string' },
  { name: 'serf-wan-port', kind: 'int' },
  { name: 'server', kind: 'bool' },
  { name: 'syslog', kind: 'bool' },
  { name: 'ui', kind: 'bool' },
  { name: 'ui-dir', kind: 'string' },
  { name: 'hcl', kind: 'stringArray' },
];

const CONSUL_PROGRAM_SOURCES: Source[] = [
  {
    repo: 'hashicorp/consul',
    path: 'agent/config/flags.go',
    ref: '0e907f5aa8e9e4c34512a5cea427edcf0d454d2a',
    note:
      'A later (1.5-era) AddFlags; the v1.3.0 set is this one less check_output_max_size (1.5) and ' +
      'allow-write-http-from (1.4.1). An earlier stored AddFlags (pre-1.2.2) lacks server-port, ' +
      'serf-lan-port, serf-wan-port (1.2.2), log-file, log-rotate-bytes, log-rotate-duration (1.2.3), ' +
      'grpc-port and enable-local-script-checks (1.3.0).',
  },
  {
    repo: 'hashicorp/consul',
    path: 'agent/config/flagset.go',
    ref: '7f7ea984e802230a8f699569905e79cb3e143bdc',
    note: 'The flag.Value types behind each kind (boolPtrValue, intPtrValue via strconv.Atoi, stringSliceValue appending).',
  },
  {
    repo: 'hashicorp/consul',
    path: 'CHANGELOG.md',
    ref: '000ca15db7d64606168c183dfcabd95740396fab',
    note:
      'Dates the flags: -serf-wan-port/-serf-lan-port/-server-port in 1.2.2, Envoy (gRPC port) and ' +
      'local script checks in 1.3.0, allow_write_http_from in 1.4.1.',
  },
];

const CONSUL_PROGRAM_UNVERIFIED: string[] = [
  'agent/config/flags.go was not read at v1.3.0 itself (the repository snapshot is too large to fetch); the ' +
    'agent flag list is a later stored AddFlags less the two flags the CHANGELOG dates after 1.3.0, ' +
    'cross-checked against an earlier stored AddFlags and the flags the CHANGELOG and issue #5646 date before it.',
  'The Config field types behind each flag (hence int/string/bool) were read in later versions, not at v1.3.0.',
  "That `consul agent` refuses positional arguments ('config: Unknown extra arguments') was read in a 1.x " +
    'agent/config/builder.go NewBuilder, not at v1.3.0.',
  "The refusal (`==> error parsing flags: flag provided but not defined: -x`, exit 1) is the agent command's " +
    'readConfig returning nil and run() returning 1, as a Consul 1.2.2 user report shows; not read at v1.3.0.',
  'Only the `agent` subcommand is listed; consul 1.3.0 has others (members, kv, version, ...) that mesh-local never renders.',
  'mitchellh/cli as vendored in 1.3.0 answers a flag before the subcommand with "Invalid flags before the ' +
    'subcommand" and exit 1, and an unknown subcommand with the command list; its exact exit code for an ' +
    'unknown subcommand (1 or 127 depending on the vendored version) was not confirmed.',
];

/** The `consul` CLI (mitchellh/cli): a subcommand first, then that subcommand's Go flags. */
const CONSUL_BINARY: ProgramFacts = {
  path: '/bin/consul',
  syntax: 'go-flag',
  flags: [],
  subcommands: { agent: { flags: CONSUL_AGENT_FLAGS, positionals: { kind: 'none' } } },
  refusal: { exitCode: 1 },
  complete: true,
  sources: CONSUL_PROGRAM_SOURCES,
  unverified: CONSUL_PROGRAM_UNVERIFIED,
};

/**
 * docker-entrypoint.sh (0.X/docker-entrypoint.sh at DOCKER_CONSUL_1_3_0), to be re-implemented.
 * Shebang `#!/usr/bin/dumb-init /bin/sh`, so dumb-init is PID 1 and the script runs under
 * busybox sh with `set -e`. With the arguments "$@" (the image CMD or the Compose `command`):
 *  1. CONSUL_BIND_INTERFACE set: its first IPv4 address
 *     (`ip -o -4 addr list $IF | head -n1 | awk '{print $4}' | cut -d/ -f1`); empty → prints
 *     `Could not find IP for interface '$IF', exiting` and exits 1; else CONSUL_BIND=`-bind=<ip>`
 *     and prints `==> Found address '<ip>' for interface '$IF', setting bind option...`.
 *  2. CONSUL_CLIENT_INTERFACE likewise → CONSUL_CLIENT=`-client=<ip>` (`... setting client option...`).
 *  3. CONSUL_DATA_DIR=/consul/data, CONSUL_CONFIG_DIR=/consul/config; CONSUL_LOCAL_CONFIG set →
 *     its text is written to /consul/config/local.json.
 *  4. `$1` starts with `-` → `set -- consul "$@"`: it prepends `consul`, NOT `agent`, so
 *     `-server ...` alone becomes `consul -server ...`, which the consul CLI refuses.
 *  5. `$1` = `agent` → shift, then
 *     `set -- consul agent -data-dir=/consul/data -config-dir=/consul/config $CONSUL_BIND $CONSUL_CLIENT "$@"`
 *     (the unquoted variables vanish when empty; the caller's flags come last, so a caller's
 *     `-client=` wins over CONSUL_CLIENT and a caller's `-config-dir` adds a second directory).
 *     `$1` = `version` → `consul version ...`. Otherwise, when `consul --help "$1" 2>&1` mentions
 *     `consul $1` (another consul subcommand) → `consul "$@"`. Anything else (`sh -c ...`) runs as given.
 *  6. `$1` = `consul` (after the rewrites): chown consul:consul /consul/data and /consul/config
 *     (not recursive) when their owner uid is not the consul user's; CONSUL_ALLOW_PRIVILEGED_PORTS
 *     set (even empty) → `setcap cap_net_bind_service=+ep /bin/consul`; then
 *     `set -- su-exec consul:consul "$@"`, dropping from root to the consul user.
 *  7. `exec "$@"`.
 * mesh-local's `agent -server -bootstrap -client=0.0.0.0 -ui` therefore runs, as user consul,
 * `consul agent -data-dir=/consul/data -config-dir=/consul/config -server -bootstrap -client=0.0.0.0 -ui`.
 * It accepts what `consul` accepts (it forwards), so it is described with consul's command line.
 */
const CONSUL_ENTRYPOINT: ProgramFacts = {
  path: '/usr/local/bin/docker-entrypoint.sh',
  syntax: 'go-flag',
  flags: [],
  subcommands: { agent: { flags: CONSUL_AGENT_FLAGS, positionals: { kind: 'none' } } },
  refusal: { exitCode: 1 },
  complete: true,
  sources: [
    { repo: 'hashicorp/docker-consul', path: '0.X/docker-entrypoint.sh', ref: DOCKER_CONSUL_1_3_0 },
    ...CONSUL_PROGRAM_SOURCES,
  ],
  unverified: [
    'A first argument that is neither a consul subcommand nor starts with `-` is executed as a command (e.g. `sh`); that path is not described by this command line.',
    ...CONSUL_PROGRAM_UNVERIFIED,
  ],
};

const CONSUL_IMAGE: ImageFacts = {
  reference: 'docker.io/library/consul:1.3.0',
  // apk add ca-certificates curl dumb-init gnupg libcap openssl su-exec iputils, then apk del gnupg
  // openssl; the consul_1.3.0 release zip unzipped into /bin. EXPOSE 8300 8301 8301/udp 8302
  // 8302/udp 8500 8600 8600/udp; VOLUME /consul/data.
  base: 'alpine:3.7 (busybox) with curl, dumb-init, su-exec, libcap (setcap), iputils (ping) and the consul 1.3.0 release binary',
  entrypoint: ['docker-entrypoint.sh'],
  // The default: an in-memory single-node development agent.
  cmd: ['agent', '-dev', '-client', '0.0.0.0'],
  // No USER: the entrypoint starts as root and drops to `consul` (su-exec) for consul itself; a
  // healthcheck (`docker exec`) runs as root.
  user: 'root',
  // busybox sh, wget, grep; curl from apk. `sh -c 'wget -q -O - http://127.0.0.1:8500/v1/status/leader | grep -q :'` works.
  tools: ['sh', 'wget', 'curl', 'grep', 'env', 'cat', 'ip', 'ping', 'dumb-init', 'su-exec', 'setcap'],
  programs: [CONSUL_ENTRYPOINT, CONSUL_BINARY],
  sources: [
    {
      repo: 'hashicorp/docker-consul',
      path: '0.X/Dockerfile',
      ref: DOCKER_CONSUL_1_3_0,
      note: 'Base, packages, ENTRYPOINT, CMD, no USER, no WORKDIR. Docker Hub listed `1.3.0, latest (0.X/Dockerfile)` at this commit.',
    },
    { repo: 'hashicorp/docker-consul', path: '0.X/docker-entrypoint.sh', ref: DOCKER_CONSUL_1_3_0 },
    {
      repo: 'docker-library/official-images',
      path: 'library/consul',
      ref: '3549e5c70aef9c6fc12d87a590feb1ca511734ca',
      note: '`Tags: 1.3.0, latest`, GitCommit 3e9120657c15e2f208e3cf16a698f1bb3bee3cdd, Directory 0.X (unchanged until 1.3.1).',
    },
  ],
  unverified: ['No jq: docker-consul added it in 2019, after this build; the apk list above was read, the built image was not inspected.'],
};

// ---------------------------------------------------------------------------------------------
// Registrators
// ---------------------------------------------------------------------------------------------

/**
 * registrator.go flags (Go's standard `flag` on `flag.CommandLine`, ExitOnError), identical in
 * gliderlabs master and the ijsnellf eureka fork. Defaults as `flag.PrintDefaults` shows them
 * (zero values are not printed): -ttl-refresh, -ttl, -resync, -retry-attempts default to 0.
 * - `-resync` (int, seconds): > 0 starts a ticker calling `Bridge.Sync(true)` every N seconds.
 * - `-ttl-refresh` (int, seconds) > 0 starts a ticker calling `Bridge.Refresh()`; -ttl and
 *   -ttl-refresh must be given together and -ttl > -ttl-refresh, else log.Fatal (exit 1).
 * - `-retry-attempts` -1 retries `Ping()` forever, every `-retry-interval` ms (must be > 0).
 * - `-deregister` must be `always` or `on-success`, else log.Fatal (exit 1).
 * Refusal: an unknown flag or bad int → Go flag error + usage, exit 2; a positional count other
 * than 1 → "Missing required argument for registry URI." or "Extra unparsed arguments: ...
 * Options should come before the registry URI argument." + usage, exit 2. `--version` as the
 * only argument prints the version (exit 0). `-h` prints usage and exits 2 (Go before 1.15).
 */
const REGISTRATOR_FLAGS: FlagFacts[] = [
  { name: 'ip', kind: 'string' },
  { name: 'internal', kind: 'bool' },
  { name: 'explicit', kind: 'bool' },
  { name: 'useIpFromLabel', kind: 'string' },
  { name: 'ttl-refresh', kind: 'int' },
  { name: 'ttl', kind: 'int' },
  { name: 'tags', kind: 'string' },
  { name: 'resync', kind: 'int' },
  { name: 'deregister', kind: 'string', default: 'always' },
  { name: 'retry-attempts', kind: 'int' },
  { name: 'retry-interval', kind: 'int', default: '2000' },
  { name: 'cleanup', kind: 'bool' },
];

/** gliderlabs/registrator master at its last code change (2020-01-07); later master commits change only docs until 2025. */
const GLIDERLABS_MASTER = '4322fe00304d6de661865721b073dc5c7e750bd2';

const GLIDERLABS_REGISTRATOR: ImageFacts = {
  reference: 'docker.io/gliderlabs/registrator:master',
  // Multi-stage: golang:1.9.4-alpine3.7 builds a static binary (CGO_ENABLED=0, dep ensure), copied
  // to /bin/registrator in alpine:3.7 with only ca-certificates added.
  base: 'alpine:3.7 (busybox) with ca-certificates; static /bin/registrator',
  entrypoint: ['/bin/registrator'],
  cmd: null,
  user: 'root',
  tools: ['sh', 'wget', 'grep', 'env', 'cat'],
  programs: [
    {
      path: '/bin/registrator',
      syntax: 'go-flag',
      flags: REGISTRATOR_FLAGS,
      // Adapters (modules.go): consul, consul-tls, consul-unix, consulkv, consulkv-unix, etcd,
      // skydns2, zookeeper. An unknown scheme → log.Fatal "unrecognized adapter" (exit 1).
      positionals: { kind: 'exactly', count: 1, description: 'a registry URI' },
      refusal: { exitCode: 2 },
      complete: true,
      sources: [
        { repo: 'gliderlabs/registrator', path: 'registrator.go', ref: GLIDERLABS_MASTER, note: 'Flags lines 22-33, positional check 61-73, Ping retry 119-134, resync ticker 161-175.' },
        { repo: 'gliderlabs/registrator', path: 'bridge/bridge.go', ref: GLIDERLABS_MASTER, note: 'Refresh 67-88, Sync 90-181, add 183-247 (same as the ijsnellf fork).' },
        { repo: 'gliderlabs/registrator', path: 'consul/consul.go', ref: GLIDERLABS_MASTER, note: 'Ping = Status().Leader() (an error until the agent answers; "" without a leader is no error).' },
        { repo: 'gliderlabs/registrator', path: 'modules.go', ref: GLIDERLABS_MASTER },
      ],
      unverified: [
        'No imported package was checked for flags it might register on flag.CommandLine at init; none is known.',
      ],
    },
  ],
  sources: [
    { repo: 'gliderlabs/registrator', path: 'Dockerfile', ref: GLIDERLABS_MASTER },
    {
      repo: 'gliderlabs/registrator',
      path: 'Dockerfile',
      ref: '6bfadbc6decd4c5655044e77cd807985ea5360de',
      note: 'Current master head (2025-05-22): golang:1.17.1-alpine3.14 → alpine:3.14, same flags (only the -tags help text changed).',
    },
  ],
  unverified: [
    'Which master commit the Docker Hub `master` tag was built from is not recorded upstream; it is taken to be the 2020-01-07 code (Docker Hub autobuilds), whose flags and base equal those of every master commit up to 2024. A rebuild at the 2025 head would be alpine:3.14 with the same flags and tools.',
  ],
};

/**
 * ijsnellf/registrator, branch `eureka_adapter` head "make adapter more flexible" (2017-10-02),
 * the day Istio's install/eureka compose file started using `ijsnellf/registrator:v7` with
 * `eureka://eureka:8080/eureka/v2` (the URI path this commit moved out of the adapter). VERSION
 * says `v7`. The repository's git tag `v7` is gliderlabs' 2016 v7 and has no Eureka adapter.
 *
 * Eureka adapter (eureka/eureka.go): URI `eureka://host:port/path` → `http://host:port/path`
 * (`eureka-tls` → https), 30 s HTTP timeout.
 * - Ping() (49-52): always nil ("TODO"), so `-retry-attempts=-1` never waits for Eureka.
 * - Register() (54-56, 133-156): POST `{url}/apps/{name}` with JSON `{"instance": {instanceId:
 *   service ID with ':' → '-', hostName: service name, app: service name, ipAddr, port {"$", "@enabled": "true"},
 *   securePort, metadata: {istio.protocol: http, and each tag `k|v` as k: v}}}`; anything but 204 is an error.
 *   No leaseInfo, status or dataCenterInfo is sent (the -ttl value is not passed to Eureka).
 * - Refresh() (63-66, 158-174): PUT `{url}/apps/{name}/{id}` (a heartbeat), anything but 200
 *   is an error; a 404 (instance unknown to Eureka) is only logged, never re-registered.
 * - Deregister() (58-61, 176-191): DELETE `{url}/apps/{name}/{id}`, anything but 200 is an error.
 * - Services() (68-71): nil, nil, so `-cleanup` removes nothing from Eureka.
 */
const IJSNELLF_EUREKA_ADAPTER = '1a2bcfb29ea82d76b4310813a3f8ffdcf699a7e4';

const IJSNELLF_REGISTRATOR: ImageFacts = {
  reference: 'docker.io/ijsnellf/registrator:v7',
  // Single stage: apk add build-base go git (as build-deps) + ca-certificates, `go get`,
  // `go build -o /bin/registrator`, then rm -rf /go and apk del --purge build-deps.
  base: 'alpine:3.5 (busybox) with ca-certificates; go, git and build-base removed after the build',
  entrypoint: ['/bin/registrator'],
  cmd: null,
  user: 'root',
  tools: ['sh', 'wget', 'grep', 'env', 'cat'],
  programs: [
    {
      path: '/bin/registrator',
      syntax: 'go-flag',
      flags: REGISTRATOR_FLAGS,
      // Adapters (modules.go): consul, consul-tls, consul-unix, consulkv, consulkv-unix, eureka,
      // eureka-tls, zookeeper (etcd and skydns2 removed in this fork).
      positionals: { kind: 'exactly', count: 1, description: 'a registry URI' },
      refusal: { exitCode: 2 },
      complete: true,
      sources: [
        { repo: 'ijsnellf/registrator', path: 'registrator.go', ref: IJSNELLF_EUREKA_ADAPTER, note: 'Flags 21-32 (-resync at 28), positional check 60-72, Ping retry 114-129, Sync(false) 136, TTL refresh ticker 141-154, resync ticker 157-170.' },
        { repo: 'ijsnellf/registrator', path: 'bridge/bridge.go', ref: IJSNELLF_EUREKA_ADAPTER, note: 'Refresh 67-88, Sync 90-181, add 183-247.' },
        { repo: 'ijsnellf/registrator', path: 'eureka/eureka.go', ref: IJSNELLF_EUREKA_ADAPTER },
        { repo: 'ijsnellf/registrator', path: 'modules.go', ref: IJSNELLF_EUREKA_ADAPTER },
      ],
      unverified: [
        'Dependencies were fetched with `go get` at build time (no lock file); no imported package was checked for flags it might register on flag.CommandLine.',
      ],
    },
  ],
  sources: [
    { repo: 'ijsnellf/registrator', path: 'Dockerfile', ref: IJSNELLF_EUREKA_ADAPTER },
    { repo: 'ijsnellf/registrator', path: 'VERSION', ref: IJSNELLF_EUREKA_ADAPTER, note: '`v7`, the image tag.' },
    {
      repo: 'istio/istio',
      path: 'install/eureka/templates/istio.yaml.tmpl',
      ref: '0.8.0',
      note: 'ijsnellf/registrator:v7 with -internal -retry-attempts=-1 -ttl-refresh=30 -ttl=90 eureka://eureka:8080/eureka/v2 (same at 0.6.0; introduced 2017-10-02).',
    },
  ],
  unverified: [
    'That the Docker Hub image ijsnellf/registrator:v7 was built from the eureka_adapter head (not from a local tree) is inferred from the dates and the URI path, not recorded anywhere.',
  ],
};

// ---------------------------------------------------------------------------------------------
// Eureka 1.3.1 (docker.io/netflixoss/eureka:1.3.1)
// ---------------------------------------------------------------------------------------------

const ZERO_TO_DOCKER = '6158d761b217a59e376c8fd6ebf61f2c1edf4cb9';

const EUREKA_IMAGE: ImageFacts = {
  reference: 'docker.io/netflixoss/eureka:1.3.1',
  // netflixoss/eureka:1.3.1 FROM netflixoss/tomcat:7.0.64 FROM netflixoss/java:8 FROM ubuntu:trusty.
  // java:8 installs Oracle JDK 8 (webupd8 oracle-java8-installer + set-default); tomcat:7.0.64
  // downloads Tomcat 7.0.64 with `wget -q` (not installed there, so wget comes from the java
  // image) into /tomcat; eureka unpacks eureka-server-1.3.1.war into /tomcat/webapps/eureka with
  // `jar xf` and adds config.properties (self-preservation off, registration off). EXPOSE 8080:
  // the API is http://<host>:8080/eureka/v2/apps.
  base: 'ubuntu:trusty + Oracle JDK 8 (netflixoss/java:8) + Tomcat 7.0.64 (netflixoss/tomcat:7.0.64); GNU wget, no curl',
  entrypoint: ['/tomcat/bin/catalina.sh'],
  cmd: ['run'],
  user: 'root',
  // GNU wget is very likely there (see unverified) but was never observed, so no healthcheck relies on it.
  tools: ['sh', 'bash', 'grep', 'env', 'cat', 'java'],
  programs: [
    {
      // Tomcat's launcher; `run` starts Tomcat in the foreground. mesh-local renders no command.
      // A shell script, described as a bare positional list (no flags before the command word).
      path: '/tomcat/bin/catalina.sh',
      syntax: 'go-flag',
      flags: [],
      positionals: { kind: 'exactly', count: 1, description: 'a catalina command (run)' },
      refusal: { exitCode: 1 },
      complete: false,
      sources: [
        { repo: 'Netflix-Skunkworks/zerotodocker', path: 'eureka/1.3.1/Dockerfile', ref: ZERO_TO_DOCKER },
        { repo: 'Netflix-Skunkworks/zerotodocker', path: 'tomcat/7/7.0.64/Dockerfile', ref: ZERO_TO_DOCKER },
      ],
      unverified: [
        "catalina.sh itself (Tomcat 7.0.64) was not read: its other commands (start, stop, configtest, version, and -security) and its usage exit code 1 are from Tomcat's usual script.",
      ],
    },
  ],
  sources: [
    { repo: 'Netflix-Skunkworks/zerotodocker', path: 'eureka/1.3.1/Dockerfile', ref: ZERO_TO_DOCKER, note: 'Last changed 2015-10-19 (27a5cb48).' },
    { repo: 'Netflix-Skunkworks/zerotodocker', path: 'eureka/1.3.1/config.properties', ref: ZERO_TO_DOCKER },
    { repo: 'Netflix-Skunkworks/zerotodocker', path: 'tomcat/7/7.0.64/Dockerfile', ref: ZERO_TO_DOCKER, note: 'Uses wget without installing it.' },
    { repo: 'Netflix-Skunkworks/zerotodocker', path: 'java/8/Dockerfile', ref: ZERO_TO_DOCKER },
  ],
  unverified: [
    'That the Docker Hub netflixoss/eureka:1.3.1, tomcat:7.0.64 and java:8 images were built from these Dockerfiles is assumed (Netflix-Skunkworks/zerotodocker is their published source).',
    'wget is inferred from the tomcat build using it without installing it (it must come from netflixoss/java:8, presumably as a dependency of oracle-java8-installer); its presence in the final image was not observed, so it is left out of `tools` and Eureka gets no in-container healthcheck.',
    'No curl is installed by any Dockerfile of the chain and ubuntu:trusty has none; a dependency pulling it in was not ruled out.',
  ],
};

export const REGISTRY_IMAGE_FACTS: readonly ImageFacts[] = [CONSUL_IMAGE, GLIDERLABS_REGISTRATOR, IJSNELLF_REGISTRATOR, EUREKA_IMAGE];

// ---------------------------------------------------------------------------------------------
// BookInfo 1.5.0 (Istio 0.6.0 and 0.8.0)
// ---------------------------------------------------------------------------------------------

/**
 * The 1.5.0 images were pushed with istio/istio 9f670724 (2018-01-20, "update bookinfo images in
 * yamls to 1.5.0"), built by samples/bookinfo/src/build-services.sh from the Dockerfiles that are
 * identical at 9f670724, 0.6.0 and 0.8.0 (last changed 2017-10-04 and 2018-01-17). Their bases
 * are what docker-library/official-images tagged on 2018-01-20 (commit below).
 */
const BOOKINFO_1_5_0 = '9f670724fb6c5f7de818204c63e155c6d6c0706a';
const OFFICIAL_IMAGES_2018_01_20 = 'd98e97c10d270aec047ebbe0eb49c91b2d545032';

function bookinfoSources(dockerfile: string, extra: Source[]): Source[] {
  return [
    { repo: 'istio/istio', path: dockerfile, ref: '0.6.0' },
    { repo: 'istio/istio', path: dockerfile, ref: '0.8.0', note: 'Identical to 0.6.0.' },
    { repo: 'istio/istio', path: 'samples/bookinfo/src/build-services.sh', ref: BOOKINFO_1_5_0, note: 'Tags and build args of the 1.5.0 images.' },
    ...extra,
  ];
}

const BOOKINFO_BUILD_UNVERIFIED =
  'That the 1.5.0 images were built on 2018-01-20 from these files is inferred from the commit that switched the samples to 1.5.0; the exact build date (hence the base image digest) is not recorded.';

const PYTHON_SLIM: Source[] = [
  { repo: 'docker-library/official-images', path: 'library/python', ref: OFFICIAL_IMAGES_2018_01_20, note: '2.7-slim = 2.7/jessie/slim at a4ce69de.' },
  { repo: 'docker-library/python', path: '2.7/jessie/slim/Dockerfile', ref: 'a4ce69de053337ec22d7f322cd997398eeba2350', note: 'wget installed for the build and purged; no curl.' },
];

const RUBY_SLIM: Source[] = [
  { repo: 'docker-library/official-images', path: 'library/ruby', ref: OFFICIAL_IMAGES_2018_01_20, note: '2.3-slim = 2.3/jessie/slim at 9ef6f79b.' },
  { repo: 'docker-library/ruby', path: '2.3/jessie/slim/Dockerfile', ref: '9ef6f79b6a6aeab1856a8c890bbb16b1dd5e0745', note: 'FROM debian:jessie; wget only in the purged build deps; no curl.' },
];

const NODE_SLIM: Source[] = [
  { repo: 'docker-library/official-images', path: 'library/node', ref: OFFICIAL_IMAGES_2018_01_20, note: '4-slim (4.8.7) = 4/slim at 2dfcf38d.' },
  { repo: 'nodejs/docker-node', path: '4/slim/Dockerfile', ref: '2dfcf38dafc79c0e163293b8a84f4daf7c0d6898', note: 'FROM buildpack-deps:jessie-curl; only xz-utils purged.' },
  { repo: 'docker-library/buildpack-deps', path: 'jessie/curl/Dockerfile', ref: 'd662dc69f910feb241f6d0c9d2cd6cc2fb6c5e6c', note: 'debian:jessie + ca-certificates, curl, wget (+ gnupg, dirmngr).' },
];

const LIBERTY: Source[] = [
  { repo: 'docker-library/official-images', path: 'library/websphere-liberty', ref: OFFICIAL_IMAGES_2018_01_20, note: 'latest = ga/developer/javaee7 at WASdev/ci.docker 6c234c4c.' },
  { repo: 'WASdev/ci.docker', path: 'ga/developer/javaee7/Dockerfile', ref: '6c234c4c6251558d15d4bef879024caef5ceacc1', note: 'FROM websphere-liberty:webProfile7.' },
  { repo: 'WASdev/ci.docker', path: 'ga/developer/webProfile7/Dockerfile', ref: '6c234c4c6251558d15d4bef879024caef5ceacc1', note: 'FROM websphere-liberty:kernel.' },
  { repo: 'WASdev/ci.docker', path: 'ga/developer/kernel/Dockerfile', ref: '6c234c4c6251558d15d4bef879024caef5ceacc1', note: 'FROM ibmjava:8-jre; adds unzip, uses wget; Liberty 17.0.0.4 in /opt/ibm/wlp; EXPOSE 9080 9443; no USER, no WORKDIR.' },
  { repo: 'ibmruntimes/ci.docker', path: 'ibmjava/8/jre/ubuntu/Dockerfile', ref: '8d11fe57d3603fcf9e014aca252b6f345eca6561', note: 'FROM ubuntu:16.04; installs and keeps wget and ca-certificates.' },
];

export const BOOKINFO_IMAGE_FACTS: readonly ImageFacts[] = [
  {
    reference: 'docker.io/istio/examples-bookinfo-productpage-v1:1.5.0',
    // FROM python:2.7-slim; pip install -r requirements.txt (requests, flask, flask_json,
    // flask_bootstrap, json2html, simplejson, gevent); EXPOSE 9080; WORKDIR /opt/microservices.
    // Flask app.run(host='0.0.0.0', port=argv[1], debug=True, threaded=True); stdout/stderr go
    // to stdout.log / stderr.log in the working directory.
    base: 'python:2.7-slim = Python 2.7.14 on debian:jessie-slim; no curl, no wget',
    entrypoint: null,
    cmd: ['/bin/sh', '-c', 'python productpage.py 9080'],
    user: 'root',
    workdir: '/opt/microservices',
    // No curl or wget; python itself can make an HTTP request.
    tools: ['sh', 'bash', 'grep', 'env', 'cat', 'python', 'python2', 'pip'],
    programs: [
      {
        path: '/opt/microservices/productpage.py',
        // The script reads its one argument itself; described as a bare positional list.
        syntax: 'go-flag',
        flags: [],
        positionals: { kind: 'exactly', count: 1, description: 'the port to listen on' },
        // `print "usage: %s port"; sys.exit(-1)` without a port; a non-integer raises (exit 1).
        refusal: { exitCode: 255 },
        complete: true,
        sources: bookinfoSources('samples/bookinfo/src/productpage/productpage.py', []),
        unverified: [
          'productpage.py parses no flags: it ignores arguments after the port, and a port that is not an integer (one starting with `-` included) raises ValueError (exit 1); "exactly one positional" is a stricter description.',
        ],
      },
    ],
    sources: bookinfoSources('samples/bookinfo/src/productpage/Dockerfile', PYTHON_SLIM),
    unverified: [BOOKINFO_BUILD_UNVERIFIED],
  },
  {
    reference: 'docker.io/istio/examples-bookinfo-details-v1:1.5.0',
    // FROM ruby:2.3-slim; ENV SERVICE_VERSION v1 (build arg), ENABLE_EXTERNAL_BOOK_SERVICE false;
    // EXPOSE 9080; WORKDIR /opt/microservices. WEBrick on 0.0.0.0:<port>.
    base: 'ruby:2.3-slim = Ruby 2.3.6 on debian:jessie; no curl, no wget',
    entrypoint: null,
    cmd: ['/bin/sh', '-c', 'ruby details.rb 9080'],
    user: 'root',
    workdir: '/opt/microservices',
    tools: ['sh', 'bash', 'grep', 'env', 'cat', 'ruby', 'gem', 'irb'],
    programs: [
      {
        path: '/opt/microservices/details.rb',
        // The script reads its one argument itself; described as a bare positional list.
        syntax: 'go-flag',
        flags: [],
        positionals: { kind: 'exactly', count: 1, description: 'the port to listen on' },
        // `puts "usage: ... port"; exit(-1)` without a port; `Integer(ARGV[0])` raises on a non-integer (exit 1).
        refusal: { exitCode: 255 },
        complete: true,
        sources: bookinfoSources('samples/bookinfo/src/details/details.rb', []),
        unverified: [
          'details.rb parses no flags: it ignores arguments after the port, and a port that is not an integer (one starting with `-` included) raises ArgumentError (exit 1); "exactly one positional" is a stricter description.',
        ],
      },
    ],
    sources: bookinfoSources('samples/bookinfo/src/details/Dockerfile', RUBY_SLIM),
    unverified: [BOOKINFO_BUILD_UNVERIFIED],
  },
  {
    reference: 'docker.io/istio/examples-bookinfo-ratings-v1:1.5.0',
    // FROM node:4-slim; npm install (httpdispatcher 1.0.0, mongodb ^2.2.31, mysql ^2.15.0);
    // ENV SERVICE_VERSION v1; EXPOSE 9080; WORKDIR /opt/microservices.
    base: 'node:4-slim = Node 4.8.7 on buildpack-deps:jessie-curl (debian:jessie with curl and wget)',
    entrypoint: null,
    cmd: ['/bin/sh', '-c', 'node /opt/microservices/ratings.js 9080'],
    user: 'root',
    workdir: '/opt/microservices',
    tools: ['sh', 'bash', 'grep', 'env', 'cat', 'curl', 'wget', 'node', 'npm'],
    programs: [
      {
        path: '/opt/microservices/ratings.js',
        // The script reads its one argument itself; described as a bare positional list.
        syntax: 'go-flag',
        flags: [],
        // `parseInt(process.argv[2])`, unchecked.
        positionals: { kind: 'exactly', count: 1, description: 'the port to listen on' },
        refusal: { exitCode: 1 },
        complete: true,
        sources: bookinfoSources('samples/bookinfo/src/ratings/ratings.js', []),
        unverified: [
          'ratings.js never checks its arguments: without a port, or with more, it does not refuse, so there is no refusal exit code (1 is a placeholder).',
        ],
      },
    ],
    sources: bookinfoSources('samples/bookinfo/src/ratings/Dockerfile', NODE_SLIM),
    unverified: [BOOKINFO_BUILD_UNVERIFIED],
  },
  ...(['v1', 'v2', 'v3'] as const).map(
    (version): ImageFacts => ({
      reference: `docker.io/istio/examples-bookinfo-reviews-${version}:1.5.0`,
      // FROM websphere-liberty:latest; server.xml (jaxrs-2.0, jsonp-1.0, httpPort 9080, httpsPort
      // -1) into /opt/ibm/wlp/usr/servers/defaultServer; installUtility install of its features;
      // ENV SERVICE_VERSION, ENABLE_RATINGS, STAR_COLOR (v1: false/black, v2: true/black,
      // v3: true/red). No EXPOSE of its own: 9080 and 9443 from the kernel image (9443 unused).
      base: 'websphere-liberty:latest (javaee7, Liberty 17.0.0.4) on ibmjava:8-jre (ubuntu:16.04); GNU wget, no curl',
      entrypoint: null,
      cmd: ['/bin/sh', '-c', '/opt/ibm/wlp/bin/server run defaultServer'],
      user: 'root',
      tools: ['sh', 'bash', 'grep', 'env', 'cat', 'wget', 'java', 'unzip'],
      programs: [
        {
          // Liberty's launcher script, described as a bare positional list.
          path: '/opt/ibm/wlp/bin/server',
          syntax: 'go-flag',
          flags: [],
          positionals: { kind: 'exactly', count: 2, description: 'an action (run) and a server name (defaultServer)' },
          refusal: { exitCode: 1 },
          complete: false,
          sources: bookinfoSources('samples/bookinfo/src/reviews/reviews-wlpcfg/Dockerfile', []),
          unverified: ["Liberty's `server` script was not read: its other actions and options and its usage exit code are not confirmed."],
        },
      ],
      sources: bookinfoSources('samples/bookinfo/src/reviews/reviews-wlpcfg/Dockerfile', [
        { repo: 'istio/istio', path: 'samples/bookinfo/src/reviews/reviews-wlpcfg/servers/LibertyProjectServer/server.xml', ref: '0.8.0' },
        ...LIBERTY,
      ]),
      unverified: [
        BOOKINFO_BUILD_UNVERIFIED,
        'websphere-liberty:latest moved often; the chain above is the one tagged on 2018-01-20. Later kernel images added USER 1001; this one sets no USER.',
        'The base sets no WORKDIR (the working directory is /).',
      ],
    }),
  ),
];
