/**
 * The part of the Compose Specification mesh-local writes. Hand-written rather than generated:
 * the renderer emits a small, fixed subset, and every field here is one docker-compose 1.29
 * accepts (checked by `docker-compose config -q` in the tests).
 */

export type DependsOnCondition =
  | 'service_started'
  | 'service_healthy'
  | 'service_completed_successfully';

export interface ComposeHealthcheck {
  test: string[];
  interval?: string;
  timeout?: string;
  retries?: number;
  start_period?: string;
}

export interface ComposeServiceNetwork {
  aliases?: string[];
}

export interface ComposeService {
  image: string;
  entrypoint?: string[];
  command?: string[];
  user?: string;
  environment?: Record<string, string>;
  labels?: Record<string, string>;
  expose?: string[];
  ports?: string[];
  volumes?: string[];
  networks?: Record<string, ComposeServiceNetwork | null>;
  network_mode?: string;
  depends_on?: Record<string, { condition: DependsOnCondition }>;
  healthcheck?: ComposeHealthcheck;
  cap_add?: string[];
  cap_drop?: string[];
  restart?: string;
  profiles?: string[];
}

export interface ComposeDocument {
  services: Record<string, ComposeService>;
  networks?: Record<string, Record<string, unknown> | null>;
  volumes?: Record<string, Record<string, unknown> | null>;
}

/** Labels mesh-local puts on everything it renders; `status`, `logs` and `down` find containers by them. */
export const LABELS = {
  /** `control-plane`, `registry`, `registrator`, `addon`, `app`, `pod`, `sidecar-init`, `sidecar-proxy`, `job`. */
  role: 'dev.mesh-local.role',
  /** Component name within its role: `pilot`, `consul`, `prometheus`... */
  component: 'dev.mesh-local.component',
  /** On an app's pod, init and proxy services: the Compose service of the app whose pod they make up. */
  sidecarFor: 'dev.mesh-local.sidecar-for',
  istioVersion: 'dev.mesh-local.istio-version',
  /** On app services: mesh name and version (`reviews`, `v2`). */
  app: 'dev.mesh-local.app',
  appVersion: 'dev.mesh-local.app-version',
} as const;

export type ServiceRole =
  | 'control-plane'
  | 'registry'
  | 'registrator'
  | 'addon'
  | 'app'
  | 'pod'
  | 'sidecar-init'
  | 'sidecar-proxy'
  | 'job';
