import { describe, expect, it } from 'vitest';
import { consulMeta, consulRegistration } from './consul-backend.js';
import { eurekaInstance } from './eureka-backend.js';
import { SERVICE_ID_PATTERN } from './registrator.js';
import type { ServiceRegistration } from './services.js';

const details: ServiceRegistration = {
  id: 'f00dfeed1234:consul-details-v1-1:9080',
  name: 'details',
  ip: '172.28.0.5',
  port: 9080,
  tags: ['version|v1', 'canary'],
  labels: { version: 'v1' },
  protocol: 'http',
  attrs: { protocol: 'http', check_interval: '10s' },
  containerId: 'c0ffee',
  containerName: 'consul-details-v1-1',
};

describe('Consul registration', () => {
  it('sends Consul\'s field names, the tags as they are, and meta from attributes, labels and protocol', () => {
    expect(consulRegistration(details)).toEqual({
      ID: 'f00dfeed1234:consul-details-v1-1:9080',
      Name: 'details',
      Tags: ['version|v1', 'canary'],
      Address: '172.28.0.5',
      Port: 9080,
      Meta: { protocol: 'http', check_interval: '10s', version: 'v1' },
    });
  });

  it('defaults the protocol meta to http and leaves out keys Consul would refuse', () => {
    const meta = consulMeta({ ...details, protocol: 'http', attrs: { 'istio.protocol': 'x', 'consul-internal': 'y' }, labels: { 'app.kubernetes.io/name': 'z', env: 'prod' } });
    expect(meta).toEqual({ protocol: 'http', env: 'prod' });
  });
});

describe('Eureka registration', () => {
  it('follows the fork Istio used: hostName and app from the name, id with dashes, istio.protocol plus labels', () => {
    expect(eurekaInstance(details, { renewalIntervalSecs: 30, durationSecs: 90 })).toEqual({
      instance: {
        instanceId: 'f00dfeed1234-consul-details-v1-1-9080',
        hostName: 'details',
        app: 'DETAILS',
        ipAddr: '172.28.0.5',
        vipAddress: 'details',
        status: 'UP',
        port: { $: '9080', '@enabled': 'true' },
        dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
        leaseInfo: { renewalIntervalInSecs: 30, durationInSecs: 90 },
        metadata: { 'istio.protocol': 'http', version: 'v1' },
      },
    });
  });
});

describe("registrator's service IDs (what -cleanup may remove)", () => {
  it('splits <hostname>:<container>:<port>[:udp] as bridge.go does; anything else is not one', () => {
    expect(SERVICE_ID_PATTERN.exec('registrator:mesh-details-v1-1:9080')?.slice(1)).toEqual(['registrator', 'mesh-details-v1-1']);
    expect(SERVICE_ID_PATTERN.exec('f00dfeed1234:consul-dns-1:53:udp')?.slice(1)).toEqual(['f00dfeed1234', 'consul-dns-1']);
    expect(SERVICE_ID_PATTERN.test('details-custom-id')).toBe(false);
    expect(SERVICE_ID_PATTERN.test('registrator-mesh-details-v1-1-9080')).toBe(false);
  });
});
