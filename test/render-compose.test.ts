import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { ISTIO_VERSIONS } from '../src/model/istio-versions.js';
import { REGISTRIES } from '../src/model/mesh.js';
import { COMPOSE_LEFT_OUT, COMPOSE_UNDER_TEST, requireCompose, runCli, temporaryDirectory } from './support/cli.js';

const cases = ISTIO_VERSIONS.flatMap((version) =>
  REGISTRIES.flatMap((registry) =>
    [
      [],
      ['--bookinfo'],
      ['--bookinfo', '--addons', 'prometheus,grafana,zipkin,servicegraph'],
      ['--addons', 'zipkin', '--image-mirror', 'mirror.local:5000', '--port', 'pilot=18081'],
    ].map((extra) => ({ version: version.version, registry, extra })),
  ),
);

/** Each case is rendered once; every Compose variant then reads the same file. */
const rendered = new Map<string, Promise<string>>();
function renderOnce({ version, registry, extra }: (typeof cases)[number]): Promise<string> {
  const key = JSON.stringify([version, registry, extra]);
  if (!rendered.has(key)) {
    rendered.set(
      key,
      (async () => {
        const dir = await temporaryDirectory('render');
        const file = join(dir, 'docker-compose.yaml');
        const result = await runCli(['render', '--registry', registry, '--istio-version', version, ...extra, '-o', file], { cwd: dir });
        expect(result.stderr).not.toContain('error');
        expect(result.code).toBe(0);
        return file;
      })(),
    );
  }
  return rendered.get(key)!;
}

// Every rendered stack must be what Compose itself accepts, exactly as `up` will read it, with
// both Compose CLIs mesh-local runs on.
describe.each(COMPOSE_UNDER_TEST.map((variant) => variant.choice))('rendered stacks pass `config` of Compose %s', (choice) => {
  it(`Compose ${choice} is installed`, async () => {
    expect((await requireCompose(choice)).variant.major).toBe(choice === 'v2' ? 2 : 1);
  });

  it.each(cases)('$registry $version $extra', async (testCase) => {
    const compose = await requireCompose(choice);
    await expect(compose.validate(await renderOnce(testCase), 'rendertest')).resolves.toBeUndefined();
  });
});

// A variant is left out only where it cannot be had, and then it truly is not there.
describe('Compose variants under test', () => {
  it('are v2 and v1, unless this Debian has no v1', async () => {
    expect(COMPOSE_UNDER_TEST.map((variant) => variant.choice)).toEqual(COMPOSE_LEFT_OUT.length === 0 ? ['v2', 'v1'] : ['v2']);
    for (const { choice } of COMPOSE_LEFT_OUT) await expect(requireCompose(choice)).rejects.toThrow();
  });
});
