import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { injectCommand } from '../src/app/inject.js';
import { parseYaml } from '../src/common/yaml-file.js';
import { runProcess } from '../src/runtime/compose-cli.js';
import { COMPOSE_UNDER_TEST, requireCompose, runCli, temporaryDirectory } from './support/cli.js';

type Doc = Record<string, any>;
const PROJECT = 'injectfeatures';

/** A folder holding `files` (name -> text). */
async function folderWith(files: Record<string, string>): Promise<string> {
  const dir = await temporaryDirectory('inject-features');
  for (const [name, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), text);
  }
  return dir;
}

/** What Compose v2 reads: `config --format json` of the file, every profile enabled. */
async function v2Reads(file: string): Promise<Doc> {
  const compose = await requireCompose('v2');
  return (await compose.effectiveConfig(file, { projectDirectory: path.dirname(file), project: PROJECT })) as Doc;
}

/** `config -q` by each Compose under test, with `profiles` enabled (v1 has no profiles flag before 1.28; it has them). */
async function expectAccepted(file: string, profiles: string[] = []) {
  for (const { choice } of COMPOSE_UNDER_TEST) {
    const compose = await requireCompose(choice);
    const flags = profiles.flatMap((profile) => ['--profile', profile]);
    const result = await runProcess([...compose.variant.command, ...flags, '-f', file, '-p', PROJECT, 'config', '-q'], { cwd: path.dirname(file) });
    expect(result.exitCode, `${choice}: ${result.stderr}`).toBe(0);
  }
}

/** The `-b` (inbound ports) argument of `<app>-istio-init`. */
function capturedPorts(document: Doc, app: string): string {
  const command = document.services[`${app}-istio-init`].command as string[];
  return command[command.indexOf('-b') + 1]!;
}

async function inject(dir: string, args: string[], env: Record<string, string> = {}) {
  const result = await runCli(['inject', '--project', PROJECT, ...args], { cwd: dir, env });
  return { ...result, document: result.code === 0 && result.stdout ? (parseYaml(result.stdout, 'inject output') as Doc) : undefined };
}

const BASE = `services:
  base:
    image: nginx
    profiles: [web]
    labels:
      team: blue
`;

