import type { FlagFacts, ImageFacts, PositionalRule, ProgramFacts, Source } from './types.js';

/**
 * What the Istio 0.6.0 and 0.8.0 images mesh-local renders contain, and the command line of every
 * program it starts in them.
 *
 * Read from upstream's files at the release tags: each image's Dockerfile and the Makefile rule that
 * built it (`tools/istio-docker.mk`, run by `release/cloud_builder.sh` as `make docker.save`), each
 * program's `main.go` and the option packages it attaches. Go's `flag.CommandLine` is copied into
 * the cobra root by `cmd.AddFlags`, so the packages linked into each binary were listed with
 * `go list -deps` over the tag's vendor tree (0.6.0: the `istio/vendor-istio` submodule commit;
 * 0.8.0: `vendor/`) and searched for package-level flag registrations: at 0.6.0 only the real glog
 * registers any; at 0.8.0 glog is Istio's stub (`istio/glog`, Gopkg.toml override), which
 * registers none, and nothing else does either.
 *
 * Conventions: defaults are written as pflag prints them (`1m0s`, `[Kubernetes]`); cobra adds
 * `--help`/`-h` to every command and a `help` subcommand to every command that has subcommands;
 * a Go flag with a one-letter name becomes a pflag shorthand of the same letter (pflag v1.0.0
 * `PFlagFromGoFlag`). Istio's mains exit with `os.Exit(-1)` (255) when cobra refuses the command
 * line.
 */

const ISTIO = 'istio/istio';
const VENDOR_0_6 = 'istio/vendor-istio';
/** The `vendor` submodule commit istio/istio pinned at 0.6.0. */
const VENDOR_0_6_COMMIT = '450f8bedd41fad02673c95a702987e1d700beb09';
const PROXY_REPO = 'istio/proxy';
/** istio/proxy commit the 0.6.0 proxy_debug base is tagged with (`envoy-debug:<sha>`). */
const ENVOY_DEBUG_COMMIT = '4ba2edbeebd9d6a85c49f0bf069853a85ae1d166';
const GRAFANA_DOCKER = 'grafana/grafana-docker';
/** grafana-docker master when Grafana 5.0.0-beta2 was released (Dockerfile unchanged since 2017-11-20). */
const GRAFANA_DOCKER_FEB_2018 = 'e9eda4faf3362781b64a1399c98f8c578fcecb79';
/** grafana-docker master when Grafana 5.0.4 was released (adds only `WORKDIR /`). */
const GRAFANA_DOCKER_MAR_2018 = 'e4e476b1cf65ed4b7768c2c9123db7abc87807ea';

function istio(path: string, ref: string, note?: string): Source {
  return note ? { repo: ISTIO, path, ref, note } : { repo: ISTIO, path, ref };
}

/** Exit status of an Istio main that got an error from cobra: `os.Exit(-1)`. */
const ISTIO_REFUSAL = { exitCode: 255 };
/** Go's `flag.Parse` with `ExitOnError`. */
const GO_FLAG_REFUSAL = { exitCode: 2 };

const ANY: PositionalRule = { kind: 'any' };
const NONE: PositionalRule = { kind: 'none' };

// ---------------------------------------------------------------------------------------------
// Flag sets shared between programs and versions
// ---------------------------------------------------------------------------------------------

/** Cobra (v0.0.1 at 0.6.0, v0.0.2 at 0.8.0) `InitDefaultHelpFlag`: every command accepts it. */
const HELP_FLAG: FlagFacts = { name: 'help', kind: 'bool', shorthand: 'h', default: 'false' };

/**
 * github.com/golang/glog at 23def4e6 (istio/vendor-istio@450f8bed github.com/golang/glog/glog.go
 * and glog_file.go): the Go flags glog registers in `init`. Defaults as pflag records them when
 * copying (`Value.String()` after glog's init set stderrthreshold to ERROR = 2).
 */
const GLOG_FLAG = {
  logtostderr: { name: 'logtostderr', kind: 'bool', default: 'false' },
  alsologtostderr: { name: 'alsologtostderr', kind: 'bool', default: 'false' },
  v: { name: 'v', kind: 'int', shorthand: 'v', default: '0' },
  stderrthreshold: { name: 'stderrthreshold', kind: 'string', default: '2' },
  vmodule: { name: 'vmodule', kind: 'string' },
  log_backtrace_at: { name: 'log_backtrace_at', kind: 'string', default: ':0' },
  log_dir: { name: 'log_dir', kind: 'string' },
} satisfies Record<string, FlagFacts>;

/** Every glog flag: what mixs (`AddGoFlagSet`) and istio_ca (`cmd.InitializeFlags`) copy at 0.6.0. */
const GLOG_FLAGS_0_6: FlagFacts[] = Object.values(GLOG_FLAG);

/**
 * pilot/cmd/cmd.go `AddFlags` at 0.6.0 copies every Go flag except logtostderr (forced to true),
 * alsologtostderr, log_dir and stderrthreshold, which it leaves out.
 */
const PILOT_GLOG_FLAGS_0_6: FlagFacts[] = [GLOG_FLAG.v, GLOG_FLAG.vmodule, GLOG_FLAG.log_backtrace_at];

/** pkg/log/options.go at 0.6.0 (`NewOptions` + `AttachCobraFlags`), root persistent flags. */
const LOG_FLAGS_0_6: FlagFacts[] = [
  { name: 'log_target', kind: 'stringArray', default: '[stdout]' },
  { name: 'log_rotate', kind: 'string' },
  { name: 'log_rotate_max_age', kind: 'int', default: '30' },
  { name: 'log_rotate_max_size', kind: 'int', default: '104857600' },
  { name: 'log_rotate_max_backups', kind: 'int', default: '1000' },
  { name: 'log_as_json', kind: 'bool', default: 'false' },
  { name: 'log_output_level', kind: 'string', default: 'info' },
  { name: 'log_callers', kind: 'bool', default: 'false' },
  { name: 'log_stacktrace_level', kind: 'string', default: 'none' },
];

/**
 * pkg/log/options.go at 0.8.0 (`DefaultOptions` + `AttachCobraFlags`). The last four are dummies
 * kept for old command lines: accepted, marked deprecated (a warning on stderr), and ignored.
 */
const LOG_FLAGS_0_8: FlagFacts[] = [
  { name: 'log_target', kind: 'stringArray', default: '[stdout]' },
  { name: 'log_rotate', kind: 'string' },
  { name: 'log_rotate_max_age', kind: 'int', default: '30' },
  { name: 'log_rotate_max_size', kind: 'int', default: '104857600' },
  { name: 'log_rotate_max_backups', kind: 'int', default: '1000' },
  { name: 'log_as_json', kind: 'bool', default: 'false' },
  { name: 'log_output_level', kind: 'string', default: 'default:info' },
  { name: 'log_stacktrace_level', kind: 'string', default: 'default:none' },
  { name: 'log_caller', kind: 'string' },
  { name: 'v', kind: 'string', shorthand: 'v' },
  { name: 'stderrthreshold', kind: 'string' },
  { name: 'alsologtostderr', kind: 'bool', default: 'false' },
  { name: 'logtostderr', kind: 'bool', default: 'false' },
];

