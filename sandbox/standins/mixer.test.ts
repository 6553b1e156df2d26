import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mixerApiSuite } from './mixer-suite.js';
import { optionsFromEnv, start, type RunningMixer } from './mixer.js';

describe('mixer stand-in', () => {
  let mixer: RunningMixer;
  beforeAll(async () => {
    mixer = await start({ monitoringPort: 0, grpcPort: 0, prometheusPort: 0, host: '127.0.0.1' });
  });
  afterAll(() => mixer.close());

  mixerApiSuite(() => ({
    url: mixer.url,
    grpcUrl: `http://127.0.0.1:${mixer.grpcPort}`,
    prometheusUrl: `http://127.0.0.1:${mixer.prometheusPort}`,
  }));

  it('listens on three different ports', () => {
    expect(new Set([mixer.monitoringPort, mixer.grpcPort, mixer.prometheusPort]).size).toBe(3);
    expect(mixer.port).toBe(mixer.monitoringPort);
  });
});

describe('mixer stand-in configuration', () => {
  it('uses the real Mixer ports by default and reads them from the environment', () => {
    expect(optionsFromEnv({})).toEqual({ monitoringPort: 9093, grpcPort: 9091, prometheusPort: 42422 });
    expect(optionsFromEnv({ MONITORING_PORT: '19093', GRPC_PORT: '19091', PROMETHEUS_PORT: 'off' })).toEqual({
      monitoringPort: 19093,
      grpcPort: 19091,
      prometheusPort: undefined,
    });
    expect(() => optionsFromEnv({ GRPC_PORT: 'abc' })).toThrow(/GRPC_PORT must be an integer/);
  });

  it('fails to start, and frees what it opened, when a port is taken', async () => {
    const first = await start({ monitoringPort: 0, grpcPort: 0, host: '127.0.0.1' });
    try {
      await expect(start({ monitoringPort: 0, grpcPort: first.grpcPort, host: '127.0.0.1' })).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await first.close();
    }
  });
});
