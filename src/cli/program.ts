import { Command, InvalidArgumentError, Option } from 'commander';
import { setMaxListeners } from 'node:events';
import { doctorPorts, formatDoctorReport, freeDiskBytes, portIsFree, readKernelModules, runDoctor } from '../app/doctor.js';
import { downCommand } from '../app/down.js';
import { buildSandboxImages, formatImageTable, listImages } from '../app/images.js';
import { logsCommand } from '../app/logs.js';
import { requireEndpoints } from '../app/endpoints.js';
import { mismatchError, parseExpectation, verify, VERIFY_DEFAULTS, VERIFY_LIMITS } from '../app/verify.js';
import { formatVerifyReport, verifyProgress } from '../output/verify-report.js';
import { loadSettings } from '../app/settings-source.js';
import { formatStatusProblems, formatStatusTable, projectStatusRows, statusJson } from '../app/status.js';
import { stateDirOf, upCommand, type ImageChoice } from '../app/up.js';
import { ExitCode, UsageError } from '../errors.js';
import { selectReporter } from '../output/select-reporter.js';
import { composeCli, detectCompose } from '../runtime/compose-cli.js';
import { injectCommand } from '../app/inject.js';
import { deployCommand, undeployCommand } from '../app/deploy.js';
import { runProcess } from '../runtime/compose-cli.js';
import { resolve as resolvePath } from 'node:path';
import { DEFAULT_EXPANSION_DIR, DEFAULT_SERVICE_ACCOUNT, DEFAULT_SERVICE_NAMESPACE, expansionConfigCommand } from '../app/expansion.js';
import { DEFAULT_EXTERNAL_VERSION, parseInstanceIp, parseRegistration, parseServiceName, registerCommand, unregisterCommand } from '../app/register.js';
import { EXTERNAL_LEASE_SECONDS, meshRegistry, type RegistryKind } from '../runtime/mesh-registry.js';
import { deadline } from '../common/deadline.js';
import type { OutputTarget } from '../common/output-target.js';
import { packageRoot } from '../common/package-root.js';
import { IMAGE_SETS, type ImageSetName } from '../model/image-sets.js';
import type { DockerEngine } from '../runtime/docker-engine.js';
import { renderCommand, type Console } from '../app/render.js';
import { OUTPUT_FORMATS, PROPAGATION_MS, applyRules, deleteRules, formatApplied, formatDeleted, formatRule, formatRuleTable, getRule, listRules, parseKind, projectRouteDeps, waitForPropagation, type OutputFormat } from '../app/route.js';
import { INJECTION_POLICIES, type InjectionPolicy } from '../compose/inject.js';
import { IMAGE_KEYS } from '../model/images.js';
import { supportedVersions, DEFAULT_ISTIO_VERSION } from '../model/istio-versions.js';
import { ADDONS, HOST_PORT_NAMES, REGISTRIES } from '../model/mesh.js';
import type { FlagValues } from '../model/settings.js';

export const EXIT_CODES_HELP = `
Exit codes:
  0    success
  1    runtime failure (Docker, Compose, a service that did not become ready)
  2    bad input or usage (unknown flag or choice, malformed or wrongly shaped YAML)
  130  interrupted (Ctrl-C)
  141  the reader of the output went away (| head), as for git: 128 + SIGPIPE`;

const SETTINGS_HELP = `
Settings are read from, lowest to highest precedence: built-in defaults, the config file
(--config, $MESH_LOCAL_CONFIG, or ./mesh-local.yaml), MESH_LOCAL_* environment variables, flags.`;

export interface CliContext {
  cwd: string;
  env: Record<string, string | undefined>;
  console: Console;
  /** Made on first use, so commands that never touch Docker work without it. */
  engine: () => DockerEngine;
  /** Aborted by Ctrl-C. */
  signal?: AbortSignal;
  /** Whether stderr is a terminal (progress table) and its width. */
  isTty?: boolean;
  columns?: number;
  /** Where stdout leads (`render > stack/file.yaml`); only the process entry point knows, tests run as a stream. */
  stdoutTarget?: () => Promise<OutputTarget>;
  /** Set by commands that end with a code other than 0 without an error (doctor). */
  setExitCode?: (code: number) => void;
}

/** Options every stack-shaping command shares; one definition keeps their help text identical. */
function addMeshOptions(command: Command, imageChoices: readonly string[] = IMAGE_SETS): Command {
  return command
    .addOption(new Option('--registry <name>', 'service registry').choices(REGISTRIES))
    .addOption(new Option('--istio-version <version>', `Istio version (default ${DEFAULT_ISTIO_VERSION})`).choices(supportedVersions()))
    .option('--addons <list>', `comma-separated addons: ${ADDONS.join(', ')}`)
    .option('--project <name>', 'Compose project name (default mesh-local)')
    .option('--image <name=ref>', `override one image; repeatable; names: ${IMAGE_KEYS.join(', ')}`, collect)
    .addOption(
      new Option('--images <set>', `image set: upstream (the real images), sandbox (built here)${imageChoices.includes('auto') ? ', auto (upstream when its registry answers)' : ''}`).choices(imageChoices),
    )
    .option('--image-mirror <prefix>', 'pull every image through this registry mirror, e.g. mirror.local:5000')
    .option('--port <name=port>', `host port (0: any free port); repeatable; names: ${HOST_PORT_NAMES.join(', ')}`, collect)
    .option('--host-address <ip>', 'address published ports bind to (default 127.0.0.1)')
    .option('--config <file>', 'config file (default ./mesh-local.yaml when present)');
}