/** pkg/ctrlz/options.go at 0.8.0 (`DefaultOptions` + `AttachCobraFlags`). */
const CTRLZ_FLAGS_0_8: FlagFacts[] = [
  { name: 'ctrlz_port', kind: 'uint', default: '9876' },
  { name: 'ctrlz_address', kind: 'string', default: '127.0.0.1' },
];

/** pkg/tracing/options.go at 0.6.0; the last four are hidden, deprecated aliases that still work. */
const TRACING_FLAGS_0_6: FlagFacts[] = [
  { name: 'trace_zipkin_url', kind: 'string' },
  { name: 'trace_jaeger_url', kind: 'string' },
  { name: 'trace_log_spans', kind: 'bool', default: 'false' },
  { name: 'traceOutput', kind: 'string' },
  { name: 'zipkinURL', kind: 'string' },
  { name: 'jaegerURL', kind: 'string' },
  { name: 'logTraceSpans', kind: 'bool', default: 'false' },
];

/** pkg/tracing/options.go at 0.8.0: the deprecated aliases are gone. */
const TRACING_FLAGS_0_8: FlagFacts[] = [
  { name: 'trace_zipkin_url', kind: 'string' },
  { name: 'trace_jaeger_url', kind: 'string' },
  { name: 'trace_log_spans', kind: 'bool', default: 'false' },
];

/** pkg/version/cobra.go (same at 0.6.0 and 0.8.0): `version [-s]`. */
const VERSION_SUBCOMMAND = {
  flags: [{ name: 'short', kind: 'bool', shorthand: 's', default: 'false' }] as FlagFacts[],
  positionals: ANY,
};

/** pkg/collateral/cobra.go (same at 0.6.0 and 0.8.0): hidden `collateral` doc generator. */
const COLLATERAL_SUBCOMMAND = {
  flags: [
    { name: 'outputDir', kind: 'string', shorthand: 'o', default: '.' },
    { name: 'all', kind: 'bool', default: 'false' },
    { name: 'markdown', kind: 'bool', default: 'false' },
    { name: 'man', kind: 'bool', default: 'false' },
    { name: 'bash', kind: 'bool', default: 'false' },
    { name: 'yaml', kind: 'bool', default: 'false' },
    { name: 'jekyll_html', kind: 'bool', default: 'false' },
  ] as FlagFacts[],
  positionals: ANY,
};

/** Cobra's `help [command]`. */
const HELP_SUBCOMMAND = { flags: [] as FlagFacts[], positionals: ANY };

/** The `probe` subcommand of mixs (mixer/cmd/mixs/cmd/probe.go) and istio_ca (security/pkg/cmd/probe.go). */
const PROBE_FLAGS: FlagFacts[] = [
  { name: 'probe-path', kind: 'string' },
  { name: 'interval', kind: 'duration', default: '0s' },
];

/** Sources every cobra-based Istio program at a tag shares. */
function cobraSources(ref: string): Source[] {
  return [
    istio('pkg/log/options.go', ref, 'logging flags'),
    istio('pkg/version/cobra.go', ref),
    istio('pkg/collateral/cobra.go', ref),
    ref === '0.6.0'
      ? {
          repo: VENDOR_0_6,
          path: 'github.com/golang/glog/glog.go',
          ref: VENDOR_0_6_COMMIT,
          note: 'real glog: registers v, logtostderr, alsologtostderr, stderrthreshold, vmodule, log_backtrace_at (log_dir in glog_file.go)',
        }
      : istio('Gopkg.toml', ref, 'github.com/golang/glog overridden by istio/glog, a stub that registers no flags'),
    ref === '0.6.0'
      ? { repo: VENDOR_0_6, path: 'github.com/spf13/pflag/golangflag.go', ref: VENDOR_0_6_COMMIT, note: 'a one-letter Go flag becomes a shorthand' }
      : istio('vendor/github.com/spf13/pflag/golangflag.go', ref, 'a one-letter Go flag becomes a shorthand'),
    ref === '0.6.0'
      ? { repo: VENDOR_0_6, path: 'github.com/spf13/cobra/command.go', ref: VENDOR_0_6_COMMIT, note: 'help flag and help command' }
      : istio('vendor/github.com/spf13/cobra/command.go', ref, 'help flag and help command'),
  ];
}

// ---------------------------------------------------------------------------------------------
// Tools on PATH in the non-scratch bases
// ---------------------------------------------------------------------------------------------

/** What ubuntu:xenial itself has that a script would call (dash, bash, coreutils, grep, sed, mawk, login). */
const UBUNTU_XENIAL_TOOLS = ['sh', 'bash', 'env', 'cat', 'id', 'grep', 'sed', 'awk', 'su'];
/** What debian:jessie itself has that a script would call (same essential set as Ubuntu's). */
const DEBIAN_JESSIE_TOOLS = ['sh', 'bash', 'env', 'cat', 'id', 'grep', 'sed', 'awk', 'su'];
/** The iptables package (xenial). */
const IPTABLES_TOOLS = ['iptables', 'iptables-save', 'iptables-restore', 'ip6tables', 'ip6tables-save', 'ip6tables-restore'];
/** The iproute2 package. */
const IPROUTE2_TOOLS = ['ip', 'ss'];
/**
 * The debug package list shared by istio/proxy docker/Dockerfile.debug (envoy-debug) and istio/istio
 * docker/Dockerfile.xenial_debug (istionightly/base_debug): curl, iptables, iproute2, iputils-ping,
 * dnsutils, netcat, tcpdump, net-tools, gdb, elvis-tiny, lsof, busybox, sudo. busybox is installed
 * without applet links, so `wget` is reachable only as `busybox wget`.
 */
const DEBUG_BASE_TOOLS = [
  ...UBUNTU_XENIAL_TOOLS,
  'curl',
  ...IPTABLES_TOOLS,
  ...IPROUTE2_TOOLS,
  'ping',
  'dig',
  'nslookup',
  'host',
  'nc',
  'tcpdump',
  'netstat',
  'ifconfig',
  'route',
  'gdb',
  'lsof',
  'busybox',
  'sudo',
];

const XENIAL_BASE_UNVERIFIED =
  'The commands ubuntu:xenial itself provides (sh, bash, env, cat, id, grep, sed, awk, su) are from Ubuntu\'s essential packages, not read from a file.';
const BASE_DEBUG_UNVERIFIED =
  'istionightly/base_debug is an untagged image pushed by hand (`make docker.push.basedebug`); its contents when 0.8.0 was built are taken from docker/Dockerfile.xenial_debug at 0.8.0 (last changed 2018-03-10).';
const BUSYBOX_UNVERIFIED = 'Whether the xenial busybox build has the wget applet (`busybox wget`) was not checked; `wget` itself is not on PATH.';

// ---------------------------------------------------------------------------------------------
// pilot-discovery
// ---------------------------------------------------------------------------------------------

