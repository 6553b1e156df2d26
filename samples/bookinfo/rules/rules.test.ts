import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseYamlDocuments } from '../../../src/common/yaml-file.js';
import { describe, expect, it } from 'vitest';
import { checkAgainstRegistry, consulHostname, parseRuleDocuments, type RegistryServices } from '../../../src/model/route-rules.js';

// RouteRule files are multi-document (all-v1 holds one rule per service): read as mesh-local reads
// them (`7s` stays a string, `100` an integer).

const RULES_DIR = dirname(fileURLToPath(import.meta.url));
const REGISTRIES = ['consul', 'eureka'] as const;
type Registry = (typeof REGISTRIES)[number];

const SCENARIOS = [
  'all-v1',
  'reviews-v3',
  'reviews-50-v3',
  'reviews-v2-v3',
  'reviews-test-v2',
  'ratings-test-delay',
  'ratings-test-abort',
] as const;
type Scenario = (typeof SCENARIOS)[number];

/** As upstream wrote it (samples/bookinfo/{consul,eureka}/route-rule-*.yaml@0.6.0 and @0.8.0). */
const JASON_COOKIE = '^(.*?;)?(user=jason)(;.*)?$';

/** The host Pilot knows each service by: `<name>.service.consul` (Consul), the bare name (Eureka). */
function host(registry: Registry, service: string): string {
  return registry === 'consul' ? `${service}.service.consul` : service;
}

interface Expected {
  name: string;
  service: string;
  precedence: number;
  jason?: true;
  route: [version: string, weight: number][];
  httpFault?: object;
}

const EXPECTED: Record<Scenario, Expected[]> = {
  'all-v1': ['productpage', 'reviews', 'ratings', 'details'].map((service) => ({
    name: `${service}-default`,
    service,
    precedence: 1,
    route: [['v1', 100]],
  })),
  'reviews-v3': [{ name: 'reviews-default', service: 'reviews', precedence: 1, route: [['v3', 100]] }],
  'reviews-50-v3': [
    { name: 'reviews-default', service: 'reviews', precedence: 1, route: [['v1', 50], ['v3', 50]] },
  ],
  'reviews-v2-v3': [
    { name: 'reviews-default', service: 'reviews', precedence: 2, route: [['v2', 50], ['v3', 50]] },
  ],
  'reviews-test-v2': [
    { name: 'reviews-test-v2', service: 'reviews', precedence: 2, jason: true, route: [['v2', 100]] },
  ],
  'ratings-test-delay': [
    {
      name: 'ratings-test-delay',
      service: 'ratings',
      precedence: 2,
      jason: true,
      route: [['v1', 100]],
      httpFault: { delay: { percent: 100, fixedDelay: '7s' } },
    },
  ],
  'ratings-test-abort': [
    {
      name: 'ratings-test-abort',
      service: 'ratings',
      precedence: 2,
      jason: true,
      route: [['v1', 100]],
      httpFault: { abort: { percent: 100, httpStatus: 500 } },
    },
  ],
};

function expectedDocuments(registry: Registry, scenario: Scenario): unknown[] {
  return EXPECTED[scenario].map((rule) => ({
    apiVersion: 'config.istio.io/v1alpha2',
    kind: 'RouteRule',
    metadata: { name: rule.name },
    spec: {
      destination: { service: host(registry, rule.service) },
      precedence: rule.precedence,
      ...(rule.jason ? { match: { request: { headers: { cookie: { regex: JASON_COOKIE } } } } } : {}),
      route: rule.route.map(([version, weight]) => ({ labels: { version }, weight })),
      ...(rule.httpFault ? { httpFault: rule.httpFault } : {}),
    },
  }));
}

function fileOf(registry: Registry, scenario: Scenario): string {
  return join(RULES_DIR, registry, `${scenario}.yaml`);
}

function read(registry: Registry, scenario: Scenario): { text: string; documents: unknown[] } {
  const file = fileOf(registry, scenario);
  const text = readFileSync(file, 'utf8');
  return { text, documents: parseYamlDocuments(text, file) };
}

interface Rule {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: {
    destination: { service: string };
    precedence: number;
    match?: { request: { headers: { cookie: { regex: string } } } };
    route: { labels: Record<string, string>; weight?: number }[];
    httpFault?: {
      delay?: { percent: number; fixedDelay: string };
      abort?: { percent: number; httpStatus: number };
    };
  };
}

const rules = (registry: Registry, scenario: Scenario) => read(registry, scenario).documents as Rule[];

/** The one rule of a single-rule scenario. */
function only(registry: Registry, scenario: Scenario): Rule {
  const all = rules(registry, scenario);
  expect(all).toHaveLength(1);
  return all[0] as Rule;
}

