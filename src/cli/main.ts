import { CommanderError } from 'commander';
import { setMaxListeners } from 'node:events';
import { ExitCode, ImageBuildError, MeshLocalError, exitCodeFor } from '../errors.js';
import { dockerodeEngine } from '../runtime/docker-engine.js';
import { buildProgram, type CliContext } from './program.js';

/**
 * Runs one command line and returns the exit code; never calls `process.exit`, so tests run it
 * in-process. Every error is reported here, once.
 */
export async function run(argv: readonly string[], context: CliContext): Promise<number> {
  let commandExitCode: number = ExitCode.ok;
  const program = buildProgram({ ...context, setExitCode: (code) => (commandExitCode = code) });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return commandExitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has already printed its message. Help and --version end with exit code 0;
      // everything else it raises is a usage error.
      if (error.exitCode === 0) return ExitCode.ok;
      return ExitCode.usage;
    }
    report(error, context);
    return exitCodeFor(error);
  }
}

function report(error: unknown, context: CliContext): void {
  if (error instanceof MeshLocalError) {
    context.console.err(`error [${error.code}]: ${error.message}\n`);
    if (error instanceof ImageBuildError && error.outputTail) {
      context.console.err(`last lines of the build output:\n${error.outputTail}\n`);
    }
    if (error.hint) context.console.err(`hint: ${error.hint}\n`);
    return;
  }
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  context.console.err(`error [ML_INTERNAL]: unexpected failure, please report it:\n${detail}\n`);
}

/** Process entry point used by bin/mesh-local.js. */
export async function main(): Promise<void> {
  // The first Ctrl-C stops waiting and lets the command clean up and explain; a second one quits.
  const interrupt = new AbortController();
  // Every Engine call of a wait listens on this signal; dozens at once are expected.
  setMaxListeners(0, interrupt.signal);
  process.on('SIGINT', () => {
    if (interrupt.signal.aborted) process.exit(ExitCode.interrupted);
    interrupt.abort(new DOMException('interrupted', 'AbortError'));
  });
  process.exitCode = await run(process.argv.slice(2), {
    cwd: process.cwd(),
    env: process.env,
    signal: interrupt.signal,
    isTty: process.stderr.isTTY === true,
    ...(process.stderr.columns ? { columns: process.stderr.columns } : {}),
    engine: memoize(() => dockerodeEngine()),
    console: {
      out: (text) => void process.stdout.write(text),
      err: (text) => void process.stderr.write(text),
    },
  });
}

function memoize<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}