/** pilot/cmd/pilot-discovery/main.go at 0.6.0: flags of `discovery`. */
const DISCOVERY_FLAGS_0_6: FlagFacts[] = [
  { name: 'registries', kind: 'stringSlice', default: '[Kubernetes]' },
  { name: 'cfConfig', kind: 'string' },
  { name: 'clusterRegistriesDir', kind: 'string' },
  { name: 'kubeconfig', kind: 'string' },
  { name: 'meshConfig', kind: 'string', default: '/etc/istio/config/mesh' },
  { name: 'namespace', kind: 'string', shorthand: 'n' },
  { name: 'configDir', kind: 'string' },
  { name: 'appNamespace', kind: 'string', shorthand: 'a' },
  { name: 'resync', kind: 'duration', default: '1m0s' },
  { name: 'domain', kind: 'string', default: 'cluster.local' },
  { name: 'port', kind: 'int', default: '8080' },
  { name: 'monitoringPort', kind: 'int', default: '9093' },
  { name: 'profile', kind: 'bool', default: 'true' },
  { name: 'discovery_cache', kind: 'bool', default: 'true' },
  { name: 'webhookEndpoint', kind: 'string' },
  { name: 'consulconfig', kind: 'string' },
  { name: 'consulserverURL', kind: 'string' },
  { name: 'consulserverInterval', kind: 'duration', default: '2s' },
  { name: 'eurekaserverURL', kind: 'string' },
  { name: 'eurekaserverInterval', kind: 'duration', default: '2s' },
  { name: 'admission-webhook-name', kind: 'string', default: 'pilot-webhook.istio.io' },
  { name: 'admission-service', kind: 'string', default: 'istio-pilot' },
  { name: 'admission-service-port', kind: 'int', default: '443' },
  { name: 'admission-secret', kind: 'string', default: 'pilot-webhook' },
  { name: 'admission-registration-delay', kind: 'duration', default: '0s' },
];

/** pilot/cmd/pilot-discovery/main.go at 0.8.0: flags of `discovery` (no `--httpAddr`: `--port` is the HTTP port). */
const DISCOVERY_FLAGS_0_8: FlagFacts[] = [
  { name: 'registries', kind: 'stringSlice', default: '[Kubernetes]' },
  { name: 'cfConfig', kind: 'string' },
  { name: 'clusterRegistriesConfigMap', kind: 'string' },
  { name: 'clusterRegistriesNamespace', kind: 'string', default: 'istio-system' },
  { name: 'kubeconfig', kind: 'string' },
  { name: 'meshConfig', kind: 'string', default: '/etc/istio/config/mesh' },
  { name: 'namespace', kind: 'string', shorthand: 'n' },
  { name: 'configDir', kind: 'string' },
  { name: 'appNamespace', kind: 'string', shorthand: 'a' },
  { name: 'resync', kind: 'duration', default: '1m0s' },
  { name: 'domain', kind: 'string', default: 'cluster.local' },
  { name: 'consulserverURL', kind: 'string' },
  { name: 'consulserverInterval', kind: 'duration', default: '2s' },
  { name: 'eurekaserverURL', kind: 'string' },
  { name: 'eurekaserverInterval', kind: 'duration', default: '2s' },
  { name: 'port', kind: 'int', default: '8080' },
  { name: 'grpcAddr', kind: 'string', default: ':15010' },
  { name: 'secureGrpcAddr', kind: 'string', default: ':15012' },
  { name: 'monitoringPort', kind: 'int', default: '9093' },
  { name: 'profile', kind: 'bool', default: 'true' },
  { name: 'discovery_cache', kind: 'bool', default: 'true' },
  { name: 'webhookEndpoint', kind: 'string' },
];

const PILOT_DISCOVERY_0_6: ProgramFacts = {
  path: '/usr/local/bin/pilot-discovery',
  syntax: 'pflag',
  flags: [HELP_FLAG, ...LOG_FLAGS_0_6, ...PILOT_GLOG_FLAGS_0_6],
  subcommands: {
    discovery: { flags: DISCOVERY_FLAGS_0_6, positionals: ANY },
    version: VERSION_SUBCOMMAND,
    collateral: COLLATERAL_SUBCOMMAND,
    help: HELP_SUBCOMMAND,
  },
  refusal: ISTIO_REFUSAL,
  complete: true,
  sources: [
    istio('pilot/cmd/pilot-discovery/main.go', '0.6.0'),
    istio('pilot/cmd/cmd.go', '0.6.0', 'AddFlags: Go flags except logtostderr, alsologtostderr, log_dir, stderrthreshold'),
    ...cobraSources('0.6.0'),
  ],
};

const PILOT_DISCOVERY_0_8: ProgramFacts = {
  path: '/usr/local/bin/pilot-discovery',
  syntax: 'pflag',
  flags: [HELP_FLAG, ...LOG_FLAGS_0_8, ...CTRLZ_FLAGS_0_8],
  subcommands: {
    discovery: { flags: DISCOVERY_FLAGS_0_8, positionals: ANY },
    version: VERSION_SUBCOMMAND,
    collateral: COLLATERAL_SUBCOMMAND,
    help: HELP_SUBCOMMAND,
  },
  refusal: ISTIO_REFUSAL,
  complete: true,
  sources: [
    istio('pilot/cmd/pilot-discovery/main.go', '0.8.0'),
    istio('pkg/cmd/cmd.go', '0.8.0', 'AddFlags copies every Go flag; none are registered at 0.8.0'),
    istio('pkg/ctrlz/options.go', '0.8.0'),
    ...cobraSources('0.8.0'),
  ],
};

// ---------------------------------------------------------------------------------------------
// pilot-agent
// ---------------------------------------------------------------------------------------------

/** pilot/cmd/pilot-agent/main.go at 0.6.0: flags of `proxy`; defaults from pilot/pkg/model/context.go DefaultProxyConfig. */
const PROXY_FLAGS_0_6: FlagFacts[] = [
  { name: 'serviceregistry', kind: 'string', default: 'Kubernetes' },
  { name: 'ip', kind: 'string' },
  { name: 'id', kind: 'string' },
  { name: 'domain', kind: 'string' },
  { name: 'configPath', kind: 'string', default: '/etc/istio/proxy' },
  { name: 'binaryPath', kind: 'string', default: '/usr/local/bin/envoy' },
  { name: 'serviceCluster', kind: 'string', default: 'istio-proxy' },
  { name: 'availabilityZone', kind: 'string' },
  { name: 'drainDuration', kind: 'duration', default: '2s' },
  { name: 'parentShutdownDuration', kind: 'duration', default: '3s' },
  { name: 'discoveryAddress', kind: 'string', default: 'istio-pilot:15003' },
  { name: 'discoveryRefreshDelay', kind: 'duration', default: '1s' },
  { name: 'zipkinAddress', kind: 'string' },
  { name: 'connectTimeout', kind: 'duration', default: '1s' },
  { name: 'statsdUdpAddress', kind: 'string' },
  { name: 'proxyAdminPort', kind: 'int', default: '15000' },
  { name: 'controlPlaneAuthPolicy', kind: 'string', default: 'NONE' },
  { name: 'customConfigFile', kind: 'string' },
  { name: 'proxyLogLevel', kind: 'string', default: 'info' },
  { name: 'concurrency', kind: 'int', default: '0' },
  { name: 'bootstrapv2', kind: 'bool', default: 'true' },
];

/** pilot/cmd/pilot-agent/main.go at 0.8.0: flags of `proxy`. */
const PROXY_FLAGS_0_8: FlagFacts[] = [
  ...PROXY_FLAGS_0_6.map((flag): FlagFacts => {
    if (flag.name === 'discoveryAddress') return { ...flag, default: 'istio-pilot:15007' };
    if (flag.name === 'proxyLogLevel') return { ...flag, default: 'warn' };
    return flag;
  }),
  { name: 'templateFile', kind: 'string' },
  { name: 'disableInternalTelemetry', kind: 'bool', default: 'false' },
];

