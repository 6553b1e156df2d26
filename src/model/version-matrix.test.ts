import { describe, expect, it } from 'vitest';
import { parseYaml } from '../common/yaml-file.js';
import type { ComposeDocument, ComposeService } from '../compose/compose-spec.js';
import { LABELS } from '../compose/compose-spec.js';
import { renderMesh, type RenderResult } from '../compose/render.js';
import { ISTIO_VERSIONS, type IstioVersion } from './istio-versions.js';
import { REGISTRIES } from './mesh.js';
import { buildModel, resolveSettings } from './settings.js';

/**
 * Checks one rendered stack against what upstream got wrong (research sections 1.1, 3 and 8):
 * every place that names pilot's discovery port must agree, the init step must capture both
 * directions, Mixer must be where the mesh config says, and every kubeconfig path must exist.
 * Returns the disagreements; an empty list means the stack is coherent.
 */
function inconsistencies(rendered: RenderResult, version: IstioVersion): string[] {
  const problems: string[] = [];
  const services = rendered.document.services;
  const pilot = services['istio-pilot']!;
  const pilotArgs = pilot.command ?? [];
  const flagAt = pilotArgs.indexOf('--port');
  const portValue = flagAt === -1 ? undefined : pilotArgs[flagAt + 1];
  const pilotPort = portValue === undefined ? NaN : Number(portValue);
  if (pilotPort !== version.pilot.discoveryPort) problems.push(`pilot listens on ${portValue}, matrix says ${version.pilot.discoveryPort}`);
  if (!pilot.ports?.every((port) => port.endsWith(`:${pilotPort}`))) problems.push(`pilot publishes ${pilot.ports} not :${pilotPort}`);
  if (!pilot.expose?.includes(String(pilotPort))) problems.push('pilot does not expose its discovery port');
  if (version.pilot.grpcPort && !pilot.expose?.includes(String(version.pilot.grpcPort))) problems.push('pilot does not expose its gRPC port');
  if (pilot.healthcheck && !pilot.healthcheck.test.some((part) => part.includes(`:${pilotPort}/v1/registration`))) problems.push('pilot healthcheck probes another port');

  const expectedDiscovery = `istio-pilot:${pilotPort}`;
  const isPre07 = version.version.startsWith('0.') && Number(version.version.split('.')[1]) < 7;
  for (const [name, service] of Object.entries(services)) {
    const role = service.labels?.[LABELS.role];
    const args = service.command ?? [];
    if (role === 'sidecar-proxy') {
      const address = args[args.indexOf('--discoveryAddress') + 1];
      if (address !== expectedDiscovery) problems.push(`${name} discovers from ${address}, pilot is at ${expectedDiscovery}`);
      if (!isPre07 && args.includes('-v')) problems.push(`${name} passes -v, a no-op since 0.7`);
    }
    if (role === 'sidecar-init') problems.push(...initProblems(name, service, version, services));
  }
  if (!isPre07 && pilotArgs.includes('-v')) problems.push('pilot passes -v, a no-op since 0.7');

  const mesh = parseYaml(fileContent(rendered, 'mesh-files/istio/mesh'), 'mesh') as Record<string, any>;
  if (mesh.defaultConfig?.discoveryAddress !== expectedDiscovery) problems.push(`mesh config discoveryAddress is ${mesh.defaultConfig?.discoveryAddress}`);
  const mixer = services['istio-mixer']!;
  const mixerPort = version.mixer.grpcPort;
  const meshMixer = mesh.mixerAddress ?? mesh.mixerCheckServer;
  if (meshMixer !== `istio-mixer:${mixerPort}`) problems.push(`mesh config sends sidecars to Mixer at ${meshMixer}`);
  if (mesh.mixerCheckServer !== undefined && mesh.mixerReportServer !== mesh.mixerCheckServer) problems.push('check and report servers differ');
  if (!mixer.command?.join(' ').match(new RegExp(`(--port ${mixerPort}|--address tcp://0\\.0\\.0\\.0:${mixerPort})`))) problems.push('Mixer does not listen on the port the mesh config names');
  if (!mixer.expose?.includes(String(mixerPort))) problems.push('Mixer does not expose its gRPC port');

  const kubeconfigPaths = [
    pilotArgs[pilotArgs.indexOf('--kubeconfig') + 1],
    mixer.command?.find((arg) => arg.startsWith('--configStoreURL=k8s://'))?.slice('--configStoreURL=k8s://'.length),
    services['istio-ca']!.command?.find((arg) => arg.startsWith('--kube-config='))?.slice('--kube-config='.length),
  ];
  for (const [index, service] of [pilot, mixer, services['istio-ca']!].entries()) {
    const path = kubeconfigPaths[index];
    const hostFile = path && hostPathOf(service, path);
    if (!hostFile || !rendered.files.some((file) => file.path === hostFile)) problems.push(`kubeconfig ${path} is not a rendered, mounted file`);
  }
  for (const key of ['pilot', 'mixer', 'proxy-init', 'proxy'] as const) {
    const image = Object.values(services).find((service) => service.image.includes(`/${key.replace('-', '_')}:`))?.image;
    if (image && !image.endsWith(`:${version.version}`)) problems.push(`${key} image ${image} is not tagged ${version.version}`);
  }
  return problems;
}

