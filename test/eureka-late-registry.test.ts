import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REGISTRATOR_RESYNC_SECONDS } from '../src/compose/render.js';
import { logLineTime } from './support/docker.js';
import { eventually, startSandboxStack, type TestStack } from './support/stack.js';

const INSTANCES = ['productpage-v1', 'details-v1', 'ratings-v1', 'reviews-v1', 'reviews-v2', 'reviews-v3'];
/** How long Eureka keeps its port closed: a Tomcat boot, longer than the apps take to start. */
const EUREKA_START_DELAY_MS = 15_000;

interface EurekaApps {
  applications: { application: Array<{ instance: Array<{ hostName: string; metadata: Record<string, string>; status: string }> }> };
}

/**
 * The Eureka fault of the upstream stacks: the whole stack started by one `compose up` of the
 * rendered file, with Eureka slower to come up than the apps (as Tomcat is). The fork's ping never
 * waits and gliderlabs' bridge drops a refused registration, so only `-resync` brings the apps into
 * Eureka. The rendered file runs as it is; an override file only delays the Eureka stand-in.
 */
describe('Eureka coming up after the apps, the whole stack in one compose up', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startSandboxStack({
      registry: 'eureka',
      istioVersion: '0.8.0',
      environment: { eureka: { MESH_LOCAL_EUREKA_START_DELAY_MS: String(EUREKA_START_DELAY_MS) } },
    });
  }, 600_000);

  afterAll(async () => {
    await stack?.down();
  }, 120_000);

  it(`registers every app within ${REGISTRATOR_RESYNC_SECONDS} s of Eureka answering, after Eureka refused them`, async () => {
    const eureka = await stack.url('eureka', 8080);
    const registered = async () => {
      const response = await fetch(`${eureka}/eureka/v2/apps`, { headers: { accept: 'application/json' } });
      const apps = (await response.json()) as EurekaApps;
      return apps.applications.application.flatMap((app) => app.instance.filter((instance) => instance.status === 'UP').map((instance) => `${instance.hostName}-${instance.metadata.version}`));
    };
    await eventually(async () => expect((await registered()).sort()).toEqual([...INSTANCES].sort()), EUREKA_START_DELAY_MS + 60_000);

    // The race really happened: the first registrations were refused, and a resync made them.
    const log = await stack.logs('registrator', { timestamps: true });
    expect(log).toMatch(/register failed for \S+productpage-v1\S*:9080 \(tried again at the next resync, in 5 s\)/);
    const eurekaReady = (await stack.logs('eureka', { timestamps: true })).split('\n').find((line) => line.includes('eureka stand-in: ready'));
    const registrations = log.split('\n').filter((line) => / registrator: registered /.test(line));
    expect(registrations.length).toBeGreaterThanOrEqual(INSTANCES.length);
    const lastRegistration = logLineTime(registrations.at(-1)!);
    expect(lastRegistration - logLineTime(eurekaReady!)).toBeLessThanOrEqual((REGISTRATOR_RESYNC_SECONDS + 2) * 1000);
  });

  it('pilot lists every BookInfo service from Eureka, and the page is served through the sidecars', async () => {
    const pilot = await stack.url('istio-pilot', 15007);
    await eventually(async () => {
      const keys = ((await (await fetch(`${pilot}/v1/registration`)).json()) as Array<{ 'service-key': string }>).map((entry) => entry['service-key']);
      expect(keys).toEqual(expect.arrayContaining(['details|9080', 'productpage|9080', 'ratings|9080', 'reviews|9080']));
    });
    const gateway = await stack.url('productpage-v1', 9080);
    await eventually(async () => {
      const html = await (await fetch(`${gateway}/productpage`)).text();
      expect(html).toContain('Book Reviews');
      expect(html).not.toContain('Error fetching');
    }, 30_000);
  });
});