const PILOT_AGENT_0_6: ProgramFacts = {
  path: '/usr/local/bin/pilot-agent',
  syntax: 'pflag',
  flags: [HELP_FLAG, ...LOG_FLAGS_0_6, ...PILOT_GLOG_FLAGS_0_6],
  subcommands: {
    // The optional positional is the node type (sidecar, the default; ingress; router).
    proxy: { flags: PROXY_FLAGS_0_6, positionals: ANY },
    version: VERSION_SUBCOMMAND,
    collateral: COLLATERAL_SUBCOMMAND,
    help: HELP_SUBCOMMAND,
  },
  refusal: ISTIO_REFUSAL,
  complete: true,
  sources: [
    istio('pilot/cmd/pilot-agent/main.go', '0.6.0'),
    istio('pilot/pkg/model/context.go', '0.6.0', 'DefaultProxyConfig: flag defaults, proxyAdminPort 15000'),
    istio('pilot/cmd/cmd.go', '0.6.0'),
    ...cobraSources('0.6.0'),
  ],
};

const PILOT_AGENT_0_8: ProgramFacts = {
  path: '/usr/local/bin/pilot-agent',
  syntax: 'pflag',
  flags: [HELP_FLAG, ...LOG_FLAGS_0_8],
  subcommands: {
    proxy: { flags: PROXY_FLAGS_0_8, positionals: ANY },
    version: VERSION_SUBCOMMAND,
    collateral: COLLATERAL_SUBCOMMAND,
    help: HELP_SUBCOMMAND,
  },
  refusal: ISTIO_REFUSAL,
  complete: true,
  sources: [
    istio('pilot/cmd/pilot-agent/main.go', '0.8.0'),
    istio('pilot/pkg/model/context.go', '0.8.0', 'DefaultProxyConfig: flag defaults, proxyAdminPort 15000'),
    istio('pkg/cmd/cmd.go', '0.8.0'),
    ...cobraSources('0.8.0'),
  ],
};

// ---------------------------------------------------------------------------------------------
// proxy_init scripts
// ---------------------------------------------------------------------------------------------

/**
 * pilot/docker/prepare_proxy.sh at 0.6.0: `getopts ":p:u:e:i:h"`. The leading colon silences
 * getopts: an unknown option reaches `\?` (message, usage, exit 1); a missing argument is ignored.
 * `-e` is accepted and its value ignored. Exits 1 as well when -p or -u is missing.
 */
const PREPARE_PROXY_0_6: ProgramFacts = {
  path: '/usr/local/bin/prepare_proxy.sh',
  syntax: 'getopts',
  optstring: ':p:u:e:i:h',
  flags: [
    { name: 'p', kind: 'string' },
    { name: 'u', kind: 'string' },
    { name: 'e', kind: 'string' },
    { name: 'i', kind: 'string' },
    { name: 'h', kind: 'bool' },
  ],
  positionals: ANY,
  refusal: { exitCode: 1 },
  complete: true,
  sources: [istio('pilot/docker/prepare_proxy.sh', '0.6.0'), istio('pilot/docker/Dockerfile.proxy_init', '0.6.0')],
};

/**
 * tools/deb/istio-iptables.sh at 0.8.0 (copied into the image by tools/istio-docker.mk):
 * `getopts ":p:u:m:b:d:i:x:h"`, unknown option exits 1. Captures inbound only with -b and
 * outbound only with -i; flushes its own chains first; `clean` as the first argument only flushes.
 */
const ISTIO_IPTABLES_0_8: ProgramFacts = {
  path: '/usr/local/bin/istio-iptables.sh',
  syntax: 'getopts',
  optstring: ':p:u:m:b:d:i:x:h',
  flags: [
    { name: 'p', kind: 'string', default: '15001' },
    { name: 'u', kind: 'string' },
    { name: 'm', kind: 'string' },
    { name: 'b', kind: 'string' },
    { name: 'd', kind: 'string' },
    { name: 'i', kind: 'string' },
    { name: 'x', kind: 'string' },
    { name: 'h', kind: 'bool' },
  ],
  positionals: ANY,
  refusal: { exitCode: 1 },
  complete: true,
  sources: [
    istio('tools/deb/istio-iptables.sh', '0.8.0'),
    istio('pilot/docker/Dockerfile.proxy_init', '0.8.0'),
    istio('tools/istio-docker.mk', '0.8.0', 'docker.proxy_init copies tools/deb/istio-iptables.sh'),
  ],
};

// ---------------------------------------------------------------------------------------------
// mixs
// ---------------------------------------------------------------------------------------------

/** mixer/cmd/mixs/cmd/server.go at 0.6.0 (defaults from mixer/pkg/server/args.go NewArgs). */
const MIXS_SERVER_FLAGS_0_6: FlagFacts[] = [
  { name: 'port', kind: 'uint', shorthand: 'p', default: '9091' },
  { name: 'monitoringPort', kind: 'uint', default: '9093' },
  { name: 'maxMessageSize', kind: 'uint', default: '1048576' },
  { name: 'maxConcurrentStreams', kind: 'uint', default: '1024' },
  { name: 'apiWorkerPoolSize', kind: 'int', default: '1024' },
  { name: 'adapterWorkerPoolSize', kind: 'int', default: '1024' },
  { name: 'expressionEvalCacheSize', kind: 'int', default: '1024' },
  { name: 'useNewRuntime', kind: 'bool', default: 'true' },
  { name: 'singleThreaded', kind: 'bool', default: 'false' },
  { name: 'configStoreURL', kind: 'string' },
  { name: 'configDefaultNamespace', kind: 'string', default: 'istio-system' },
  { name: 'configIdentityAttribute', kind: 'string', default: 'destination.service' },
  { name: 'configIdentityAttributeDomain', kind: 'string', default: 'svc.cluster.local' },
  { name: 'livenessProbePath', kind: 'string' },
  { name: 'livenessProbeInterval', kind: 'duration', default: '0s' },
  { name: 'readinessProbePath', kind: 'string' },
  { name: 'readinessProbeInterval', kind: 'duration', default: '0s' },
  { name: 'profile', kind: 'bool', default: 'true' },
  // Hidden, deprecated, ignored (configStore2URL sets configStoreURL).
  { name: 'configStore2URL', kind: 'string' },
  { name: 'serviceConfigFile', kind: 'string' },
  { name: 'globalConfigFile', kind: 'string' },
  { name: 'configAPIPort', kind: 'uint', default: '0' },
  { name: 'configFetchInterval', kind: 'uint', default: '0' },
  ...LOG_FLAGS_0_6,
  ...TRACING_FLAGS_0_6,
];

