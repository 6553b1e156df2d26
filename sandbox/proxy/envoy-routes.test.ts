import { describe, expect, it } from 'vitest';
import type { HttpRouteConfig } from '../common/envoy-v1.js';
import { applicableFaults, clusterVersion, headersMatch, pickCluster, portOfHost, selectRoute, selectVirtualHost, type RequestFacts } from './envoy-routes.js';

const request = (headers: RequestFacts['headers'] = {}, url = '/reviews/0', method = 'GET'): RequestFacts => ({ method, url, headers });

describe('Envoy v1 route-table semantics', () => {
  it('header matches: exact, whole-value regex, presence, pseudo-headers', () => {
    const jason = [{ name: 'cookie', value: '^(.*?;)?(user=jason)(;.*)?$', regex: true }];
    expect(headersMatch(jason, request({ cookie: 'user=jason' }))).toBe(true);
    expect(headersMatch(jason, request({ cookie: 'user=jasonx' }))).toBe(false);
    expect(headersMatch(jason, request())).toBe(false);
    // The regex is matched against the whole value even without anchors.
    expect(headersMatch([{ name: 'x-user', value: 'jas', regex: true }], request({ 'x-user': 'jason' }))).toBe(false);
    expect(headersMatch([{ name: 'X-User', value: 'jason' }], request({ 'x-user': 'jason' }))).toBe(true);
    expect(headersMatch([{ name: 'x-user', value: '' }], request({ 'x-user': 'anyone' }))).toBe(true);
    expect(headersMatch([{ name: ':method', value: 'POST' }], request({}, '/', 'POST'))).toBe(true);
    expect(headersMatch([{ name: ':authority', value: 'reviews:9080' }], request({ host: 'reviews:9080' }))).toBe(true);
    expect(headersMatch([{ name: 'x', value: '(', regex: true }], request({ x: '(' }))).toBe(false);
  });

  it('virtual hosts: exact (case-insensitive), then the longest wildcard suffix, then *', () => {
    const config: HttpRouteConfig = {
      validate_clusters: false,
      virtual_hosts: [
        { name: 'any', domains: ['*'], routes: [] },
        { name: 'consul', domains: ['*.service.consul'], routes: [] },
        { name: 'reviews', domains: ['reviews:9080', 'reviews'], routes: [] },
      ],
    };
    expect(selectVirtualHost(config, 'Reviews:9080')?.name).toBe('reviews');
    expect(selectVirtualHost(config, 'ratings.service.consul')?.name).toBe('consul');
    expect(selectVirtualHost(config, 'elsewhere')?.name).toBe('any');
    expect(selectVirtualHost({ ...config, virtual_hosts: config.virtual_hosts.slice(2) }, 'elsewhere')).toBeUndefined();
  });

  it('routes: path exact without query, prefix, whole regex; first match wins', () => {
    const vhost = {
      name: 'v',
      domains: ['*'],
      routes: [
        { path: '/a', cluster: 'exact', timeout_ms: 0 },
        { regex: '/r/[0-9]+', cluster: 'regex', timeout_ms: 0 },
        { prefix: '/a', cluster: 'prefix', timeout_ms: 0 },
      ],
    };
    expect(selectRoute(vhost, request({}, '/a?q=1'))?.cluster).toBe('exact');
    expect(selectRoute(vhost, request({}, '/r/12'))?.cluster).toBe('regex');
    expect(selectRoute(vhost, request({}, '/r/12x'))).toBeUndefined();
    expect(selectRoute(vhost, request({}, '/ab'))?.cluster).toBe('prefix');
  });

  it('weighted clusters pick in proportion to the weights; a zero weight never', () => {
    const route = { weighted_clusters: { clusters: [{ name: 'a', weight: 25 }, { name: 'b', weight: 0 }, { name: 'c', weight: 75 }] }, timeout_ms: 0 };
    expect(pickCluster(route, () => 0)).toBe('a');
    expect(pickCluster(route, () => 0.2499)).toBe('a');
    expect(pickCluster(route, () => 0.25)).toBe('c');
    expect(pickCluster(route, () => 0.9999)).toBe('c');
    expect(pickCluster({ cluster: 'only', timeout_ms: 0 })).toBe('only');
  });

  it('fault filters apply by upstream cluster and headers, in order', () => {
    const filters = [
      { type: 'decoder' as const, name: 'fault', config: { upstream_cluster: 'x', abort: { abort_percent: 100, http_status: 500 } } },
      { type: 'decoder' as const, name: 'fault', config: { delay: { fixed_delay_percent: 100, fixed_duration_ms: 5 }, headers: [{ name: 'x-user', value: 'jason' }] } },
      { type: 'decoder' as const, name: 'router', config: {} },
    ];
    expect(applicableFaults(filters, 'x', request({ 'x-user': 'jason' }))).toHaveLength(2);
    expect(applicableFaults(filters, 'y', request({ 'x-user': 'jason' }))).toHaveLength(1);
    expect(applicableFaults(filters, 'y', request())).toHaveLength(0);
  });

  it('ports of Host values and versions of cluster names', () => {
    expect(portOfHost('reviews:9080')).toBe(9080);
    expect(portOfHost('reviews')).toBe(80);
    expect(portOfHost('[::1]')).toBe(80);
    expect(portOfHost('[::1]:81')).toBe(81);
    expect(clusterVersion('out.reviews.service.consul|http|app=reviews,version=v2')).toBe('v2');
    expect(clusterVersion('out.reviews.service.consul|http')).toBeUndefined();
  });
});
