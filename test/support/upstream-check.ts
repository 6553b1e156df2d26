/**
 * Checks a rendered Compose document against what its images really contain (the facts of
 * src/model/upstream/): every entrypoint and command is parsed as the image's program parses it
 * (an unknown flag or a bad value is a problem), every healthcheck and every shell script the
 * stack runs may call only commands the image has, and `service_healthy` is asked only of a
 * service that has a healthcheck. Shell scripts are read with mvdan/sh's parser (the mvdan-sh
 * package; its successor sh-syntax returns no command nodes).
 */
import { createRequire } from 'node:module';
import type { ComposeDocument, ComposeService } from '../../src/compose/compose-spec.js';
import type { RenderedFile } from '../../src/compose/mesh-files.js';
import { CommandLineError, parseCommandLine } from '../../src/model/upstream/command-line.js';
import { findProgram, hasCommand } from '../../src/model/upstream/facts.js';
import type { ImageFacts } from '../../src/model/upstream/types.js';

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const sh = require('mvdan-sh') as any;

/** What a script may run without the image having a program for it. */
const SHELL_BUILTINS = new Set([
  '.', ':', '[', 'break', 'case', 'cd', 'continue', 'echo', 'eval', 'exec', 'exit', 'export', 'false', 'source',
  'local', 'printf', 'read', 'return', 'set', 'shift', 'test', 'trap', 'true', 'unset', 'wait',
]);
const SHELLS = new Set(['sh', 'bash', '/bin/sh', '/bin/bash']);
/** Stands for the script's own arguments (`"$@"`) among a command's words. */
const SCRIPT_ARGUMENTS = '\u0000@';

export interface CheckInput {
  document: ComposeDocument;
  /** Files the document mounts (scripts run by `sh FILE` are read from here). */
  files: RenderedFile[];
  /** The facts that hold for a service's image; `undefined` when there are none. */
  factsOf(name: string, service: ComposeService): ImageFacts | undefined;
}

/** Every disagreement, as `service: problem`; an empty list means the document fits its images. */
export function checkAgainstImages(input: CheckInput): string[] {
  const problems: string[] = [];
  for (const [name, service] of Object.entries(input.document.services)) {
    const facts = input.factsOf(name, service);
    if (!facts) {
      problems.push(`${name}: no facts for its image ${service.image}`);
      continue;
    }
    const report = (problem: string) => problems.push(`${name}: ${problem}`);
    const entrypoint = (service.entrypoint ?? facts.entrypoint ?? []).map(unescapeCompose);
    // Compose drops the image's CMD when the service sets its own entrypoint.
    const command = (service.command ?? (service.entrypoint !== undefined ? [] : (facts.cmd ?? []))).map(unescapeCompose);
    const argv = [...entrypoint, ...command];
    if (argv.length === 0) report(`runs nothing: no entrypoint or command, and ${facts.reference} has none`);
    else checkInvocation(argv, facts, input.files, service, report);

    const test = service.healthcheck?.test ?? [];
    if (test[0] === 'CMD') checkInvocation(test.slice(1), facts, input.files, service, (problem) => report(`healthcheck: ${problem}`));
    else if (test[0] === 'CMD-SHELL') {
      if (!hasCommand(facts, 'sh')) report(`healthcheck: CMD-SHELL needs sh, which ${facts.reference} has not`);
      checkScript(test[1] ?? '', [], facts, (problem) => report(`healthcheck: ${problem}`));
    } else if (test.length > 0 && test[0] !== 'NONE') report(`healthcheck: test must start with CMD or CMD-SHELL, not ${test[0]}`);

    for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
      const target = input.document.services[dependency];
      if (!target) report(`depends on ${dependency}, which is not in the document`);
      else if (condition === 'service_healthy' && !target.healthcheck) report(`waits for ${dependency} to be healthy, but it has no healthcheck`);
    }
  }
  return problems;
}

