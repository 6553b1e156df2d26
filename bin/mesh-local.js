#!/usr/bin/env node
// Runs the compiled CLI; `make build` (tsc) produces dist/.
import { main } from '../dist/cli/main.js';

await main();
