// Prints vitest's JSON results as plain lines. One file: "vitest: N passed, N failed, N skipped".
// Several runs, each as LABEL=FILE (`make test` runs with Compose v2, then again with v1): one
// line per run, then their sum as that same plain line, last.
//   node scripts/test-summary.mjs .vitest-results.json
//   node scripts/test-summary.mjs "every test, Compose v2=a.json" "test/up.test.ts, Compose v1=b.json"
import { readFileSync } from 'node:fs';

const runs = process.argv.slice(2).map((argument) => {
  const split = argument.lastIndexOf('=');
  return split === -1 ? { label: undefined, file: argument } : { label: argument.slice(0, split), file: argument.slice(split + 1) };
});
const total = { passed: 0, failed: 0, skipped: 0 };
const line = (counts) => `${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`;

for (const { label, file } of runs) {
  try {
    const results = JSON.parse(readFileSync(file, 'utf8'));
    const counts = { passed: results.numPassedTests, failed: results.numFailedTests, skipped: results.numPendingTests + results.numTodoTests };
    for (const key of Object.keys(total)) total[key] += counts[key];
    if (runs.length > 1) console.log(`vitest (${label ?? file}): ${line(counts)}`);
  } catch (error) {
    // A run that wrote no results (vitest itself failed) must not look like a clean one.
    console.error(`test-summary: cannot read ${file}${label ? ` (${label})` : ''}: ${error.message}`);
    process.exitCode = 1;
  }
}
if (runs.length === 0) {
  console.error('test-summary: name at least one vitest JSON result file');
  process.exitCode = 1;
} else {
  console.log(`vitest: ${line(total)}`);
}
