/**
 * The command line of the upstream program a sandbox program stands in for. A sandbox image
 * carries the upstream reference it replaces (MESH_LOCAL_STANDS_IN, set by the image build); the
 * program looks its flag set up in mesh-local's upstream facts (src/model/upstream/) and parses
 * its arguments exactly as the real binary would: Go flag, pflag/cobra, kingpin or getopts rules,
 * the same flag names and value kinds. A flag the real binary does not define is refused here
 * too, with the real binary's message and exit code, so a wrong rendered command line fails in
 * the sandbox as it would upstream.
 */
import {
  CommandLineError,
  flagBool,
  flagDurationMs,
  flagInt,
  flagList,
  flagValue,
  parseCommandLine,
  type ParsedCommandLine,
} from '../../src/model/upstream/command-line.js';
import { imageFacts } from '../../src/model/upstream/facts.js';
import type { ImageFacts, ProgramFacts } from '../../src/model/upstream/types.js';
import { STANDS_IN_ENV } from '../../src/model/image-sets.js';
import { runMain } from './server.js';

export interface UpstreamCommandLine {
  /** The upstream image reference this sandbox image replaces. */
  reference: string;
  image: ImageFacts;
  program: ProgramFacts;
  parsed: ParsedCommandLine;
  subcommand: string;
  positionals: string[];
  /** Last value given, else the upstream default; typed per the flag's kind. */
  string(name: string): string | undefined;
  int(name: string): number | undefined;
  bool(name: string): boolean;
  durationMs(name: string): number | undefined;
  list(name: string): string[];
  /** Whether the flag was given on the command line (not just defaulted). */
  given(name: string): boolean;
}

/**
 * Parses `argv` as the program at `path` (e.g. `/usr/local/bin/pilot-discovery`) of the upstream
 * image named by MESH_LOCAL_STANDS_IN. Throws CommandLineError when the real program would refuse
 * the command line, and a plain Error when this is not a sandbox image or the facts lack the program.
 */
export function parseUpstreamCommandLine(path: string, argv: readonly string[], env: NodeJS.ProcessEnv): UpstreamCommandLine {
  const reference = env[STANDS_IN_ENV];
  if (!reference) throw new Error(`${STANDS_IN_ENV} is not set: ${path} runs inside a mesh-local sandbox image, which sets it`);
  const image = imageFacts(reference);
  if (!image) throw new Error(`mesh-local has no facts about ${reference} (${STANDS_IN_ENV})`);
  const program = image.programs.find((candidate) => candidate.path === path);
  if (!program) throw new Error(`${reference} has no program ${path} in mesh-local's facts`);
  const parsed = parseCommandLine(program, argv);
  const sub = parsed.subcommand || undefined;
  return {
    reference,
    image,
    program,
    parsed,
    subcommand: parsed.subcommand,
    positionals: parsed.positionals,
    string: (name) => flagValue(program, parsed, name, sub),
    int: (name) => flagInt(program, parsed, name, sub),
    bool: (name) => flagBool(program, parsed, name, sub),
    durationMs: (name) => flagDurationMs(program, parsed, name, sub),
    list: (name) => flagList(program, parsed, name, sub),
    given: (name) => parsed.flags.has(name),
  };
}

/**
 * This process's command line, parsed as the upstream program at `path` would parse it; when that
 * program would refuse it, exits as it does (its message on stderr, its exit code). `--help`
 * prints what the stand-in is and exits 0.
 */
export function readUpstreamCommandLine(name: string, path: string): UpstreamCommandLine {
  let commandLine: UpstreamCommandLine;
  try {
    commandLine = parseUpstreamCommandLine(path, process.argv.slice(2), process.env);
  } catch (error) {
    if (error instanceof CommandLineError) {
      console.error(error.message);
      process.exit(error.exitCode);
    }
    console.error(`${name}: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
  if (commandLine.given('help')) {
    console.log(`${name}: the mesh-local sandbox's stand-in for ${path} of ${commandLine.reference}; flags as upstream's, see src/model/upstream/`);
    process.exit(0);
  }
  return commandLine;
}

/**
 * Entry point of a stand-in: reads the command line as the upstream program would
 * (`readUpstreamCommandLine`), then starts the program as `runMain` does (a line when it listens,
 * a clean stop on SIGTERM/SIGINT, exit 1 with the reason when it cannot start).
 */
export function runUpstreamProgram(
  name: string,
  path: string,
  start: (commandLine: UpstreamCommandLine) => Promise<{ close(): Promise<void>; port?: number }>,
): void {
  const commandLine = readUpstreamCommandLine(name, path);
  runMain(name, () => start(commandLine));
}

/** `tcp://0.0.0.0:9091`, `0.0.0.0:9091`, `:9091` -> 9091; throws for anything else. */
export function portOfAddress(address: string, flag: string): number {
  const match = /^(?:tcp:\/\/)?[^:]*:(\d+)$/.exec(address);
  if (!match) throw new Error(`${flag} '${address}' is not an address with a port (like :9091)`);
  return Number(match[1]);
}
