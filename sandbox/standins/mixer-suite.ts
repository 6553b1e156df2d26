/**
 * API tests for the Mixer stand-in, against its monitoring, gRPC-placeholder and Prometheus URLs
 * (in-process or a container). Counter checks use differences, so a server that already counted
 * reports passes too.
 */
import { describe, expect, it } from 'vitest';

export interface MixerSuiteTarget {
  /** Monitoring port URL (9093). */
  url: string;
  /** The gRPC port's URL (9091), where only /health answers. */
  grpcUrl: string;
  /** The Prometheus adapter port's URL (42422), if served. */
  prometheusUrl?: string;
}

/** Reads one sample's value from Prometheus text; undefined when absent. */
export function sampleValue(text: string, name: string): number | undefined {
  const line = text.split('\n').find((entry) => entry.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

export function mixerApiSuite(target: () => MixerSuiteTarget): void {
  const metrics = async (base = target().url) => {
    const response = await fetch(`${base}/metrics`);
    expect(response.status).toBe(200);
    return { text: await response.text(), type: response.headers.get('content-type') };
  };
  const report = (body: string, type = 'application/json') =>
    fetch(`${target().url}/report`, { method: 'POST', headers: { 'content-type': type }, body });

  describe('mixer stand-in API', () => {
    it('answers /health on the monitoring port and on the gRPC port', async () => {
      for (const base of [target().url, target().grpcUrl]) {
        const response = await fetch(`${base}/health`);
        expect(response.status, base).toBe(200);
        expect(response.headers.get('x-mesh-local-standin')).toBe('mixer');
        expect(await response.json()).toMatchObject({ status: 'SERVING' });
      }
    });

    it('answers /version and says it is a stand-in', async () => {
      const response = await fetch(`${target().url}/version`);
      expect(response.status).toBe(200);
      expect(await response.text()).toMatch(/mixer stand-in/);
    });

    it('serves /metrics in Prometheus text format with HELP and TYPE for each metric', async () => {
      const { text, type } = await metrics();
      expect(type).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(text).toMatch(/^# HELP mixer_standin_reports_total .+$/m);
      expect(text).toMatch(/^# TYPE mixer_standin_reports_total counter$/m);
      expect(text).toMatch(/^# HELP mixer_standin_uptime_seconds .+$/m);
      expect(text).toMatch(/^# TYPE mixer_standin_uptime_seconds gauge$/m);
      expect(text.endsWith('\n')).toBe(true);
      for (const line of text.split('\n').filter((entry) => entry && !entry.startsWith('#'))) {
        expect(line).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]* -?[0-9.]+(e[-+]?\d+)?$/);
      }
      expect(sampleValue(text, 'mixer_standin_reports_total')).toBeGreaterThanOrEqual(0);
    });

    it('counts each JSON report once', async () => {
      const before = sampleValue((await metrics()).text, 'mixer_standin_reports_total')!;
      for (const body of ['{"attributes":{"destination.service":"reviews"}}', '[]']) {
        const response = await report(body);
        expect(response.status).toBe(200);
        expect(await response.json()).toMatchObject({ accepted: true });
      }
      expect(sampleValue((await metrics()).text, 'mixer_standin_reports_total')).toBe(before + 2);
    });

    it('refuses bad reports without counting them: 400 bad JSON, 415 other types, 405 GET', async () => {
      const before = sampleValue((await metrics()).text, 'mixer_standin_reports_total')!;
      expect((await report('{not json')).status).toBe(400);
      expect((await report('a=b', 'application/x-www-form-urlencoded')).status).toBe(415);
      expect((await fetch(`${target().url}/report`)).status).toBe(405);
      expect(sampleValue((await metrics()).text, 'mixer_standin_reports_total')).toBe(before);
    });

    it('reports an uptime that grows', async () => {
      const first = sampleValue((await metrics()).text, 'mixer_standin_uptime_seconds')!;
      await new Promise((resolve) => setTimeout(resolve, 30));
      const second = sampleValue((await metrics()).text, 'mixer_standin_uptime_seconds')!;
      expect(first).toBeGreaterThanOrEqual(0);
      expect(second).toBeGreaterThan(first);
    });

    it('serves the same metrics on the Prometheus adapter port, and only /health on the gRPC port', async () => {
      const { prometheusUrl, grpcUrl } = target();
      if (prometheusUrl) expect((await metrics(prometheusUrl)).text).toMatch(/^mixer_standin_reports_total \d+$/m);
      expect((await fetch(`${grpcUrl}/metrics`)).status).toBe(404);
    });
  });
}
