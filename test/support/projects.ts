import { randomUUID } from 'node:crypto';
import { afterAll } from 'vitest';
import { HOST_PORT_NAMES } from '../../src/model/mesh.js';
import { dockerodeEngine } from '../../src/runtime/docker-engine.js';

/** Every host port on any free port, so test projects never collide with each other or the host. */
export const ANY_PORTS: readonly string[] = HOST_PORT_NAMES.flatMap((name) => ['--port', `${name}=0`]);

/**
 * Unique Compose project names for one test file (`mltest-<name>-<6 hex>`); every project named
 * is removed with its volumes after the file's tests, whatever they left. Call it at module level.
 */
export function testProjects(): (name: string) => string {
  const projects: string[] = [];
  const engine = dockerodeEngine();
  afterAll(async () => {
    for (const project of projects) await engine.removeProject(project, { volumes: true }).catch(() => undefined);
  }, 120_000);
  return (name) => {
    const project = `mltest-${name}-${randomUUID().slice(0, 6)}`;
    projects.push(project);
    return project;
  };
}
