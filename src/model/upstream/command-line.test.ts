import { describe, expect, it } from 'vitest';
import {
  CommandLineError,
  flagBool,
  flagDurationMs,
  flagInt,
  flagList,
  flagValue,
  parseCommandLine,
  parseGoDuration,
  type ParsedCommandLine,
} from './command-line.js';
import type { ProgramFacts } from './types.js';

function program(facts: Partial<ProgramFacts> & Pick<ProgramFacts, 'path' | 'syntax'>): ProgramFacts {
  return { flags: [], refusal: { exitCode: 1 }, complete: true, sources: [], ...facts };
}

/** The CommandLineError `parseCommandLine` throws (fails the test if it does not). */
function refusal(facts: ProgramFacts, argv: string[]): CommandLineError {
  try {
    parseCommandLine(facts, argv);
  } catch (error) {
    if (error instanceof CommandLineError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(argv)} to be refused`);
}

function flagsOf(parsed: ParsedCommandLine): Record<string, string[]> {
  return Object.fromEntries(parsed.flags);
}

// Go's flag package: registrator-like, with an int, a bool and a duration.
const registrator = program({
  path: '/bin/registrator',
  syntax: 'go-flag',
  flags: [
    { name: 'internal', kind: 'bool' },
    { name: 'retry-attempts', kind: 'int', default: '0' },
    { name: 'resync', kind: 'int' },
    { name: 'ttl-refresh', kind: 'duration' },
    { name: 'ip', kind: 'string' },
    { name: 'workers', kind: 'uint' },
  ],
  positionals: { kind: 'any' },
  refusal: { exitCode: 2 },
});

describe('go-flag (Go flag.go parseOne)', () => {
  it('treats -name and --name alike, with =value or a separate value', () => {
    const parsed = parseCommandLine(registrator, ['-ip=10.0.0.1', '--resync', '5', '--retry-attempts=3', 'consul://x']);
    expect(flagsOf(parsed)).toEqual({ ip: ['10.0.0.1'], resync: ['5'], 'retry-attempts': ['3'] });
    expect(parsed.positionals).toEqual(['consul://x']);
    expect(parsed.subcommand).toBe('');
  });

  it('stops at the first positional argument', () => {
    const parsed = parseCommandLine(registrator, ['-internal', 'consul://x', '-foo']);
    expect(flagsOf(parsed)).toEqual({ internal: ['true'] });
    expect(parsed.positionals).toEqual(['consul://x', '-foo']);
  });

  it('takes "-" as a positional and drops "--"', () => {
    expect(parseCommandLine(registrator, ['-', '-internal']).positionals).toEqual(['-', '-internal']);
    const parsed = parseCommandLine(registrator, ['-internal', '--', '-resync=1']);
    expect(flagsOf(parsed)).toEqual({ internal: ['true'] });
    expect(parsed.positionals).toEqual(['-resync=1']);
  });

  it('takes a negative number as a value, joined or separate', () => {
    for (const argv of [['-retry-attempts=-1'], ['-retry-attempts', '-1']]) {
      const parsed = parseCommandLine(registrator, argv);
      expect(parsed.flags.get('retry-attempts')).toEqual(['-1']);
      expect(flagInt(registrator, parsed, 'retry-attempts')).toBe(-1);
    }
  });

  it('gives a boolean its value only with =', () => {
    const off = parseCommandLine(registrator, ['-internal=false']);
    expect(flagsOf(off)).toEqual({ internal: ['false'] });
    expect(flagBool(registrator, off, 'internal')).toBe(false);
    for (const spelling of ['1', 't', 'T', 'TRUE', 'true', 'True']) {
      expect(parseCommandLine(registrator, [`-internal=${spelling}`]).flags.get('internal')).toEqual(['true']);
    }
    const separate = parseCommandLine(registrator, ['-internal', 'false']);
    expect(flagsOf(separate)).toEqual({ internal: ['true'] });
    expect(separate.positionals).toEqual(['false']);
  });

  it('keeps every value of a repeated flag, in order', () => {
    const parsed = parseCommandLine(registrator, ['-resync=1', '-resync', '2']);
    expect(parsed.flags.get('resync')).toEqual(['1', '2']);
    expect(flagInt(registrator, parsed, 'resync')).toBe(2);
  });

  it("refuses with Go's messages and the program's exit code", () => {
    const unknown = refusal(registrator, ['-foo', 'consul://x']);
    expect(unknown.message).toBe('flag provided but not defined: -foo');
    expect(unknown.exitCode).toBe(2);
    expect(unknown.program).toBe('/bin/registrator');
    expect(refusal(registrator, ['--httpAddr=:80']).message).toBe('flag provided but not defined: -httpAddr');
    expect(refusal(registrator, ['-resync']).message).toBe('flag needs an argument: -resync');
    expect(refusal(registrator, ['---x']).message).toBe('bad flag syntax: ---x');
    expect(refusal(registrator, ['-=x']).message).toBe('bad flag syntax: -=x');
    expect(refusal(registrator, ['-resync=x']).message).toBe('invalid value "x" for flag -resync: parse error');
    expect(refusal(registrator, ['-resync', '9223372036854775808']).message).toBe(
      'invalid value "9223372036854775808" for flag -resync: value out of range',
    );
    expect(refusal(registrator, ['-workers=-1']).message).toBe('invalid value "-1" for flag -workers: parse error');
    expect(refusal(registrator, ['-internal=yes']).message).toBe('invalid boolean value "yes" for -internal: parse error');
    expect(refusal(registrator, ['-ttl-refresh=30']).message).toBe('invalid value "30" for flag -ttl-refresh: parse error');
  });

  it("reads integers as strconv.ParseInt(s, 0, 64) does", () => {
    const cases: Array<[string, number]> = [
      ['0x1f', 31],
      ['0X1F', 31],
      ['0o17', 15],
      ['017', 15],
      ['0b101', 5],
      ['1_000', 1000],
      ['0x_1f', 31],
      ['+7', 7],
      ['0', 0],
    ];
    for (const [text, value] of cases) {
      expect(flagInt(registrator, parseCommandLine(registrator, [`-resync=${text}`]), 'resync')).toBe(value);
    }
    for (const bad of ['08', '1__0', '_1', '1_', '0x', '1.5', ' 1', '', '+-1']) {
      expect(refusal(registrator, [`-resync=${bad}`]).message).toMatch(/parse error$/);
    }
  });

  it('answers an undefined -h or -help with a help request', () => {
    for (const ask of ['-h', '-help', '--help']) {
      const parsed = parseCommandLine(registrator, ['-internal', ask, '-foo']);
      expect(flagBool(registrator, parsed, 'help')).toBe(true);
    }
  });

  it('enforces the positional rule', () => {
    const etcd = program({
      path: '/usr/local/bin/etcd',
      syntax: 'go-flag',
      flags: [{ name: 'name', kind: 'string' }],
      positionals: { kind: 'none' },
    });
    expect(parseCommandLine(etcd, ['-name', 'etcd0']).positionals).toEqual([]);
    expect(refusal(etcd, ['-name', 'etcd0', 'x']).message).toMatch(/^'x' is not a valid flag/);

    const oneUri = { ...registrator, positionals: { kind: 'exactly', count: 1, description: 'registry URI' } } as const;
    expect(parseCommandLine(oneUri, ['-internal', 'consul://consul:8500']).positionals).toEqual(['consul://consul:8500']);
    expect(refusal(oneUri, ['-internal']).message).toBe('Missing required argument for registry URI.');
    const extra = refusal(oneUri, ['-internal', 'consul://x', '-foo']);
    expect(extra.message).toMatch(/^Extra unparsed arguments: -foo/);
  });
});

// mitchellh/cli in front of Go's flag package (Consul).
const consul = program({
  path: '/bin/consul',
  syntax: 'go-flag',
  flags: [{ name: 'log-level', kind: 'string', default: 'info' }],
  subcommands: {
    agent: {
      flags: [
        { name: 'server', kind: 'bool' },
        { name: 'bootstrap-expect', kind: 'int' },
        { name: 'client', kind: 'string', default: '127.0.0.1' },
      ],
      positionals: { kind: 'none' },
    },
    members: { flags: [] },
  },
  refusal: { exitCode: 1 },
});

describe('go-flag with subcommands (mitchellh/cli)', () => {
  it('selects the subcommand, then parses its flags and the top-level ones', () => {
    const parsed = parseCommandLine(consul, ['agent', '-server', '-bootstrap-expect=1', '-client', '0.0.0.0', '-log-level=debug']);
    expect(parsed.subcommand).toBe('agent');
    expect(flagsOf(parsed)).toEqual({
      server: ['true'],
      'bootstrap-expect': ['1'],
      client: ['0.0.0.0'],
      'log-level': ['debug'],
    });
    expect(flagValue(consul, parsed, 'client')).toBe('0.0.0.0');
    expect(flagValue(consul, parsed, 'log-level')).toBe('debug');
  });

  it("does not let one subcommand's flags into another", () => {
    expect(refusal(consul, ['members', '-server']).message).toBe('flag provided but not defined: -server');
  });

  it('refuses an unknown or missing subcommand', () => {
    const unknown = refusal(consul, ['agnet', '-server']);
    expect(unknown.message).toMatch(/unknown subcommand 'agnet'/);
    expect(unknown.exitCode).toBe(1);
    expect(refusal(consul, []).message).toMatch(/a subcommand is required \(one of: agent, members\)/);
  });

  it('refuses flags before the subcommand', () => {
    expect(refusal(consul, ['-log-level=debug', 'agent']).message).toMatch(/^Invalid flags before the subcommand/);
  });

  it('applies the subcommand positional rule', () => {
    expect(refusal(consul, ['agent', '-server', 'extra']).message).toMatch(/^'extra' is not a valid flag/);
  });

  it('answers -h anywhere and -v before the subcommand', () => {
    const help = parseCommandLine(consul, ['agent', '-server', '-h']);
    expect(help.subcommand).toBe('agent');
    expect(flagBool(consul, help, 'help')).toBe(true);
    expect(flagBool(consul, parseCommandLine(consul, ['--version']), 'version')).toBe(true);
  });
});

// pflag + cobra: pilot-discovery-like, root persistent flags and two subcommands.
const pilot = program({
  path: '/usr/local/bin/pilot-discovery',
  syntax: 'pflag',
  flags: [
    { name: 'log_output_level', kind: 'string', default: 'info' },
    { name: 'v', kind: 'int', shorthand: 'v' },
  ],
  subcommands: {
    discovery: {
      flags: [
        { name: 'port', kind: 'int', default: '8080' },
        { name: 'grpcAddr', kind: 'string', default: ':15010' },
        { name: 'registries', kind: 'stringSlice', default: '[Kubernetes]' },
        { name: 'resync', kind: 'duration', default: '60s' },
        { name: 'secure', kind: 'bool', shorthand: 's' },
        { name: 'insecure', kind: 'bool', shorthand: 'i' },
        { name: 'verbose', kind: 'count', shorthand: 'c' },
        { name: 'bind', kind: 'ip' },
        { name: 'header', kind: 'stringArray' },
      ],
      positionals: { kind: 'none' },
    },
    version: { flags: [] },
  },
  refusal: { exitCode: 255 },
});

describe('pflag + cobra (pflag flag.go parseArgs, cobra command.go Find)', () => {
  it('takes --name=value, --name value and interleaved positionals', () => {
    const parsed = parseCommandLine(pilot, ['discovery', '--port=15007', '--grpcAddr', ':15010', '--secure']);
    expect(parsed.subcommand).toBe('discovery');
    expect(flagsOf(parsed)).toEqual({ port: ['15007'], grpcAddr: [':15010'], secure: ['true'] });
    const version = parseCommandLine(pilot, ['version', 'a', '--v=1', 'b']);
    expect(version.positionals).toEqual(['a', 'b']);
    expect(flagInt(pilot, version, 'v')).toBe(1);
  });

  it('refuses an int flag given an address, naming the flag and the value', () => {
    const error = refusal(pilot, ['discovery', '--port', ':15007']);
    expect(error.message).toBe(
      'Error: invalid argument ":15007" for "--port" flag: strconv.ParseInt: parsing ":15007": invalid syntax',
    );
    expect(error.reason).toBe('invalid argument ":15007" for "--port" flag: strconv.ParseInt: parsing ":15007": invalid syntax');
    expect(error.exitCode).toBe(255);
  });

  it('refuses an unknown flag', () => {
    expect(refusal(pilot, ['discovery', '--httpAddr', ':8080']).message).toBe('Error: unknown flag: --httpAddr');
    expect(refusal(pilot, ['discovery', '-x']).message).toBe("Error: unknown shorthand flag: 'x' in -x");
    expect(refusal(pilot, ['discovery', '-sx']).message).toBe("Error: unknown shorthand flag: 'x' in -x");
    expect(refusal(pilot, ['discovery', '---x']).message).toBe('Error: bad flag syntax: ---x');
    expect(refusal(pilot, ['discovery', '--port']).message).toBe('Error: flag needs an argument: --port');
    expect(refusal(pilot, ['discovery', '-v']).message).toBe("Error: flag needs an argument: 'v' in -v");
  });

  it('reads a value shorthand as -v 2, -v=2 or -v2', () => {
    for (const argv of [['-v', '2'], ['-v=2'], ['-v2']]) {
      const parsed = parseCommandLine(pilot, ['version', ...argv]);
      expect(parsed.flags.get('v')).toEqual(['2']);
      expect(parsed.positionals).toEqual([]);
    }
    expect(refusal(pilot, ['version', '-vx']).message).toBe(
      'Error: invalid argument "x" for "-v, --v" flag: strconv.ParseInt: parsing "x": invalid syntax',
    );
  });

  it('takes the next argument as the value even when it starts with "-"', () => {
    expect(parseCommandLine(pilot, ['version', '--v', '-1']).flags.get('v')).toEqual(['-1']);
    expect(parseCommandLine(pilot, ['discovery', '--grpcAddr', '--port']).flags.get('grpcAddr')).toEqual(['--port']);
  });

  it('combines switch shorthands, and the last may take a value', () => {
    const parsed = parseCommandLine(pilot, ['discovery', '-si', '-iv3']);
    expect(flagsOf(parsed)).toEqual({ secure: ['true'], insecure: ['true', 'true'], v: ['3'] });
  });

  it('gives booleans their value only with =', () => {
    const parsed = parseCommandLine(pilot, ['discovery', '--secure=false', '-i=false']);
    expect(flagsOf(parsed)).toEqual({ secure: ['false'], insecure: ['false'] });
    expect(refusal(pilot, ['discovery', '--secure', 'false']).message).toBe(
      'Error: unknown command "false" for "pilot-discovery discovery"',
    );
    expect(refusal(pilot, ['discovery', '--secure=maybe']).message).toBe(
      'Error: invalid argument "maybe" for "-s, --secure" flag: strconv.ParseBool: parsing "maybe": invalid syntax',
    );
  });

  it('counts a count flag', () => {
    expect(parseCommandLine(pilot, ['discovery', '-ccc']).flags.get('verbose')).toEqual(['3']);
    const set = parseCommandLine(pilot, ['discovery', '-c', '--verbose=5']);
    expect(flagInt(pilot, set, 'verbose')).toBe(5);
    expect(flagInt(pilot, parseCommandLine(pilot, ['discovery']), 'verbose')).toBe(0);
  });

  it('ends flags at "--"', () => {
    const parsed = parseCommandLine(pilot, ['version', '--', '--port', '-v']);
    expect(parsed.positionals).toEqual(['--port', '-v']);
    expect(flagsOf(parsed)).toEqual({});
  });

  it('reads a stringSlice as CSV and keeps a stringArray whole', () => {
    const parsed = parseCommandLine(pilot, [
      'discovery',
      '--registries=Consul,Eureka',
      '--registries',
      '"Mock,1",Kubernetes',
      '--header=a,b',
      '--header',
      'c',
    ]);
    expect(flagList(pilot, parsed, 'registries')).toEqual(['Consul', 'Eureka', 'Mock,1', 'Kubernetes']);
    expect(flagList(pilot, parsed, 'header')).toEqual(['a,b', 'c']);
    expect(flagList(pilot, parseCommandLine(pilot, ['discovery']), 'registries')).toEqual(['Kubernetes']);
    expect(refusal(pilot, ['discovery', '--registries=a"b']).reason).toBe(
      'invalid argument "a\\"b" for "--registries" flag: parse error on line 1, column 2: bare " in non-quoted-field',
    );
  });

  it('checks ip and duration values', () => {
    expect(parseCommandLine(pilot, ['discovery', '--bind=::1', '--bind', '10.0.0.1']).flags.get('bind')).toEqual([
      '::1',
      '10.0.0.1',
    ]);
    expect(refusal(pilot, ['discovery', '--bind=1.2.3']).reason).toBe(
      'invalid argument "1.2.3" for "--bind" flag: failed to parse IP: "1.2.3"',
    );
    expect(flagDurationMs(pilot, parseCommandLine(pilot, ['discovery', '--resync=1m30s']), 'resync')).toBe(90_000);
    expect(refusal(pilot, ['discovery', '--resync=5']).reason).toBe(
      'invalid argument "5" for "--resync" flag: time: missing unit in duration "5"',
    );
  });

  it('selects the subcommand after root persistent flags', () => {
    const parsed = parseCommandLine(pilot, ['--log_output_level', 'debug', '-v', '2', 'discovery', '--port', '8080']);
    expect(parsed.subcommand).toBe('discovery');
    expect(flagsOf(parsed)).toEqual({ log_output_level: ['debug'], v: ['2'], port: ['8080'] });
    expect(parseCommandLine(pilot, ['--log_output_level=debug', 'discovery']).subcommand).toBe('discovery');
  });

  it('refuses an unknown subcommand, with cobra suggestions', () => {
    const error = refusal(pilot, ['--v=2', 'discvery', '--port', '8080']);
    expect(error.message).toBe('Error: unknown command "discvery" for "pilot-discovery"\n\nDid you mean this?\n\tdiscovery');
    expect(refusal(pilot, ['serve']).reason).toBe('unknown command "serve" for "pilot-discovery"');
  });

  it("refuses a root flag's value read as a subcommand and a missing subcommand", () => {
    // cobra skips a flag's value only when more arguments follow it (stripFlags).
    expect(refusal(pilot, ['--log_output_level', 'discovery']).message).toMatch(/needs a subcommand/);
    expect(refusal(pilot, []).message).toMatch(/needs a subcommand \(one of: discovery, version\)/);
  });

  it("refuses a subcommand's flag that its sibling lacks", () => {
    expect(refusal(pilot, ['version', '--port=1']).message).toBe('Error: unknown flag: --port');
  });

  it('records cobra help (-h, --help, the help command) for the caller', () => {
    for (const argv of [['discovery', '-h'], ['discovery', '--help'], ['--help'], ['help', 'discovery']]) {
      expect(flagBool(pilot, parseCommandLine(pilot, argv), 'help')).toBe(true);
    }
    // Flag errors still come first.
    expect(refusal(pilot, ['discovery', '--bogus', '--help']).message).toBe('Error: unknown flag: --bogus');
  });

  it('applies cobra wording to positional rules', () => {
    const exact = program({
      path: '/usr/local/bin/tool',
      syntax: 'pflag',
      flags: [],
      positionals: { kind: 'exactly', count: 1, description: 'a file' },
    });
    expect(parseCommandLine(exact, ['f']).positionals).toEqual(['f']);
    expect(refusal(exact, []).message).toBe('Error: accepts 1 arg(s), received 0 (a file)');
  });
});

// kingpin v2: Prometheus-like.
const prometheus = program({
  path: '/bin/prometheus',
  syntax: 'kingpin',
  flags: [
    { name: 'config.file', kind: 'string', default: 'prometheus.yml' },
    { name: 'web.enable-lifecycle', kind: 'bool' },
    { name: 'storage.tsdb.retention', kind: 'duration', default: '15d' },
    { name: 'web.max-connections', kind: 'int', default: '512' },
    { name: 'query.max-concurrency', kind: 'int', shorthand: 'q' },
    { name: 'verbose', kind: 'bool', shorthand: 'v' },
    { name: 'web.cors', kind: 'stringArray' },
  ],
  positionals: { kind: 'none' },
  refusal: { exitCode: 2 },
});

describe('kingpin (kingpin parser.go, flags.go, app.go)', () => {
  it('takes --name=value and --name value', () => {
    const parsed = parseCommandLine(prometheus, ['--config.file=/etc/prometheus/prometheus.yml', '--web.max-connections', '10']);
    expect(flagValue(prometheus, parsed, 'config.file')).toBe('/etc/prometheus/prometheus.yml');
    expect(flagInt(prometheus, parsed, 'web.max-connections')).toBe(10);
  });

  it('negates a boolean with --no-', () => {
    expect(flagsOf(parseCommandLine(prometheus, ['--no-web.enable-lifecycle']))).toEqual({
      'web.enable-lifecycle': ['false'],
    });
    expect(flagsOf(parseCommandLine(prometheus, ['--web.enable-lifecycle']))).toEqual({
      'web.enable-lifecycle': ['true'],
    });
    expect(refusal(prometheus, ['--no-config.file']).reason).toBe("unknown long flag '--no-config.file'");
  });

  it('reads --bool=value as the flag and then an argument', () => {
    expect(refusal(prometheus, ['--web.enable-lifecycle=false']).reason).toBe('unexpected false');
  });

  it('refuses an unknown flag in kingpin wording', () => {
    const error = refusal(prometheus, ['--storage.tsdb.path=/data', '--web.listen-address=:9090']);
    expect(error.reason).toBe("unknown long flag '--storage.tsdb.path'");
    expect(error.message).toBe("prometheus: error: unknown long flag '--storage.tsdb.path', try --help");
    expect(error.exitCode).toBe(2);
  });

  it('knows short flags only where a shorthand is defined', () => {
    expect(flagInt(prometheus, parseCommandLine(prometheus, ['-q', '20']), 'query.max-concurrency')).toBe(20);
    expect(flagInt(prometheus, parseCommandLine(prometheus, ['-vq20']), 'query.max-concurrency')).toBe(20);
    expect(refusal(prometheus, ['-c', 'x']).reason).toBe("unknown short flag '-c'");
  });

  it('needs a value that is not a flag', () => {
    expect(refusal(prometheus, ['--web.max-connections', '-1']).reason).toBe(
      "expected argument for flag '--web.max-connections'",
    );
    expect(refusal(prometheus, ['--config.file']).reason).toBe("expected argument for flag '--config.file'");
  });

  it('lets only cumulative flags repeat', () => {
    expect(refusal(prometheus, ['--config.file=a', '--config.file=b']).reason).toBe(
      "flag 'config.file' cannot be repeated",
    );
    const cors = parseCommandLine(prometheus, ['--web.cors=a', '--web.cors=b']);
    expect(flagList(prometheus, cors, 'web.cors')).toEqual(['a', 'b']);
  });

  it("checks values with Go's parsers (Int() through ParseFloat)", () => {
    expect(refusal(prometheus, ['--storage.tsdb.retention=15d']).reason).toBe(
      'time: unknown unit "d" in duration "15d"',
    );
    expect(flagInt(prometheus, parseCommandLine(prometheus, ['--web.max-connections=1.5']), 'web.max-connections')).toBe(1);
    expect(refusal(prometheus, ['--web.max-connections=x']).reason).toBe('strconv.ParseFloat: parsing "x": invalid syntax');
  });

  it('refuses positionals the program takes none of', () => {
    expect(refusal(prometheus, ['x']).reason).toBe('unexpected x');
    expect(refusal(prometheus, ['--', '--x']).reason).toBe('unexpected --x');
  });

  it('records --help, which wins over value errors but not parse errors', () => {
    expect(flagBool(prometheus, parseCommandLine(prometheus, ['--help', '--config.file=a', '--config.file=b']), 'help')).toBe(
      true,
    );
    expect(refusal(prometheus, ['--help', '--bogus']).reason).toBe("unknown long flag '--bogus'");
  });
});

// POSIX getopts (dash): istio-iptables.sh-like.
const iptables = program({
  path: '/usr/local/bin/istio-iptables.sh',
  syntax: 'getopts',
  optstring: 'p:u:g:m:b:d:i:x:hk',
  flags: [{ name: 'proxy-port', kind: 'int', shorthand: 'p' }],
  refusal: { exitCode: 1 },
});

describe('getopts (dash options.c)', () => {
  it('takes -p 15001, -p15001 and values that look like options or globs', () => {
    const parsed = parseCommandLine(iptables, ['-p', '15001', '-u', '1337', '-m', 'REDIRECT', '-i', '*', '-b', '9080,9090', '-x', '-d']);
    expect(flagsOf(parsed)).toEqual({
      'proxy-port': ['15001'],
      u: ['1337'],
      m: ['REDIRECT'],
      i: ['*'],
      b: ['9080,9090'],
      x: ['-d'],
    });
    expect(flagInt(iptables, parsed, 'proxy-port')).toBe(15001);
    expect(flagInt(iptables, parseCommandLine(iptables, ['-p15001']), 'p')).toBe(15001);
  });

  it('clusters options, the last taking the rest as its argument', () => {
    expect(flagsOf(parseCommandLine(iptables, ['-khb9080']))).toEqual({ k: ['true'], h: ['true'], b: ['9080'] });
    expect(flagsOf(parseCommandLine(iptables, ['-kp', '15001']))).toEqual({ k: ['true'], 'proxy-port': ['15001'] });
  });

  it('stops at the first non-option or after --', () => {
    expect(parseCommandLine(iptables, ['-k', 'x', '-p', '1']).positionals).toEqual(['x', '-p', '1']);
    expect(parseCommandLine(iptables, ['-k', '--', '-p', '1']).positionals).toEqual(['-p', '1']);
    expect(parseCommandLine(iptables, ['-', '-k']).positionals).toEqual(['-', '-k']);
  });

  it("refuses with dash's wording", () => {
    expect(refusal(iptables, ['-z']).message).toBe('Illegal option -z');
    expect(refusal(iptables, ['-k', '-p']).message).toBe('No arg for -p option');
    expect(refusal(iptables, ['--port']).message).toBe('Illegal option --');
  });

  it('leaves values unchecked until an accessor reads them', () => {
    const parsed = parseCommandLine(iptables, ['-p', 'abc']);
    expect(() => flagInt(iptables, parsed, 'proxy-port')).toThrow(CommandLineError);
  });
});

describe('none', () => {
  it('refuses any argument', () => {
    const server = program({ path: '/usr/sbin/nginx', syntax: 'none' });
    expect(parseCommandLine(server, [])).toEqual({ subcommand: '', flags: new Map(), positionals: [] });
    expect(refusal(server, ['-g']).message).toBe("nginx takes no arguments; got '-g'");
  });
});

describe('typed accessors', () => {
  const bare = parseCommandLine(pilot, ['discovery']);

  it("apply the program's defaults", () => {
    expect(flagValue(pilot, bare, 'grpcAddr')).toBe(':15010');
    expect(flagInt(pilot, bare, 'port')).toBe(8080);
    expect(flagDurationMs(pilot, bare, 'resync')).toBe(60_000);
    expect(flagBool(pilot, bare, 'secure')).toBe(false);
    expect(flagValue(pilot, bare, 'log_output_level')).toBe('info');
    expect(flagInt(pilot, bare, 'v')).toBeUndefined();
    expect(flagValue(pilot, bare, 'bind')).toBeUndefined();
    expect(flagList(pilot, bare, 'header')).toEqual([]);
  });

  it('look a flag up in the named subcommand', () => {
    const root = parseCommandLine(pilot, ['version']);
    expect(flagInt(pilot, root, 'port', 'discovery')).toBe(8080);
    expect(() => flagInt(pilot, root, 'port')).toThrow(/defines no flag 'port'/);
  });

  it('throw a plain Error for an undefined flag or the wrong kind', () => {
    expect(() => flagValue(pilot, bare, 'httpAddr')).toThrow(Error);
    expect(() => flagValue(pilot, bare, 'httpAddr')).not.toThrow(CommandLineError);
    expect(() => flagInt(pilot, bare, 'grpcAddr')).toThrow(/string flag/);
    expect(() => flagBool(pilot, bare, 'port')).toThrow(/int flag/);
    expect(() => flagList(pilot, bare, 'port')).toThrow(Error);
  });

  it('throw a plain Error for a default that is not valid', () => {
    const broken = program({ path: '/bin/x', syntax: 'go-flag', flags: [{ name: 'n', kind: 'int', default: 'many' }] });
    const parsed = parseCommandLine(broken, []);
    expect(() => flagInt(broken, parsed, 'n')).toThrow(/default "many" of flag 'n' is not valid/);
  });
});

describe("parseGoDuration (Go's time.ParseDuration)", () => {
  it('reads Go durations in milliseconds', () => {
    const cases: Array<[string, number]> = [
      ['300ms', 300],
      ['-1.5h', -5_400_000],
      ['2h45m', 9_900_000],
      ['1us', 0.001],
      ['1µs', 0.001],
      ['1μs', 0.001],
      ['1000ns', 0.001],
      ['0', 0],
      ['-0', 0],
      ['+5s', 5000],
      ['.5s', 500],
      ['1.s', 1000],
      ['1h1m1s1ms', 3_661_001],
    ];
    for (const [text, ms] of cases) expect(parseGoDuration(text)).toBeCloseTo(ms, 9);
  });

  it("throws Go's errors", () => {
    expect(() => parseGoDuration('1')).toThrow('time: missing unit in duration "1"');
    expect(() => parseGoDuration('5m5')).toThrow('time: missing unit in duration "5m5"');
    expect(() => parseGoDuration('15d')).toThrow('time: unknown unit "d" in duration "15d"');
    expect(() => parseGoDuration('')).toThrow('time: invalid duration ""');
    expect(() => parseGoDuration('.s')).toThrow('time: invalid duration ".s"');
    expect(() => parseGoDuration('1 s')).toThrow('time: unknown unit " s" in duration "1 s"');
    expect(() => parseGoDuration('9223372036854775808ns')).toThrow('time: invalid duration "9223372036854775808ns"');
    expect(parseGoDuration('-9223372036854775808ns')).toBeCloseTo(-9_223_372_036_854.775, 0);
  });
});