describe('inject follows extends as Compose v2 reads it', () => {
  it('gives inherited profiles to the sidecars, keeps extends as written, and both Compose versions accept the output', async () => {
    const dir = await folderWith({
      'base.yaml': BASE,
      'compose.yaml': '# the web tier\nservices:\n  web:\n    # from the shared base\n    extends: {file: base.yaml, service: base}\n    ports: ["8080:80"]\n',
    });
    const file = path.join(dir, 'compose.yaml');
    expect((await v2Reads(file)).services.web.profiles).toEqual(['web']);
    const result = await inject(dir, ['-f', 'compose.yaml']);
    expect(result.code, result.stderr).toBe(0);
    const out = result.document!;
    expect(out.services.web.extends).toEqual({ file: 'base.yaml', service: 'base' });
    for (const member of ['web-pod', 'web-istio-init', 'web-istio-proxy']) expect(out.services[member].profiles).toEqual(['web']);
    expect(result.stdout).toContain('# the web tier');
    expect(result.stdout).toContain('# from the shared base');
    const written = path.join(dir, 'out.yaml');
    await writeFile(written, result.stdout);
    await expectAccepted(file, ['web']);
    await expectAccepted(written, ['web']);
  });

  it('captures ports Compose v2 reads through interpolation and a same-file extends chain; the extended base keeps no pod', async () => {
    const dir = await folderWith({
      '.env': 'PORT=8081\n',
      'compose.yaml': 'services:\n  common:\n    image: busybox\n  app:\n    extends: common\n    ports: ["${PORT:-8080}:${PORT:-8080}"]\n',
    });
    const file = path.join(dir, 'compose.yaml');
    expect((await v2Reads(file)).services.app.ports[0].target).toBe(8081);
    const result = await inject(dir, ['-f', 'compose.yaml']);
    expect(result.code, result.stderr).toBe(0);
    expect(capturedPorts(result.document!, 'app')).toBe('8081');
    // Compose v1: "services with 'network_mode: service' cannot be extended".
    expect(result.stderr).toContain('warning: common: not injected: services.app extends it');
    expect(result.document!.services['common-pod']).toBeUndefined();
    // The pod publishes the port as written: Compose interpolates it when it runs the file.
    expect(result.document!.services['app-pod'].ports).toEqual(['${PORT:-8080}:${PORT:-8080}']);
    await writeFile(path.join(dir, 'out.yaml'), result.stdout);
    await expectAccepted(path.join(dir, 'out.yaml'));
  });

  it('refuses inherited ports (exit 2, file, service and field named), since the app would keep them', async () => {
    const dir = await folderWith({
      'base.yaml': 'services:\n  base:\n    image: nginx\n    ports: ["8080:80"]\n',
      'compose.yaml': 'services:\n  web:\n    extends: {file: base.yaml, service: base}\n',
    });
    expect((await v2Reads(path.join(dir, 'compose.yaml'))).services.web.ports[0].target).toBe(80);
    const result = await inject(dir, ['-f', 'compose.yaml']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("compose.yaml: 'services.web.extends'");
    expect(result.stderr).toContain('ports inherited from services.base of base.yaml');
  });

  it('skips a service whose inherited network_mode is host, and the output stays valid', async () => {
    const dir = await folderWith({
      'base.yaml': 'services:\n  base:\n    image: nginx\n    network_mode: host\n',
      'compose.yaml': 'services:\n  web:\n    extends: {file: base.yaml, service: base}\n  api:\n    image: nginx\n    expose: ["9000"]\n',
    });
    expect((await v2Reads(path.join(dir, 'compose.yaml'))).services.web.network_mode).toBe('host');
    const result = await inject(dir, ['-f', 'compose.yaml']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('warning: web: not injected: network_mode is host');
    expect(result.document!.services['web-pod']).toBeUndefined();
    expect(capturedPorts(result.document!, 'api')).toBe('9000');
    await writeFile(path.join(dir, 'out.yaml'), result.stdout);
    await expectAccepted(path.join(dir, 'out.yaml'));
  });

  it('follows an inherited opt-out label', async () => {
    const dir = await folderWith({
      'compose.yaml': 'services:\n  quiet:\n    image: nginx\n    labels:\n      sidecar.istio.io/inject: "false"\n  web:\n    extends: quiet\n',
    });
    expect((await v2Reads(path.join(dir, 'compose.yaml'))).services.web.labels['sidecar.istio.io/inject']).toBe('false');
    const result = await inject(dir, ['-f', 'compose.yaml']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('no service needed a sidecar');
    expect(result.document!.services['web-pod']).toBeUndefined();
  });
});

describe('inject and include:', () => {
  it('warns about services of included files, which it does not edit, and injects its own', async () => {
    const dir = await folderWith({
      'inc.yaml': 'services:\n  cache:\n    image: redis\n    expose: ["6379"]\n',
      'compose.yaml': 'include:\n  - inc.yaml\nservices:\n  web:\n    image: nginx\n    ports: ["8080:80"]\n',
    });
    expect(Object.keys((await v2Reads(path.join(dir, 'compose.yaml'))).services).sort()).toEqual(['cache', 'web']);
    const result = await inject(dir, ['-f', 'compose.yaml']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('warning: cache: not injected: it comes from an include: file');
    expect(result.document!.include).toEqual(['inc.yaml']);
    expect(capturedPorts(result.document!, 'web')).toBe('80');
    await writeFile(path.join(dir, 'out.yaml'), result.stdout);
    // Compose v1 has no include: only v2 accepted the input.
    const v2 = await requireCompose('v2');
    await v2.validate(path.join(dir, 'out.yaml'), PROJECT);
  });
});

describe('inject without a Compose v2 CLI (MESH_LOCAL_COMPOSE=v1) agrees with v2 or refuses', () => {
  it('interpolates .env and the environment as Compose v2 does', async () => {
    const dir = await folderWith({
      '.env': 'PORT=8081\nREPLICAS=1\n',
      'compose.yaml': 'services:\n  app:\n    image: x\n    ports: ["${PORT:-8080}:${PORT:-8080}", "${ADMIN-7000}"]\n    scale: ${REPLICAS}\n',
    });
    const v2 = (await v2Reads(path.join(dir, 'compose.yaml'))).services.app;
    const v2Ports = (v2.ports as Doc[]).map((port) => port.target).sort((a, b) => a - b);
    const result = await inject(dir, ['-f', 'compose.yaml'], { MESH_LOCAL_COMPOSE: 'v1' });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('reads compose.yaml as mesh-local does');
    expect(capturedPorts(result.document!, 'app')).toBe(v2Ports.join(','));
  });

  it('refuses extends and include with exit 2, saying a Compose v2 CLI is needed', async () => {
    const dir = await folderWith({
      'compose.yaml': 'services:\n  common:\n    image: busybox\n  app:\n    extends: common\n',
      'inc.yaml': 'include: [compose.yaml]\nservices:\n  other:\n    image: busybox\n',
    });
    for (const [file, field] of [['compose.yaml', 'services.app.extends'], ['inc.yaml', 'include']] as const) {
      const result = await inject(dir, ['-f', file], { MESH_LOCAL_COMPOSE: 'v1' });
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toContain(`${file}: '${field}' must be read by a Compose v2 CLI`);
    }
  });
});

const RELATIVE = `# app with files beside it
services:
  web:
    build: ./web
    env_file: web.env
    volumes:
      - ./data:/data # bind mount
      - cache:/cache
      - type: bind
        source: ../shared
        target: /shared
volumes:
  cache:
`;

describe('inject into another folder keeps relative paths meaning the same files', () => {
  async function appFolder(extra: Record<string, string> = {}) {
    const root = await folderWith({
      'app/compose.yaml': RELATIVE,
      'app/web.env': 'A=1\n',
      'app/web/Dockerfile': 'FROM busybox\n',
      'app/data/x': '',
      'shared/y': '',
      ...extra,
    });
    await mkdir(path.join(root, 'other'));
    return root;
  }

  it('-o: rewrites build context, env_file and bind sources relative to the output, keeping comments', async () => {
    const root = await appFolder();
    const result = await inject(root, ['-f', 'app/compose.yaml', '-o', 'other/out.yaml']);
    expect(result.code, result.stderr).toBe(0);
    const text = await readFile(path.join(root, 'other/out.yaml'), 'utf8');
    const out = parseYaml(text, 'out') as Doc;
    expect(out.services.web.build).toBe('../app/web');
    expect(out.services.web.env_file).toBe('../app/web.env');
    expect(out.services.web.volumes[0]).toBe('../app/data:/data');
    expect(out.services.web.volumes[1]).toBe('cache:/cache');
    expect(out.services.web.volumes[2].source).toBe('../shared');
    expect(text).toContain('# bind mount');
    const input = (await v2Reads(path.join(root, 'app/compose.yaml'))).services.web;
    const output = (await v2Reads(path.join(root, 'other/out.yaml'))).services.web;
    expect(output.build.context).toBe(input.build.context);
    expect(output.env_file).toEqual(input.env_file);
    expect(output.volumes.map((volume: Doc) => volume.source)).toEqual(input.volumes.map((volume: Doc) => volume.source));
    await expectAccepted(path.join(root, 'other/out.yaml'));
  });

  it('stdout redirected to a file elsewhere is treated like -o', async () => {
    const root = await appFolder();
    let stdout = '';
    let stderr = '';
    await injectCommand(
      { file: 'app/compose.yaml', policy: 'enabled', flags: { project: PROJECT } },
      { cwd: root, env: {}, stdoutTarget: async () => ({ kind: 'file', path: path.join(root, 'other/out.yaml') }) },
      { out: (text) => (stdout += text), err: (text) => (stderr += text) },
    );
    expect(stderr).toContain('rewrote relative paths for other');
    const out = parseYaml(stdout, 'out') as Doc;
    expect(out.services.web.env_file).toBe('../app/web.env');
    await writeFile(path.join(root, 'other/out.yaml'), stdout);
    await expectAccepted(path.join(root, 'other/out.yaml'));
  });

  it('refuses (exit 2) when the output folder would read another .env', async () => {
    const root = await appFolder({ 'app/.env': 'TAG=1\n' });
    const result = await inject(root, ['-f', 'app/compose.yaml', '-o', 'other/out.yaml']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('app/compose.yaml: .env:');
    expect(result.stderr).toContain('hint: copy');
    await writeFile(path.join(root, 'other/.env'), 'TAG=1\n');
    expect((await inject(root, ['-f', 'app/compose.yaml', '-o', 'other/out.yaml'])).code).toBe(0);
  });

  it('refuses (exit 2) a path that starts with a variable, naming the field', async () => {
    const root = await folderWith({ 'app/compose.yaml': 'services:\n  web:\n    image: nginx\n    env_file: ${DIR:-.}/web.env\n' });
    await mkdir(path.join(root, 'other'));
    const result = await inject(root, ['-f', 'app/compose.yaml', '-o', 'other/out.yaml']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("app/compose.yaml: 'services.web.env_file'");
  });
});
