/**
 * Parses a program's command line the way its upstream binary does, from the data in
 * `ProgramFacts`: Go's `flag` package, spf13/pflag as cobra drives it, alecthomas/kingpin v2, or a
 * shell script's POSIX `getopts`. The renderer's checks use it to hold rendered Compose command
 * lines against the real flag sets, and the sandbox stand-ins use it to refuse what the real
 * binary refuses, with the same message and exit code.
 *
 * Pure TypeScript with no imports but types: the stand-ins run it on a bare Node.js 18.
 *
 * Upstream versions copied (messages follow them):
 * - Go 1.19: src/flag/flag.go, src/strconv/atoi.go + atof.go, src/time/format.go, src/net/ip.go,
 *   src/encoding/csv/reader.go.
 * - spf13/pflag v1.0.0/v1.0.1 (flag.go, bool.go, count.go, ip.go, string_slice.go) and
 *   spf13/cobra v0.0.2 (command.go Find/stripFlags, args.go legacyArgs), as vendored by Istio 0.8.
 * - alecthomas/kingpin v2.2.6 (parser.go, flags.go, app.go), as vendored by Prometheus 2.3.
 * - mitchellh/cli (cli.go processArgs/Run), which selects Consul's subcommand.
 * - dash's getopts (src/options.c), the /bin/sh of Debian and the one whose wording is copied.
 */
import type { FlagFacts, FlagValueKind, PositionalRule, ProgramFacts } from './types.js';

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

export interface ParsedCommandLine {
  /** Subcommand chosen ('discovery', 'proxy', 'server', 'agent'); '' when the program has none. */
  subcommand: string;
  /**
   * Values by the flag's long name; a flag given several times keeps every value in order;
   * booleans as 'true'/'false'; count flags as the number of times. A help request the library
   * answers itself (cobra's `-h/--help` and `help` command, Go's undefined `-help`/`-h`,
   * kingpin's `--help`, mitchellh/cli's `-h`) is recorded as the boolean `help`, and
   * mitchellh/cli's `-v`/`--version` as `version`: the caller prints usage (or the version) and
   * exits 0, as upstream does.
   */
  flags: Map<string, string[]>;
  positionals: string[];
}

/**
 * The command line is refused. `message` is the error the real program prints before its usage
 * text (cobra's `Error: …` with its suggestions, kingpin's `name: error: …, try --help`, Go's
 * bare line).
 */
export class CommandLineError extends Error {
  /** `program.refusal.exitCode`. */
  readonly exitCode: number;
  /** The program's path (`ProgramFacts.path`). */
  readonly program: string;
  /** The upstream library's bare error, without the prefix the program adds (`Error: `, `name: error: `). */
  readonly reason: string;

  constructor(program: ProgramFacts, message: string, reason: string = message) {
    super(message);
    this.name = 'CommandLineError';
    this.exitCode = program.refusal.exitCode;
    this.program = program.path;
    this.reason = reason;
  }
}

/** Parses `argv` (without the program path) as `program` would; throws `CommandLineError`. */
export function parseCommandLine(program: ProgramFacts, argv: readonly string[]): ParsedCommandLine {
  const args = [...argv];
  switch (program.syntax) {
    case 'go-flag':
      return program.subcommands ? parseMitchellhCli(program, args) : parseGoFlagProgram(program, args);
    case 'pflag':
      return parseCobraProgram(program, args);
    case 'kingpin':
      return parseKingpinProgram(program, args);
    case 'getopts':
      return parseGetoptsProgram(program, args);
    case 'none':
      return parseNoArguments(program, args);
  }
}

/** The flag's last value on the command line, else its default (`FlagFacts.default`). */
export function flagValue(
  program: ProgramFacts,
  parsed: ParsedCommandLine,
  name: string,
  subcommand?: string,
): string | undefined {
  const flag = lookupFlag(program, parsed, name, subcommand);
  return parsed.flags.get(flag.name)?.at(-1) ?? flag.default;
}

/** An `int`, `uint` or `count` flag's value (Go's base-0 integer syntax), else its default. */
export function flagInt(
  program: ProgramFacts,
  parsed: ParsedCommandLine,
  name: string,
  subcommand?: string,
): number | undefined {
  const flag = lookupFlag(program, parsed, name, subcommand);
  requireKind(flag, ['int', 'uint', 'count'], 'flagInt');
  const { value, given } = lastOrDefault(parsed, flag);
  if (value === undefined) return flag.kind === 'count' ? 0 : undefined;
  return convert(program, flag, value, given, () => {
    // kingpin v2's Int() parses with strconv.ParseFloat and truncates (values_generated.go).
    if (program.syntax === 'kingpin' && flag.kind === 'int') return Math.trunc(goParseFloat(value));
    return Number(flag.kind === 'uint' ? goParseUint(value) : goParseInt(value));
  });
}

/** A `bool` flag's value: the last one given, else its default, else false. */
export function flagBool(
  program: ProgramFacts,
  parsed: ParsedCommandLine,
  name: string,
  subcommand?: string,
): boolean {
  const flag = lookupFlag(program, parsed, name, subcommand);
  requireKind(flag, ['bool'], 'flagBool');
  const { value, given } = lastOrDefault(parsed, flag);
  if (value === undefined) return false;
  return convert(program, flag, value, given, () => goParseBool(value));
}

/** A `duration` flag's value in milliseconds (Go's `time.ParseDuration`), else its default. */
export function flagDurationMs(
  program: ProgramFacts,
  parsed: ParsedCommandLine,
  name: string,
  subcommand?: string,
): number | undefined {
  const flag = lookupFlag(program, parsed, name, subcommand);
  requireKind(flag, ['duration'], 'flagDurationMs');
  const { value, given } = lastOrDefault(parsed, flag);
  if (value === undefined) return undefined;
  return convert(program, flag, value, given, () => parseGoDuration(value));
}

/**
 * A list flag's items: `stringSlice` splits every value on commas (pflag reads each as one CSV
 * record; other syntaxes split plainly), `stringArray` keeps every value whole. With no value on
 * the command line, the default, read as help prints it (`[a,b]` or `a,b`).
 */
export function flagList(
  program: ProgramFacts,
  parsed: ParsedCommandLine,
  name: string,
  subcommand?: string,
): string[] {
  const flag = lookupFlag(program, parsed, name, subcommand);
  requireKind(flag, ['stringSlice', 'stringArray'], 'flagList');
  const values = parsed.flags.get(flag.name);
  if (values && values.length > 0) {
    if (flag.kind === 'stringArray') return [...values];
    return convert(program, flag, values.join(','), true, () =>
      values.flatMap((v) => splitSliceValue(program, v)),
    );
  }
  if (flag.default === undefined) return [];
  // pflag's help prints slices as `[a,b]` (string_slice.go String()).
  const text = /^\[.*\]$/s.test(flag.default) ? flag.default.slice(1, -1) : flag.default;
  return convert(program, flag, text, false, () => splitSliceValue(program, text));
}

/** Go's `time.ParseDuration` (src/time/format.go), in milliseconds; throws on bad syntax. */
export function parseGoDuration(text: string): number {
  const ns = goParseDurationNs(text);
  // Whole milliseconds exactly; the sub-millisecond rest as a fraction.
  return Number(ns / 1_000_000n) + Number(ns % 1_000_000n) / 1e6;
}

