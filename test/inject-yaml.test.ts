import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseComposeYaml } from '../src/common/compose-yaml.js';
import { runProcess } from '../src/runtime/compose-cli.js';
import { requireCompose, runCli } from './support/cli.js';

// Each input is read by the real Compose v2 (`docker compose config --format json`) and by
// inject's reader; they must agree. The injected output must stay valid for each Compose CLI
// that accepted the input, and keep the user's comments.

type Doc = Record<string, any>;
const PROJECT = 'yamltest';
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mesh-local-inject-yaml-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function write(name: string, text: string): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, text);
  return file;
}

/** What Compose v2 reads: `config --format json`, or the exit code and message when it refuses. */
async function v2Config(file: string): Promise<{ code: number | null; json: Doc; stderr: string }> {
  const compose = await requireCompose('v2');
  const result = await runProcess([...compose.variant.command, '-f', file, '-p', PROJECT, 'config', '--format', 'json'], { cwd: dir });
  return { code: result.exitCode, json: result.exitCode === 0 ? JSON.parse(result.stdout) : {}, stderr: result.stderr };
}

async function accepts(choice: 'v1' | 'v2', file: string): Promise<boolean> {
  const compose = await requireCompose(choice);
  const result = await runProcess([...compose.variant.command, '-f', file, '-p', PROJECT, 'config', '-q'], { cwd: dir });
  return result.exitCode === 0;
}

async function inject(input: string, output: string) {
  return runCli(['inject', '-f', input, '-o', output], { cwd: dir });
}

/** Injects `name` and checks both CLIs accept the output when they accepted the input. */
async function injectAccepted(name: string): Promise<string> {
  const output = name.replace(/\.yaml$/, '.mesh.yaml');
  const result = await inject(name, output);
  expect(result.code, result.stderr).toBe(0);
  for (const choice of ['v2', 'v1'] as const) {
    if (await accepts(choice, path.join(dir, name))) expect(await accepts(choice, path.join(dir, output)), `${choice} accepts ${output}`).toBe(true);
  }
  return path.join(dir, output);
}

describe('inject reads scalars as Compose v2 does', () => {
  it('ports: [22:22] unquoted is the port string "22:22", not base-60 1342', async () => {
    const file = await write('ports.yaml', 'services:\n  a:\n    image: x\n    ports: [22:22]\n');
    const v2 = await v2Config(file);
    expect(v2.json.services.a.ports).toEqual([{ mode: 'ingress', target: 22, published: '22', protocol: 'tcp' }]);
    expect((parseComposeYaml(await readFile(file, 'utf8'), file).value as Doc).services.a.ports).toEqual(['22:22']);
    const output = await injectAccepted('ports.yaml');
    expect((await v2Config(output)).json.services['a-pod'].ports).toEqual(v2.json.services.a.ports);
    expect(await accepts('v1', output)).toBe(true);
  });

  it('user: 0:0 stays "0:0"; a 64-bit integer keeps every digit; yes/no/on/off are strings', async () => {
    const text = 'services:\n  a:\n    image: x\n    user: 0:0\n    environment:\n      BIG: 9223372036854775807\n      UBIG: 18446744073709551615\n      Y: yes\n      N: no\n      O: on\n      F: off\n    labels:\n      SERVICE_TAGS: no\n      SERVICE_ID: 9223372036854775807\n';
    const file = await write('scalars.yaml', text);
    const v2 = await v2Config(file);
    const ours = (parseComposeYaml(text, file).value as Doc).services.a;
    expect(ours.user).toBe(v2.json.services.a.user);
    expect(v2.json.services.a.user).toBe('0:0');
    for (const [key, value] of Object.entries(v2.json.services.a.environment)) expect(String(ours.environment[key]), key).toBe(value);
    expect(v2.json.services.a.environment.BIG).toBe('9223372036854775807');
    const output = await injectAccepted('scalars.yaml');
    const after = (await v2Config(output)).json.services;
    expect(after.a.user).toBe('0:0');
    expect(after.a.environment).toEqual(v2.json.services.a.environment);
    // Registrator settings copied to the pod are written quoted, with the value v2 read.
    expect(after['a-pod'].labels.SERVICE_TAGS).toBe(v2.json.services.a.labels.SERVICE_TAGS);
    expect(after['a-pod'].labels.SERVICE_ID).toBe('9223372036854775807');
    expect(await readFile(output, 'utf8')).toContain('SERVICE_TAGS: "no"');
  });

  it("go-yaml v3's numbers: legacy octal, 0x/0b/0o, underscores, floats, timestamps", async () => {
    const values = ['0440', '-0440', '0o17', '0O17', '0x1F', '-0x1F', '0b101', '1_000', '1_', '08', '+12', '1.0', '1e3', '.5', '2001-12-14', '2001-12-14 21:59:43.10', '2001-12-14T21:59:43.10-05:00', '2001-13-01'];
    const text = `services:\n  a:\n    image: x\n    labels:\n${values.map((value, index) => `      L${index}: ${value}\n`).join('')}    secrets:\n      - source: token\n        mode: 0440\nsecrets:\n  token:\n    file: ./scalars.yaml\n`;
    const file = await write('numbers.yaml', text);
    const v2 = await v2Config(file);
    expect(v2.code, v2.stderr).toBe(0);
    const ours = (parseComposeYaml(text, file).value as Doc).services.a;
    expect(v2.json.services.a.secrets[0].mode).toBe(0o440);
    expect(ours.secrets[0].mode).toBe(0o440);
    values.forEach((value, index) => {
      const read = ours.labels[`L${index}`];
      // Go prints floats in its own way (1e+20); every value here prints alike in both.
      expect(String(read), `${value}`).toBe(v2.json.services.a.labels[`L${index}`]);
    });
    const output = await injectAccepted('numbers.yaml');
    expect((await v2Config(output)).json.services.a.secrets).toEqual(v2.json.services.a.secrets);
    // The untouched labels keep their spelling.
    expect(await readFile(output, 'utf8')).toContain('L0: 0440');
  });
});

