import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RegistryKind } from '../src/model/mesh.js';
import { runCli, temporaryDirectory } from './support/cli.js';
import { eventually } from './support/stack.js';
import { ANY_PORTS, testProjects } from './support/projects.js';

/**
 * Traffic management end to end (issue 9), on the real engine with the sandbox set: route rules go
 * through `mesh-local route` into the API server, the pilot stand-in turns them into Envoy v1
 * discovery answers, the sidecars (the Envoy stand-in) apply them, and `mesh-local verify` sees the
 * result through the gateway. Once per registry: the rules name services the way each registry does.
 * `route apply` and `route delete` return 2 s after a change (PROPAGATION_MS): every verify right
 * after them checks the promise that a change is in effect by then.
 */

const RULES = fileURLToPath(new URL('../samples/bookinfo/rules/', import.meta.url));
/**
 * Requests for a 50/50 split checked with verify's default tolerance of 10 points: the share of
 * one side is binomial, so 10 points are 4 standard deviations at 400 requests (a false failure
 * about once in 16,000 checks); at 100 requests it would be 2 (once in 22).
 */
const SPLIT_REQUESTS = 400;

interface Observation {
  requests: number;
  byClass: Record<string, { count: number; percent: number }>;
}

const projectFor = testProjects();

describe.each<RegistryKind>(['consul', 'eureka'])('route rules with %s (sandbox set, real engine)', (registry) => {
  const project = projectFor(`traffic-${registry}`);
  const common = ['--project', project];
  let cwd: string;

  const rule = (name: string) => join(RULES, registry, `${name}.yaml`);

  async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return runCli([...args, ...common], { cwd });
  }

  async function apply(...names: string[]): Promise<void> {
    const applied = await cli(['route', 'apply', ...names.flatMap((name) => ['-f', rule(name)])]);
    expect(applied.code, applied.stderr).toBe(0);
  }

  async function verify(requests: number, options: string[] = []): Promise<Observation> {
    const run = await cli(['verify', '--requests', String(requests), '--json', ...options]);
    expect(run.code, `verify ${options.join(' ')}: ${run.stderr}${run.stdout}`).toBe(0);
    return JSON.parse(run.stdout) as Observation;
  }

  const share = (observation: Observation, name: string) => observation.byClass[name]?.percent ?? 0;
  const count = (observation: Observation, name: string) => observation.byClass[name]?.count ?? 0;

  async function storedRules(): Promise<Array<{ kind: string; name: string; resourceVersion: string }>> {
    const list = await cli(['route', 'list', '--json']);
    expect(list.code, list.stderr).toBe(0);
    return JSON.parse(list.stdout) as Array<{ kind: string; name: string; resourceVersion: string }>;
  }

  beforeAll(async () => {
    cwd = await temporaryDirectory(`traffic-${registry}`);
    const up = await runCli(['up', '--registry', registry, '--istio-version', '0.8.0', '--images', 'sandbox', ...common, ...ANY_PORTS], { cwd });
    expect(up.code, up.stderr).toBe(0);
    const bookinfo = await cli(['bookinfo']);
    expect(bookinfo.code, bookinfo.stderr).toBe(0);
  }, 300_000);

  afterAll(async () => {
    await runCli(['down', '--volumes', ...common], { cwd });
  }, 120_000);

  it('without rules, sends reviews round robin over v1, v2 and v3', async () => {
    const seen = await verify(60, ['--expect', 'v1=33%,v2=33%,v3=34%']);
    for (const version of ['v1', 'v2', 'v3']) expect(count(seen, version), version).toBeGreaterThan(0);
    expect(share(seen, 'error')).toBe(0);
  });

  it('all-v1 sends every request to v1', async () => {
    await apply('all-v1');
    const seen = await verify(50, ['--expect', 'v1=100%']);
    expect(count(seen, 'v1')).toBe(50);
  });

  it('reviews-50-v3 replaces reviews-default (new resourceVersion) and splits v1/v3 with no v2', async () => {
    const before = (await storedRules()).find((entry) => entry.name === 'reviews-default');
    expect(before).toBeDefined();
    await apply('reviews-50-v3');
    const after = (await storedRules()).find((entry) => entry.name === 'reviews-default');
    expect(after?.resourceVersion).not.toBe(before?.resourceVersion);
    const seen = await verify(SPLIT_REQUESTS, ['--concurrency', '8', '--expect', 'v1=50%,v3=50%']);
    expect(count(seen, 'v2')).toBe(0);
  });

  it('reviews-test-v2 sends jason to v2 while the others keep their split', async () => {
    await apply('reviews-test-v2');
    await verify(20, ['--user', 'jason', '--expect', 'v2=100%']);
    // The caller's sidecar logs the rule and the version it chose; the callee's logs the same
    // request. A line is written once its response has gone out, so the log may lag a moment.
    await eventually(async () => {
      const caller = await cli(['logs', 'productpage-v1', '--sidecar', '--tail', '200']);
      const chosen = caller.stdout.split('\n').filter((line) => / host=reviews:9080 .* route=reviews-test-v2 .*version=v2 flags=-/.test(line));
      expect(chosen.length, caller.stdout.slice(-2000)).toBeGreaterThanOrEqual(20);
      const requestId = / request_id=(\S+)/.exec(chosen.at(-1)!)![1]!;
      const callee = await cli(['logs', 'reviews-v2', '--sidecar', '--tail', '200']);
      expect(callee.stdout).toMatch(new RegExp(`direction=inbound .*path=/reviews/0 status=200 .*request_id=${requestId} `));
    }, 10_000);
    const others = await verify(SPLIT_REQUESTS, ['--concurrency', '8', '--expect', 'v1=50%,v3=50%']);
    expect(count(others, 'v2')).toBe(0);
  });

  it("ratings-test-delay: jason's page shows the reviews error after productpage's timeouts; others are unaffected", async () => {
    await apply('ratings-test-delay');
    // 7 s on ratings against reviews v2's 10 s timeout, but productpage gives reviews 3 s twice.
    await verify(4, ['--user', 'jason', '--concurrency', '4', '--expect', 'reviews-error=100%']);
    const others = await verify(SPLIT_REQUESTS, ['--concurrency', '8', '--expect', 'v1=50%,v3=50%']);
    expect(share(others, 'error')).toBe(0);
  }, 90_000);

  it("ratings-test-abort: jason's ratings are unavailable", async () => {
    const deleted = await cli(['route', 'delete', 'ratings-test-delay']);
    expect(deleted.code, deleted.stderr).toBe(0);
    await apply('ratings-test-abort');
    await verify(10, ['--user', 'jason', '--expect', 'ratings-error=100%']);
    const others = await verify(20, ['--concurrency', '4']);
    expect(share(others, 'error')).toBe(0);
  });

  it('refuses a multi-document file with one bad document and stores nothing', async () => {
    const before = await storedRules();
    const file = join(cwd, 'bad.yaml');
    const service = registry === 'consul' ? 'reviews.service.consul' : 'reviews';
    await writeFile(
      file,
      [
        `apiVersion: config.istio.io/v1alpha2\nkind: RouteRule\nmetadata:\n  name: reviews-good\nspec:\n  destination:\n    service: ${service}\n  precedence: 5\n  route:\n  - labels:\n      version: v2\n    weight: 100\n`,
        `apiVersion: config.istio.io/v1alpha2\nkind: RouteRule\nmetadata:\n  name: reviews-bad\nspec:\n  destination:\n    service: ${service}\n  precedence: 6\n  route:\n  - labels:\n      version: v9\n    weight: 100\n`,
      ].join('---\n'),
    );
    const refused = await cli(['route', 'apply', '-f', file]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('bad.yaml');
    expect(refused.stderr).toContain('reviews-bad');
    expect(refused.stderr).toContain('v9');
    expect(await storedRules()).toEqual(before);
  });

  it('deleting every rule restores the round robin', async () => {
    const deleted = await cli(['route', 'delete', '--all']);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(await storedRules()).toEqual([]);
    const seen = await verify(60, ['--expect', 'v1=33%,v2=33%,v3=34%']);
    for (const version of ['v1', 'v2', 'v3']) expect(count(seen, version), version).toBeGreaterThan(0);
    const jason = await verify(9, ['--user', 'jason']);
    expect(share(jason, 'error')).toBe(0);
  });
});
