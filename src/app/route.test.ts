/**
 * The pure parts of `route`: names, label selectors, output. The use cases against real servers
 * are in test/route.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../errors.js';
import { parseRuleDocuments } from '../model/route-rules.js';
import { formatApplied, formatDeleted, formatRuleTable, labelQueries, parseKind, parseRuleReference, summarize } from './route.js';

describe('route names', () => {
  it('reads NAME and KIND/NAME, with the kinds istioctl and kubectl spell', () => {
    expect(parseRuleReference('reviews-default')).toEqual({ name: 'reviews-default' });
    expect(parseRuleReference('reviews-default', 'RouteRule')).toEqual({ name: 'reviews-default', kind: 'RouteRule' });
    expect(parseRuleReference('routerule/reviews-default')).toEqual({ name: 'reviews-default', kind: 'RouteRule' });
    expect(parseRuleReference('DestinationPolicy/reviews-lb')).toEqual({ name: 'reviews-lb', kind: 'DestinationPolicy' });
    for (const text of ['routerules', 'route-rule', 'RouteRule']) expect(parseKind(text)).toBe('RouteRule');
    for (const text of ['destinationpolicies', 'destination-policy']) expect(parseKind(text)).toBe('DestinationPolicy');
  });

  it('refuses unknown kinds, kinds that disagree, and a kind without a name (exit 2)', () => {
    expect(() => parseKind('virtualservice')).toThrow(new UsageError("unknown kind 'virtualservice': use routerule or destinationpolicy"));
    expect(() => parseRuleReference('routerule/x', 'DestinationPolicy')).toThrow(/names a RouteRule, but --kind says DestinationPolicy/);
    expect(() => parseRuleReference('routerule/')).toThrow(UsageError);
  });
});

describe('labelQueries', () => {
  it("names each route's label selector with its destination's hostname", () => {
    const docs = parseRuleDocuments(
      [
        {
          apiVersion: 'config.istio.io/v1alpha2',
          kind: 'RouteRule',
          metadata: { name: 'a' },
          spec: {
            destination: { service: 'reviews.service.consul' },
            route: [{ labels: { version: 'v1' }, weight: 50 }, { destination: { service: 'ratings.service.consul' }, labels: { version: 'v2' }, weight: 50 }],
          },
        },
        // No labels, a destination Pilot cannot resolve outside Kubernetes, a policy: nothing to ask.
        { apiVersion: 'config.istio.io/v1alpha2', kind: 'RouteRule', metadata: { name: 'b' }, spec: { destination: { service: 'details' }, route: [{ weight: 100 }] } },
        { apiVersion: 'config.istio.io/v1alpha2', kind: 'RouteRule', metadata: { name: 'c' }, spec: { destination: { name: 'details' }, route: [{ labels: { version: 'v1' } }] } },
        { apiVersion: 'config.istio.io/v1alpha2', kind: 'DestinationPolicy', metadata: { name: 'd' }, spec: { destination: { service: 'details', labels: { version: 'v1' } } } },
      ],
      'rules.yaml',
    );
    expect(labelQueries(docs)).toEqual([
      { hostname: 'reviews.service.consul', labels: { version: 'v1' } },
      { hostname: 'ratings.service.consul', labels: { version: 'v2' } },
    ]);
  });
});

describe('route output', () => {
  it('prints kind/name and what happened, one line each', () => {
    const base = { namespace: 'default', resourceVersion: '12', file: 'f.yaml', document: 1 };
    expect(
      formatApplied([
        { ...base, kind: 'RouteRule', name: 'reviews-default', action: 'created' },
        { ...base, kind: 'DestinationPolicy', name: 'reviews-lb', action: 'configured' },
        { ...base, kind: 'RouteRule', name: 'ratings-default', action: 'unchanged' },
      ]),
    ).toBe('routerule/reviews-default created\ndestinationpolicy/reviews-lb configured\nrouterule/ratings-default unchanged\n');
    expect(formatDeleted([{ kind: 'RouteRule', name: 'reviews-default', namespace: 'default' }])).toBe('routerule/reviews-default deleted\n');
    expect(formatDeleted([], 'demo')).toBe('no route rules or destination policies in namespace demo\n');
  });

  it('lists in aligned columns, with - for what a kind has not', () => {
    const rules = [
      summarize({
        apiVersion: 'config.istio.io/v1alpha2',
        kind: 'RouteRule',
        metadata: { name: 'reviews-default', namespace: 'default', resourceVersion: '8', creationTimestamp: '2018-06-01T10:00:00Z' },
        spec: { destination: { service: 'reviews.service.consul' }, precedence: 1 },
      }),
      summarize({
        apiVersion: 'config.istio.io/v1alpha2',
        kind: 'DestinationPolicy',
        metadata: { name: 'lb', namespace: 'default', resourceVersion: '12' },
        spec: { destination: { name: 'reviews', namespace: 'service', domain: 'consul' } },
      }),
    ];
    expect(formatRuleTable(rules)).toBe(
      [
        'KIND               NAME             NAMESPACE  DESTINATION             PRECEDENCE  RESOURCE-VERSION  CREATED',
        'RouteRule          reviews-default  default    reviews.service.consul  1           8                 2018-06-01T10:00:00Z',
        'DestinationPolicy  lb               default    reviews.service.consul  -           12                -',
        '',
      ].join('\n'),
    );
    expect(formatRuleTable([])).toBe('no route rules or destination policies in namespace default\n');
  });
});
