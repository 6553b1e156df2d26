import { describe, expect, it } from 'vitest';
import type { ComposeDocument, ComposeService } from '../src/compose/compose-spec.js';
import { renderMesh, type RenderResult } from '../src/compose/render.js';
import { SANDBOX_IMAGES, SANDBOX_MISSING_ADDONS } from '../src/model/image-sets.js';
import { ISTIO_VERSIONS } from '../src/model/istio-versions.js';
import { ADDONS, REGISTRIES, type AddonName } from '../src/model/mesh.js';
import { buildModel, resolveSettings } from '../src/model/settings.js';
import { imageFacts } from '../src/model/upstream/facts.js';
import type { ImageFacts } from '../src/model/upstream/types.js';
import { checkAgainstImages } from './support/upstream-check.js';

/**
 * The rendered stacks against upstream's own images (src/model/upstream/): every combination of
 * registry, Istio version, BookInfo, addons and image set, each service's command line parsed as
 * its image's program parses it and each healthcheck and script allowed only the image's tools.
 * Then the sandbox document must be the upstream document but for `image`.
 */

interface Combination {
  registry: (typeof REGISTRIES)[number];
  istioVersion: string;
  bookinfo: boolean;
  addons: AddonName[];
}

const ADDON_CHOICES: AddonName[][] = [[], ...ADDONS.map((addon) => [addon]), [...ADDONS]];

function combinations(): Combination[] {
  return ISTIO_VERSIONS.flatMap((version) =>
    REGISTRIES.flatMap((registry) =>
      [false, true].flatMap((bookinfo) => ADDON_CHOICES.map((addons) => ({ registry, istioVersion: version.version, bookinfo, addons }))),
    ),
  );
}

const label = (combination: Combination) =>
  `${combination.registry} ${combination.istioVersion}${combination.bookinfo ? ' +bookinfo' : ''}${combination.addons.length ? ` +${combination.addons.join(',')}` : ''}`;

function render(combination: Combination, imageSet: 'upstream' | 'sandbox'): RenderResult {
  const { settings } = resolveSettings({
    env: {},
    flags: { ...combination, addons: combination.addons.join(','), imageSet },
  });
  return renderMesh(buildModel(settings));
}

const upstreamFacts = (_name: string, service: ComposeService) => imageFacts(service.image);

/**
 * A sandbox image offers what its upstream image has (the same programs at the same paths, the
 * same ENTRYPOINT and CMD unless it lists an override), and only the tools it carries itself.
 */
function sandboxFacts(_name: string, service: ComposeService): ImageFacts | undefined {
  const sandbox = SANDBOX_IMAGES.find((image) => image.reference === service.image);
  const upstream = sandbox?.standsInFor ? imageFacts(sandbox.standsInFor) : undefined;
  if (!sandbox || !upstream) return undefined;
  return {
    ...upstream,
    cmd: sandbox.cmdOverride?.cmd ?? upstream.cmd,
    tools: sandbox.cmdOverride ? sandbox.tools : upstream.tools.filter((tool) => sandbox.tools.includes(tool)),
  };
}

describe('every rendered command line and healthcheck fits the upstream images', () => {
  for (const combination of combinations()) {
    it(label(combination), () => {
      const rendered = render(combination, 'upstream');
      expect(checkAgainstImages({ ...rendered, factsOf: upstreamFacts })).toEqual([]);
    });
  }
});

describe('every sandbox document fits the sandbox images, which stand in for upstream', () => {
  for (const combination of combinations().filter((entry) => entry.addons.every((addon) => !(SANDBOX_MISSING_ADDONS as readonly string[]).includes(addon)))) {
    it(label(combination), () => {
      const rendered = render(combination, 'sandbox');
      expect(checkAgainstImages({ ...rendered, factsOf: sandboxFacts })).toEqual([]);
    });
  }
});