/** A repeatable option's values; no default given to commander, so help shows none (`[]`). */
function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

interface MeshOptionValues {
  registry?: string;
  istioVersion?: string;
  addons?: string;
  project?: string;
  image?: string[];
  imageMirror?: string;
  port?: string[];
  hostAddress?: string;
  images?: string;
  config?: string;
  bookinfo?: boolean;
  mtls?: boolean;
}

function flagValues(options: MeshOptionValues): FlagValues & { config?: string } {
  const flags: FlagValues & { config?: string } = {};
  if (options.registry !== undefined) flags.registry = options.registry;
  if (options.istioVersion !== undefined) flags.istioVersion = options.istioVersion;
  if (options.addons !== undefined) flags.addons = options.addons;
  if (options.project !== undefined) flags.project = options.project;
  if (options.image !== undefined) flags.image = options.image;
  if (options.imageMirror !== undefined) flags.imageMirror = options.imageMirror;
  if (options.port !== undefined) flags.port = options.port;
  if (options.hostAddress !== undefined) flags.hostAddress = options.hostAddress;
  if (options.images !== undefined && options.images !== 'auto') flags.imageSet = options.images;
  if (options.config !== undefined) flags.config = options.config;
  if (options.bookinfo !== undefined) flags.bookinfo = options.bookinfo;
  if (options.mtls !== undefined) flags.mtls = options.mtls;
  return flags;
}

/**
 * The commander wiring. It parses, builds inputs and calls use cases; it never exits the process:
 * `exitOverride` turns commander's exits into thrown CommanderErrors that `run` maps.
 */
