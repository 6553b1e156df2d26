/**
 * `mesh-local route` as a user runs it: help, exit codes, and which errors come before any
 * project is looked up. What the commands do against an API server and Pilot is in route.test.ts
 * (the use cases the commands call) and in the traffic end-to-end test.
 */
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, temporaryDirectory } from './support/cli.js';

/** A project name no container has: the route commands must find nothing running. */
const absentProject = () => `mltest-route-absent-${randomUUID().slice(0, 6)}`;

describe('mesh-local route', () => {
  it('documents its subcommands, examples and exit codes', async () => {
    const dir = await temporaryDirectory('route-cli');
    const route = await runCli(['route', '--help'], { cwd: dir });
    expect(route.code).toBe(0);
    for (const text of ['apply', 'list', 'get', 'delete', 'mesh-local route apply -f samples/bookinfo/rules/consul/all-v1.yaml', 'Exit codes:']) {
      expect(route.stdout).toContain(text);
    }
    const apply = await runCli(['route', 'apply', '--help'], { cwd: dir });
    expect(apply.code).toBe(0);
    expect(apply.stdout).toContain('-f, --file <file>');
    expect(apply.stdout).toContain('routerule/reviews-default created|configured|unchanged');
    expect(apply.stdout).toMatch(/2\s+bad input or usage/);
  });

  it('refuses a bad rule file with exit 2, naming file, document, name, field and problem, before looking for the project', async () => {
    const dir = await temporaryDirectory('route-cli');
    const file = join(dir, 'rules.yaml');
    await writeFile(
      file,
      [
        'apiVersion: config.istio.io/v1alpha2',
        'kind: RouteRule',
        'metadata: {name: reviews-default}',
        'spec: {destination: {service: reviews.service.consul}, route: [{labels: {version: v1}, weight: 100}]}',
        '---',
        'apiVersion: config.istio.io/v1alpha2',
        'kind: RouteRule',
        'metadata: {name: reviews-50}',
        'spec: {destination: {service: reviews.service.consul}, route: [{labels: {version: v1}, weight: 60}, {labels: {version: v3}, weight: 30}]}',
      ].join('\n'),
    );
    const result = await runCli(['route', 'apply', '-f', file, '--project', absentProject()], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`error [ML_RULE_INVALID]: ${file}: document 2 (reviews-50): spec.route: route weights total 90 (must total 100)\n`);
  });

  it('exits 1 naming what is not running when the project is not up', async () => {
    const dir = await temporaryDirectory('route-cli');
    const file = join(dir, 'rules.yaml');
    await writeFile(file, 'apiVersion: config.istio.io/v1alpha2\nkind: RouteRule\nmetadata: {name: r}\nspec: {destination: {service: reviews.service.consul}}\n');
    const project = absentProject();
    const apply = await runCli(['route', 'apply', '-f', file, '--project', project], { cwd: dir });
    expect(apply.code).toBe(1);
    expect(apply.stderr).toContain(`error [ML_PROJECT_NOT_RUNNING]: project ${project} has no running pilot`);
    expect(apply.stderr).toContain(`hint: start it with \`mesh-local up --project ${project}\``);
    const list = await runCli(['route', 'list', '--project', project], { cwd: dir });
    expect(list.code).toBe(1);
    expect(list.stderr).toContain(`project ${project} has no running apiserver`);
  });

  it('exits 2 on usage errors: delete without NAME or --all, an unknown output format or kind', async () => {
    const dir = await temporaryDirectory('route-cli');
    const project = absentProject();
    const bare = await runCli(['route', 'delete', '--project', project], { cwd: dir });
    expect(bare.code).toBe(2);
    expect(bare.stderr).toBe('error [ML_USAGE]: route delete takes either a NAME or --all\n');
    expect((await runCli(['route', 'delete', 'x', '--all', '--project', project], { cwd: dir })).code).toBe(2);
    const format = await runCli(['route', 'get', 'x', '-o', 'xml', '--project', project], { cwd: dir });
    expect(format.code).toBe(2);
    expect(format.stderr).toContain('Allowed choices are yaml, json');
    const kind = await runCli(['route', 'get', 'virtualservice/x', '--project', project], { cwd: dir });
    expect(kind.code).toBe(2);
    expect(kind.stderr).toContain("unknown kind 'virtualservice'");
    const noFile = await runCli(['route', 'apply', '--project', project], { cwd: dir });
    expect(noFile.code).toBe(2);
    expect(noFile.stderr).toBe('error [ML_USAGE]: route apply needs at least one file (-f FILE)\n');
  });
});