// ---------------------------------------------------------------------------------------------
// Shared plumbing
// ---------------------------------------------------------------------------------------------

/** The flags one parse can see: by long name and by one-letter shorthand. */
interface FlagSet {
  long: Map<string, FlagFacts>;
  short: Map<string, FlagFacts>;
}

/** The implicit help flag of cobra, kingpin and Go's flag package. */
const HELP_FLAG: FlagFacts = { name: 'help', kind: 'bool' };

/** Earlier lists win, as the subcommand's own flags shadow inherited ones. */
function makeFlagSet(...lists: FlagFacts[][]): FlagSet {
  const set: FlagSet = { long: new Map(), short: new Map() };
  for (const list of lists) {
    for (const flag of list) {
      if (!set.long.has(flag.name)) set.long.set(flag.name, flag);
      if (flag.shorthand && !set.short.has(flag.shorthand)) set.short.set(flag.shorthand, flag);
    }
  }
  return set;
}

function subcommandFlags(program: ProgramFacts, subcommand: string): FlagFacts[] {
  return program.subcommands?.[subcommand]?.flags ?? [];
}

/** Takes no separate value: `-name` alone sets it (bool, count). */
function isSwitch(flag: FlagFacts): boolean {
  return flag.kind === 'bool' || flag.kind === 'count';
}

/** Collects flag values in command-line order. */
class FlagValues {
  readonly map = new Map<string, string[]>();

  add(flag: FlagFacts, value: string): void {
    const values = this.map.get(flag.name);
    if (values) values.push(value);
    else this.map.set(flag.name, [value]);
  }

  /** A count flag keeps one value, the count so far; `set` replaces it (pflag's `-v=3`). */
  count(flag: FlagFacts, set?: number): void {
    const now = Number(this.map.get(flag.name)?.[0] ?? '0');
    this.map.set(flag.name, [String(set ?? now + 1)]);
  }

  has(name: string): boolean {
    return this.map.has(name);
  }
}

function programName(program: ProgramFacts): string {
  return program.path.split('/').filter(Boolean).at(-1) ?? program.path;
}

function refuse(program: ProgramFacts, message: string, reason: string = message): never {
  throw new CommandLineError(program, message, reason);
}

function helpResult(subcommand: string, values: FlagValues, positionals: string[] = []): ParsedCommandLine {
  if (values.map.get('help')?.at(-1) !== 'true') values.add(HELP_FLAG, 'true');
  return { subcommand, flags: values.map, positionals };
}

/** The positional rule that applies: the subcommand's, else the program's. */
function positionalRule(program: ProgramFacts, subcommand: string): PositionalRule | undefined {
  return (subcommand ? program.subcommands?.[subcommand]?.positionals : undefined) ?? program.positionals;
}

/**
 * Enforces a positional rule for programs that check their arguments themselves (Go flag
 * programs, shell scripts). The wording generalises registrator's (`Missing required argument
 * for registry URI.`, `Extra unparsed arguments:`) and etcd's (`'x' is not a valid flag`).
 */
