import { CommanderError } from 'commander';
import { setMaxListeners } from 'node:events';
import { ExitCode, ImageBuildError, InterruptedError, MeshLocalError, exitCodeFor } from '../errors.js';
import { dockerodeEngine } from '../runtime/docker-engine.js';
import { outputTarget } from '../common/output-target.js';
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
    // The reader went away: there is no one to tell, and main() exits with 141.
    if (context.signal?.reason === OUTPUT_CLOSED) return ExitCode.outputClosed;
    const failure = context.signal?.aborted ? asInterrupt(error) : error;
    report(failure, context);
    return exitCodeFor(failure);
  }
}

/**
 * After Ctrl-C, whatever a command fails with is the interrupt: an Engine call or a child process
 * aborted by the signal rejects with its own error ("The operation was aborted", "cannot reach the
 * Docker Engine"), which is not what happened. Bad input is still reported as such.
 */
function asInterrupt(error: unknown): unknown {
  if (error instanceof InterruptedError) return error;
  if (error instanceof MeshLocalError && error.exitCode === ExitCode.usage) return error;
  return new InterruptedError('interrupted', { cause: error });
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

/**
 * Process entry point used by bin/mesh-local.js, which owns `interrupt`: it installs the Ctrl-C
 * handler before this module loads, so an early Ctrl-C is not lost.
 */
export async function main(interrupt: AbortController): Promise<void> {
  // Every Engine call of a wait listens on this signal; dozens at once are expected.
  setMaxListeners(0, interrupt.signal);
  const output = guardOutput(interrupt);
  const code = await run(process.argv.slice(2), {
    cwd: process.cwd(),
    env: process.env,
    signal: interrupt.signal,
    isTty: process.stderr.isTTY === true,
    ...(process.stderr.columns ? { columns: process.stderr.columns } : {}),
    engine: memoize(() => dockerodeEngine()),
    console: { out: output.out, err: output.err },
    stdoutTarget: () => outputTarget(1),
  });
  process.exitCode = output.closed() ?? code;
}

/** The abort reason when stdout or stderr was closed; an AbortError, as Ctrl-C's. */
export const OUTPUT_CLOSED = new DOMException('the output was closed', 'AbortError');

/**
 * A reader that goes away (`mesh-local --help | head -1`, `logs -f | head`) makes the next write
 * fail with EPIPE, which Node raises as an 'error' event: unhandled, it ends the process with a
 * stack trace. Here it ends the command quietly instead, as SIGPIPE ends git or coreutils: nothing
 * more is written to that stream, a running command is stopped as by Ctrl-C (so `up` says how to
 * resume on the other stream when that one is still open), and the exit code is 141 (128 +
 * SIGPIPE), which is what a shell reports for them. Any other write error (EIO from a terminal
 * that is gone) is handled the same way, with exit code 1.
 */
function guardOutput(interrupt: AbortController): { out: (text: string) => void; err: (text: string) => void; closed: () => ExitCode | undefined } {
  let closedWith: ExitCode | undefined;
  const guard = (stream: NodeJS.WriteStream) => {
    let open = true;
    stream.on('error', (error: NodeJS.ErrnoException) => {
      open = false;
      closedWith ??= error.code === 'EPIPE' ? ExitCode.outputClosed : ExitCode.failure;
      // If the command has already returned, this is the code the process ends with.
      process.exitCode = closedWith;
      if (!interrupt.signal.aborted) interrupt.abort(OUTPUT_CLOSED);
    });
    return (text: string) => {
      if (open && !stream.destroyed) stream.write(text);
    };
  };
  return { out: guard(process.stdout), err: guard(process.stderr), closed: () => closedWith };
}

function memoize<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}