/**
 * Only `image` may differ between the two sets. The one listed exception: the sandbox set leaves
 * out the addons no reachable source ships (grafana, zipkin, servicegraph), so they are compared
 * on the combinations without them.
 */
describe('the sandbox set runs the upstream document with other images', () => {
  const withoutImages = (document: ComposeDocument) =>
    Object.fromEntries(Object.entries(document.services).map(([name, { image: _image, ...rest }]) => [name, rest]));
  for (const combination of combinations().filter((entry) => entry.addons.every((addon) => !(SANDBOX_MISSING_ADDONS as readonly string[]).includes(addon)))) {
    it(label(combination), () => {
      const upstream = render(combination, 'upstream');
      const sandbox = render(combination, 'sandbox');
      expect(withoutImages(sandbox.document)).toEqual(withoutImages(upstream.document));
      expect(sandbox.files).toEqual(upstream.files);
      expect(sandbox.document.networks).toEqual(upstream.document.networks);
      for (const [name, service] of Object.entries(sandbox.document.services)) {
        const standsInFor = SANDBOX_IMAGES.find((image) => image.reference === service.image)?.standsInFor;
        expect(standsInFor, `${name}: ${service.image} stands in for ${upstream.document.services[name]!.image}`).toBe(upstream.document.services[name]!.image);
      }
    });
  }
});

describe('the check catches what the three upstream faults were', () => {
  const base: Combination = { registry: 'consul', istioVersion: '0.8.0', bookinfo: true, addons: [] };
  const problems = (combination: Combination, change: (services: Record<string, ComposeService>) => void) => {
    const rendered = render(combination, 'upstream');
    change(rendered.document.services);
    return checkAgainstImages({ ...rendered, factsOf: upstreamFacts });
  };

  it('pilot 0.8.0 started with --httpAddr, a flag of 1.0.0', () => {
    const found = problems(base, (services) => {
      services['istio-pilot']!.command = services['istio-pilot']!.command!.map((arg) => (arg === '--port' ? '--httpAddr' : arg === '15007' ? ':15007' : arg));
    });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^istio-pilot: \/usr\/local\/bin\/pilot-discovery discovery --httpAddr :15007 .*: refused as docker\.io\/istio\/pilot:0\.8\.0 would: Error: unknown flag: --httpAddr$/);
  });

  it("a curl healthcheck on 0.6.0's pilot, an image built FROM scratch", () => {
    const found = problems({ ...base, istioVersion: '0.6.0' }, (services) => {
      services['istio-pilot']!.healthcheck = { test: ['CMD', 'curl', '-fsS', 'http://127.0.0.1:15003/v1/registration'] };
    });
    expect(found).toEqual(['istio-pilot: healthcheck: runs curl, which docker.io/istio/pilot:0.6.0 has not']);
  });

  it('a sidecar waiting for a pilot that has no healthcheck to be healthy', () => {
    const found = problems({ ...base, istioVersion: '0.6.0' }, (services) => {
      services['details-v1-istio-proxy']!.depends_on!['istio-pilot'] = { condition: 'service_healthy' };
    });
    expect(found).toEqual(['details-v1-istio-proxy: waits for istio-pilot to be healthy, but it has no healthcheck']);
  });

  it('a registrator flag the fork does not define, and a script tool the image lacks', () => {
    const found = problems({ ...base, registry: 'eureka' }, (services) => {
      services.registrator!.command = ['-internal', '-no-such-flag', 'eureka://eureka:8080/eureka/v2'];
      services['details-v1-istio-init']!.entrypoint = ['/bin/sh', '-c', 'jq . && exec /usr/local/bin/istio-iptables.sh "$$@"', 'istio-init'];
    });
    expect(found).toEqual([
      expect.stringMatching(/^registrator: .*flag provided but not defined: -no-such-flag/),
      'details-v1-istio-init: its script runs jq, which docker.io/istio/proxy_init:0.8.0 has not',
    ]);
  });
});