/** mixer/cmd/mixs/cmd/server.go at 0.8.0 (defaults from mixer/pkg/server/args.go DefaultArgs). */
const MIXS_SERVER_FLAGS_0_8: FlagFacts[] = [
  { name: 'port', kind: 'uint', shorthand: 'p', default: '9091' },
  // `tcp://0.0.0.0:9091`, `unix:///path`, or `host:port`; overrides --port when set.
  { name: 'address', kind: 'string' },
  { name: 'monitoringPort', kind: 'uint', default: '9093' },
  { name: 'maxMessageSize', kind: 'uint', default: '1048576' },
  { name: 'maxConcurrentStreams', kind: 'uint', default: '1024' },
  { name: 'apiWorkerPoolSize', kind: 'int', default: '1024' },
  { name: 'adapterWorkerPoolSize', kind: 'int', default: '1024' },
  { name: 'singleThreaded', kind: 'bool', default: 'false' },
  { name: 'configStoreURL', kind: 'string' },
  { name: 'configDefaultNamespace', kind: 'string', default: 'istio-system' },
  { name: 'configIdentityAttribute', kind: 'string', default: 'destination.service' },
  { name: 'configIdentityAttributeDomain', kind: 'string', default: 'svc.cluster.local' },
  { name: 'livenessProbePath', kind: 'string' },
  { name: 'livenessProbeInterval', kind: 'duration', default: '0s' },
  { name: 'readinessProbePath', kind: 'string' },
  { name: 'readinessProbeInterval', kind: 'duration', default: '0s' },
  { name: 'profile', kind: 'bool', default: 'true' },
  ...LOG_FLAGS_0_8,
  ...TRACING_FLAGS_0_8,
  ...CTRLZ_FLAGS_0_8,
];

/**
 * `mixs crd` is not runnable itself; it needs one of its own subcommands (`all`, `adapter`,
 * `instance`, none of which has flags), modelled here as one required positional.
 */
const MIXS_CRD_SUBCOMMAND = {
  flags: [] as FlagFacts[],
  positionals: { kind: 'exactly', count: 1, description: 'one of all, adapter, instance' } as PositionalRule,
};

/** mixer/cmd/mixs/cmd/validator.go at 0.6.0 (removed by 0.8.0). The misspelt name is upstream's. */
const MIXS_VALIDATOR_FLAGS_0_6: FlagFacts[] = [
  { name: 'external-admission-webook-name', kind: 'string', default: 'mixer-webhook.istio.io' },
  { name: 'namespace', kind: 'string', default: 'istio-system' },
  { name: 'webhook-name', kind: 'string', default: 'istio-mixer-webhook' },
  { name: 'target-namespaces', kind: 'stringArray', default: '[]' },
  { name: 'port', kind: 'int', shorthand: 'p', default: '9099' },
  { name: 'secret-name', kind: 'string' },
  { name: 'registration-delay', kind: 'duration', default: '5s' },
  { name: 'kubeconfig', kind: 'string' },
];

const MIXS_0_6: ProgramFacts = {
  path: '/usr/local/bin/mixs',
  syntax: 'pflag',
  // The root copies all of Go's flag.CommandLine (glog) into its persistent flags.
  flags: [HELP_FLAG, ...GLOG_FLAGS_0_6],
  subcommands: {
    // The root's PersistentPreRunE refuses any positional argument ("'x' is an invalid argument").
    server: { flags: MIXS_SERVER_FLAGS_0_6, positionals: NONE },
    crd: MIXS_CRD_SUBCOMMAND,
    validator: { flags: MIXS_VALIDATOR_FLAGS_0_6, positionals: NONE },
    probe: { flags: [...LOG_FLAGS_0_6, ...PROBE_FLAGS], positionals: NONE },
    version: { ...VERSION_SUBCOMMAND, positionals: NONE },
    collateral: { ...COLLATERAL_SUBCOMMAND, positionals: NONE },
    help: { ...HELP_SUBCOMMAND, positionals: NONE },
  },
  refusal: ISTIO_REFUSAL,
  complete: true,
  sources: [
    istio('mixer/cmd/mixs/main.go', '0.6.0', 'os.Exit(-1) on error'),
    istio('mixer/cmd/mixs/cmd/root.go', '0.6.0'),
    istio('mixer/cmd/mixs/cmd/server.go', '0.6.0'),
    istio('mixer/pkg/server/args.go', '0.6.0', 'NewArgs defaults'),
    istio('mixer/cmd/mixs/cmd/crd.go', '0.6.0'),
    istio('mixer/cmd/mixs/cmd/validator.go', '0.6.0'),
    istio('mixer/cmd/mixs/cmd/probe.go', '0.6.0'),
    istio('pkg/tracing/options.go', '0.6.0'),
    istio('mixer/adapter/prometheus/server.go', '0.6.0', 'the prometheus adapter serves :42422'),
    ...cobraSources('0.6.0'),
  ],
};

const MIXS_0_8: ProgramFacts = {
  path: '/usr/local/bin/mixs',
  syntax: 'pflag',
  // The root copies Go's flag.CommandLine, which is empty at 0.8.0.
  flags: [HELP_FLAG],
  subcommands: {
    server: { flags: MIXS_SERVER_FLAGS_0_8, positionals: NONE },
    crd: MIXS_CRD_SUBCOMMAND,
    probe: { flags: [...LOG_FLAGS_0_8, ...PROBE_FLAGS], positionals: NONE },
    version: { ...VERSION_SUBCOMMAND, positionals: NONE },
    collateral: { ...COLLATERAL_SUBCOMMAND, positionals: NONE },
    help: { ...HELP_SUBCOMMAND, positionals: NONE },
  },
  refusal: ISTIO_REFUSAL,
  complete: true,
  sources: [
    istio('mixer/cmd/mixs/main.go', '0.8.0', 'os.Exit(-1) on error'),
    istio('mixer/cmd/mixs/cmd/root.go', '0.8.0'),
    istio('mixer/cmd/mixs/cmd/server.go', '0.8.0'),
    istio('mixer/pkg/server/args.go', '0.8.0', 'DefaultArgs defaults'),
    istio('mixer/pkg/server/server.go', '0.8.0', '--address "network://address"; empty means ":<port>" over tcp'),
    istio('mixer/cmd/mixs/cmd/crd.go', '0.8.0'),
    istio('mixer/cmd/mixs/cmd/probe.go', '0.8.0'),
    istio('pkg/tracing/options.go', '0.8.0'),
    istio('pkg/ctrlz/options.go', '0.8.0'),
    istio('mixer/adapter/prometheus/server.go', '0.8.0', 'the prometheus adapter serves :42422'),
    ...cobraSources('0.8.0'),
  ],
};

// ---------------------------------------------------------------------------------------------
// istio_ca
// ---------------------------------------------------------------------------------------------

/** security/cmd/istio_ca/main.go at 0.6.0: the root command's own (local) flags. */
const ISTIO_CA_FLAGS_0_6: FlagFacts[] = [
  { name: 'listened-namespace', kind: 'string' },
  { name: 'istio-ca-storage-namespace', kind: 'string', default: 'istio-system' },
  { name: 'kube-config', kind: 'string' },
  { name: 'cert-chain', kind: 'string' },
  { name: 'signing-cert', kind: 'string' },
  { name: 'signing-key', kind: 'string' },
  { name: 'root-cert', kind: 'string' },
  { name: 'self-signed-ca', kind: 'bool', default: 'false' },
  { name: 'self-signed-ca-org', kind: 'string', default: 'k8s.cluster.local' },
  { name: 'self-signed-ca-cert-ttl', kind: 'duration', default: '8760h0m0s' },
  { name: 'workload-cert-ttl', kind: 'duration', default: '19h0m0s' },
  { name: 'max-workload-cert-ttl', kind: 'duration', default: '168h0m0s' },
  { name: 'workload-cert-grace-period-ratio', kind: 'float', default: '0.5' },
  { name: 'workload-cert-min-grace-period', kind: 'duration', default: '10m0s' },
  { name: 'grpc-hostname', kind: 'string', default: 'localhost' },
  // 0 means the CA serves no gRPC at all.
  { name: 'grpc-port', kind: 'int', default: '0' },
  { name: 'upstream-ca-address', kind: 'string' },
  { name: 'upstream-ca-cert-file', kind: 'string' },
  { name: 'upstream-auth', kind: 'string', default: 'mtls' },
  { name: 'liveness-probe-path', kind: 'string' },
  { name: 'liveness-probe-interval', kind: 'duration', default: '0s' },
  { name: 'probe-check-interval', kind: 'duration', default: '30s' },
];