function checkPositionalsGeneric(program: ProgramFacts, rule: PositionalRule | undefined, args: string[]): void {
  if (!rule || rule.kind === 'any') return;
  const name = programName(program);
  if (rule.kind === 'none') {
    if (args.length > 0) {
      refuse(program, `'${args[0]}' is not a valid flag or argument: ${name} takes no positional arguments`);
    }
    return;
  }
  if (args.length < rule.count) {
    refuse(program, `Missing required argument for ${rule.description}.`);
  }
  if (args.length > rule.count) {
    refuse(
      program,
      `Extra unparsed arguments: ${args.slice(rule.count).join(' ')} ` +
        `(${name} takes ${rule.count} argument${rule.count === 1 ? '' : 's'}: ${rule.description}; options come before it)`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// go-flag: Go's flag package (src/flag/flag.go, FlagSet.parseOne)
// ---------------------------------------------------------------------------------------------

function parseGoFlagProgram(program: ProgramFacts, args: string[]): ParsedCommandLine {
  const values = new FlagValues();
  const outcome = parseGoFlags(program, makeFlagSet(program.flags), args, values);
  if (outcome === 'help') return helpResult('', values);
  checkPositionalsGeneric(program, positionalRule(program, ''), outcome);
  return { subcommand: '', flags: values.map, positionals: outcome };
}

/**
 * Go's FlagSet.Parse: flags until the first non-flag argument (`-` is one) or `--`. Returns the
 * remaining arguments, or 'help' when `-help`/`-h` was asked and not defined (Go returns ErrHelp).
 */
function parseGoFlags(program: ProgramFacts, set: FlagSet, args: string[], values: FlagValues): string[] | 'help' {
  let i = 0;
  while (i < args.length) {
    const s = args[i] ?? '';
    if (s.length < 2 || s[0] !== '-') break;
    let minuses = 1;
    if (s[1] === '-') {
      minuses = 2;
      if (s.length === 2) {
        i += 1; // "--" terminates the flags and is dropped
        break;
      }
    }
    let name = s.slice(minuses);
    if (name.length === 0 || name[0] === '-' || name[0] === '=') {
      refuse(program, `bad flag syntax: ${s}`);
    }
    i += 1;
    // The value follows the first '=' after the first character ("equals cannot be first").
    let value: string | undefined;
    const eq = name.indexOf('=', 1);
    if (eq > 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    const flag = set.long.get(name);
    if (!flag) {
      if (name === 'help' || name === 'h') return 'help';
      refuse(program, `flag provided but not defined: -${name}`);
    }
    if (isSwitch(flag)) {
      // Boolean flags take only -name or -name=value, never the next argument.
      if (value === undefined) {
        if (flag.kind === 'count') values.count(flag);
        else values.add(flag, 'true');
      } else if (flag.kind === 'count') {
        const problem = goFlagValueProblem('int', value);
        if (problem) refuse(program, `invalid value ${goQuote(value)} for flag -${name}: ${problem}`);
        values.count(flag, Number(goParseInt(value)));
      } else {
        const problem = goFlagValueProblem('bool', value);
        if (problem) refuse(program, `invalid boolean value ${goQuote(value)} for -${name}: ${problem}`);
        values.add(flag, String(goParseBool(value)));
      }
      continue;
    }
    if (value === undefined) {
      if (i >= args.length) refuse(program, `flag needs an argument: -${name}`);
      value = args[i] ?? '';
      i += 1;
    }
    const problem = goFlagValueProblem(flag.kind, value);
    if (problem) refuse(program, `invalid value ${goQuote(value)} for flag -${name}: ${problem}`);
    values.add(flag, value);
  }
  return args.slice(i);
}

/**
 * Why Go's flag Value.Set refuses a value: flag.go maps strconv's syntax and range errors to
 * `parse error` / `value out of range` (numError), and any duration or bool error to `parse error`.
 */
function goFlagValueProblem(kind: FlagValueKind, value: string): string | undefined {
  try {
    checkGoValue(kind, value);
    return undefined;
  } catch (error) {
    if (error instanceof GoNumError && error.err === 'value out of range') return 'value out of range';
    return 'parse error';
  }
}

/** mitchellh/cli's `-v`/`-version`/`--version` before the subcommand. */
const VERSION_FLAG: FlagFacts = { name: 'version', kind: 'bool' };

/**
 * mitchellh/cli (cli.go processArgs, Run), as Consul uses it: `-h`, `-help` or `--help` anywhere
 * before `--` asks for help, `-v`/`-version`/`--version` before the subcommand for the version;
 * the first argument not starting with '-' is the subcommand; other flags before it are refused;
 * the subcommand then parses the rest with Go's flag package.
 */
function parseMitchellhCli(program: ProgramFacts, args: string[]): ParsedCommandLine {
  const values = new FlagValues();
  let subcommand = '';
  let subcommandAt = -1;
  let help = false;
  let version = false;
  const topFlags: string[] = [];
  for (const [index, arg] of args.entries()) {
    if (arg === '--') break;
    if (arg === '-h' || arg === '-help' || arg === '--help') {
      help = true;
      continue;
    }
    if (subcommand === '') {
      if (arg === '-v' || arg === '-version' || arg === '--version') {
        version = true; // before the subcommand only
        continue;
      }
      if (arg.startsWith('-')) topFlags.push(arg);
      else if (arg !== '') {
        subcommand = arg;
        subcommandAt = index;
      }
    }
  }
  if (version) {
    // Run prints the version and exits 0 (Consul's main also maps -v/--version to `version`).
    values.add(VERSION_FLAG, 'true');
    return { subcommand: '', flags: values.map, positionals: [] };
  }
  if (help && subcommand === '') return helpResult('', values);
  const known = Object.keys(program.subcommands ?? {});
  if (!known.includes(subcommand)) {
    // cli.go prints the command list (exit 127 upstream; refusal.exitCode here).
    refuse(
      program,
      subcommand === ''
        ? `${programName(program)}: a subcommand is required (one of: ${known.join(', ')})`
        : `${programName(program)}: unknown subcommand '${subcommand}' (one of: ${known.join(', ')})`,
    );
  }
  if (help) return helpResult(subcommand, values);
  if (topFlags.length > 0) {
    refuse(
      program,
      'Invalid flags before the subcommand. If these flags are for the subcommand, please put them after the subcommand.',
    );
  }
  const set = makeFlagSet(subcommandFlags(program, subcommand), program.flags);
  const outcome = parseGoFlags(program, set, args.slice(subcommandAt + 1), values);
  if (outcome === 'help') return helpResult(subcommand, values);
  checkPositionalsGeneric(program, positionalRule(program, subcommand), outcome);
  return { subcommand, flags: values.map, positionals: outcome };
}

// ---------------------------------------------------------------------------------------------
// pflag + cobra (spf13/pflag flag.go parseArgs; spf13/cobra command.go Find, args.go)
// ---------------------------------------------------------------------------------------------

/** cobra's InitDefaultHelpFlag: `--help`, with `-h` unless another flag took it. */
function cobraFlagSet(flags: FlagFacts[]): FlagSet {
  const set = makeFlagSet(flags);
  if (!set.long.has('help')) {
    const help = set.short.has('h') ? HELP_FLAG : { ...HELP_FLAG, shorthand: 'h' };
    set.long.set('help', help);
    if (help.shorthand) set.short.set('h', help);
  }
  return set;
}

function parseCobraProgram(program: ProgramFacts, args: string[]): ParsedCommandLine {
  const name = programName(program);
  const values = new FlagValues();
  let subcommand = '';
  let rest = args;
  if (program.subcommands) {
    // Command.Find runs before the help flag exists (execute() adds it), so it is unknown here.
    const rootSet = makeFlagSet(program.flags);
    const words = cobraStripFlags(args, rootSet);
    const first = words[0];
    if (first !== undefined && Object.hasOwn(program.subcommands, first)) {
      subcommand = first;
      rest = cobraArgsMinusFirstX(args, first);
    } else if (first === 'help') {
      // InitDefaultHelpCmd adds `help [command]`: it parses its (inherited) flags, prints help
      // and exits 0.
      const positionals = parsePflagArgs(program, cobraFlagSet(program.flags), cobraArgsMinusFirstX(args, first), values);
      return helpResult('', values, positionals);
    } else if (first !== undefined) {
      // args.go legacyArgs: a root command with subcommands takes no arguments.
      const reason = `unknown command ${goQuote(first)} for ${goQuote(name)}${cobraSuggestions(program, first)}`;
      refuse(program, `Error: ${reason.trimEnd()}`, reason);
    }
  }
  const set = cobraFlagSet(subcommand ? [...subcommandFlags(program, subcommand), ...program.flags] : program.flags);
  let positionals: string[];
  try {
    positionals = parsePflagArgs(program, set, rest, values);
  } catch (error) {
    if (error instanceof PflagHelp) return helpResult(subcommand, values);
    throw error;
  }
  // cobra checks the help flag before the command's Args and Runnable().
  if (values.map.get('help')?.at(-1) === 'true') return { subcommand, flags: values.map, positionals };
  if (program.subcommands && !subcommand && !program.rootRuns) {
    // A root without Run prints its help and exits 0 upstream; nothing would run, so refuse.
    refuse(
      program,
      `Error: ${name} needs a subcommand (one of: ${Object.keys(program.subcommands).join(', ')})`,
      `${name} needs a subcommand`,
    );
  }
  checkCobraPositionals(program, positionalRule(program, subcommand), subcommand, positionals);
  return { subcommand, flags: values.map, positionals };
}

/**
 * command.go findSuggestions: subcommands within Levenshtein distance 2 (ignoring case) or
 * starting with what was typed, in the order they were added.
 */
function cobraSuggestions(program: ProgramFacts, typed: string): string {
  const lower = typed.toLowerCase();
  const names = Object.keys(program.subcommands ?? {}).filter(
    (name) => levenshtein(lower, name.toLowerCase()) <= 2 || name.toLowerCase().startsWith(lower),
  );
  return names.length === 0 ? '' : `\n\nDid you mean this?\n${names.map((n) => `\t${n}\n`).join('')}`;
}

function levenshtein(s: string, t: string): number {
  let previous = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= t.length; j += 1) {
      const substitution = (previous[j - 1] ?? 0) + (s[i - 1] === t[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[t.length] ?? 0;
}

/** cobra's NoArgs and ExactArgs wording (args.go). */
function checkCobraPositionals(
  program: ProgramFacts,
  rule: PositionalRule | undefined,
  subcommand: string,
  args: string[],
): void {
  if (!rule || rule.kind === 'any') return;
  const commandPath = subcommand ? `${programName(program)} ${subcommand}` : programName(program);
  let reason: string | undefined;
  if (rule.kind === 'none' && args.length > 0) {
    reason = `unknown command ${goQuote(args[0] ?? '')} for ${goQuote(commandPath)}`;
  } else if (rule.kind === 'exactly' && args.length !== rule.count) {
    reason = `accepts ${rule.count} arg(s), received ${args.length} (${rule.description})`;
  }
  if (reason) refuse(program, `Error: ${reason}`, reason);
}

/** Does `--name` (or `-n`) consume the next argument? Copies cobra's hasNoOptDefVal tests. */
function cobraTakesNextArg(s: string, set: FlagSet): boolean {
  if (s.startsWith('--') && !s.includes('=')) {
    const flag = set.long.get(s.slice(2));
    return !(flag && isSwitch(flag));
  }
  if (s.startsWith('-') && !s.includes('=') && s.length === 2) {
    const flag = set.short.get(s.slice(1));
    return !(flag && isSwitch(flag));
  }
  return false;
}

/** cobra's stripFlags: the words that could name a subcommand, flag values skipped. */
function cobraStripFlags(args: string[], set: FlagSet): string[] {
  const words: string[] = [];
  let rest = args;
  while (rest.length > 0) {
    const s = rest[0] ?? '';
    rest = rest.slice(1);
    if (s === '--') break;
    if (cobraTakesNextArg(s, set)) {
      // "delete arg from args or break the loop if len(args) <= 1" (sic: a last value ends it)
      if (rest.length <= 1) break;
      rest = rest.slice(1);
      continue;
    }
    if (s !== '' && !s.startsWith('-')) words.push(s);
  }
  return words;
}

/**
 * cobra v0.0.2's argsMinusFirstX: the arguments without the first one equal to the subcommand's
 * name (cobra 1.x skips flag values here; the two differ only when a value before the
 * subcommand equals its name).
 */
function cobraArgsMinusFirstX(args: string[], x: string): string[] {
  const at = args.indexOf(x);
  return at < 0 ? args : [...args.slice(0, at), ...args.slice(at + 1)];
}

/** pflag's parseArgs with interspersed arguments: returns the positional arguments. */
function parsePflagArgs(program: ProgramFacts, set: FlagSet, args: string[], values: FlagValues): string[] {
  const positionals: string[] = [];
  let rest = args;
  while (rest.length > 0) {
    const s = rest[0] ?? '';
    rest = rest.slice(1);
    if (s.length < 2 || s[0] !== '-') {
      positionals.push(s); // includes "" and "-"
      continue;
    }
    if (s[1] === '-') {
      if (s.length === 2) {
        positionals.push(...rest); // "--" terminates the flags
        break;
      }
      rest = parsePflagLong(program, set, s, rest, values);
    } else {
      rest = parsePflagShorts(program, set, s, rest, values);
    }
  }
  return positionals;
}

/** pflag's parseLongArg: `--name`, `--name=value`, `--name value` (not for bool/count). */
function parsePflagLong(program: ProgramFacts, set: FlagSet, s: string, args: string[], values: FlagValues): string[] {
  let name = s.slice(2);
  if (name.length === 0 || name[0] === '-' || name[0] === '=') {
    pflagFail(program, `bad flag syntax: ${s}`);
  }
  let value: string | undefined;
  const eq = name.indexOf('=');
  if (eq >= 0) {
    value = name.slice(eq + 1);
    name = name.slice(0, eq);
  }
  const flag = set.long.get(name);
  if (!flag) pflagFail(program, `unknown flag: --${name}`);
  let rest = args;
  if (value === undefined) {
    if (isSwitch(flag)) {
      value = undefined; // NoOptDefVal: "true" for bool, "+1" for count
    } else if (rest.length > 0) {
      value = rest[0] ?? ''; // taken even when it starts with '-'
      rest = rest.slice(1);
    } else {
      pflagFail(program, `flag needs an argument: ${s}`);
    }
  }
  setPflagValue(program, flag, value, values);
  return rest;
}

/** pflag's parseShortArg: `-n value`, `-nvalue`, `-n=value`, switches combined (`-abc`). */
function parsePflagShorts(program: ProgramFacts, set: FlagSet, s: string, args: string[], values: FlagValues): string[] {
  let shorthands = s.slice(1);
  let rest = args;
  while (shorthands.length > 0) {
    // Go test flags (-test.v) are skipped; pflag v1.0.0/v1.0.1 return before copying the
    // remaining arguments, so everything after one is silently dropped (fixed in v1.0.2).
    if (shorthands.startsWith('test.')) return [];
    const c = shorthands[0] ?? '';
    const flag = set.short.get(c);
    if (!flag && c === 'h') throw new PflagHelp(); // an undefined -h is ErrHelp
    if (!flag) pflagFail(program, `unknown shorthand flag: ${goQuoteRune(c)} in -${shorthands}`);
    let value: string | undefined;
    let next = shorthands.slice(1);
    if (shorthands.length > 2 && shorthands[1] === '=') {
      value = shorthands.slice(2); // '-f=arg'
      next = '';
    } else if (isSwitch(flag)) {
      value = undefined; // '-f': NoOptDefVal, the rest are more shorthands
    } else if (shorthands.length > 1) {
      value = shorthands.slice(1); // '-farg'
      next = '';
    } else if (rest.length > 0) {
      value = rest[0] ?? ''; // '-f arg'
      rest = rest.slice(1);
    } else {
      pflagFail(program, `flag needs an argument: ${goQuoteRune(c)} in -${shorthands}`);
    }
    setPflagValue(program, flag, value, values);
    shorthands = next;
  }
  return rest;
}

/** pflag's FlagSet.Set: `value` undefined stands for the flag's NoOptDefVal. */
function setPflagValue(program: ProgramFacts, flag: FlagFacts, value: string | undefined, values: FlagValues): void {
  if (value === undefined || (flag.kind === 'count' && value === '+1')) {
    if (flag.kind === 'count') values.count(flag);
    else values.add(flag, 'true');
    return;
  }
  const problem = pflagValueProblem(flag.kind === 'count' ? 'int' : flag.kind, value);
  if (problem !== undefined) {
    const flagName = flag.shorthand ? `-${flag.shorthand}, --${flag.name}` : `--${flag.name}`;
    pflagFail(program, `invalid argument ${goQuote(value)} for ${goQuote(flagName)} flag: ${problem}`);
  }
  if (flag.kind === 'count') values.count(flag, Number(goParseInt(value)));
  else if (flag.kind === 'bool') values.add(flag, String(goParseBool(value)));
  else values.add(flag, value);
}

/** The error pflag's Value.Set returns, verbatim (pflag does not map strconv errors). */
function pflagValueProblem(kind: FlagValueKind, value: string): string | undefined {
  try {
    if (kind === 'ip') {
      // ip.go: net.ParseIP(strings.TrimSpace(s)), else `failed to parse IP: %q`.
      if (!goParseIP(value.trim())) return `failed to parse IP: ${goQuote(value)}`;
      return undefined;
    }
    if (kind === 'stringSlice') {
      readAsCsv(value);
      return undefined;
    }
    checkGoValue(kind, value);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** pflag's ErrHelp: parsing stops and cobra prints the help (exit 0). */
class PflagHelp extends Error {}

/** cobra prints `Error: ` and the pflag error. */
function pflagFail(program: ProgramFacts, reason: string): never {
  refuse(program, `Error: ${reason}`, reason);
}

// ---------------------------------------------------------------------------------------------
// kingpin v2 (alecthomas/kingpin parser.go ParseContext.Next, flags.go flagGroup.parse, app.go)
// ---------------------------------------------------------------------------------------------

type KingpinToken = { type: 'long' | 'short' | 'arg'; value: string } | { type: 'eol'; value: '' };

/** kingpin's lexer: `--name[=value]`, `-n[value]`, `--` then only arguments. */
class KingpinLexer {
  private readonly pushed: KingpinToken[] = [];
  private argsOnly = false;

  constructor(
    private readonly args: string[],
    private readonly short: () => Map<string, FlagFacts>,
  ) {}

  peek(): KingpinToken {
    const token = this.next();
    this.push(token);
    return token;
  }

  push(token: KingpinToken): void {
    this.pushed.push(token);
  }

  next(): KingpinToken {
    const pushed = this.pushed.pop();
    if (pushed) return pushed;
    const arg = this.args.shift();
    if (arg === undefined) return { type: 'eol', value: '' };
    if (this.argsOnly) return { type: 'arg', value: arg };
    if (arg === '--') {
      this.argsOnly = true;
      return this.next();
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=', 2);
      if (eq < 0) return { type: 'long', value: arg.slice(2) };
      // "--name=value" is the token "--name" then the argument "value", even for a boolean flag.
      this.push({ type: 'arg', value: arg.slice(eq + 1) });
      return { type: 'long', value: arg.slice(2, eq) };
    }
    if (arg.startsWith('-')) {
      if (arg.length === 1) return { type: 'short', value: '' };
      const c = String.fromCodePoint(arg.codePointAt(1) ?? 0);
      const after = arg.slice(1 + c.length);
      const flag = this.short().get(c);
      if (flag && !isSwitch(flag)) {
        // Short flag with combined argument: -fARG
        if (after) this.push({ type: 'arg', value: after });
        return { type: 'short', value: c };
      }
      // Unknown or boolean: the rest are more short flags.
      if (after) this.args.unshift(`-${after}`);
      return { type: 'short', value: c };
    }
    // kingpin expands "@file" from the file here; this parser cannot read files.
    return { type: 'arg', value: arg };
  }
}

function kingpinTokenText(token: KingpinToken): string {
  if (token.type === 'long') return `--${token.value}`;
  if (token.type === 'short') return `-${token.value}`;
  if (token.type === 'eol') return '<EOL>';
  return token.value;
}

function parseKingpinProgram(program: ProgramFacts, args: string[]): ParsedCommandLine {
  const name = programName(program);
  const fail = (reason: string): never => refuse(program, `${name}: error: ${reason}, try --help`, reason);
  let subcommand = '';
  let set = makeFlagSet(program.flags, [HELP_FLAG]);
  const lexer = new KingpinLexer(args, () => set.short);
  const elements: Array<{ flag: FlagFacts; value: string }> = [];
  const positionals: string[] = [];
  const rule = (): PositionalRule | undefined => positionalRule(program, subcommand);

  for (;;) {
    const token = lexer.peek();
    if (token.type === 'eol') break;
    if (token.type === 'long' || token.type === 'short') {
      const outcome = parseKingpinFlag(lexer, set, token);
      if (typeof outcome === 'string') return fail(outcome);
      elements.push(outcome);
      continue;
    }
    // An argument: a command while one is still to choose, else a positional if the app takes any.
    if (program.subcommands && subcommand === '') {
      if (!Object.hasOwn(program.subcommands, token.value)) {
        return fail(`expected command but got ${goQuote(token.value)}`);
      }
      subcommand = token.value;
      set = makeFlagSet(subcommandFlags(program, subcommand), program.flags, [HELP_FLAG]);
      lexer.next();
      continue;
    }
    const current = rule();
    const room =
      current === undefined || current.kind === 'any'
        ? Infinity
        : current.kind === 'exactly'
          ? current.count
          : 0;
    if (positionals.length >= room) break;
    positionals.push(token.value);
    lexer.next();
  }
  const left = lexer.peek();
  if (left.type !== 'eol') return fail(`unexpected ${kingpinTokenText(left)}`);

  // app.go Parse: parse errors first, then help (maybeHelp: `--help`, even `--no-help`), then
  // the values (setValues: each flag in order; only cumulative flags may repeat), then required.
  const values = new FlagValues();
  let valueError: string | undefined;
  for (const { flag, value } of elements) {
    const cumulative = flag.kind === 'stringSlice' || flag.kind === 'stringArray' || flag.kind === 'count';
    if (values.has(flag.name) && !cumulative) {
      valueError = `flag '${flag.name}' cannot be repeated`;
      break;
    }
    const problem = isSwitch(flag) ? undefined : kingpinValueProblem(flag.kind, value);
    if (problem !== undefined) {
      valueError = problem;
      break;
    }
    if (flag.kind === 'count') values.count(flag);
    else values.add(flag, value);
  }
  if (elements.some((e) => e.flag === HELP_FLAG)) return helpResult(subcommand, values, positionals);
  if (valueError !== undefined) return fail(valueError);
  if (program.subcommands && subcommand === '') {
    fail(`command not specified (one of: ${Object.keys(program.subcommands).join(', ')})`);
  }
  const final = rule();
  if (final?.kind === 'exactly' && positionals.length < final.count) {
    fail(`required argument '${final.description}' not provided`);
  }
  return { subcommand, flags: values.map, positionals };
}

/** flags.go flagGroup.parse: one flag and its value, or kingpin's error text. */
function parseKingpinFlag(
  lexer: KingpinLexer,
  set: FlagSet,
  token: KingpinToken,
): { flag: FlagFacts; value: string } | string {
  const tokenText = kingpinTokenText(token);
  let flag: FlagFacts | undefined;
  let invert = false;
  if (token.type === 'long') {
    flag = set.long.get(token.value);
    if (!flag && token.value.startsWith('no-')) {
      flag = set.long.get(token.value.slice(3));
      invert = true;
    }
    if (!flag) return `unknown long flag '${tokenText}'`;
  } else {
    flag = set.short.get(token.value);
    if (!flag) return `unknown short flag '${tokenText}'`;
  }
  lexer.next();
  if (isSwitch(flag)) return { flag, value: invert ? 'false' : 'true' };
  if (invert) return `unknown long flag '${tokenText}'`; // --no- only negates booleans
  const valueToken = lexer.peek();
  if (valueToken.type !== 'arg') return `expected argument for flag '${tokenText}'`;
  lexer.next();
  return { flag, value: valueToken.value };
}

/** kingpin's Value.Set errors, verbatim; Int() parses with strconv.ParseFloat (values.json). */
function kingpinValueProblem(kind: FlagValueKind, value: string): string | undefined {
  try {
    if (kind === 'int') goParseFloat(value);
    else if (kind === 'ip') {
      if (!goParseIP(value)) return `'${value}' is not an IP address`;
    } else checkGoValue(kind, value);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

// ---------------------------------------------------------------------------------------------
// getopts: POSIX getopts with dash's wording (dash src/options.c getopts())
// ---------------------------------------------------------------------------------------------

function parseGetoptsProgram(program: ProgramFacts, args: string[]): ParsedCommandLine {
  const optstring = program.optstring;
  if (optstring === undefined) throw new Error(`${program.path}: syntax 'getopts' needs an optstring`);
  const values = new FlagValues();
  let i = 0;
  while (i < args.length) {
    const word = args[i] ?? '';
    // Options end at a word not starting with '-', at "-" alone, or after "--" (dropped).
    if (word.length < 2 || word[0] !== '-') break;
    i += 1;
    if (word === '--') break;
    let p = 1;
    while (p < word.length) {
      const c = word[p] ?? '';
      p += 1;
      const takesArgument = getoptsLookup(optstring, c);
      if (takesArgument === undefined) refuse(program, `Illegal option -${c}`);
      const flag = getoptsFlag(program, c);
      if (!takesArgument) {
        if (flag.kind === 'count') values.count(flag);
        else values.add(flag, 'true');
        continue;
      }
      // The argument is the rest of this word, else the next word, whatever it starts with.
      if (p < word.length) {
        values.add(flag, word.slice(p));
        p = word.length;
      } else if (i < args.length) {
        values.add(flag, args[i] ?? '');
        i += 1;
      } else {
        refuse(program, `No arg for -${c} option`);
      }
    }
  }
  const positionals = args.slice(i);
  checkPositionalsGeneric(program, program.positionals, positionals);
  // The shell does not check values; a script's own checks are not modelled.
  return { subcommand: '', flags: values.map, positionals };
}

/**
 * dash's walk of the option string: each letter, then ':' if it takes an argument. Returns
 * whether `c` takes an argument, or undefined when it is not an option.
 */
function getoptsLookup(optstring: string, c: string): boolean | undefined {
  let q = 0;
  while (optstring[q] !== c) {
    if (q >= optstring.length) return undefined;
    q += 1;
    if (optstring[q] === ':') q += 1;
  }
  return optstring[q + 1] === ':';
}

/** The FlagFacts describing option letter `c` (by shorthand, else by name), else a plain one. */
function getoptsFlag(program: ProgramFacts, c: string): FlagFacts {
  return (
    program.flags.find((f) => f.shorthand === c) ??
    program.flags.find((f) => f.name === c) ?? { name: c, kind: 'string' }
  );
}

// ---------------------------------------------------------------------------------------------
// none: a server started without arguments
// ---------------------------------------------------------------------------------------------

function parseNoArguments(program: ProgramFacts, args: string[]): ParsedCommandLine {
  if (args.length > 0) {
    refuse(program, `${programName(program)} takes no arguments; got '${args.join("' '")}'`);
  }
  return { subcommand: '', flags: new Map(), positionals: [] };
}

// ---------------------------------------------------------------------------------------------
// Accessor helpers
// ---------------------------------------------------------------------------------------------

function lookupFlag(program: ProgramFacts, parsed: ParsedCommandLine, name: string, subcommand?: string): FlagFacts {
  const sub = subcommand ?? parsed.subcommand;
  if (sub && !program.subcommands?.[sub]) throw new Error(`${program.path} has no subcommand '${sub}'`);
  const flag =
    subcommandFlags(program, sub).find((f) => f.name === name) ??
    program.flags.find((f) => f.name === name) ??
    (program.syntax === 'getopts' ? program.flags.find((f) => f.shorthand === name) : undefined);
  if (flag) return flag;
  // The flags the library adds itself.
  if (name === 'help' && program.syntax !== 'getopts' && program.syntax !== 'none') return HELP_FLAG;
  if (name === 'version' && program.syntax === 'go-flag' && program.subcommands) return VERSION_FLAG;
  throw new Error(`${program.path}${sub ? ` ${sub}` : ''} defines no flag '${name}'`);
}

function requireKind(flag: FlagFacts, kinds: FlagValueKind[], accessor: string): void {
  if (!kinds.includes(flag.kind)) {
    throw new Error(`${accessor}: flag '${flag.name}' is a ${flag.kind} flag, not ${kinds.join('/')}`);
  }
}

function lastOrDefault(parsed: ParsedCommandLine, flag: FlagFacts): { value: string | undefined; given: boolean } {
  const last = parsed.flags.get(flag.name)?.at(-1);
  return last !== undefined ? { value: last, given: true } : { value: flag.default, given: false };
}

/**
 * Runs a conversion. A bad value from the command line is a refusal (only a getopts script lets
 * one through parsing); a bad default is an error in the facts.
 */
function convert<T>(program: ProgramFacts, flag: FlagFacts, value: string, given: boolean, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    const reason = (error as Error).message;
    if (given) refuse(program, `invalid value ${goQuote(value)} for ${flag.name}: ${reason}`, reason);
    throw new Error(`${program.path}: default ${goQuote(value)} of flag '${flag.name}' is not valid: ${reason}`);
  }
}

function splitSliceValue(program: ProgramFacts, value: string): string[] {
  if (program.syntax === 'pflag') return readAsCsv(value);
  return value === '' ? [] : value.split(',');
}

// ---------------------------------------------------------------------------------------------
// Go value syntaxes
// ---------------------------------------------------------------------------------------------

/** Throws the error Go's own parser returns for `value` as a flag of `kind`. */
function checkGoValue(kind: FlagValueKind, value: string): void {
  switch (kind) {
    case 'int':
    case 'count':
      goParseInt(value);
      return;
    case 'uint':
      goParseUint(value);
      return;
    case 'float':
      goParseFloat(value);
      return;
    case 'bool':
      goParseBool(value);
      return;
    case 'duration':
      goParseDurationNs(value);
      return;
    case 'ip':
      if (!goParseIP(value)) throw new Error(`invalid IP address ${goQuote(value)}`);
      return;
    case 'string':
    case 'stringSlice':
    case 'stringArray':
      return;
  }
}

/** strconv.NumError: `strconv.ParseInt: parsing "x": invalid syntax`. */
class GoNumError extends Error {
  constructor(
    readonly fn: string,
    readonly num: string,
    readonly err: 'invalid syntax' | 'value out of range',
  ) {
    super(`strconv.${fn}: parsing ${goQuote(num)}: ${err}`);
  }
}

const MAX_UINT64 = (1n << 64n) - 1n;

/**
 * strconv.ParseUint(s, 0, 64) (atoi.go): base from the prefix (0x, 0o, 0b, or a leading 0 for
 * octal), '_' only between digits or after a prefix.
 */
function goParseUint(s: string, fn = 'ParseUint', num = s): bigint {
  if (s === '') throw new GoNumError(fn, num, 'invalid syntax');
  let base = 10n;
  let digits = s;
  if (s[0] === '0') {
    const p = s[1]?.toLowerCase();
    if (s.length >= 3 && (p === 'b' || p === 'o' || p === 'x')) {
      base = p === 'b' ? 2n : p === 'o' ? 8n : 16n;
      digits = s.slice(2);
    } else {
      base = 8n;
      digits = s.slice(1);
    }
  }
  let n = 0n;
  let underscores = false;
  for (const c of digits) {
    if (c === '_') {
      underscores = true;
      continue;
    }
    const d = digitValue(c);
    if (d === undefined || BigInt(d) >= base) throw new GoNumError(fn, num, 'invalid syntax');
    n = n * base + BigInt(d);
    if (n > MAX_UINT64) throw new GoNumError(fn, num, 'value out of range');
  }
  if (underscores && !underscoreOK(s)) throw new GoNumError(fn, num, 'invalid syntax');
  return n;
}

/** strconv.ParseInt(s, 0, 64): an optional sign, then ParseUint's syntax. */
function goParseInt(s: string): bigint {
  if (s === '') throw new GoNumError('ParseInt', s, 'invalid syntax');
  const neg = s[0] === '-';
  const body = s[0] === '+' || s[0] === '-' ? s.slice(1) : s;
  let un: bigint;
  try {
    un = goParseUint(body, 'ParseInt', s);
  } catch (error) {
    if (error instanceof GoNumError && error.err === 'value out of range') {
      throw new GoNumError('ParseInt', s, 'value out of range');
    }
    throw error;
  }
  const cutoff = 1n << 63n;
  if ((!neg && un >= cutoff) || (neg && un > cutoff)) throw new GoNumError('ParseInt', s, 'value out of range');
  return neg ? -un : un;
}

function digitValue(c: string): number | undefined {
  const code = c.toLowerCase().charCodeAt(0);
  if (c.length !== 1) return undefined;
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 122) return code - 97 + 10;
  return undefined;
}

/** strconv's underscoreOK: '_' only between digits, or between a base prefix and a digit. */
function underscoreOK(input: string): boolean {
  let saw = '^';
  let i = 0;
  let s = input;
  if (s.length >= 1 && (s[0] === '-' || s[0] === '+')) s = s.slice(1);
  let hex = false;
  const p = s[1]?.toLowerCase();
  if (s.length >= 2 && s[0] === '0' && (p === 'b' || p === 'o' || p === 'x')) {
    i = 2;
    saw = '0'; // base prefix counts as a digit for "underscore as digit separator"
    hex = p === 'x';
  }
  for (; i < s.length; i += 1) {
    const c = s[i] ?? '';
    if ((c >= '0' && c <= '9') || (hex && /[a-fA-F]/.test(c))) {
      saw = '0';
      continue;
    }
    if (c === '_') {
      if (saw !== '0') return false;
      saw = '_';
      continue;
    }
    if (saw === '_') return false;
    saw = '!';
  }
  return saw !== '_';
}

/**
 * strconv.ParseFloat(s, 64) (atof.go): decimal or hex (`0x1.8p3`, exponent required) with '_'
 * separators, or inf/infinity/nan; ±Inf from a finite literal is out of range.
 */
function goParseFloat(s: string): number {
  const special = /^([+-]?)(inf|infinity)$/i.exec(s);
  if (special) return special[1] === '-' ? -Infinity : Infinity;
  if (/^nan$/i.test(s)) return NaN;
  const syntax = (): never => {
    throw new GoNumError('ParseFloat', s, 'invalid syntax');
  };
  let value: number;
  const hex = /^([+-]?)0[xX]([0-9a-fA-F_]*)(?:\.([0-9a-fA-F_]*))?[pP]([+-]?[0-9][0-9_]*)$/.exec(s);
  if (hex) {
    const int = (hex[2] ?? '').replaceAll('_', '');
    const frac = (hex[3] ?? '').replaceAll('_', '');
    if (int + frac === '') syntax();
    const exp = Number((hex[4] ?? '0').replaceAll('_', ''));
    // Exact for mantissas up to 53 bits; longer ones may round twice (not seen in flags).
    const mantissa = Number(BigInt(`0x${int}${frac}`));
    value = mantissa * 2 ** (exp - 4 * frac.length);
    if (hex[1] === '-') value = -value;
  } else {
    const dec = /^[+-]?([0-9_]*)(?:\.([0-9_]*))?(?:[eE][+-]?[0-9][0-9_]*)?$/.exec(s);
    if (!dec || !/[0-9]/.test(`${dec[1] ?? ''}${dec[2] ?? ''}`)) syntax();
    // Go reads an exponent only after a digit of the mantissa: "1e5" yes, ".e5" no (checked above).
    value = Number(s.replaceAll('_', ''));
    if (Number.isNaN(value)) syntax();
  }
  if (s.includes('_') && !underscoreOK(s)) syntax();
  if (!Number.isFinite(value)) throw new GoNumError('ParseFloat', s, 'value out of range');
  return value;
}

/** strconv.ParseBool. */
function goParseBool(s: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  throw new GoNumError('ParseBool', s, 'invalid syntax');
}

const DURATION_UNITS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  'µs': 1_000n, // U+00B5 micro sign
  'μs': 1_000n, // U+03BC Greek mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

/** time.ParseDuration (src/time/format.go) in nanoseconds, with its error messages. */
function goParseDurationNs(orig: string): bigint {
  const invalid = (): never => {
    throw new Error(`time: invalid duration ${timeQuote(orig)}`);
  };
  const limit = 1n << 63n;
  let s = orig;
  let neg = false;
  if (s[0] === '-' || s[0] === '+') {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0n; // "0" alone needs no unit
  if (s === '') invalid();
  let d = 0n;
  while (s !== '') {
    if (!/^[0-9.]/.test(s)) invalid();
    // Consume [0-9]*
    const intDigits = /^[0-9]*/.exec(s)?.[0] ?? '';
    let v = 0n;
    for (const c of intDigits) {
      if (v > limit / 10n) invalid();
      v = v * 10n + BigInt(c.charCodeAt(0) - 48);
      if (v > limit) invalid();
    }
    s = s.slice(intDigits.length);
    // Consume (\.[0-9]*)?; digits past uint64 precision are ignored, as leadingFraction does.
    let f = 0n;
    let scale = 1;
    let post = false;
    if (s[0] === '.') {
      s = s.slice(1);
      const fracDigits = /^[0-9]*/.exec(s)?.[0] ?? '';
      let overflow = false;
      for (const c of fracDigits) {
        if (overflow) continue;
        if (f > (limit - 1n) / 10n) {
          overflow = true;
          continue;
        }
        const y = f * 10n + BigInt(c.charCodeAt(0) - 48);
        if (y > limit) {
          overflow = true;
          continue;
        }
        f = y;
        scale *= 10;
      }
      post = fracDigits.length > 0;
      s = s.slice(fracDigits.length);
    }
    if (intDigits.length === 0 && !post) invalid(); // no digits (e.g. ".s" or "-.s")
    // Consume the unit: everything up to the next digit or '.'.
    const unitText = /^[^0-9.]*/.exec(s)?.[0] ?? '';
    if (unitText === '') throw new Error(`time: missing unit in duration ${timeQuote(orig)}`);
    s = s.slice(unitText.length);
    const unit = DURATION_UNITS[unitText];
    if (unit === undefined) {
      throw new Error(`time: unknown unit ${timeQuote(unitText)} in duration ${timeQuote(orig)}`);
    }
    if (v > limit / unit) invalid();
    v *= unit;
    if (f > 0n) {
      // float64, as Go does, to stay nanosecond-accurate for fractions of hours
      v += BigInt(Math.trunc(Number(f) * (Number(unit) / scale)));
      if (v > limit) invalid();
    }
    d += v;
    if (d > limit) invalid();
  }
  if (neg) return -d;
  if (d > limit - 1n) invalid();
  return d;
}

/** net.ParseIP (Go 1.19 src/net/ip.go): IPv4 dotted decimal or IPv6, no zone. */
function goParseIP(s: string): boolean {
  for (const c of s) {
    if (c === '.') return parseIPv4(s) !== undefined;
    if (c === ':') return parseIPv6(s);
  }
  return false;
}

/** Returns what is left after four octets must be nothing; undefined when invalid. */
function parseIPv4(input: string): number[] | undefined {
  let s = input;
  const octets: number[] = [];
  for (let i = 0; i < 4; i += 1) {
    if (s.length === 0) return undefined;
    if (i > 0) {
      if (s[0] !== '.') return undefined;
      s = s.slice(1);
    }
    const digits = /^[0-9]*/.exec(s)?.[0] ?? '';
    if (digits.length === 0 || Number(digits) > 255) return undefined;
    if (digits.length > 1 && digits[0] === '0') return undefined; // leading zeroes (Go 1.17+)
    octets.push(Number(digits));
    s = s.slice(digits.length);
  }
  return s.length === 0 ? octets : undefined;
}

function parseIPv6(input: string): boolean {
  let s = input;
  let ellipsis = -1;
  if (s.startsWith('::')) {
    ellipsis = 0;
    s = s.slice(2);
    if (s.length === 0) return true;
  }
  let i = 0;
  while (i < 16) {
    const hex = /^[0-9a-fA-F]*/.exec(s)?.[0] ?? '';
    // xtoi gives up at 0xFFFFFF; the group must then fit 16 bits.
    if (hex.length === 0 || parseInt(hex, 16) >= 0xffffff || parseInt(hex, 16) > 0xffff) return false;
    if (s[hex.length] === '.') {
      // Trailing IPv4, only where it fills the last 4 bytes (or after an ellipsis).
      if (ellipsis < 0 && i !== 12) return false;
      if (i + 4 > 16) return false;
      if (!parseIPv4(s)) return false;
      s = '';
      i += 4;
      break;
    }
    i += 2;
    s = s.slice(hex.length);
    if (s.length === 0) break;
    if (s[0] !== ':' || s.length === 1) return false;
    s = s.slice(1);
    if (s[0] === ':') {
      if (ellipsis >= 0) return false;
      ellipsis = i;
      s = s.slice(1);
      if (s.length === 0) break;
    }
  }
  if (s.length !== 0) return false;
  if (i < 16) return ellipsis >= 0;
  return ellipsis < 0; // an ellipsis must stand for at least one group
}

/**
 * pflag's readAsCSV (string_slice.go): "" is no items, else the first record of encoding/csv
 * (reader.go readLine/readRecord): fields split on ',', "..." quoting with "" for a quote and
 * newlines inside, no bare quotes; an unquoted newline ends the record.
 */
function readAsCsv(value: string): string[] {
  if (value === '') return [];
  let offset = 0;
  let numLine = 0;
  /** One line with its '\n' ('\r\n' normalised), or undefined at the end. */
  const readLine = (): string | undefined => {
    numLine += 1;
    if (offset >= value.length) return undefined;
    const newline = value.indexOf('\n', offset);
    let line = newline < 0 ? value.slice(offset) : value.slice(offset, newline + 1);
    offset += line.length;
    if (newline < 0 && line.endsWith('\r')) line = line.slice(0, -1);
    if (line.endsWith('\r\n')) line = `${line.slice(0, -2)}\n`;
    return line;
  };
  const lengthNL = (line: string): number => (line.endsWith('\n') ? 1 : 0);

  let line = readLine();
  while (line !== undefined && line.length === lengthNL(line)) line = readLine(); // skip empty lines
  if (line === undefined) throw new Error('EOF');
  const recLine = numLine;
  const fail = (atLine: number, column: number, err: string): never => {
    const where = `parse error on line ${atLine}, column ${column}: ${err}`;
    throw new Error(atLine === recLine ? where : `record on line ${recLine}; ${where}`);
  };
  const bareQuote = 'bare " in non-quoted-field';
  const badQuote = 'extraneous or missing " in quoted-field';
  const fields: string[] = [];
  let posLine = numLine;
  let col = 1; // 1-based byte column, as Go counts it
  for (;;) {
    if (line[0] !== '"') {
      // Non-quoted field: up to the next ',' or the end of the line.
      const comma = line.indexOf(',');
      const field = comma >= 0 ? line.slice(0, comma) : line.slice(0, line.length - lengthNL(line));
      const quote = field.indexOf('"');
      if (quote >= 0) fail(numLine, col + utf8Length(field.slice(0, quote)), bareQuote);
      fields.push(field);
      if (comma < 0) return fields;
      line = line.slice(comma + 1);
      col += utf8Length(field) + 1;
      continue;
    }
    // Quoted field, possibly over several lines.
    line = line.slice(1);
    col += 1;
    let field = '';
    for (;;) {
      const quote: number = line.indexOf('"');
      if (quote >= 0) {
        field += line.slice(0, quote);
        col += utf8Length(line.slice(0, quote)) + 1;
        line = line.slice(quote + 1);
        if (line[0] === '"') {
          field += '"'; // `""` is a quote
          line = line.slice(1);
          col += 1;
        } else if (line[0] === ',') {
          line = line.slice(1);
          col += 1;
          fields.push(field);
          break;
        } else if (line.length === lengthNL(line)) {
          fields.push(field);
          return fields;
        } else {
          fail(numLine, col - 1, badQuote);
        }
      } else if (line.length > 0) {
        field += line;
        col += utf8Length(line);
        line = readLine() ?? '';
        if (line.length > 0) {
          posLine += 1;
          col = 1;
        }
      } else {
        fail(posLine, col, badQuote); // the end came inside quotes
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Go string quoting, for messages
// ---------------------------------------------------------------------------------------------

/** strconv.Quote, close enough for messages (printability approximated). */
function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) out += ch === '"' ? '\\"' : escapeForGo(ch);
  return `${out}"`;
}

/** strconv.QuoteRune, as `%q` prints pflag's shorthand byte. */
function goQuoteRune(ch: string): string {
  return `'${ch === "'" ? "\\'" : escapeForGo(ch)}'`;
}

function escapeForGo(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0;
  const named: Record<number, string> = { 7: '\\a', 8: '\\b', 9: '\\t', 10: '\\n', 11: '\\v', 12: '\\f', 13: '\\r' };
  if (ch === '\\') return '\\\\';
  if (named[cp]) return named[cp] ?? ch;
  if (cp < 0x20 || cp === 0x7f) return `\\x${cp.toString(16).padStart(2, '0')}`;
  // Not printable per unicode.IsPrint: C1 controls, soft hyphen, zero-width and separators.
  if ((cp >= 0x80 && cp <= 0x9f) || cp === 0xad || (cp >= 0x200b && cp <= 0x200f) || cp === 0x2028 || cp === 0x2029 || cp === 0xfeff) {
    return `\\u${cp.toString(16).padStart(4, '0')}`;
  }
  if (cp >= 0xd800 && cp <= 0xdfff) return '\\ufffd'; // a lone surrogate cannot come from Go
  return ch;
}

/** time's own quote(): non-ASCII and control bytes as \xNN (src/time/format.go). */
function timeQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp >= 0x80 || cp < 0x20) {
      for (const byte of utf8Bytes(ch)) out += `\\x${byte.toString(16).padStart(2, '0')}`;
    } else {
      out += ch === '"' || ch === '\\' ? `\\${ch}` : ch;
    }
  }
  return `${out}"`;
}

function utf8Bytes(ch: string): number[] {
  const cp = ch.codePointAt(0) ?? 0;
  if (cp < 0x80) return [cp];
  if (cp < 0x800) return [0xc0 | (cp >> 6), 0x80 | (cp & 0x3f)];
  if (cp < 0x10000) return [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)];
  return [0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)];
}

function utf8Length(s: string): number {
  let n = 0;
  for (const ch of s) n += utf8Bytes(ch).length;
  return n;
}
