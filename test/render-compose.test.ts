import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { ISTIO_VERSIONS } from '../src/model/istio-versions.js';
import { REGISTRIES } from '../src/model/mesh.js';
import { requireCompose, runCli, temporaryDirectory } from './support/cli.js';

// Every rendered stack must be what Compose itself accepts, exactly as `up` will read it.
describe('rendered stacks pass docker-compose config', () => {
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

  it.each(cases)('$registry $version $extra', async ({ version, registry, extra }) => {
    const compose = await requireCompose();
    const dir = await temporaryDirectory('render');
    const file = join(dir, 'docker-compose.yaml');
    const result = await runCli(['render', '--registry', registry, '--istio-version', version, ...extra, '-o', file], { cwd: dir });
    expect(result.stderr).not.toContain('error');
    expect(result.code).toBe(0);
    await expect(compose.validate(file, 'rendertest')).resolves.toBeUndefined();
  });
});