/** security/cmd/istio_ca/main.go at 0.8.0 (Citadel): the root command's own (local) flags. */
const ISTIO_CA_FLAGS_0_8: FlagFacts[] = [
  { name: 'listened-namespace', kind: 'string' },
  { name: 'citadel-storage-namespace', kind: 'string', default: 'istio-system' },
  { name: 'kube-config', kind: 'string' },
  { name: 'cert-chain', kind: 'string' },
  { name: 'signing-cert', kind: 'string' },
  { name: 'signing-key', kind: 'string' },
  { name: 'root-cert', kind: 'string' },
  { name: 'self-signed-ca', kind: 'bool', default: 'false' },
  { name: 'self-signed-ca-org', kind: 'string', default: 'k8s.cluster.local' },
  { name: 'self-signed-ca-cert-ttl', kind: 'duration', default: '8760h0m0s' },
  { name: 'upstream-ca-address', kind: 'string' },
  { name: 'org', kind: 'string' },
  { name: 'requested-ca-cert-ttl', kind: 'duration', default: '8760h0m0s' },
  { name: 'key-size', kind: 'int', default: '2048' },
  { name: 'workload-cert-ttl', kind: 'duration', default: '2160h0m0s' },
  { name: 'max-workload-cert-ttl', kind: 'duration', default: '2160h0m0s' },
  { name: 'workload-cert-grace-period-ratio', kind: 'float', default: '0.5' },
  { name: 'workload-cert-min-grace-period', kind: 'duration', default: '10m0s' },
  // "DEPRECATED, use --grpc-host-identites.": parsed, but nothing reads it (main.go 111, 223).
  { name: 'grpc-hostname', kind: 'string', default: 'istio-ca' },
  { name: 'grpc-host-identities', kind: 'string', default: 'istio-ca,istio-citadel' },
  { name: 'grpc-port', kind: 'int', default: '8060' },
  { name: 'sign-ca-certs', kind: 'bool', default: 'false' },
  { name: 'monitoring-port', kind: 'int', default: '9093' },
  { name: 'enable-profiling', kind: 'bool', default: 'false' },
  { name: 'liveness-probe-path', kind: 'string' },
  { name: 'liveness-probe-interval', kind: 'duration', default: '0s' },
  { name: 'probe-check-interval', kind: 'duration', default: '30s' },
  { name: 'append-dns-names', kind: 'bool', default: 'true' },
  { name: 'custom-dns-names', kind: 'string' },
];

const ISTIO_CA_LOCAL_FLAGS_NOTE =
  'The CA flags are the root command\'s local flags (rootCmd.Flags()): the version, collateral and probe subcommands do not accept them, which the `flags` field cannot express.';

const ISTIO_CA_0_6: ProgramFacts = {
  path: '/usr/local/bin/istio_ca',
  syntax: 'pflag',
  // security/pkg/cmd/flag.go InitializeFlags copies every Go flag (all of glog).
  flags: [HELP_FLAG, ...ISTIO_CA_FLAGS_0_6, ...LOG_FLAGS_0_6, ...GLOG_FLAGS_0_6],
  // The root is runnable and has subcommands: cobra refuses any other positional as an unknown command.
  rootRuns: true,
  positionals: NONE,
  subcommands: {
    version: VERSION_SUBCOMMAND,
    collateral: COLLATERAL_SUBCOMMAND,
    probe: { flags: PROBE_FLAGS, positionals: ANY },
    help: HELP_SUBCOMMAND,
  },
  refusal: ISTIO_REFUSAL,
  complete: true,
  sources: [
    istio('security/cmd/istio_ca/main.go', '0.6.0'),
    istio('security/pkg/cmd/flag.go', '0.6.0'),
    istio('security/pkg/cmd/probe.go', '0.6.0'),
    ...cobraSources('0.6.0'),
  ],
  unverified: [ISTIO_CA_LOCAL_FLAGS_NOTE],
};

const ISTIO_CA_0_8: ProgramFacts = {
  path: '/usr/local/bin/istio_ca',
  syntax: 'pflag',
  flags: [HELP_FLAG, ...ISTIO_CA_FLAGS_0_8, ...LOG_FLAGS_0_8],
  // As at 0.6.0: the root runs (the CA) and also has subcommands.
  rootRuns: true,
  positionals: NONE,
  subcommands: {
    version: VERSION_SUBCOMMAND,
    collateral: COLLATERAL_SUBCOMMAND,
    probe: { flags: PROBE_FLAGS, positionals: ANY },
    help: HELP_SUBCOMMAND,
  },
  refusal: ISTIO_REFUSAL,
  complete: true,
  sources: [
    istio('security/cmd/istio_ca/main.go', '0.8.0'),
    istio('security/pkg/cmd/flag.go', '0.8.0'),
    istio('security/pkg/cmd/probe.go', '0.8.0'),
    ...cobraSources('0.8.0'),
  ],
  unverified: [ISTIO_CA_LOCAL_FLAGS_NOTE],
};

// ---------------------------------------------------------------------------------------------
// Add-ons
// ---------------------------------------------------------------------------------------------

/** addons/servicegraph/cmd/server/main.go (identical at 0.6.0 and 0.8.0): Go flags, `flag.Parse()`. */
function servicegraph(ref: string): ProgramFacts {
  return {
    path: '/usr/local/bin/servicegraph',
    syntax: 'go-flag',
    flags: [
      { name: 'bindAddr', kind: 'string', default: ':8088' },
      { name: 'prometheusAddr', kind: 'string', default: 'http://localhost:9090' },
      { name: 'assetDir', kind: 'string', default: './' },
    ],
    // Arguments after the flags are never read.
    positionals: ANY,
    refusal: GO_FLAG_REFUSAL,
    complete: true,
    sources: [
      istio('addons/servicegraph/cmd/server/main.go', ref),
      istio('Makefile', ref, 'the servicegraph binary is built from ./addons/servicegraph/cmd/server'),
    ],
  };
}

/**
 * grafana-docker run.sh: `exec gosu grafana /usr/sbin/grafana-server --homepath=… --config=…
 * cfg:… "$@"`. Extra arguments land after the `cfg:` arguments, where Go's flag parsing of
 * grafana-server has already stopped, so mesh-local passes none.
 */