export function buildProgram(context: CliContext): Command {
  const projectName = async (flag: string | undefined) =>
    (await loadSettings(flag === undefined ? {} : { project: flag }, context)).settings.project;
  const program = new Command('mesh-local')
    .description("Run Istio's non-Kubernetes setup (Consul or Eureka) on Docker Compose.")
    .version(process.env.npm_package_version ?? '0.1.0')
    .showSuggestionAfterError(true)
    .addHelpText('after', EXIT_CODES_HELP);
  configure(program, context);

  addMeshOptions(
    program
      .command('render')
      .description('write the Compose stack for a mesh (stdout by default), plus the files it mounts'),
  )
    .option('--bookinfo', 'include the BookInfo sample with a sidecar per instance')
    .option('--mtls', 'mutual TLS between sidecars (not available in Compose stacks yet)')
    .option('-o, --output <file>', 'Compose file to write; mounted files go under mesh-files/ beside it (also for stdout redirected to a file)')
    .addHelpText(
      'after',
      `${SETTINGS_HELP}

Examples:
  mesh-local render --registry consul --bookinfo -o stack/docker-compose.yaml
  mesh-local render --registry eureka --istio-version 0.6.0 --addons prometheus,grafana
  mesh-local render --bookinfo --image-mirror mirror.local:5000 --port gateway=19081
${EXIT_CODES_HELP}`,
    )
    .action(async (options: MeshOptionValues & { output?: string }) => {
      const stdout = options.output === undefined ? await context.stdoutTarget?.() : undefined;
      await renderCommand({ flags: flagValues(options), output: options.output, stdout }, context, context.console);
    });

  addMeshOptions(
    program
      .command('inject')
      .description('put services of any Compose file into pods with an Istio sidecar, like istioctl kube-inject'),
  )
    .requiredOption('-f, --file <file>', 'Compose file to read')
    .addOption(
      new Option('--policy <policy>', 'enabled: every service unless labelled sidecar.istio.io/inject: "false"; disabled: only services labelled "true"; off: none')
        .choices(INJECTION_POLICIES)
        .default('enabled'),
    )
    .option('--mesh-network <name>', "network of the running mesh the apps join (default <project>_mesh)")
    .option('--no-mesh-network', 'do not add any network to the apps')
    .option('-o, --output <file>', 'file to write (default stdout)')
    .addHelpText(
      'after',
      `
Each service <app> gets a pod: <app>-pod (the pause image) takes over its network (networks,
ports, expose, hostname, dns, extra_hosts...) and its SERVICE_* registrator settings; then
<app>-istio-init (iptables), <app>-istio-proxy, and <app> itself, which keeps its name, all join
it with network_mode: service:<app>-pod and start in that order.
Services with network_mode host, none, service:X, container:X or a network's name are skipped
with a warning.
A service with deploy.replicas or scale above 1 is refused: each replica would need its own pod.
Injecting an injected file changes nothing.
When the project (--project, default mesh-local) is running, its registry, Istio version, addons
and image set are used (read from its containers, plus .mesh-local/<project>/state.json here), and
a line on stderr says so; --registry or --istio-version contradicting it is refused (exit 2).
${SETTINGS_HELP}

Examples:
  mesh-local inject -f docker-compose.yaml -o docker-compose.mesh.yaml
  mesh-local inject -f app.yaml --policy disabled --registry eureka
${EXIT_CODES_HELP}`,
    )
    .action(
      async (
        options: MeshOptionValues & { file: string; policy: InjectionPolicy; output?: string; meshNetwork?: string | boolean },
      ) => {
        await injectCommand(
          {
            file: options.file,
            policy: options.policy,
            output: options.output,
            meshNetwork: options.meshNetwork === false ? null : (options.meshNetwork as string | undefined),
            flags: flagValues(options),
          },
          context,
          context.console,
        );
      },
    );

  const runOptions = (command: Command) =>
    addMeshOptions(command, [...IMAGE_SETS, 'auto'])
      .addOption(timeoutOption())
      .option('--rollback', 'take the stack down again when it does not get ready')
      .option('--json', 'print one JSON progress event per line on stdout');
  const runUp = async (options: MeshOptionValues & { timeout: number; rollback?: boolean; json?: boolean }, bookinfo: boolean) => {
    const reporter = selectReporter({
      json: options.json ?? false,
      isTty: context.isTty ?? false,
      env: context.env,
      write: options.json ? (text) => context.console.out(text) : (text) => context.console.err(text),
      ...(context.columns ? { columns: context.columns } : {}),
    });
    // Ctrl-C or --timeout; not AbortSignal.any with AbortSignal.timeout, whose timer a garbage
    // collection can take away (see deadline).
    const { signal, clear: clearDeadline } = deadline(options.timeout, context.signal);
    setMaxListeners(0, signal);
    try {
      await upCommand(
        { flags: flagValues(options), images: options.images as ImageChoice | undefined, timeoutMs: options.timeout, rollback: options.rollback ?? false, bookinfo },
        {
          engine: context.engine(),
          compose: () => requireCompose(context.env),
          reporter,
          console: options.json ? { out: () => undefined, err: context.console.err } : context.console,
          cwd: context.cwd,
          env: context.env,
          packageRoot: packageRoot(),
          isPortFree: portIsFree,
        },
        signal,
      );
    } finally {
      clearDeadline();
      reporter.close();
    }
  };

  runOptions(program.command('up').description('start the control plane and registry, and wait until the mesh is ready'))
    .addHelpText(
      'after',
      `
Renders into .mesh-local/<project>/, makes sure the images exist (pull, build, or with --images
auto the sandbox set when the upstream registry does not answer), starts the stack with the
Compose CLI and waits for each part to be really ready. Running it again on a ready project
changes nothing.

Examples:
  mesh-local up --images sandbox
  mesh-local up --registry eureka --images auto --timeout 10m --rollback
  mesh-local up --project demo2 --port apiserver=18080 --port pilot=18081 --port consul=18500
${EXIT_CODES_HELP}`,
    )
    .action((options) => runUp(options, false));

  runOptions(program.command('bookinfo').description("deploy BookInfo with sidecars into the project's mesh and wait for the gateway"))
    .addHelpText(
      'after',
      `
Ready means: every app healthy and registered with its version, every init step exited 0, every
proxy up, and GET /productpage through the gateway answers 200 with reviews and no errors.

Examples:
  mesh-local bookinfo --images sandbox
  mesh-local bookinfo --project demo2 --port gateway=19081
${EXIT_CODES_HELP}`,
    )
    .action((options) => runUp(options, true));

  // `deploy` and `undeploy` (issue 10 §2): users' own Compose files in the mesh.
  program
    .command('deploy')
    .description("inject sidecars into Compose files and run them in the project's mesh, each as a Compose project of its own")
    .requiredOption('-f, --file <file>', 'Compose file to deploy; repeatable (each file is its own project)', collect)
    .addOption(
      new Option('--policy <policy>', 'enabled: every service unless labelled sidecar.istio.io/inject: "false"; disabled: only services labelled "true"; off: none')
        .choices(INJECTION_POLICIES)
        .default('enabled'),
    )
    .option('--project <name>', 'Compose project name of the mesh (default mesh-local)')
    .option('--config <file>', 'config file (default ./mesh-local.yaml when present)')
    .addOption(timeoutOption())
    .option('--json', 'print one JSON progress event per line on stdout')
    .addHelpText(
      'after',
      `
Each file is injected as \`inject\` does it, written next to it as .mesh-local.<file name>, and run
as Compose project <project>-<file name without extension>-<8 hex of its path's hash> with
--project-directory its folder (relative paths, .env, env files, build contexts and
COMPOSE_PROFILES keep working). Registry name: SERVICE_NAME, else the \`app\` label, else the
service; version: the \`version\` label, else v1. A pod is on the mesh network alone (one
instance address: the registered one, where its sidecar takes traffic), with the aliases it had
on the file's networks; an external network on an injected service is refused (exit 2). Services
labelled sidecar.istio.io/inject: "false" join the mesh network too, unregistered. Ready means: pod up, init exited 0,
app healthy (or running without a healthcheck), proxy up, instance registered. Names the mesh or
another deployed file uses are refused (exit 2), taken host ports too (exit 1). \`status\` lists
deployed apps under the mesh's project; \`status\`/\`logs --project\` take the file's project
(printed by deploy).

Examples:
  mesh-local deploy -f samples/hello/docker-compose.yaml
  mesh-local undeploy -f samples/hello/docker-compose.yaml
${EXIT_CODES_HELP}`,
    )
    .action(async (options: { file: string[]; policy: InjectionPolicy; project?: string; config?: string; timeout: number; json?: boolean }) => {
      const reporter = selectReporter({
        json: options.json ?? false,
        isTty: context.isTty ?? false,
        env: context.env,
        write: options.json ? (text) => context.console.out(text) : (text) => context.console.err(text),
        ...(context.columns ? { columns: context.columns } : {}),
      });
      const { signal, clear } = deadline(options.timeout, context.signal);
      setMaxListeners(0, signal);
      try {
        await deployCommand(
          { files: options.file, policy: options.policy, flags: flagValues(options) },
          {
            engine: context.engine(),
            compose: async () => ({ variant: (await requireCompose(context.env)).variant, run: runProcess }),
            reporter,
            console: options.json ? { out: () => undefined, err: context.console.err } : context.console,
            cwd: context.cwd,
            env: context.env,
            isPortFree: portIsFree,
          },
          signal,
        );
      } finally {
        clear();
        reporter.close();
      }
    });

  program
    .command('undeploy')
    .description('remove what deploy started for each file (its Compose project), leaving the mesh and other apps running')
    .requiredOption('-f, --file <file>', 'Compose file given to deploy; repeatable', collect)
    .option('--project <name>', 'Compose project name of the mesh (default mesh-local)')
    .option('--config <file>', 'config file (default ./mesh-local.yaml when present)')
    .addOption(new Option('--timeout <duration>', `overall deadline for removing, ${DURATION_RANGE.text}`).argParser(parseDuration).default(2 * 60_000, '2m'))
    .addHelpText('after', `\nExamples:\n  mesh-local undeploy -f samples/hello/docker-compose.yaml\n${EXIT_CODES_HELP}`)
    .action(async (options: { file: string[]; project?: string; config?: string; timeout: number }) => {
      // One signal for every Engine call of the command (an inspect per container at once): the
      // deadline's signal allows that many listeners, as main's Ctrl-C signal does.
      const { signal, clear } = deadline(options.timeout, context.signal);
      try {
        await undeployCommand(
          { files: options.file, flags: flagValues(options) },
          { engine: context.engine(), console: context.console, cwd: context.cwd, env: context.env },
          signal,
        );
      } finally {
        clear();
      }
    });

  program
    .command('status')
    .description("show the project's services like kubectl get pods (READY counts the sidecar)")
    .option('--project <name>', 'Compose project name (default mesh-local)')
    .option('--json', 'print JSON')
    .action(async (options: { project?: string; json?: boolean }) => {
      const project = await projectName(options.project);
      const rows = await projectStatusRows(context.engine(), project, new Date(), context.signal);
      if (options.json) context.console.out(`${JSON.stringify(statusJson(rows), null, 2)}\n`);
      else if (rows.length === 0) context.console.err(`project ${project} has no containers\n`);
      else context.console.out(`${formatStatusTable(rows)}\n${formatStatusProblems(rows, project)}`);
    });

  // `verify` (issue 9 §3): numbers are checked by commander, so a bad one exits 2 with the flag named.
  const numberIn = (range: { min: number; max: number }, integer: boolean) => (value: string) => {
    const number = (integer ? /^\d+$/ : /^\d+(?:\.\d+)?$/).test(value.trim()) ? Number(value) : Number.NaN;
    if (!(number >= range.min && number <= range.max)) {
      throw new InvalidArgumentError(`expected ${integer ? 'an integer' : 'a number'} from ${range.min} to ${range.max}`);
    }
    return number;
  };
  program
    .command('verify')
    .description("send requests to BookInfo's productpage through the gateway and show which reviews version answered")
    .option('--requests <n>', `requests to send, ${VERIFY_LIMITS.requests.min} to ${VERIFY_LIMITS.requests.max}`, numberIn(VERIFY_LIMITS.requests, true), VERIFY_DEFAULTS.requests)
    .option('--user <name>', 'sign in as this user first; its user cookie goes with every request')
    .option('--concurrency <n>', `requests in flight at once, ${VERIFY_LIMITS.concurrency.min} to ${VERIFY_LIMITS.concurrency.max}`, numberIn(VERIFY_LIMITS.concurrency, true), VERIFY_DEFAULTS.concurrency)
    .option('--expect <spec>', 'expected share per class, e.g. v1=50%,v3=50% or error=100%; exit 1 when the traffic differs')
    .option('--tolerance <points>', 'allowed difference per class in percentage points, 0 to 100', numberIn(VERIFY_LIMITS.tolerancePoints, false), VERIFY_DEFAULTS.tolerancePoints)
    .addOption(
      new Option('--request-timeout <duration>', `deadline of each request, ${DURATION_RANGE.text}`)
        .argParser(parseDuration)
        .default(VERIFY_DEFAULTS.timeoutMs, `${VERIFY_DEFAULTS.timeoutMs / 1000}s`),
    )
    .option('--json', 'print the result as JSON on stdout (no progress line)')
    .option('--project <name>', 'Compose project name (default mesh-local)')
    .addHelpText(
      'after',
      `
Each page is classified by what it shows: v1 (reviews without stars), v2 (black stars), v3 (red
stars), reviews-error, ratings-error, details-error (the page's error texts), unrecognized (200
but none of these), http-<status> (any other status), timeout, no-response. "error" is the sum of
every class but v1, v2 and v3. With --expect, a class not named is expected at 0 %; name either
error or specific error classes. Latency percentiles are nearest-rank.

Examples:
  mesh-local verify
  mesh-local verify --requests 200 --expect v1=50%,v3=50%
  mesh-local verify --user jason --expect v2=100%
  mesh-local verify --user jason --requests 10 --expect ratings-error=100% --json
${EXIT_CODES_HELP}`,
    )
    .action(
      async (options: {
        requests: number;
        user?: string;
        concurrency: number;
        expect?: string;
        tolerance: number;
        requestTimeout: number;
        json?: boolean;
        project?: string;
      }) => {
        const expectation = options.expect === undefined ? undefined : parseExpectation(options.expect);
        const project = await projectName(options.project);
        const { gateway } = await requireEndpoints(context.engine(), project, ['gateway'], context.signal);
        const progress = options.json
          ? undefined
          : verifyProgress({ isTty: context.isTty ?? false, env: context.env, write: (text) => context.console.err(text) });
        let result;
        try {
          result = await verify(
            {
              gatewayUrl: gateway,
              requests: options.requests,
              concurrency: options.concurrency,
              timeoutMs: options.requestTimeout,
              tolerancePoints: options.tolerance,
              ...(options.user !== undefined ? { user: options.user } : {}),
              ...(expectation ? { expect: expectation } : {}),
            },
            progress ? { onProgress: progress.update } : {},
            context.signal,
          );
        } finally {
          progress?.close();
        }
        context.console.out(options.json ? `${JSON.stringify(result, null, 2)}\n` : formatVerifyReport(result));
        const mismatch = mismatchError(result);
        if (mismatch) throw mismatch;
      },
    );

  program
    .command('logs')
    .description("print a service's logs; with --sidecar, the proxy's logs of an app")
    .argument('<service>', 'Compose service, e.g. istio-pilot or reviews-v2')
    .option('--project <name>', 'Compose project name (default mesh-local)')
    .option('-f, --follow', 'keep printing new lines until Ctrl-C')
    .option('--tail <lines>', `lines from the end (0 to ${MAX_TAIL_LINES}, or all)`, parseTail, 200)
    .option('--sidecar', "the app's sidecar proxy instead of the app")
    .addHelpText('after', `\nExamples:\n  mesh-local logs istio-pilot\n  mesh-local logs reviews-v2 --sidecar -f\n${EXIT_CODES_HELP}`)
    .action(async (service: string, options: { project?: string; follow?: boolean; tail: number | 'all'; sidecar?: boolean }) => {
      await logsCommand(
        { project: await projectName(options.project), service, sidecar: options.sidecar ?? false, follow: options.follow ?? false, tail: options.tail },
        { engine: context.engine(), console: context.console },
        context.signal,
      );
    });

  program
    .command('down')
    .description("remove everything the project created, found by its Compose label, and forget its saved settings")
    .option('--project <name>', 'Compose project name (default mesh-local)')
    .option('--volumes', 'also remove its volumes')
    .addHelpText(
      'after',
      `
Containers without the project's label attached to its network are disconnected from it, not
removed. In .mesh-local/<project>/, the saved settings (state.json) and the rendered stack are
removed, so the next up starts from the command line alone; diagnostics bundles are kept.

Examples:
  mesh-local down
  mesh-local down --project demo2 --volumes
${EXIT_CODES_HELP}`,
    )
    .action(async (options: { project?: string; volumes?: boolean }) => {
      const project = await projectName(options.project);
      await downCommand(
        { project, volumes: options.volumes ?? false, stateDir: stateDirOf(context.cwd, project) },
        { engine: context.engine(), console: context.console },
        context.signal,
      );
    });

  // `route` (issue 9 §1): istioctl create/replace/get/delete of Istio 0.6-0.8, against the project's API server.
  const route = program
    .command('route')
    .description("store RouteRule and DestinationPolicy objects in the project's API server, as istioctl create/replace/get/delete did")
    .addHelpText(
      'after',
      `
Objects are config.istio.io/v1alpha2 RouteRule and DestinationPolicy documents, kept in the API
server's namespace default (or --namespace); Pilot reads them from there. samples/bookinfo/rules/
has the upstream BookInfo scenarios for each registry.

Examples:
  mesh-local route apply -f samples/bookinfo/rules/consul/all-v1.yaml
  mesh-local route apply -f samples/bookinfo/rules/consul/reviews-test-v2.yaml -f my-policy.yaml
  mesh-local route list
  mesh-local route get reviews-default -o json
  mesh-local route delete routerule/reviews-test-v2
  mesh-local route delete --all
${EXIT_CODES_HELP}`,
    );
  const routeCommand = (name: string, description: string, namespaceHelp = 'namespace of the objects (default: default)') =>
    route
      .command(name)
      .description(description)
      .option('--project <name>', 'Compose project name (default mesh-local)')
      .option('-n, --namespace <name>', namespaceHelp);
  // Scripts run `verify` right after a change; the change must be in the sidecars by then.
  const afterChange = async (changed: boolean, wait: boolean) => {
    if (!changed || !wait) return;
    context.console.err(`waiting ${PROPAGATION_MS / 1000}s for Pilot and the sidecars to take the change (--no-wait skips this)\n`);
    await waitForPropagation(context.signal);
  };
  const routeDeps = async (project: string | undefined) => projectRouteDeps(context.engine(), await projectName(project), {}, context.signal);
  const kindOption = () => new Option('--kind <kind>', 'routerule or destinationpolicy, when both kinds have the name').argParser(parseKind);

  routeCommand('apply', 'create the objects of the files, or replace the ones that exist; all or nothing', "namespace of the objects (default: the document's, else default)")
    .option('-f, --file <file>', 'YAML file of RouteRule/DestinationPolicy documents; repeatable, at least one', collect)
    .option('--no-wait', `return once stored, without waiting ${PROPAGATION_MS / 1000}s for the sidecars to take the change`)
    .addHelpText(
      'after',
      `
Every document of every file is checked first (fields, weights summing to 100, durations, header
matches, and each destination and version label against the registry Pilot sees); one problem
and nothing is stored. An object whose name exists is replaced with its resourceVersion. If the
API server fails midway, what this apply wrote is put back. One line per object:
  routerule/reviews-default created|configured|unchanged
When something changed, it then waits ${PROPAGATION_MS / 1000}s, the time Pilot and the sidecars (which poll Pilot
each second) take at most, so that traffic follows the rules when it returns.

Examples:
  mesh-local route apply -f samples/bookinfo/rules/eureka/reviews-50-v3.yaml
  mesh-local route apply -f all-v1.yaml -f reviews-test-v2.yaml --project demo2
${EXIT_CODES_HELP}`,
    )
    .action(async (options: { file?: string[]; project?: string; namespace?: string; wait: boolean }) => {
      const applied = await applyRules(
        {
          files: options.file ?? [],
          ...(options.namespace !== undefined ? { namespace: options.namespace } : {}),
          ...(options.project !== undefined ? { project: options.project } : {}),
        },
        await routeDeps(options.project),
        context.signal,
      );
      context.console.out(formatApplied(applied));
      await afterChange(applied.some((object) => object.action !== 'unchanged'), options.wait);
    });

  routeCommand('list', 'show the RouteRules and DestinationPolicies of the namespace')
    .option('--json', 'print JSON')
    .addHelpText('after', `\nExamples:\n  mesh-local route list\n  mesh-local route list --json --namespace default\n${EXIT_CODES_HELP}`)
    .action(async (options: { project?: string; namespace?: string; json?: boolean }) => {
      const rules = await listRules(options.namespace !== undefined ? { namespace: options.namespace } : {}, await routeDeps(options.project), context.signal);
      context.console.out(options.json ? `${JSON.stringify(rules, null, 2)}\n` : formatRuleTable(rules, options.namespace));
    });

  routeCommand('get', 'print one stored object as the API server keeps it')
    .argument('<name>', 'its name, or kind/name as apply prints it (routerule/reviews-default)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS).default('yaml'))
    .addOption(kindOption())
    .addHelpText('after', `\nExamples:\n  mesh-local route get reviews-default\n  mesh-local route get routerule/reviews-test-v2 -o json\n${EXIT_CODES_HELP}`)
    .action(async (name: string, options: { project?: string; namespace?: string; output: OutputFormat; kind?: ReturnType<typeof parseKind> }) => {
      const object = await getRule(
        {
          name,
          ...(options.kind ? { kind: options.kind } : {}),
          ...(options.namespace !== undefined ? { namespace: options.namespace } : {}),
          ...(options.project !== undefined ? { project: options.project } : {}),
        },
        await routeDeps(options.project),
        context.signal,
      );
      context.console.out(formatRule(object, options.output));
    });

  routeCommand('delete', 'delete one object by name, or all of the namespace with --all')
    .argument('[name]', 'its name, or kind/name as apply prints it (routerule/reviews-default)')
    .option('--all', 'every RouteRule and DestinationPolicy of the namespace (with --kind: of that kind)')
    .addOption(kindOption())
    .option('--no-wait', `return once deleted, without waiting ${PROPAGATION_MS / 1000}s for the sidecars to take the change`)
    .addHelpText('after', `\nExamples:\n  mesh-local route delete reviews-test-v2\n  mesh-local route delete --all\n${EXIT_CODES_HELP}`)
    .action(async (name: string | undefined, options: { project?: string; namespace?: string; all?: boolean; kind?: ReturnType<typeof parseKind>; wait: boolean }) => {
      const deleted = await deleteRules(
        {
          ...(name !== undefined ? { name } : {}),
          all: options.all ?? false,
          ...(options.kind ? { kind: options.kind } : {}),
          ...(options.namespace !== undefined ? { namespace: options.namespace } : {}),
          ...(options.project !== undefined ? { project: options.project } : {}),
        },
        await routeDeps(options.project),
        context.signal,
      );
      context.console.out(formatDeleted(deleted, options.namespace));
      await afterChange(deleted.length > 0, options.wait);
    });

  // Mesh expansion (issue 10 §3): instances outside Compose, as istioctl register/deregister and setupMeshEx.sh did.
  const expansionDeps = () => ({ engine: context.engine(), registryClient: (kind: RegistryKind, url: string) => meshRegistry(kind, url), console: context.console });
  program
    .command('register')
    .description("put an instance outside Compose (a VM, a process on this host) into the project's registry, as istioctl register did")
    .argument('<name>', 'service name, a DNS label: mesh services reach it as http://<name>:<port>/')
    .argument('<ip>', "IPv4 address the mesh's containers dial (for this host: the mesh network's gateway)")
    .argument('<ports...>', '[PORTNAME:]PORT, one or more; the port name starts with its protocol (http, http-api, grpc, tcp...), default http')
    .option('--app-version <v>', 'the version label route rules select (--version is the program version)', DEFAULT_EXTERNAL_VERSION)
    .option('--project <name>', 'Compose project name (default mesh-local)')
    .addHelpText(
      'after',
      `
Registering NAME at IP again replaces the earlier registration. On Eureka the instance asks for a
lease of ${EXTERNAL_LEASE_SECONDS} s (24.8 days, Eureka's longest): nothing renews it, so register again
before then. NAME resolves on the mesh network to a service address (a pause container) that the
callers' sidecars capture; the command returns once pilot lists the instance.

Examples:
  mesh-local register hostsvc 172.20.0.1 8090
  mesh-local register billing 10.0.0.7 http-api:8080 grpc:9090 --app-version v2
${EXIT_CODES_HELP}`,
    )
    .action(async (name: string, ip: string, ports: string[], options: { appVersion: string; project?: string }) => {
      const registration = parseRegistration(name, ip, ports, options.appVersion);
      await registerCommand({ project: await projectName(options.project), registration }, expansionDeps(), context.signal);
    });

  program
    .command('unregister')
    .description('remove an instance that register put into the registry, as istioctl deregister did')
    .argument('<name>', 'service name given to register')
    .argument('<ip>', 'address given to register')
    .option('--project <name>', 'Compose project name (default mesh-local)')
    .addHelpText('after', `\nExamples:\n  mesh-local unregister hostsvc 172.20.0.1\n${EXIT_CODES_HELP}`)
    .action(async (name: string, ip: string, options: { project?: string }) => {
      await unregisterCommand({ project: await projectName(options.project), name: parseServiceName(name), ip: parseInstanceIp(ip) }, expansionDeps(), context.signal);
    });

  program
    .command('expansion-config')
    .description("write what a machine outside Compose needs to join the mesh: cluster.env, sidecar.env, dnsmasq's kubedns, certificates")
    .option('-o, --output <dir>', 'folder to write the files into', DEFAULT_EXPANSION_DIR)
    .option('--service <name>', "the machine's service as registered with register: ISTIO_SERVICE and ISTIO_INBOUND_PORTS")
    .option('--service-account <name>', "the machine's service account, named in its certificate", DEFAULT_SERVICE_ACCOUNT)
    .option('--namespace <name>', 'namespace of the service account and the machine', DEFAULT_SERVICE_NAMESPACE)
    .option('--project <name>', 'Compose project name (default mesh-local)')
    .addHelpText(
      'after',
      `
Files (Istio 0.8 mesh expansion, install/tools/setupMeshEx.sh): cluster.env and sidecar.env go to
/var/lib/istio/envoy/, kubedns to /etc/dnsmasq.d/, root-cert.pem, cert-chain.pem and key.pem to
/etc/certs/. Addresses are the containers' own on the mesh network. Files in the folder that
mesh-local did not write are never overwritten.

Examples:
  mesh-local expansion-config
  mesh-local expansion-config -o vm1 --service hostsvc --service-account hostsvc
${EXIT_CODES_HELP}`,
    )
    .action(async (options: { output: string; service?: string; serviceAccount: string; namespace: string; project?: string }) => {
      await expansionConfigCommand(
        {
          project: await projectName(options.project),
          outDir: resolvePath(context.cwd, options.output),
          serviceAccount: parseServiceName(options.serviceAccount, '--service-account'),
          namespace: parseServiceName(options.namespace, '--namespace'),
          ...(options.service !== undefined ? { service: parseServiceName(options.service, '--service') } : {}),
        },
        expansionDeps(),
        context.signal,
      );
    });

  addMeshOptions(program.command('doctor').description('check the host: engine, Compose, kernel modules, host ports, disk'))
    .option('--bookinfo', 'also check the gateway port')
    .addHelpText('after', `\nExits 1 when something found would block up.\n${EXIT_CODES_HELP}`)
    .action(async (options: MeshOptionValues) => {
      const { settings } = await loadSettings(flagValues(options), context);
      const engine = context.engine();
      const report = await runDoctor({
        engineVersion: () => engine.version(context.signal),
        detectCompose: () => detectCompose(context.env),
        kernelModules: () => readKernelModules(),
        isPortFree: portIsFree,
        freeDiskBytes,
        ports: doctorPorts(settings),
        diskPath: context.cwd,
      });
      context.console.out(`${formatDoctorReport(report)}\n`);
      if (!report.ok) context.setExitCode?.(ExitCode.failure);
    });

  const images = program
    .command('images')
    .description('build or list the images of an image set (upstream: the real images; sandbox: built here)')
    .addHelpText(
      'after',
      `
The sandbox set is built from Debian's packages and mesh-local's own code, with no container
registry: a local debian:bookworm-slim, or debootstrap + docker import, as its base.

Examples:
  mesh-local images build --set sandbox
  mesh-local images list --set upstream
  mesh-local images list --set sandbox --istio-version 0.6.0
${EXIT_CODES_HELP}`,
    );
  images
    .command('build')
    .description('build every image of the set (only the sandbox set is built; upstream images are pulled)')
    .addOption(new Option('--set <set>', 'image set').choices(['sandbox']).default('sandbox'))
    .action(async () => {
      await buildSandboxImages({ engine: context.engine(), console: context.console, packageRoot: packageRoot(), env: context.env });
    });
  images
    .command('list')
    .description('show each image of a set and whether the engine has it')
    .addOption(new Option('--set <set>', 'image set').choices(IMAGE_SETS).default('sandbox'))
    .addOption(new Option('--istio-version <version>', 'Istio version whose images to show').choices(supportedVersions()).default(DEFAULT_ISTIO_VERSION))
    .action(async (options: { set: ImageSetName; istioVersion: string }) => {
      context.console.out(formatImageTable(await listImages(options.set, context.engine(), undefined, options.istioVersion)));
    });

  return program;
}

async function requireCompose(env: CliContext['env']) {
  const variant = await detectCompose(env);
  if (!variant) {
    throw new UsageError('neither `docker compose` nor `docker-compose` is installed', {
      hint: 'install the Compose plugin or docker-compose (make engine does it on Debian as root)',
    });
  }
  return composeCli(variant);
}

/**
 * The range every duration option accepts (`--timeout`). At least a second: a shorter deadline
 * could only ever fail. At most a day: a longer deadline is no deadline, and Node.js timers hold at
 * most 2^31-1 ms (about 24.8 days); beyond that AbortSignal.timeout fires at once, which showed as
 * "cannot reach the Docker Engine".
 */
export const DURATION_RANGE = { minMs: 1000, maxMs: 24 * 3_600_000, text: 'from 1s to 24h' } as const;

/** `300`, `300s`, `5m`, `1h` -> milliseconds, within DURATION_RANGE. */
/** `--timeout` of the commands that wait for readiness; help shows the default as a duration, not in ms. */
function timeoutOption(): Option {
  return new Option('--timeout <duration>', `overall deadline for readiness, ${DURATION_RANGE.text}, e.g. 300s, 5m`).argParser(parseDuration).default(5 * 60_000, '5m');
}

export function parseDuration(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  const unit = match ? { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(match[2] ?? 's') as 'ms' | 's' | 'm' | 'h'] : 0;
  const ms = match ? Math.round(Number(match[1]) * unit) : Number.NaN;
  // Commander prefixes the flag and the value: "option '--timeout <duration>' argument '0' is invalid."
  if (!(ms >= DURATION_RANGE.minMs && ms <= DURATION_RANGE.maxMs)) {
    throw new InvalidArgumentError(`expected a duration ${DURATION_RANGE.text}, such as 300s, 5m or 1h`);
  }
  return ms;
}

/** The most lines `logs --tail` takes as a number; `all` asks for every line. */
export const MAX_TAIL_LINES = 1_000_000;

function parseTail(value: string): number | 'all' {
  if (value === 'all') return 'all';
  const lines = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!(lines <= MAX_TAIL_LINES)) throw new InvalidArgumentError(`expected a number of lines from 0 to ${MAX_TAIL_LINES}, or all`);
  return lines;
}

/** Set on the root before subcommands exist: `.command()` copies these settings to each of them. */
function configure(command: Command, context: CliContext): void {
  command.exitOverride().configureOutput({
    writeOut: (text) => context.console.out(text),
    writeErr: (text) => context.console.err(text),
  });
}