describe('samples/bookinfo/rules', () => {
  it('holds exactly the seven scenarios for each registry', () => {
    for (const registry of REGISTRIES) {
      expect(readdirSync(join(RULES_DIR, registry)).sort()).toEqual(SCENARIOS.map((s) => `${s}.yaml`).sort());
    }
  });

  describe.each(REGISTRIES)('%s', (registry) => {
    it.each(SCENARIOS)('%s is exactly upstream’s rule set', (scenario) => {
      expect(read(registry, scenario).documents).toEqual(expectedDocuments(registry, scenario));
    });

    it.each(SCENARIOS)('%s opens with a comment naming the upstream file and tag', (scenario) => {
      const first = read(registry, scenario).text.split('\n')[0];
      expect(first).toBe(
        `# Expresses istio/istio samples/bookinfo/${registry}/route-rule-${scenario}.yaml@0.8.0 (unchanged since 0.6.0).`,
      );
    });

    it.each(SCENARIOS)('%s: every rule is a v1alpha2 RouteRule whose weights total 100', (scenario) => {
      for (const rule of rules(registry, scenario)) {
        expect(rule.apiVersion).toBe('config.istio.io/v1alpha2');
        expect(rule.kind).toBe('RouteRule');
        expect(rule.spec.route.reduce((sum, r) => sum + (r.weight ?? Number.NaN), 0)).toBe(100);
        for (const r of rule.spec.route) expect(Object.keys(r.labels)).toEqual(['version']);
      }
    });

    it('all-v1 has one default rule per BookInfo service, each at precedence 1 to v1', () => {
      const all = rules(registry, 'all-v1');
      expect(all.map((r) => r.spec.destination.service)).toEqual(
        ['productpage', 'reviews', 'ratings', 'details'].map((s) => host(registry, s)),
      );
      expect(all.map((r) => r.spec.precedence)).toEqual([1, 1, 1, 1]);
    });

    it('the jason rules match the cookie with upstream’s regex, at precedence 2', () => {
      for (const scenario of ['reviews-test-v2', 'ratings-test-delay', 'ratings-test-abort'] as const) {
        const rule = only(registry, scenario);
        expect(rule.spec.match?.request.headers.cookie.regex).toBe(JASON_COOKIE);
        expect(rule.spec.precedence).toBe(2);
      }
    });

    it('ratings-test-delay holds every jason request for a fixed 7 s', () => {
      const rule = only(registry, 'ratings-test-delay');
      expect(rule.spec.httpFault).toEqual({ delay: { percent: 100, fixedDelay: '7s' } });
    });

    it('ratings-test-abort answers every jason request with HTTP 500', () => {
      const rule = only(registry, 'ratings-test-abort');
      expect(rule.spec.httpFault).toEqual({ abort: { percent: 100, httpStatus: 500 } });
    });
  });

  it('the consul and eureka files differ only in the destination host', () => {
    for (const scenario of SCENARIOS) {
      const consul = rules('consul', scenario);
      const eureka = rules('eureka', scenario);
      expect(consul.map((r) => r.spec.destination.service)).toEqual(
        eureka.map((r) => `${r.spec.destination.service}.service.consul`),
      );
      const withoutHost = (r: Rule) => ({ ...r, spec: { ...r.spec, destination: {} } });
      expect(consul.map(withoutHost)).toEqual(eureka.map(withoutHost));
    }
  });

  it('the cookie regex selects user=jason as Envoy matches it (the whole header)', () => {
    const regex = new RegExp(JASON_COOKIE);
    for (const header of ['user=jason', 'a=b;user=jason', 'user=jason;a=b', 'a=b;user=jason;c=d']) {
      expect(regex.test(header), header).toBe(true);
    }
    for (const header of ['user=jasonx', 'xuser=jason', 'user=json', 'user=', '']) {
      expect(regex.test(header), header).toBe(false);
    }
    // Upstream's regex allows no space after ';', so a browser-style `a=b; user=jason` does not
    // match; it does not need to: 0.x productpage forwards only `Cookie: user=<name>`.
    expect(regex.test('a=b; user=jason')).toBe(false);
  });
});

describe('samples/bookinfo/rules against mesh-local\'s rule validation', () => {
  // BookInfo as Pilot sees it in each registry: Consul hostnames `<name>.service.consul`, Eureka's
  // the registered hostName (the service name); each instance labelled with its version.
  const bookinfo = (registry: Registry): RegistryServices =>
    new Map(
      BOOKINFO_INSTANCES.map(({ name, versions }) => [registry === 'consul' ? consulHostname(name) : name, versions.map((version) => ({ version }))] as const),
    );

  it.each(REGISTRIES.flatMap((registry) => SCENARIOS.map((scenario) => [registry, scenario] as const)))('%s/%s is valid and names only known services and versions', (registry, scenario) => {
    const file = fileOf(registry, scenario);
    const parsed = parseRuleDocuments(read(registry, scenario).documents, file);
    expect(parsed.length).toBe(EXPECTED[scenario].length);
    expect(() => checkAgainstRegistry(parsed, bookinfo(registry), file)).not.toThrow();
  });

  it('a scenario routed to a version BookInfo does not run is refused by the registry check', () => {
    const file = fileOf('consul', 'reviews-v3');
    const parsed = parseRuleDocuments(read('consul', 'reviews-v3').documents, file);
    const withoutV3 = new Map(bookinfo('consul'));
    withoutV3.set(consulHostname('reviews'), [{ version: 'v1' }, { version: 'v2' }]);
    expect(() => checkAgainstRegistry(parsed, withoutV3, file)).toThrow(/spec.route\[0\].labels: no instance of reviews.service.consul has labels version=v3/);
  });
});

const BOOKINFO_INSTANCES = [
  { name: 'productpage', versions: ['v1'] },
  { name: 'details', versions: ['v1'] },
  { name: 'ratings', versions: ['v1'] },
  { name: 'reviews', versions: ['v1', 'v2', 'v3'] },
];
