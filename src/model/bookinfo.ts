import type { AppService } from './mesh.js';

/** Port every BookInfo service listens on (research section 4). */
export const BOOKINFO_PORT = 9080;

/**
 * The BookInfo sample as upstream's Compose files ran it: four services, reviews in three versions.
 * `image` holds the image key; the model resolves it to a reference.
 */
export function bookinfoApps(): AppService[] {
  const app = (
    name: string,
    version: string,
    environment: Record<string, string> = {},
    extra: Partial<AppService> = {},
  ): AppService => ({
    name,
    version,
    image: `${name}-${version}`,
    ports: [BOOKINFO_PORT],
    environment: { SERVICE_VERSION: version, ...environment },
    healthPath: '/health',
    ...extra,
  });
  return [
    app('productpage', 'v1', {}, { gateway: true }),
    app('details', 'v1'),
    app('ratings', 'v1'),
    // The WebSphere Liberty base image of reviews also exposes 9443, which must not be registered.
    app('reviews', 'v1', { ENABLE_RATINGS: 'false' }, { ignoredPorts: [9443] }),
    app('reviews', 'v2', { ENABLE_RATINGS: 'true', STAR_COLOR: 'black' }, { ignoredPorts: [9443] }),
    app('reviews', 'v3', { ENABLE_RATINGS: 'true', STAR_COLOR: 'red' }, { ignoredPorts: [9443] }),
  ];
}
