import { describe, expect, it } from 'vitest';
import { RuleValidationError, exitCodeFor } from '../errors.js';
import { parseYamlDocuments } from '../common/yaml-file.js';
import { checkAgainstRegistry, consulHostname, parseRuleDocuments, type RuleDocument } from './route-rules.js';

const FILE = 'rules.yaml';

/** Every document of a YAML stream, read as the CLI reads a rule file. */
function yamlDocs(text: string): unknown[] {
  return parseYamlDocuments(text, FILE);
}

function rule(spec: Record<string, unknown>, name = 'r1', kind = 'RouteRule'): Record<string, unknown> {
  return { apiVersion: 'config.istio.io/v1alpha2', kind, metadata: { name }, spec };
}
const dest = { service: 'reviews.service.consul' };

/** Parses and returns the issues as `path: message` lines, or [] when valid. */
function problems(docs: unknown[]): string[] {
  try {
    parseRuleDocuments(docs, FILE);
    return [];
  } catch (error) {
    if (!(error instanceof RuleValidationError)) throw error;
    return error.issues.map((i) => `${i.path}: ${i.message}`);
  }
}
function problemsOf(spec: Record<string, unknown>, kind = 'RouteRule'): string[] {
  return problems([rule(spec, 'r1', kind)]);
}

// Written after samples/bookinfo/consul/route-rule-{ratings-test-delay,reviews-50-v3}.yaml@0.8.0
// and samples/bookinfo/eureka/route-rule-ratings-test-abort.yaml@0.8.0.
const SAMPLES = `apiVersion: config.istio.io/v1alpha2
kind: RouteRule
metadata:
  name: ratings-test-delay
spec:
  destination:
    service: ratings.service.consul
  precedence: 2
  match:
    request:
      headers:
        cookie:
          regex: "^(.*?;)?(user=jason)(;.*)?$"
  route:
  - labels:
      version: v1
  httpFault:
    delay:
      percent: 100
      fixedDelay: 7s
---
apiVersion: config.istio.io/v1alpha2
kind: RouteRule
metadata:
  name: reviews-default
spec:
  destination:
    service: reviews.service.consul
  precedence: 1
  route:
  - labels:
      version: v1
    weight: 50
  - labels:
      version: v3
    weight: 50
---
apiVersion: config.istio.io/v1alpha2
kind: RouteRule
metadata:
  name: ratings-test-abort
spec:
  destination:
    service: ratings
  precedence: 2
  match:
    request:
      headers:
        cookie:
          regex: "^(.*?;)?(user=jason)(;.*)?$"
  route:
  - labels:
      version: v1
  httpFault:
    abort:
      percent: 100
      httpStatus: 500
---
apiVersion: config.istio.io/v1alpha2
kind: DestinationPolicy
metadata:
  name: reviews-cb
  namespace: default
spec:
  destination:
    name: reviews
    labels:
      version: v1
  loadBalancing:
    name: RANDOM
  circuitBreaker:
    simpleCb:
      maxConnections: 100
      httpMaxPendingRequests: 1000
      sleepWindow: 15m
      httpDetectionInterval: 5m
      httpMaxEjectionPercent: 100
      httpConsecutiveErrors: 7
`;

