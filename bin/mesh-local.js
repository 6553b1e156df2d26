#!/usr/bin/env node
// Runs the compiled CLI; `make build` (tsc) produces dist/.
//
// Ctrl-C is taken over before anything else loads (loading the CLI takes a few hundred ms): the
// first one aborts this signal, which the command sees however early it arrives, so it can stop,
// explain and exit 130; a second one quits at once, with 130 too (src/errors.ts, ExitCode).
const interrupt = new AbortController();
process.on('SIGINT', () => {
  if (interrupt.signal.aborted) process.exit(130);
  interrupt.abort(new DOMException('interrupted', 'AbortError'));
});

const { main } = await import('../dist/cli/main.js');
await main(interrupt);
