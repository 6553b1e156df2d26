import { SANDBOX_PROGRAM_ROOT } from '../model/image-sets.js';
import type { IstioVersion } from '../model/istio-versions.js';
import type { MeshModel } from '../model/mesh.js';
import { LABELS, type ComposeHealthcheck, type ComposeService } from './compose-spec.js';
import { APISERVER_PORT, APISERVER_SERVICE } from './mesh-files.js';

/**
 * How the sandbox image set runs each component. The topology (services, ports, networks,
 * depends_on, sidecar attachment) is rendered once for both sets; this only swaps the process
 * and its healthcheck where a sandbox image is a different program than the upstream one.
 * Components missing here (etcd, config-init, init steps, Prometheus) run the same command.
 */
export function sandboxService(service: ComposeService, model: MeshModel, version: IstioVersion): ComposeService {
  const component = service.labels?.[LABELS.component];
  const role = service.labels?.[LABELS.role];
  const withEnv = (environment: Record<string, string>, healthcheck?: ComposeHealthcheck): ComposeService => {
    const { command: _command, entrypoint: _entrypoint, ...rest } = service;
    return {
      ...rest,
      environment: { ...service.environment, ...environment },
      ...(healthcheck ? { healthcheck } : {}),
    };
  };

  if (role === 'app') {
    return withEnv({ PORT: String(service.expose?.[0] ?? 9080) }, curlCheck(`http://127.0.0.1:${service.expose?.[0] ?? 9080}/health`));
  }
  switch (component) {
    case 'apiserver':
      return withEnv({ PORT: String(APISERVER_PORT), ETCD_URL: 'http://etcd:2379' }, curlCheck(`http://127.0.0.1:${APISERVER_PORT}/healthz`));
    case 'pilot':
      return withEnv(
        {
          PORT: String(version.pilot.discoveryPort),
          KUBE_API: `http://${APISERVER_SERVICE}:${APISERVER_PORT}`,
          REGISTRY: model.registry,
          CONSUL_URL: 'http://consul:8500',
          EUREKA_URL: 'http://eureka:8080',
          PILOT_CRDS: version.pilot.crds.join(','),
        },
        service.healthcheck,
      );
    case 'mixer':
      return withEnv(
        { GRPC_PORT: String(version.mixer.grpcPort), MONITORING_PORT: String(version.mixer.monitoringPort) },
        curlCheck(`http://127.0.0.1:${version.mixer.monitoringPort}/health`),
      );
    case 'ca':
      return withEnv({ PORT: String(version.ca.grpcPort) }, curlCheck(`http://127.0.0.1:${version.ca.grpcPort}/health`));
    case 'consul':
      return withEnv({ PORT: '8500' }, curlCheck('http://127.0.0.1:8500/v1/status/leader'));
    case 'eureka':
      return withEnv({ PORT: '8080' }, curlCheck('http://127.0.0.1:8080/eureka/v2/apps'));
    case 'registrator':
      // Same arguments as upstream's registrator (`consul://consul:8500`...), to mesh-local's own.
      return {
        ...service,
        command: ['node', `${SANDBOX_PROGRAM_ROOT}/sandbox/registrator/main.js`, ...(service.command ?? [])],
        environment: { ...service.environment, DOCKER_SOCKET: '/tmp/docker.sock' },
      };
    default:
      return service;
  }
}

function curlCheck(url: string): ComposeHealthcheck {
  return { test: ['CMD', 'curl', '-fsS', '-o', '/dev/null', url], interval: '2s', timeout: '2s', retries: 60 };
}
