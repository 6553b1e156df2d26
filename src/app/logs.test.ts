import { describe, expect, it } from 'vitest';
import { ProjectNotRunningError, UsageError } from '../errors.js';
import type { ContainerInfo } from '../runtime/containers.js';
import { containerInfo } from '../runtime/test-support.js';
import { logsCommand } from './logs.js';

const container = containerInfo;

const STACK = [
  container('istio-pilot', { component: 'pilot' }),
  container('reviews-v1', { role: 'app' }),
  container('reviews-v1-istio-proxy', { role: 'sidecar-proxy', sidecarFor: 'reviews-v1' }),
  container('reviews-v1-istio-init', { role: 'sidecar-init', sidecarFor: 'reviews-v1' }),
];

async function refusal(containers: ContainerInfo[], service: string, sidecar: boolean): Promise<unknown> {
  const engine = {
    projectContainers: async () => containers,
    containerLogs: async () => 'log\n',
    followLogs: async () => undefined,
  };
  return logsCommand({ project: 'demo', service, sidecar, follow: false, tail: 10 }, { engine, console: { out: () => undefined, err: () => undefined } }).then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe('logs: what it says when it finds nothing', () => {
  it('a project with no containers is not running (exit 1, as route and verify say), with the way to start it', async () => {
    const error = await refusal([], 'reviews-v1', true);
    expect(error).toBeInstanceOf(ProjectNotRunningError);
    expect((error as ProjectNotRunningError).exitCode).toBe(1);
    expect((error as ProjectNotRunningError).hint).toContain('mesh-local up --project demo');
  });

  it('with --sidecar, names the apps that have a sidecar, not the control plane', async () => {
    const error = await refusal(STACK, 'reviews', true);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toBe("no sidecar for 'reviews' in project demo; apps with a sidecar: reviews-v1");
  });

  it('without --sidecar, names every service but the sidecars', async () => {
    const error = await refusal(STACK, 'pilot', false);
    expect((error as Error).message).toBe("no service 'pilot' in project demo; services: istio-pilot, reviews-v1");
  });
});