function initProblems(name: string, init: ComposeService, version: IstioVersion, services: Record<string, ComposeService>): string[] {
  const problems: string[] = [];
  const args = init.command ?? [];
  const value = (flag: string) => (args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);
  if (value('-p') !== '15001') problems.push(`${name} redirects to ${value('-p')}`);
  if (value('-u') !== '1337') problems.push(`${name} bypasses uid ${value('-u')}`);
  if (JSON.stringify(init.cap_add) !== '["NET_ADMIN"]') problems.push(`${name} has capabilities ${init.cap_add}`);
  const app = services[init.network_mode!.replace(/^service:/, '')];
  if (!app) problems.push(`${name} joins no app`);
  if (version.init.script === 'istio-iptables') {
    if (value('-i') !== '*') problems.push(`${name} does not capture all outbound traffic (-i ${value('-i')})`);
    const inbound = value('-b')?.split(',') ?? [];
    for (const port of app?.expose ?? []) if (!inbound.includes(port)) problems.push(`${name} does not capture inbound ${port}`);
  } else {
    if (args.includes('-i')) problems.push(`${name} restricts outbound capture`);
    if (!init.entrypoint?.join(' ').includes('iptables-restore')) problems.push(`${name} is not idempotent (no cleanup before the script)`);
    if (!init.entrypoint?.join(' ').includes(`exec ${version.init.scriptPath} "$$@"`)) problems.push(`${name} does not run ${version.init.scriptPath}`);
  }
  return problems;
}

function hostPathOf(service: ComposeService, containerPath: string): string | undefined {
  for (const volume of service.volumes ?? []) {
    const [host, target] = volume.split(':');
    if (target && containerPath.startsWith(`${target}/`)) return `${host!.replace(/^\.\//, '')}${containerPath.slice(target.length)}`;
  }
  return undefined;
}

function fileContent(rendered: RenderResult, path: string): string {
  const file = rendered.files.find((candidate) => candidate.path === path);
  if (!file) throw new Error(`no rendered file ${path}`);
  return file.content;
}

function render(version: string, registry: string): RenderResult {
  const { settings } = resolveSettings({ env: {}, flags: { istioVersion: version, registry, bookinfo: true, addons: 'zipkin' } });
  return renderMesh(buildModel(settings));
}

describe('every version of the matrix is internally consistent', () => {
  for (const version of ISTIO_VERSIONS) {
    for (const registry of REGISTRIES) {
      it(`Istio ${version.version} with ${registry}`, () => {
        expect(inconsistencies(render(version.version, registry), version)).toEqual([]);
      });
    }
  }
});

describe('the consistency check catches what upstream shipped broken', () => {
  const version = ISTIO_VERSIONS.find((entry) => entry.version === '0.8.0')!;
  const mutate = (change: (document: ComposeDocument) => void) => {
    const rendered = render('0.8.0', 'consul');
    change(rendered.document);
    return inconsistencies(rendered, version);
  };

  it('a sidecar discovering from another port than pilot serves (0.3.0-0.5.0, 0.7.x)', () => {
    const problems = mutate(({ services }) => {
      const args = services['details-v1-istio-proxy']!.command!;
      args[args.indexOf('--discoveryAddress') + 1] = 'istio-pilot:15003';
    });
    expect(problems).toContain('details-v1-istio-proxy discovers from istio-pilot:15003, pilot is at istio-pilot:15007');
  });

  it('an 0.8 init step given only -p and -u, which captures nothing', () => {
    const problems = mutate(({ services }) => {
      services['ratings-v1-istio-init']!.command = ['-p', '15001', '-u', '1337'];
    });
    expect(problems).toEqual([
      'ratings-v1-istio-init does not capture all outbound traffic (-i undefined)',
      'ratings-v1-istio-init does not capture inbound 9080',
    ]);
  });

  it('pilot published on a port it does not listen on', () => {
    expect(mutate(({ services }) => void (services['istio-pilot']!.ports = ['127.0.0.1:8081:8080']))).toEqual([
      'pilot publishes 127.0.0.1:8081:8080 not :15007',
    ]);
  });
});