describe('inject reads Compose structure as Compose v2 does', () => {
  it('merge keys and anchors: the first listed merge wins, explicit keys win over merged ones', async () => {
    const text = 'x-a: &a {image: x, user: "1", ports: ["80:80"]}\nx-b: &b {user: "2", init: true}\nservices:\n  s:\n    <<: [*a, *b]\n    init: false\n  t:\n    <<: *a\n';
    const file = await write('merge.yaml', text);
    const v2 = await v2Config(file);
    const ours = (parseComposeYaml(text, file).value as Doc).services;
    for (const name of ['s', 't']) {
      expect(ours[name].image).toBe(v2.json.services[name].image);
      expect(ours[name].user).toBe(v2.json.services[name].user);
    }
    expect(ours.s.init).toBe(v2.json.services.s.init);
    const output = await injectAccepted('merge.yaml');
    const after = (await v2Config(output)).json.services;
    // The merged-in ports moved to the pods; the apps keep the rest of what they merged.
    expect(after['s-pod'].ports).toEqual(v2.json.services.s.ports);
    expect(after.s.ports).toBeUndefined();
    expect(after.s.user).toBe('1');
    expect(after.t.image).toBe('x');
  });

  it('!reset drops the key (a merge may fill it again), !override is the value as written; both kept in the output', async () => {
    const text = 'x-base: &base\n  image: x\n  ports: ["80:80"]\n  environment: {A: "1"}\nservices:\n  a:\n    <<: *base\n    ports: !reset []\n    environment: !override {B: "2"}\n  b:\n    image: y\n    command: !reset null\n';
    const file = await write('reset.yaml', text);
    const v2 = await v2Config(file);
    expect(v2.code, v2.stderr).toBe(0);
    const ours = (parseComposeYaml(text, file).value as Doc).services;
    expect(ours.a.environment).toEqual(v2.json.services.a.environment);
    expect(ours.a.ports).toEqual(['80:80']);
    expect(v2.json.services.a.ports).toHaveLength(1);
    expect(ours.b.command).toBeUndefined();
    expect(v2.json.services.b.command).toBeNull();
    const output = await injectAccepted('reset.yaml');
    const written = await readFile(output, 'utf8');
    expect(written).toContain('!override');
    expect(written).toContain('command: !reset null');
    const after = (await v2Config(output)).json.services;
    expect(after['a-pod'].ports).toEqual(v2.json.services.a.ports);
    expect(after.a.environment).toEqual({ B: '2' });
  });

  it('a flow sequence whose closing ] sits at the key\'s indentation', async () => {
    const text = 'services:\n  a:\n    image: x\n    command: [\n      "sleep",\n      "1"\n    ]\n';
    const file = await write('flow.yaml', text);
    const v2 = await v2Config(file);
    expect(v2.code, v2.stderr).toBe(0);
    expect((parseComposeYaml(text, file).value as Doc).services.a.command).toEqual(v2.json.services.a.command);
    const output = await injectAccepted('flow.yaml');
    expect((await v2Config(output)).json.services.a.command).toEqual(['sleep', '1']);
  });

  it('multi-document files: v2 merges them; inject takes services defined in one document each', async () => {
    const text = 'services:\n  a:\n    image: x\n    ports: ["80:80"]\n---\nnetworks:\n  n: {}\n---\nservices:\n  b:\n    image: y\n    networks: [n]\n';
    const file = await write('multi.yaml', text);
    const v2 = await v2Config(file);
    expect(Object.keys(v2.json.services).sort()).toEqual(['a', 'b']);
    expect(Object.keys((parseComposeYaml(text, file).value as Doc).services).sort()).toEqual(['a', 'b']);
    const output = await injectAccepted('multi.yaml');
    const after = (await v2Config(output)).json;
    expect(Object.keys(after.services).sort()).toEqual(['a', 'a-istio-init', 'a-istio-proxy', 'a-pod', 'b', 'b-istio-init', 'b-istio-proxy', 'b-pod']);
    expect(after.services['a-pod'].ports).toEqual(v2.json.services.a.ports);
    expect(Object.keys(after.services['b-pod'].networks).sort()).toEqual(['istio-mesh', 'n']);
  });

  it('a service spread over two documents (v2 merges it field by field) is refused: exit 2, naming it', async () => {
    const text = 'services:\n  a:\n    image: x\n---\nservices:\n  a:\n    environment: {A: "1"}\n';
    const file = await write('multi-same.yaml', text);
    expect((await v2Config(file)).json.services.a.environment).toEqual({ A: '1' });
    const result = await inject('multi-same.yaml', 'multi-same.out.yaml');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('ML_INPUT_SHAPE');
    expect(result.stderr).toContain("'services.a'");
    expect(result.stderr).toContain('documents 1 and 2');
  });

  it('a file with only volumes and networks: nothing to inject, exit 0, the input unchanged, a notice', async () => {
    const text = '# shared resources\nvolumes:\n  data:\nnetworks:\n  n:\n';
    const file = await write('resources.yaml', text);
    expect((await v2Config(file)).json.services).toEqual({});
    const result = await runCli(['inject', '-f', 'resources.yaml'], { cwd: dir });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(text);
    expect(result.stderr).toContain('notice: resources.yaml defines no services: nothing to inject');
  });
});

