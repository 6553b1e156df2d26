import type { ContainerInfo } from './containers.js';

/**
 * A running control-plane container of project `demo` as `projectContainers` reports it, for tests
 * of code that reads containers; `overrides` set what a test is about (role, labels, state...).
 */
export function containerInfo(service: string, overrides: Partial<ContainerInfo> = {}): ContainerInfo {
  return {
    id: `id-${service}`,
    service,
    project: 'demo',
    role: 'control-plane',
    component: service,
    sidecarFor: undefined,
    image: `example/${service}:1`,
    state: 'running',
    health: 'none',
    exitCode: undefined,
    restartCount: 0,
    createdAt: new Date(0),
    startedAt: new Date(0),
    ports: [],
    networkMode: 'demo_mesh',
    addresses: [],
    ...overrides,
  };
}