describe('parseRuleDocuments: accepted documents', () => {
  it('reads the bookinfo-style samples into typed documents', () => {
    const docs = parseRuleDocuments(yamlDocs(SAMPLES), FILE);
    expect(docs.map((d) => `${d.index} ${d.kind} ${d.metadata.name}`)).toEqual([
      '1 RouteRule ratings-test-delay',
      '2 RouteRule reviews-default',
      '3 RouteRule ratings-test-abort',
      '4 DestinationPolicy reviews-cb',
    ]);
    const delay = docs[0]!;
    expect(delay.kind === 'RouteRule' && delay.spec).toMatchObject({
      precedence: 2,
      route: [{ labels: { version: 'v1' }, weight: 100 }],
      match: { request: { headers: { cookie: { regex: '^(.*?;)?(user=jason)(;.*)?$' } } } },
      httpFault: { delay: { percent: 100, fixedDelay: { text: '7s', ms: 7000 } } },
    });
    expect(docs[2]!.kind === 'RouteRule' && docs[2]!.spec.httpFault).toEqual({ abort: { percent: 100, httpStatus: 500 } });
    expect(docs[3]).toMatchObject({
      metadata: { name: 'reviews-cb', namespace: 'default' },
      spec: { loadBalancing: { name: 'RANDOM' }, circuitBreaker: { simpleCb: { sleepWindow: { ms: 900_000 } } } },
    });
  });

  it('skips empty documents but keeps 1-based positions', () => {
    const docs = parseRuleDocuments([null, rule({ destination: dest })], FILE);
    expect(docs[0]!.index).toBe(2);
  });

  it('reads snake_case field names as jsonpb did', () => {
    const [doc] = parseRuleDocuments(
      [rule({ destination: dest, http_req_timeout: { simple_timeout: { timeout: '1.5s' } } })],
      FILE,
    );
    expect(doc!.kind === 'RouteRule' && doc!.spec.httpReqTimeout).toEqual({
      simpleTimeout: { timeout: { text: '1.5s', ms: 1500 } },
    });
  });

  it('accepts timeouts, retries, redirect, rewrite, mirror, appendHeaders, cors', () => {
    expect(
      problemsOf({
        destination: { name: 'reviews', domain: 'service.consul' },
        httpReqTimeout: { simpleTimeout: { timeout: '500ms' } },
        httpReqRetries: { simpleRetry: { attempts: 3, perTryTimeout: '2s' } },
        rewrite: { uri: '/v2' },
        mirror: { service: 'reviews-shadow' },
        appendHeaders: { 'x-env': 'dev' },
        corsPolicy: { allowMethods: ['GET'], allowHeaders: ['x-a'], maxAge: '24h', allowCredentials: true },
        websocketUpgrade: true,
      }),
    ).toEqual([]);
    expect(problemsOf({ destination: dest, redirect: { authority: 'x' } })).toEqual([]);
  });

  it('accepts the load-balancing enum by number, as jsonpb did', () => {
    const [doc] = parseRuleDocuments([rule({ destination: dest, loadBalancing: { name: 1 } }, 'p', 'DestinationPolicy')], FILE);
    expect(doc!.kind === 'DestinationPolicy' && doc!.spec.loadBalancing).toEqual({ name: 'LEAST_CONN' });
  });
});

