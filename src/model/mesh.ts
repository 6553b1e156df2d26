import type { ImageSetName } from './image-sets.js';

/**
 * The typed description of a mesh. Everything the renderer needs is here, already resolved:
 * no defaults are applied and no environment is read after this point.
 */

export const REGISTRIES = ['consul', 'eureka'] as const;
export type RegistryKind = (typeof REGISTRIES)[number];

export const ADDONS = ['prometheus', 'grafana', 'zipkin', 'servicegraph'] as const;
export type AddonName = (typeof ADDONS)[number];

/** Host ports the stack may publish; each is bound to `MeshModel.hostAddress`. */
export const HOST_PORT_NAMES = [
  'apiserver',
  'pilot',
  'consul',
  'eureka',
  'gateway',
  'prometheus',
  'grafana',
  'zipkin',
  'servicegraph',
] as const;
export type HostPortName = (typeof HOST_PORT_NAMES)[number];
export type HostPorts = Record<HostPortName, number>;

/** An application service: one Compose service per version, all sharing one mesh name. */
export interface AppService {
  /** Mesh-level name (`reviews`): the registry name and the network alias callers use. */
  name: string;
  /** Version label (`v1`), registered as `version|v1` (Consul) or metadata `version: v1` (Eureka). */
  version: string;
  /** Image reference (BookInfo's are resolved from the image table by instance name). */
  image: string;
  /** Ports the application listens on inside its container. */
  ports: number[];
  environment: Record<string, string>;
  /** Ports of the image that must not be registered (Liberty's 9443 on reviews). */
  ignoredPorts?: number[];
  /** Whether the gateway host port is published on this instance. */
  gateway?: boolean;
  /** Path that answers 200 when the application is up. */
  healthPath?: string;
}

/** Compose service name of an app instance: `reviews-v2`. */
export function instanceName(app: Pick<AppService, 'name' | 'version'>): string {
  return `${app.name}-${app.version}`;
}

export interface MeshModel {
  /** Compose project name; also names the state directory. */
  project: string;
  istioVersion: string;
  /** Which images run it; the topology is the same for both. */
  imageSet: ImageSetName;
  registry: RegistryKind;
  addons: AddonName[];
  mtls: boolean;
  /** Address every published host port binds to; 127.0.0.1 unless overridden. */
  hostAddress: string;
  hostPorts: HostPorts;
  /** Resolved image reference per image key (mirror and overrides applied). */
  images: Record<string, string>;
  apps: AppService[];
}
