/** Domain view of a Compose container, read from the Engine by labels (never by name). */
export interface ContainerInfo {
  id: string;
  /** `com.docker.compose.service` */
  service: string;
  project: string;
  /** mesh-local's labels: `dev.mesh-local.role`, `.component`, `.sidecar-for` (may be absent). */
  role: string | undefined;
  component: string | undefined;
  sidecarFor: string | undefined;
  image: string;
  state: 'created' | 'running' | 'restarting' | 'exited' | 'paused' | 'dead' | 'removing';
  health: 'healthy' | 'unhealthy' | 'starting' | 'none';
  exitCode: number | undefined;
  restartCount: number;
  createdAt: Date;
  startedAt: Date | undefined;
  ports: PublishedPort[];
  /** IPv4 addresses on its networks (none for a pod member, which has its pod's). */
  addresses: string[];
  /** `HostConfig.NetworkMode`: `container:<id>` for a pod member, else the network (`bridge`, a name). */
  networkMode: string;
}

export interface PublishedPort {
  containerPort: number;
  hostIp: string;
  hostPort: number;
}

export const COMPOSE_PROJECT_LABEL = 'com.docker.compose.project';
export const COMPOSE_SERVICE_LABEL = 'com.docker.compose.service';