describe('parseRuleDocuments: refused documents', () => {
  it('throws one error with every problem, naming file, document, name and path; exit code 2', () => {
    let error: unknown;
    try {
      parseRuleDocuments(
        [
          rule({ destination: dest, route: [{ labels: { version: 'v1' }, weight: 60 }, { labels: { version: 'v2' }, weight: 30 }] }, 'bad-sum'),
          rule({ destination: dest, precedence: 1.5 }, 'bad-prec'),
        ],
        FILE,
      );
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(RuleValidationError);
    const e = error as RuleValidationError;
    expect(e.code).toBe('ML_RULE_INVALID');
    expect(exitCodeFor(e)).toBe(2);
    expect(e.issues).toEqual([
      { file: FILE, document: 1, name: 'bad-sum', path: 'spec.route', message: 'route weights total 90 (must total 100)' },
      { file: FILE, document: 2, name: 'bad-prec', path: 'spec.precedence', message: 'must be an integer (int32), found number 1.5' },
    ]);
    expect(e.message).toContain('rules.yaml: document 2 (bad-prec): spec.precedence: must be an integer');
  });

  it('refuses v1alpha3 with the reason', () => {
    const [p] = problems([{ apiVersion: 'networking.istio.io/v1alpha3', kind: 'VirtualService', metadata: { name: 'x' }, spec: {} }]);
    expect(p).toMatch(/^apiVersion: networking.istio.io\/v1alpha3 .* Envoy v2 xDS .* v1 REST discovery/);
    expect(p).toContain('samples/bookinfo/rules/ has');
  });

  it('refuses other apiVersions and kinds, non-mapping documents, a missing spec', () => {
    expect(problems([{ ...rule({ destination: dest }), apiVersion: 'v1' }])).toEqual(['apiVersion: must be config.istio.io/v1alpha2, found string "v1"']);
    expect(problems([rule({ destination: dest }, 'x', 'EgressRule')])).toEqual(['kind: must be RouteRule or DestinationPolicy, found string "EgressRule"']);
    expect(problems(['text'])).toEqual(['(document): must be a mapping, found string "text"']);
    expect(problems([{ ...rule({}), spec: undefined }])).toEqual(['spec: is required']);
  });

  it('requires metadata.name as a DNS-1123 name and namespace as a label; refuses duplicates', () => {
    expect(problems([{ ...rule({ destination: dest }), metadata: {} }])).toEqual(['metadata.name: is required']);
    expect(problems([rule({ destination: dest }, 'Reviews_Default')])[0]).toMatch(/^metadata.name: "Reviews_Default" must be a DNS-1123 name/);
    expect(problems([{ ...rule({ destination: dest }), metadata: { name: 'a', namespace: 'a.b' } }])[0]).toMatch(/^metadata.namespace: must be a DNS-1123 label/);
    expect(problems([rule({ destination: dest }, 'a'), rule({ destination: dest }, 'a')])).toEqual([
      'metadata.name: a RouteRule with this name is already in document 1',
    ]);
  });

  it('refuses unknown fields', () => {
    expect(problemsOf({ destination: dest, weight: 5 })).toEqual([expect.stringMatching(/^spec.weight: unknown field/)]);
    expect(problemsOf({ destination: { ...dest, version: 'v1' } })).toEqual([expect.stringMatching(/^spec.destination.version: unknown field/)]);
  });

  it('checks the destination (ValidateIstioService)', () => {
    expect(problemsOf({})).toEqual(['spec.destination: route rule must have a destination service']);
    expect(problemsOf({ destination: {} })).toEqual(['spec.destination: name or service is mandatory for a service reference']);
    expect(problemsOf({ destination: { name: 'a', service: 'a' } })).toEqual(['spec.destination: specify either name or service, not both']);
    expect(problemsOf({ destination: { name: 'a.b' } })).toEqual(['spec.destination.name: name "a.b" must be a valid label']);
    expect(problemsOf({ destination: { service: 'a', namespace: 'n' } })).toEqual(['spec.destination.namespace: namespace is not valid when service is provided']);
    expect(problemsOf({ destination: { service: 'a_b.consul' } })).toEqual([expect.stringMatching(/^spec.destination.service: domain name "a_b.consul" invalid/)]);
    expect(problemsOf({ destination: { name: 'a', domain: 'x..y' } })).toEqual([expect.stringMatching(/^spec.destination.domain: domain name "x..y" invalid/)]);
    expect(problemsOf({ destination: { ...dest, labels: { version: 'v1' } } })).toEqual(['spec.destination.labels: route rule destination labels must be empty']);
  });

  it('checks weights: integers 0..100 summing to 100', () => {
    const route = (...weights: unknown[]) => weights.map((weight, i) => ({ labels: { version: `v${i}` }, weight }));
    expect(problemsOf({ destination: dest, route: route(50, 50) })).toEqual([]);
    expect(problemsOf({ destination: dest, route: route(50, 40) })).toEqual(['spec.route: route weights total 90 (must total 100)']);
    expect(problemsOf({ destination: dest, route: route(150, -50) })).toEqual([
      'spec.route[0].weight: weight 150 is not in range 0..100',
      'spec.route[1].weight: weight -50 is not in range 0..100',
    ]);
    expect(problemsOf({ destination: dest, route: route(50.5, 49.5) })[0]).toMatch(/^spec.route\[0\].weight: must be an integer/);
    expect(problemsOf({ destination: dest, route: route('50', 50) })[0]).toMatch(/^spec.route\[0\].weight: must be an integer/);
    expect(problemsOf({ destination: dest, route: [{ labels: { version: 'v1' } }, { labels: { version: 'v2' } }] })).toEqual([
      'spec.route: route weights total 0 (must total 100)',
    ]);
    expect(problemsOf({ destination: dest, route: [{ labels: { version: 'v1' }, weight: 40 }] })).toEqual([
      'spec.route: route weights total 40 (must total 100)',
    ]);
  });

  it('checks label keys and values (Labels.Validate)', () => {
    expect(problemsOf({ destination: dest, route: [{ labels: { 'ver sion': 'v 1' } }] })).toEqual([
      'spec.route[0].labels.ver sion: invalid tag key: "ver sion"',
      'spec.route[0].labels.ver sion: invalid tag value: "v 1"',
    ]);
    expect(problemsOf({ destination: dest, route: [{ labels: { version: 1 } }] })).toEqual(['spec.route[0].labels.version: must be a string, found number 1']);
  });

  it('checks header matches', () => {
    const withHeaders = (headers: unknown) => problemsOf({ destination: dest, match: { request: { headers } } });
    expect(withHeaders({ cookie: { exact: 'a', prefix: 'b' } })).toEqual(['spec.match.request.headers.cookie: set only one of exact, prefix or regex, found exact and prefix']);
    expect(withHeaders({ cookie: {} })).toEqual(['spec.match.request.headers.cookie: needs one of exact, prefix or regex']);
    expect(withHeaders({ Cookie: { exact: 'a' } })).toEqual(['spec.match.request.headers.Cookie: header name "Cookie" must be in lower case']);
    expect(withHeaders({ uri: { prefix: '' } })).toEqual(['spec.match.request.headers.uri.prefix: prefix header value for "uri" must be non-empty']);
    expect(withHeaders({ cookie: { regex: '(unclosed' } })[0]).toMatch(/^spec.match.request.headers.cookie.regex: regex does not compile/);
    expect(withHeaders({ cookie: { regex: '(?i)jason' } })[0]).toMatch(/regex does not compile/);
    expect(withHeaders({ cookie: { regex: '(?<=a)b' } })[0]).toMatch(/lookbehind/);
    expect(withHeaders({ cookie: { regex: '(?<user>a)' } })[0]).toMatch(/named groups/);
    expect(withHeaders({ cookie: { glob: 'a*' } })[0]).toMatch(/^spec.match.request.headers.cookie.glob: unknown field/);
  });

  it('checks match source and L4 attributes; refuses udp', () => {
    expect(problemsOf({ destination: dest, match: { source: { name: 'productpage', labels: { version: 'v1' } } } })).toEqual([]);
    expect(problemsOf({ destination: dest, match: { tcp: { sourceSubnet: ['10.0.0.0/8', '300.1.1.1'] } } })).toEqual([
      'spec.match.tcp.sourceSubnet[1]: 300.1.1.1 is not a valid IPv4 address',
    ]);
    expect(problemsOf({ destination: dest, match: { udp: {} } })).toEqual(['spec.match.udp: UDP protocol not supported yet (Pilot 0.8 refuses it)']);
  });

  it('checks faults', () => {
    const fault = (httpFault: unknown) => problemsOf({ destination: dest, httpFault });
    expect(fault({ delay: { percent: 101, fixedDelay: '1s' } })).toEqual(['spec.httpFault.delay.percent: percentage 101 is not in range 0..100']);
    expect(fault({ abort: { percent: -1, httpStatus: 500 } })).toEqual(['spec.httpFault.abort.percent: percentage -1 is not in range 0..100']);
    expect(fault({ delay: { percent: 10 } })).toEqual(['spec.httpFault.delay.fixedDelay: is required']);
    expect(fault({ delay: { percent: 10, fixedDelay: 7 } })[0]).toMatch(/^spec.httpFault.delay.fixedDelay: must be a duration string/);
    expect(fault({ delay: { percent: 10, fixedDelay: '0.5ms' } })).toEqual(['spec.httpFault.delay.fixedDelay: duration "0.5ms" must be at least 1ms']);
    expect(fault({ delay: { percent: 10, exponentialDelay: '1s' } })).toEqual(['spec.httpFault.delay.exponentialDelay: exponentialDelay not supported yet (Pilot 0.8 refuses it)']);
    expect(fault({ abort: { percent: 10, httpStatus: 600 } })).toEqual(['spec.httpFault.abort.httpStatus: 600 is not an HTTP status (100..599)']);
    expect(fault({ abort: { percent: 10, httpStatus: 99 } })).toEqual(['spec.httpFault.abort.httpStatus: 99 is not an HTTP status (100..599)']);
    expect(fault({ abort: { percent: 10, grpcStatus: 'UNAVAILABLE' } })).toEqual(['spec.httpFault.abort.grpcStatus: gRPC fault injection not supported yet (Pilot 0.8 refuses it)']);
    expect(problemsOf({ destination: dest, l4Fault: {} })).toEqual(['spec.l4Fault: L4 faults are not implemented (Pilot 0.8 refuses them)']);
  });

  it('checks timeouts and retries', () => {
    expect(problemsOf({ destination: dest, httpReqTimeout: { simpleTimeout: {} } })).toEqual(['spec.httpReqTimeout.simpleTimeout.timeout: is required']);
    expect(problemsOf({ destination: dest, httpReqTimeout: { simpleTimeout: { timeout: '1.0005s' } } })).toEqual([
      'spec.httpReqTimeout.simpleTimeout.timeout: duration "1.0005s" must be a whole number of milliseconds',
    ]);
    expect(problemsOf({ destination: dest, httpReqRetries: { simpleRetry: { attempts: -1, perTryTimeout: '1s' } } })).toEqual([
      'spec.httpReqRetries.simpleRetry.attempts: attempts must be in range [0..]',
    ]);
    expect(problemsOf({ destination: dest, httpReqRetries: { simpleRetry: { attempts: 3 } } })).toEqual([
      'spec.httpReqRetries.simpleRetry.perTryTimeout: is required',
    ]);
  });

  it('checks redirect and rewrite combinations', () => {
    expect(problemsOf({ destination: dest, redirect: {} })).toEqual(['spec.redirect: redirect must specify uri, authority, or both']);
    expect(problemsOf({ destination: dest, rewrite: {} })).toEqual(['spec.rewrite: rewrite must specify uri, authority, or both']);
    expect(
      problemsOf({
        destination: dest,
        redirect: { uri: '/a' },
        rewrite: { uri: '/b' },
        route: [{ labels: { version: 'v1' } }],
        httpFault: { abort: { percent: 1, httpStatus: 503 } },
        websocketUpgrade: true,
      }),
    ).toEqual([
      'spec.redirect: rule cannot contain both route and redirect',
      'spec.redirect: rule cannot contain both fault and redirect',
      'spec.redirect: WebSocket upgrade is not allowed on redirect rules',
      'spec.redirect: rule cannot contain both rewrite and redirect',
    ]);
  });

  it('checks appendHeaders and corsPolicy', () => {
    expect(problemsOf({ destination: dest, appendHeaders: { 'X-A': '' } })).toEqual([
      'spec.appendHeaders.X-A: header name "X-A" must be in lower case',
      'spec.appendHeaders.X-A: appended header "X-A" must have a non-empty value',
    ]);
    expect(problemsOf({ destination: dest, corsPolicy: { allowMethods: ['FETCH'], maxAge: '1500ms' } })).toEqual([
      'spec.corsPolicy.allowMethods[0]: "FETCH" is not a supported HTTP method',
      'spec.corsPolicy.maxAge: max_age duration is accurate only to seconds precision',
    ]);
  });

  it('checks DestinationPolicy', () => {
    const policy = (spec: Record<string, unknown>) => problemsOf(spec, 'DestinationPolicy');
    expect(policy({})).toEqual(['spec.destination: destination is required in the destination policy']);
    expect(policy({ destination: dest, loadBalancing: { name: 'WEIGHTED' } })).toEqual([
      'spec.loadBalancing.name: must be one of ROUND_ROBIN, LEAST_CONN, RANDOM, found string "WEIGHTED"',
    ]);
    expect(policy({ destination: dest, loadBalancing: {} })).toEqual(['spec.loadBalancing: must set load balancing if specified']);
    expect(policy({ destination: dest, source: {} })).toEqual(['spec.source: name or service is mandatory for a service reference']);
    const cb = (simpleCb: Record<string, unknown>) =>
      policy({ destination: dest, circuitBreaker: { simpleCb: { sleepWindow: '1s', httpDetectionInterval: '1s', ...simpleCb } } });
    expect(cb({})).toEqual([]);
    expect(cb({ maxConnections: -1, httpMaxEjectionPercent: 101 })).toEqual([
      'spec.circuitBreaker.simpleCb.maxConnections: maxConnections must be in range [0..]',
      'spec.circuitBreaker.simpleCb.httpMaxEjectionPercent: percentage 101 is not in range 0..100',
    ]);
    expect(cb({ sleepWindow: undefined })).toEqual(['spec.circuitBreaker.simpleCb.sleepWindow: is required']);
    expect(cb({ httpDetectionInterval: '10' })[0]).toMatch(/^spec.circuitBreaker.simpleCb.httpDetectionInterval: /);
  });

  it('reports problems of several documents of one YAML file at once', () => {
    const text = `${SAMPLES}---
apiVersion: config.istio.io/v1alpha2
kind: RouteRule
metadata:
  name: broken
spec:
  destination:
    service: reviews.service.consul
  route:
  - labels: {version: v1}
    weight: 70
  - labels: {version: v2}
    weight: 20
  httpFault:
    delay: {percent: 200, fixedDelay: 7s}
`;
    expect(() => parseRuleDocuments(yamlDocs(text), FILE)).toThrow(
      /2 problems in route rules:\n {2}- rules.yaml: document 5 \(broken\): spec.route: route weights total 90[^\n]*\n {2}- rules.yaml: document 5 \(broken\): spec.httpFault.delay.percent: percentage 200/,
    );
  });
});

describe('checkAgainstRegistry', () => {
  const consul = new Map([
    [consulHostname('reviews'), [{ version: 'v1' }, { version: 'v2' }, { version: 'v3' }]],
    [consulHostname('ratings'), [{ version: 'v1' }]],
  ]);
  const eureka = new Map([['reviews', [{ version: 'v1' }]]]);
  const parse = (...specs: Record<string, unknown>[]): RuleDocument[] =>
    parseRuleDocuments(specs.map((spec, i) => rule(spec, `r${i}`)), FILE);
  const registryProblems = (docs: RuleDocument[], services: Map<string, { version: string }[]>): string[] => {
    try {
      checkAgainstRegistry(docs, services, FILE);
      return [];
    } catch (error) {
      if (!(error instanceof RuleValidationError)) throw error;
      return error.issues.map((i) => `${i.name} ${i.path}: ${i.message}`);
    }
  };

  it('accepts known hostnames and matching label selectors', () => {
    expect(registryProblems(parseRuleDocuments(yamlDocs(SAMPLES).slice(0, 2), FILE), consul)).toEqual([]);
    expect(registryProblems(parse({ destination: { service: 'reviews' }, route: [{ labels: { version: 'v1' } }] }), eureka)).toEqual([]);
    expect(registryProblems(parse({ destination: { name: 'reviews', namespace: 'service', domain: 'consul' } }), consul)).toEqual([]);
  });

  it('refuses unknown services, with the known ones listed and the one a short or long name meant', () => {
    expect(registryProblems(parse({ destination: { service: 'reviews' } }), consul)).toEqual([
      'r0 spec.destination: no service "reviews" in the registry (known: ratings.service.consul, reviews.service.consul); did you mean "reviews.service.consul"?',
    ]);
    expect(registryProblems(parse({ destination: { service: 'reviews.service.consul' } }), eureka)[0]).toMatch(/no service "reviews.service.consul".*did you mean "reviews"\?$/);
    expect(registryProblems(parse({ destination: { service: 'details.service.consul' } }), consul)[0]).not.toMatch(/did you mean/);
  });

  it('explains that a bare name resolves to a Kubernetes-style hostname', () => {
    expect(registryProblems(parse({ destination: { name: 'reviews' } }), consul)).toEqual([
      expect.stringMatching(/^r0 spec.destination: name "reviews" without a domain .* use service: reviews.service.consul$/),
    ]);
  });

  it('refuses label selectors no instance matches, and unknown match sources', () => {
    expect(
      registryProblems(
        parse({
          destination: { service: 'reviews.service.consul' },
          match: { source: { service: 'productpage.service.consul' } },
          route: [{ labels: { version: 'v1' }, weight: 50 }, { labels: { version: 'v4' }, weight: 50 }],
        }),
        consul,
      ),
    ).toEqual([
      'r0 spec.match.source: no service "productpage.service.consul" in the registry (known: ratings.service.consul, reviews.service.consul)',
      'r0 spec.route[1].labels: no instance of reviews.service.consul has labels version=v4',
    ]);
  });
});