function grafanaRun(dockerRef: string): ProgramFacts {
  return {
    path: '/run.sh',
    syntax: 'none',
    flags: [],
    refusal: GO_FLAG_REFUSAL,
    complete: false,
    sources: [
      { repo: GRAFANA_DOCKER, path: 'run.sh', ref: dockerRef },
      {
        repo: 'grafana/grafana',
        path: 'pkg/cmd/grafana-server/main.go',
        ref: '005556632f326aa10e9f0f22510aad6c84fa0756',
        note: 'a 5.0.x grafana-server: Go flags config, homepath, pidfile, v, profile, profile-port',
      },
    ],
    unverified: [
      'What grafana-server does with non-`cfg:` arguments after its `cfg:` overrides was not read; the exit code 2 is Go flag\'s, for a flag before them.',
      'grafana-server was read at a stored 5.0.x commit, not at the v5.0.0-beta2 or v5.0.4 tags.',
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// The images
// ---------------------------------------------------------------------------------------------

const MIXER_CMD_0_8 = ['--configStoreURL=fs:///etc/opt/mixer/configroot', '--configStoreURL=k8s://'];

export const ISTIO_IMAGE_FACTS: readonly ImageFacts[] = [
  // ----- 0.8.0 -----
  {
    reference: 'docker.io/istio/pilot:0.8.0',
    base:
      'istionightly/base_debug (ubuntu:xenial plus curl, iptables, iproute2, iputils-ping, dnsutils, netcat, tcpdump, ' +
      'net-tools, gdb, elvis-tiny, lsof, busybox, sudo), with pilot-discovery and /cacert.pem added',
    entrypoint: ['/usr/local/bin/pilot-discovery'],
    cmd: null,
    user: 'root',
    tools: DEBUG_BASE_TOOLS,
    programs: [PILOT_DISCOVERY_0_8],
    sources: [
      istio('pilot/docker/Dockerfile.pilot', '0.8.0'),
      istio('docker/Dockerfile.xenial_debug', '0.8.0', 'builds istionightly/base_debug'),
      istio('tools/istio-docker.mk', '0.8.0', 'docker.pilot and docker.basedebug rules'),
      istio('release/cloud_builder.sh', '0.8.0', 'release images come from `make docker.save`'),
    ],
    unverified: [BASE_DEBUG_UNVERIFIED, XENIAL_BASE_UNVERIFIED, BUSYBOX_UNVERIFIED],
  },
  {
    reference: 'docker.io/istio/proxy_debug:0.8.0',
    base:
      'istionightly/base_debug (ubuntu:xenial plus curl, iptables, iproute2, iputils-ping, dnsutils, netcat, tcpdump, ' +
      'net-tools, gdb, elvis-tiny, lsof, busybox, sudo), with the Envoy debug build at /usr/local/bin/envoy (admin port ' +
      '15000 by pilot-agent\'s default --proxyAdminPort), pilot-agent, the Envoy YAML templates in /etc/istio/proxy, ' +
      '/var/lib/istio/envoy/envoy_bootstrap_tmpl.json, and user istio-proxy (uid 1337, passwordless sudo) owning /var/lib/istio',
    entrypoint: ['/usr/local/bin/pilot-agent'],
    cmd: null,
    user: 'root',
    tools: [...DEBUG_BASE_TOOLS, 'envoy'],
    programs: [PILOT_AGENT_0_8],
    sources: [
      istio('pilot/docker/Dockerfile.proxy_debug', '0.8.0'),
      istio('docker/Dockerfile.xenial_debug', '0.8.0', 'builds istionightly/base_debug'),
      istio('tools/istio-docker.mk', '0.8.0', 'docker.proxy_debug copies the debug Envoy to /usr/local/bin/envoy'),
    ],
    unverified: [BASE_DEBUG_UNVERIFIED, XENIAL_BASE_UNVERIFIED, BUSYBOX_UNVERIFIED],
  },
  {
    reference: 'docker.io/istio/proxy_init:0.8.0',
    base: 'ubuntu:xenial plus iproute2 and iptables, with istio-iptables.sh in /usr/local/bin',
    entrypoint: ['/usr/local/bin/istio-iptables.sh'],
    cmd: null,
    user: 'root',
    tools: [...UBUNTU_XENIAL_TOOLS, ...IPTABLES_TOOLS, ...IPROUTE2_TOOLS],
    programs: [ISTIO_IPTABLES_0_8],
    sources: [
      istio('pilot/docker/Dockerfile.proxy_init', '0.8.0'),
      istio('tools/istio-docker.mk', '0.8.0', 'docker.proxy_init copies tools/deb/istio-iptables.sh'),
    ],
    unverified: [XENIAL_BASE_UNVERIFIED],
  },
  {
    reference: 'docker.io/istio/mixer:0.8.0',
    base: 'scratch plus Debian\'s CA certificates (docker/ca-certificates.tgz): only mixs, no shell',
    entrypoint: ['/usr/local/bin/mixs', 'server'],
    cmd: MIXER_CMD_0_8,
    user: 'root',
    tools: [],
    programs: [MIXS_0_8],
    sources: [istio('mixer/docker/Dockerfile.mixer', '0.8.0'), istio('tools/istio-docker.mk', '0.8.0')],
  },
  {
    reference: 'docker.io/istio/citadel:0.8.0',
    base: 'scratch plus Debian\'s CA certificates (docker/ca-certificates.tgz): only istio_ca, no shell',
    entrypoint: ['/usr/local/bin/istio_ca', '--self-signed-ca'],
    cmd: null,
    user: 'root',
    workdir: '/tmp/',
    tools: [],
    programs: [ISTIO_CA_0_8],
    sources: [
      istio('security/docker/Dockerfile.citadel', '0.8.0'),
      istio('tools/istio-docker.mk', '0.8.0', 'docker.citadel'),
    ],
  },
  {
    reference: 'docker.io/istio/grafana:0.8.0',
    base:
      'grafana/grafana:5.0.4 (debian:jessie plus libfontconfig, curl, ca-certificates, the Grafana .deb and gosu; ' +
      '/run.sh starts grafana-server as user grafana through gosu), with Istio\'s grafana.ini, provisioning files and dashboards',
    entrypoint: ['/run.sh'],
    cmd: null,
    user: 'root',
    tools: [...DEBIAN_JESSIE_TOOLS, 'curl', 'gosu', 'grafana-server', 'grafana-cli'],
    programs: [grafanaRun(GRAFANA_DOCKER_MAR_2018)],
    sources: [
      istio('addons/grafana/Dockerfile.grafana', '0.8.0'),
      { repo: GRAFANA_DOCKER, path: 'Dockerfile', ref: GRAFANA_DOCKER_MAR_2018, note: 'master when 5.0.4 was built' },
      { repo: GRAFANA_DOCKER, path: 'build.sh', ref: GRAFANA_DOCKER_MAR_2018, note: 'release tags built from this Dockerfile' },
    ],
    unverified: [
      'Which grafana-docker commit built the 5.0.4 tag was inferred from dates (release 2018-03-28); the only difference between the candidates is `WORKDIR /`, the default anyway.',
      'The commands debian:jessie itself provides (sh, bash, env, cat, id, grep, sed, awk, su) are from Debian\'s essential packages, not read from a file.',
    ],
  },
  {
    reference: 'docker.io/istio/servicegraph:0.8.0',
    base: 'scratch: the servicegraph binary and its js/ and force/ assets in /tmp, no shell',
    entrypoint: ['/usr/local/bin/servicegraph', '--assetDir=/tmp'],
    cmd: null,
    user: 'root',
    workdir: '/tmp/',
    tools: [],
    programs: [servicegraph('0.8.0')],
    sources: [istio('addons/servicegraph/docker/Dockerfile.servicegraph', '0.8.0'), istio('tools/istio-docker.mk', '0.8.0')],
  },

  // ----- 0.6.0 -----
  {
    reference: 'docker.io/istio/pilot:0.6.0',
    base: 'scratch: only the pilot-discovery binary, no shell, no HTTP client, no CA certificates',
    entrypoint: ['/usr/local/bin/pilot-discovery'],
    cmd: null,
    user: 'root',
    tools: [],
    programs: [PILOT_DISCOVERY_0_6],
    sources: [
      istio('pilot/docker/Dockerfile.pilot', '0.6.0'),
      istio('tools/istio-docker.mk', '0.6.0'),
      istio('release/cloud_builder.sh', '0.6.0', 'release images come from `make docker.save`'),
    ],
  },
  {
    reference: 'docker.io/istio/proxy_debug:0.6.0',
    base:
      `gcr.io/istio-testing/envoy-debug:${ENVOY_DEBUG_COMMIT} (istio/proxy docker/Dockerfile.debug: ubuntu:xenial plus curl, ` +
      'iptables, iproute2, iputils-ping, dnsutils, netcat, tcpdump, net-tools, gdb, elvis-tiny, lsof, busybox, sudo; the Envoy ' +
      'debug build at /usr/local/bin/envoy (admin port 15000 by pilot-agent\'s default --proxyAdminPort); istio-iptables.sh, ' +
      'istio-start.sh, proxy-redirection-clear/-restore in /usr/local/bin; user istio-proxy (uid 1337, passwordless sudo) ' +
      'owning /var/lib/istio), with pilot-agent, the v1 Envoy JSON templates in /etc/istio/proxy and ' +
      '/var/lib/istio/envoy/envoy_bootstrap_tmpl.json added',
    entrypoint: ['/usr/local/bin/pilot-agent'],
    cmd: null,
    user: 'root',
    tools: [
      ...DEBUG_BASE_TOOLS,
      'envoy',
      'istio-iptables.sh',
      'istio-start.sh',
      'proxy-redirection-clear',
      'proxy-redirection-restore',
    ],
    programs: [PILOT_AGENT_0_6],
    sources: [
      istio('pilot/docker/Dockerfile.proxy_debug', '0.6.0'),
      { repo: PROXY_REPO, path: 'docker/Dockerfile.debug', ref: ENVOY_DEBUG_COMMIT },
      { repo: PROXY_REPO, path: 'script/release-docker', ref: ENVOY_DEBUG_COMMIT, note: 'envoy-debug:<sha> is built from Dockerfile.debug at that commit' },
    ],
    unverified: [XENIAL_BASE_UNVERIFIED, BUSYBOX_UNVERIFIED],
  },
  {
    reference: 'docker.io/istio/proxy_init:0.6.0',
    base: 'gcr.io/istio-testing/iptables:20170725-5a9fbbf (ubuntu:xenial plus iptables), with prepare_proxy.sh in /usr/local/bin',
    entrypoint: ['/usr/local/bin/prepare_proxy.sh'],
    cmd: null,
    user: 'root',
    tools: [...UBUNTU_XENIAL_TOOLS, ...IPTABLES_TOOLS],
    programs: [PREPARE_PROXY_0_6],
    sources: [
      istio('pilot/docker/Dockerfile.proxy_init', '0.6.0'),
      istio('pilot/docker/Dockerfile.iptables', '0.6.0', 'the iptables base: ubuntu:xenial + apt-get install iptables'),
      istio('tools/istio-docker.mk', '0.6.0', 'docker.proxy_init copies pilot/docker/prepare_proxy.sh'),
    ],
    unverified: [
      'That gcr.io/istio-testing/iptables:20170725-5a9fbbf was built from pilot/docker/Dockerfile.iptables is inferred: the file was added on 2017-07-27 (istio/istio 52f4669, from istio/pilot #958) and commit 5a9fbbf is not in istio/istio\'s history.',
      XENIAL_BASE_UNVERIFIED,
    ],
  },
  {
    reference: 'docker.io/istio/mixer:0.6.0',
    base: 'scratch plus Debian\'s CA certificates (docker/ca-certificates.tgz): only mixs, no shell',
    entrypoint: ['/usr/local/bin/mixs', 'server'],
    cmd: ['--configStoreURL=fs:///etc/opt/mixer/configroot', '--configStoreURL=k8s://', '--logtostderr', '--v=2'],
    user: 'root',
    tools: [],
    programs: [MIXS_0_6],
    sources: [istio('mixer/docker/Dockerfile.mixer', '0.6.0'), istio('tools/istio-docker.mk', '0.6.0')],
  },
  {
    reference: 'docker.io/istio/istio-ca:0.6.0',
    base: 'scratch plus Debian\'s CA certificates (docker/ca-certificates.tgz): only istio_ca, no shell',
    entrypoint: ['/usr/local/bin/istio_ca', '--self-signed-ca'],
    cmd: null,
    user: 'root',
    workdir: '/tmp/',
    tools: [],
    programs: [ISTIO_CA_0_6],
    sources: [
      istio('security/docker/Dockerfile.istio-ca', '0.6.0'),
      istio('tools/istio-docker.mk', '0.6.0', 'docker.istio-ca'),
    ],
  },
  {
    reference: 'docker.io/istio/grafana:0.6.0',
    base:
      'grafana/grafana:5.0.0-beta2 (debian:jessie plus libfontconfig, curl, ca-certificates, the Grafana .deb and gosu; ' +
      '/run.sh starts grafana-server as user grafana through gosu), with Istio\'s grafana.ini, provisioning files and dashboards',
    entrypoint: ['/run.sh'],
    cmd: null,
    user: 'root',
    tools: [...DEBIAN_JESSIE_TOOLS, 'curl', 'gosu', 'grafana-server', 'grafana-cli'],
    programs: [grafanaRun(GRAFANA_DOCKER_FEB_2018)],
    sources: [
      istio('addons/grafana/Dockerfile.grafana', '0.6.0'),
      { repo: GRAFANA_DOCKER, path: 'Dockerfile', ref: GRAFANA_DOCKER_FEB_2018, note: 'master when 5.0.0-beta2 was built' },
      { repo: GRAFANA_DOCKER, path: 'build.sh', ref: GRAFANA_DOCKER_FEB_2018, note: 'release tags built from this Dockerfile' },
    ],
    unverified: [
      'Which grafana-docker commit built the 5.0.0-beta2 tag was inferred from dates; the Dockerfile was the same from 2017-11-20 until `WORKDIR /` was added on 2018-03-28.',
      'The commands debian:jessie itself provides (sh, bash, env, cat, id, grep, sed, awk, su) are from Debian\'s essential packages, not read from a file.',
    ],
  },
  {
    reference: 'docker.io/istio/servicegraph:0.6.0',
    base: 'scratch: the servicegraph binary and its js/ and force/ assets in /tmp, no shell',
    entrypoint: ['/usr/local/bin/servicegraph', '--assetDir=/tmp'],
    cmd: null,
    user: 'root',
    workdir: '/tmp/',
    tools: [],
    programs: [servicegraph('0.6.0')],
    sources: [istio('addons/servicegraph/docker/Dockerfile.servicegraph', '0.6.0'), istio('tools/istio-docker.mk', '0.6.0')],
  },
];
