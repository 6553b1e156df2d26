import { POD_ROLE } from '../compose/sidecar.js';
import type { ContainerInfo } from '../runtime/containers.js';

/**
 * The containers of one app instance's pod, found by mesh-local's labels: the pause container
 * that owns the network namespace and the members that join it (`network_mode: service:<pod>`).
 */
export interface PodView {
  /** The app's Compose service; the pod's members carry it as `dev.mesh-local.sidecar-for`. */
  app: string;
  pod: ContainerInfo | undefined;
  init: ContainerInfo | undefined;
  proxy: ContainerInfo | undefined;
  appContainer: ContainerInfo | undefined;
}

/** Every pod of a project: one per app instance that has a pause container. */
export function podsOf(containers: ContainerInfo[]): PodView[] {
  const pods = containers.filter((container) => container.role === POD_ROLE && container.sidecarFor);
  return pods.map((pod) => {
    const app = pod.sidecarFor!;
    const member = (role: string) => containers.find((container) => container.role === role && container.sidecarFor === app);
    return {
      app,
      pod,
      init: member('sidecar-init'),
      proxy: member('sidecar-proxy'),
      appContainer: containers.find((container) => container.service === app && container.role !== POD_ROLE),
    };
  });
}

/** A pod member out of its pod's current namespace, and why, in one sentence. */
export interface DetachedMember {
  member: ContainerInfo;
  problem: string;
}

/**
 * The pod's members that are no longer in its network namespace; empty when they all are.
 * Docker joins a container to the namespace of `container:<id>` when it starts, so a member is
 * detached when the pod it names is not the current pod container (the pod was recreated), or
 * when the pod started after it (the pod restarted into a new namespace). The capture rules live
 * in the namespace, so an init step that ran before the pod's current start left it uncaptured
 * (that entry's member is the init step). Containers that are not running are left to the
 * status ladder.
 */
export function detachedMembers(view: PodView): DetachedMember[] {
  const { pod } = view;
  if (!pod) return [];
  const found: DetachedMember[] = [];
  const podStarted = pod.startedAt?.getTime();
  const joins = (member: ContainerInfo) => member.networkMode === `container:${pod.id}`;
  const startedBefore = (member: ContainerInfo) => podStarted !== undefined && (member.startedAt?.getTime() ?? 0) < podStarted;
  for (const member of [view.appContainer, view.proxy]) {
    if (!member || member.state !== 'running') continue;
    if (!joins(member)) found.push({ member, problem: `${member.service} runs in the namespace of a pod container that was replaced` });
    else if (pod.state !== 'running') found.push({ member, problem: `${member.service} runs but its pod ${pod.service} is ${pod.state}` });
    else if (startedBefore(member)) found.push({ member, problem: `${member.service} started before ${pod.service} restarted, so it is in the old namespace` });
  }
  const { init } = view;
  if (init && init.state === 'exited' && init.exitCode === 0 && pod.state === 'running' && (!joins(init) || startedBefore(init))) {
    found.push({ member: init, problem: `traffic is not captured: ${init.service} set up its rules before ${pod.service} last started` });
  }
  return found;
}
