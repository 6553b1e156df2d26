import { Command, Option } from 'commander';
import { buildSandboxImages, formatImageTable, listImages } from '../app/images.js';
import { injectCommand } from '../app/inject.js';
import { packageRoot } from '../common/package-root.js';
import { IMAGE_SETS, type ImageSetName } from '../model/image-sets.js';
import type { DockerEngine } from '../runtime/docker-engine.js';
import { renderCommand, type Console } from '../app/render.js';
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
  130  interrupted (Ctrl-C)`;

const SETTINGS_HELP = `
Settings are read from, lowest to highest precedence: built-in defaults, the config file
(--config, $MESH_LOCAL_CONFIG, or ./mesh-local.yaml), MESH_LOCAL_* environment variables, flags.`;

export interface CliContext {
  cwd: string;
  env: Record<string, string | undefined>;
  console: Console;
  /** Made on first use, so commands that never touch Docker work without it. */
  engine: () => DockerEngine;
}

/** Options every stack-shaping command shares; one definition keeps their help text identical. */
function addMeshOptions(command: Command): Command {
  return command
    .addOption(new Option('--registry <name>', 'service registry').choices(REGISTRIES))
    .addOption(new Option('--istio-version <version>', `Istio version (default ${DEFAULT_ISTIO_VERSION})`).choices(supportedVersions()))
    .option('--addons <list>', `comma-separated addons: ${ADDONS.join(', ')}`)
    .option('--project <name>', 'Compose project name (default mesh-local)')
    .option('--image <name=ref>', `override one image; repeatable; names: ${IMAGE_KEYS.join(', ')}`, collect, [])
    .addOption(new Option('--images <set>', 'image set: upstream (the real images) or sandbox (built here)').choices(IMAGE_SETS))
    .option('--image-mirror <prefix>', 'pull every image through this registry mirror, e.g. mirror.local:5000')
    .option('--port <name=port>', `host port; repeatable; names: ${HOST_PORT_NAMES.join(', ')}`, collect, [])
    .option('--host-address <ip>', 'address published ports bind to (default 127.0.0.1)')
    .option('--config <file>', 'config file (default ./mesh-local.yaml when present)');
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

interface MeshOptionValues {
  registry?: string;
  istioVersion?: string;
  addons?: string;
  project?: string;
  image: string[];
  imageMirror?: string;
  port: string[];
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
  if (options.image.length > 0) flags.image = options.image;
  if (options.imageMirror !== undefined) flags.imageMirror = options.imageMirror;
  if (options.port.length > 0) flags.port = options.port;
  if (options.hostAddress !== undefined) flags.hostAddress = options.hostAddress;
  if (options.images !== undefined) flags.imageSet = options.images;
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
    .option('-o, --output <file>', 'Compose file to write; mounted files go under mesh-files/ beside it')
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
      await renderCommand({ flags: flagValues(options), output: options.output }, context, context.console);
    });

  addMeshOptions(
    program
      .command('inject')
      .description('add an Istio sidecar (init + proxy) to services of any Compose file, like istioctl kube-inject'),
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
Services with network_mode host, none, service:X or container:X are skipped with a warning.
Injecting an injected file changes nothing.
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
    .action(async (options: { set: ImageSetName }) => {
      context.console.out(formatImageTable(await listImages(options.set, context.engine())));
    });

  return program;
}

/** Set on the root before subcommands exist: `.command()` copies these settings to each of them. */
function configure(command: Command, context: CliContext): void {
  command.exitOverride().configureOutput({
    writeOut: (text) => context.console.out(text),
    writeErr: (text) => context.console.err(text),
  });
}
