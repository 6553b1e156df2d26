// Prints vitest's JSON result as one plain line, "vitest: N passed, N failed, N skipped".
import { readFileSync } from 'node:fs';

const file = process.argv[2];
try {
  const results = JSON.parse(readFileSync(file, 'utf8'));
  const skipped = results.numPendingTests + results.numTodoTests;
  console.log(`vitest: ${results.numPassedTests} passed, ${results.numFailedTests} failed, ${skipped} skipped`);
} catch (error) {
  console.error(`test-summary: cannot read ${file}: ${error.message}`);
  process.exitCode = 1;
}