/** `$$` is Compose's escape for `$`; the container sees one. */
function unescapeCompose(text: string): string {
  return text.replaceAll('$$', '$');
}

/** `service` gives the bind mounts a `sh FILE` is looked up through; scripts' own commands have none. */
function checkInvocation(argv: string[], facts: ImageFacts, files: RenderedFile[], service: ComposeService | undefined, report: (problem: string) => void): void {
  const [command, ...args] = argv as [string, ...string[]];
  if (SHELLS.has(command)) {
    if (!hasCommand(facts, 'sh')) return report(`runs ${command}, which ${facts.reference} has not`);
    if (args[0] === '-c') return checkScript(args[1] ?? '', args.slice(3), facts, report);
    const script = args[0] && service ? mountedFile(args[0], service, files) : undefined;
    if (!script) return report(`runs the script ${args[0]}, which is not a rendered file it mounts`);
    return checkScript(script, args.slice(1), facts, report);
  }
  const program = findProgram(facts, command);
  if (program) {
    try {
      parseCommandLine(program, args);
    } catch (error) {
      if (error instanceof CommandLineError) return report(`${command} ${args.join(' ')}: refused as ${facts.reference} would: ${error.message}`);
      throw error;
    }
    return;
  }
  if (!hasCommand(facts, command)) report(`runs ${command}, which ${facts.reference} has not`);
}

/** The content of a rendered file at a path inside the container, through the service's bind mounts. */
function mountedFile(path: string, service: ComposeService, files: RenderedFile[]): string | undefined {
  for (const volume of service.volumes ?? []) {
    const [source, target] = volume.split(':');
    if (!source || !target || !path.startsWith(`${target}/`)) continue;
    const relative = `${source.replace(/^\.\//, '')}${path.slice(target.length)}`;
    return files.find((file) => file.path === relative)?.content;
  }
  return undefined;
}

/**
 * Each simple command of a script: the shell's builtins and functions pass; an image program is
 * parsed with its flags (`"$@"` stands for `args`); anything else must be a tool of the image.
 */
function checkScript(script: string, args: string[], facts: ImageFacts, report: (problem: string) => void): void {
  let file;
  try {
    file = sh.syntax.NewParser().Parse(script, 'script');
  } catch (error) {
    return report(`its shell script does not parse: ${String(error)}`);
  }
  const functions = new Set<string>();
  const calls: string[][] = [];
  sh.syntax.Walk(file, (node: any) => {
    const type = sh.syntax.NodeType(node);
    if (type === 'FuncDecl') functions.add(node.Name.Value);
    if (type === 'CallExpr' && node.Args.length > 0) calls.push(node.Args.map(wordText));
    return true;
  });
  for (let words of calls) {
    if (words[0] === 'exec') words = words.slice(1);
    const [command] = words;
    if (command === undefined || command.includes('$') || SHELL_BUILTINS.has(command) || functions.has(command)) continue;
    const argv = words.flatMap((word) => (word === SCRIPT_ARGUMENTS ? args : [word]));
    if (findProgram(facts, command)) {
      checkInvocation(argv, facts, [], undefined, report);
    } else if (!hasCommand(facts, command)) {
      report(`its script runs ${command}, which ${facts.reference} has not`);
    }
  }
}

/** A word's text where it is literal; `"$@"` becomes SCRIPT_ARGUMENTS; other expansions stay `$...`. */
function wordText(word: any): string {
  let text = '';
  const parts = (list: any) => {
    for (let index = 0; index < list.length; index++) {
      const part = list[index];
      switch (sh.syntax.NodeType(part)) {
        case 'Lit':
        case 'SglQuoted':
          text += part.Value;
          break;
        case 'DblQuoted':
          parts(part.Parts);
          break;
        case 'ParamExp':
          text += part.Param.Value === '@' ? SCRIPT_ARGUMENTS : `$${part.Param.Value}`;
          break;
        default:
          text += '$(...)';
      }
    }
  };
  parts(word.Parts);
  return text;
}
