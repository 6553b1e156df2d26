/**
 * Shapes of the upstream facts: what each image mesh-local renders really contains (entrypoint,
 * default command, user, the tools a healthcheck or script can call) and the command line each of
 * its programs accepts. The renderer's output is checked against these facts
 * (`check-commands.ts`), and the sandbox stand-ins parse their command lines with the same flag
 * sets (`command-line.ts`), so a flag the real binary would refuse fails in both places.
 *
 * Every fact names where it was read (`Source`); what could not be confirmed is listed in
 * `unverified` and in the README's version section.
 */

/** Where a fact was read: a file of a public repository at a tag or commit. */
export interface Source {
  /** `owner/name` on GitHub, e.g. `istio/istio`. */
  repo: string;
  /** Path inside the repository, e.g. `pilot/docker/Dockerfile.pilot`. */
  path: string;
  /** Release tag (`0.8.0`, `v1.7.3`) or a full commit hash. */
  ref: string;
  /** What this file establishes, when that is not obvious from the path. */
  note?: string;
}

/**
 * How a program reads its command line.
 * - `go-flag`: Go's standard `flag` package. `-name` and `--name` are the same flag;
 *   `-name=value` or `-name value` (not for booleans, which take only `-name` or `-name=false`);
 *   parsing stops at the first non-flag argument or `--`; an unknown flag prints
 *   `flag provided but not defined: -name`.
 * - `pflag`: spf13/pflag, as cobra uses it. `--name`, `--name=value`, `--name value` (not for
 *   booleans), one-letter shorthands `-n value`, `-nvalue`, `-n=value`, boolean shorthands
 *   combined (`-ab`); flags and positional arguments may be interleaved; `--` ends flags.
 *   An unknown flag prints `Error: unknown flag: --name` (cobra).
 * - `kingpin`: alecthomas/kingpin (Prometheus 2). Long flags `--name=value` or `--name value`,
 *   booleans `--name` or `--no-name`; unknown: `error: unknown long flag '--name'`.
 * - `getopts`: a shell script reading options with POSIX getopts and `optstring`.
 * - `none`: the program takes no arguments (a server started by its image's command).
 */
export type CommandLineSyntax = 'go-flag' | 'pflag' | 'kingpin' | 'getopts' | 'none';

/**
 * The kind of value a flag takes, as the Go flag type that defines it: `bool` takes no separate
 * value; `int`/`uint` are Go integers (`strconv.ParseInt(s, 0, 64)`: decimal, 0x.., 0o..); `float`
 * a Go float; `duration` Go's `time.ParseDuration` (`300ms`, `1.5h`, `2h45m`, `0`); `stringSlice`
 * a comma-separated list that may also be repeated; `stringArray` a repeatable string;
 * `string` anything; `ip` an IPv4 or IPv6 address; `count` a repeatable counter with no value.
 */
export type FlagValueKind =
  | 'bool'
  | 'string'
  | 'int'
  | 'uint'
  | 'float'
  | 'duration'
  | 'stringSlice'
  | 'stringArray'
  | 'ip'
  | 'count';

export interface FlagFacts {
  /** The long name without dashes, exactly as the program defines it: `port`, `retry-attempts`. */
  name: string;
  kind: FlagValueKind;
  /** pflag one-letter shorthand (`n` for `-n`), when it has one. */
  shorthand?: string;
  /** The default as the program's help prints it (`8080`, `:15010`, `2s`); absent when empty. */
  default?: string;
}

/** One executable inside an image and the command line it accepts. */
export interface ProgramFacts {
  /** Absolute path inside the image, e.g. `/usr/local/bin/pilot-discovery`. */
  path: string;
  syntax: CommandLineSyntax;
  /** Flags accepted at the top level (Go flags, cobra root persistent flags). */
  flags: FlagFacts[];
  /**
   * Subcommands (cobra, mitchellh/cli) by name: flags each accepts besides the inherited
   * top-level ones. A program with subcommands needs one as its first non-flag argument.
   */
  subcommands?: Record<string, { flags: FlagFacts[]; positionals?: PositionalRule }>;
  /**
   * With subcommands: the program also runs without one, with the top-level flags (a cobra root
   * command that has its own Run, like istio_ca). Without this, no subcommand is refused.
   */
  rootRuns?: boolean;
  /** Positional arguments accepted without a subcommand (or after it, when the subcommand has no rule). */
  positionals?: PositionalRule;
  /** For `getopts`: the option string, e.g. `p:u:g:m:b:d:i:x:h`. */
  optstring?: string;
  /** Exit code and message shape when the program refuses its command line, as the real one does. */
  refusal: { exitCode: number };
  /**
   * `true` when `flags` (and every subcommand's) is the program's whole flag set at this version;
   * `false` when only the flags mesh-local passes were confirmed, and the rest is not listed.
   */
  complete: boolean;
  sources: Source[];
  /** Facts of this program that could not be confirmed, each a sentence. */
  unverified?: string[];
}

/** What positional arguments a program (or subcommand) takes. */
export type PositionalRule =
  | { kind: 'none' }
  | { kind: 'any' }
  /** Exactly `count` arguments, described for the error message (`a registry URI`). */
  | { kind: 'exactly'; count: number; description: string };

/** One image: how it starts and what is inside that a rendered service may call. */
export interface ImageFacts {
  /** The upstream reference these facts are about, e.g. `docker.io/istio/pilot:0.8.0`. */
  reference: string;
  /** The base image and what it brings, in words: `scratch`, `alpine:3.7 (busybox)`. */
  base: string;
  /** The image's ENTRYPOINT; `null` when it has none. */
  entrypoint: string[] | null;
  /** The image's CMD; `null` when it has none. */
  cmd: string[] | null;
  /** The image's USER; `root` when the Dockerfile sets none. */
  user: string;
  workdir?: string;
  /**
   * Commands a healthcheck or a rendered script can run, by the name found on PATH (`sh`, `curl`,
   * `wget`, `grep`, `env`, `etcdctl`, `iptables-save`). The programs below need not be repeated.
   */
  tools: string[];
  /** The programs whose command lines mesh-local renders (entrypoints, and the ones they run). */
  programs: ProgramFacts[];
  sources: Source[];
  /** Facts of this image that could not be confirmed, each a sentence. */
  unverified?: string[];
}