describe('inject keeps the user\'s document', () => {
  const text = `# Our stack.
services:
  # The web front end.
  web:
    image: nginx:1.25   # pinned
    ports:
      - "8080:80"  # public port
    labels: &labels
      com.example.team: web
  # Not in the mesh.
  db:
    image: postgres:15
    labels:
      sidecar.istio.io/inject: "false"
    environment:
      # keep in sync with web
      POSTGRES_USER: app
  worker:
    image: example/worker:1
    labels: *labels
`;

  it('keeps comments above a service, on a moved port, and in an untouched service; anchors stay valid', async () => {
    await write('commented.yaml', text);
    const output = await injectAccepted('commented.yaml');
    const written = await readFile(output, 'utf8');
    for (const comment of ['# Our stack.', '# The web front end.', '# pinned', '# public port', '# Not in the mesh.', '# keep in sync with web']) {
      expect(written, comment).toContain(comment);
    }
    // The untouched service is written as it was.
    expect(written).toContain('  db:\n    image: postgres:15\n    labels:\n      sidecar.istio.io/inject: "false"\n    environment:\n      # keep in sync with web\n      POSTGRES_USER: app\n');
    const after = (await v2Config(output)).json.services;
    expect(after.worker.labels['com.example.team']).toBe('web');
    expect(after.web.labels['com.example.team']).toBe('web');
  });

  it('injecting the output again changes nothing', async () => {
    await write('commented.yaml', text);
    const output = await injectAccepted('commented.yaml');
    const again = await inject(path.basename(output), 'commented.mesh2.yaml');
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('no service needed a sidecar');
    const first = (await readFile(output, 'utf8')).split('\n').slice(1).join('\n');
    const second = (await readFile(path.join(dir, 'commented.mesh2.yaml'), 'utf8')).split('\n').slice(1).join('\n');
    expect(second).toBe(first);
  });
});

describe('inject limits', () => {
  it('a 7,000-service file without aliases is read; inject reads its own output of 1,000 services', async () => {
    const services = (count: number) => `services:\n${Array.from({ length: count }, (_, index) => `  s${index}:\n    image: nginx\n    ports: ["${10000 + index}:80"]\n`).join('')}`;
    const big = services(7000);
    expect(Object.keys((parseComposeYaml(big, 'big.yaml').value as Doc).services)).toHaveLength(7000);
    await write('thousand.yaml', services(1000));
    const first = await inject('thousand.yaml', 'thousand.mesh.yaml');
    expect(first.code, first.stderr).toBe(0);
    const again = await inject('thousand.mesh.yaml', 'thousand.mesh2.yaml');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('no service needed a sidecar');
  }, 60_000);

  it('a YAML syntax error names the file, line and column: exit 2', async () => {
    await write('syntax.yaml', 'services:\n  web:\n    image: [nginx\n');
    const result = await inject('syntax.yaml', 'syntax.out.yaml');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('ML_YAML_SYNTAX');
    expect(result.stderr).toMatch(/syntax\.yaml:\d+:\d+/);
  });
});
