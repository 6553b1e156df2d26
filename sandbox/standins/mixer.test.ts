import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mixerApiSuite } from './mixer-suite.js';
import { parseUpstreamCommandLine } from '../common/upstream-cli.js';
import { MIXS, optionsFromCommandLine, start, type RunningMixer } from './mixer.js';

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
  const options = (reference: string, argv: string[]) => optionsFromCommandLine(parseUpstreamCommandLine(MIXS, argv, { MESH_LOCAL_STANDS_IN: reference }));

  it("reads the ports from upstream's command line: 0.8's --address, 0.6's --port, --monitoringPort", () => {
    const k8s = '--configStoreURL=k8s:///etc/istio/config/kubeconfig';
    expect(options('docker.io/istio/mixer:0.8.0', ['server', '--address', 'tcp://0.0.0.0:19091', k8s])).toEqual({ monitoringPort: 9093, grpcPort: 19091, prometheusPort: 42422 });
    expect(options('docker.io/istio/mixer:0.6.0', ['server', '--port', '19091', '--monitoringPort', '19093', k8s])).toEqual({
      monitoringPort: 19093,
      grpcPort: 19091,
      prometheusPort: 42422,
    });
    // Without --address, 0.8 still binds --port, whose default is 9091.
    expect(options('docker.io/istio/mixer:0.8.0', ['server'])).toMatchObject({ grpcPort: 9091 });
  });

  it('refuses what the real mixs refuses', () => {
    expect(() => options('docker.io/istio/mixer:0.6.0', ['server', '--address', 'tcp://0.0.0.0:9091'])).toThrow('Error: unknown flag: --address');
    expect(() => options('docker.io/istio/mixer:0.8.0', ['server', '--port', 'x'])).toThrow(/invalid argument "x" for "-p, --port" flag: strconv.ParseUint/);
    expect(() => options('docker.io/istio/mixer:0.8.0', ['server', '--address', 'nowhere'])).toThrow("--address 'nowhere' is not an address with a port");
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
