/**
 * Which services a container stands for, following gliderlabs/registrator's conventions in its
 * `-internal` mode (bridge/bridge.go `newService`, bridge/util.go `serviceMetaData`). Pure: it reads a
 * `docker inspect` document and returns registrations, so it is tested on fixtures alone.
 *
 * - SERVICE_<KEY> comes from the container's env, else its labels; SERVICE_<port>_<KEY> overrides
 *   SERVICE_<KEY> for that port only. Keys are case-insensitive after the prefix.
 * - SERVICE_IGNORE (any non-empty value) hides a port or, without a port, the whole container.
 * - The name is SERVICE_NAME, else the image's base name without tag or digest. When a container
 *   exposes several ports, `-<port>` is appended unless the name came from SERVICE_<port>_NAME
 *   (which is why upstream's reviews set SERVICE_9080_NAME next to SERVICE_9443_IGNORE).
 * - SERVICE_TAGS is a comma-separated list (`\,` escapes a comma); `key|value` tags are labels, the
 *   way Pilot reads them. Any other SERVICE_<KEY> becomes an attribute (SERVICE_PROTOCOL: protocol).
 * - The address is the container's own IP on its primary network and the port is the exposed one.
 * - The ID is `<registrator hostname>:<container name>:<port>`, or SERVICE_ID.
 * Departures, on purpose: containers that share another's network namespace (`container:` network
 * mode, Compose's `network_mode: service:x`, i.e. sidecars) are skipped rather than registered with
 * the other container's IP; UDP ports are skipped; tags keep their order and are trimmed.
 */

/** The part of `GET /containers/:id/json` this module reads. */
export interface ContainerInspect {
  Id: string;
  /** "/project-service-1" */
  Name: string;
  State?: { Running?: boolean; Status?: string } | null;
  Config: {
    Hostname?: string;
    Image: string;
    Env?: string[] | null;
    Labels?: Record<string, string> | null;
    ExposedPorts?: Record<string, unknown> | null;
  };
  HostConfig?: { NetworkMode?: string } | null;
  NetworkSettings?: {
    IPAddress?: string;
    Ports?: Record<string, unknown> | null;
    Networks?: Record<string, { IPAddress?: string } | null> | null;
  } | null;
}

export interface ServiceRegistration {
  /** `<hostname>:<container name>:<port>` unless SERVICE_ID says otherwise. */
  id: string;
  name: string;
  ip: string;
  port: number;
  tags: string[];
  /** Labels from `key|value` tags, e.g. {version: "v1"}. */
  labels: Record<string, string>;
  /** SERVICE_PROTOCOL, else "http". */
  protocol: string;
  /** Remaining SERVICE_<KEY> values, keys lower-cased. */
  attrs: Record<string, string>;
  containerId: string;
  containerName: string;
}

export interface IgnoredPort {
  port: string;
  reason: string;
}

export type ServicePlan =
  | { register: true; services: ServiceRegistration[]; ignored: IgnoredPort[] }
  | { register: false; reason: string };

export interface PlanOptions {
  /** The registrator's host name, first part of every service ID. */
  hostname: string;
  /** Only register containers that set SERVICE_NAME (registrator's `-explicit`). */
  explicit?: boolean;
  /** Tags added to every service (registrator's `-tags`). */
  forceTags?: string[];
}

const RESERVED_KEYS = new Set(['id', 'name', 'tags', 'ignore']);

/** Decides what to register for one container. */
export function planServices(container: ContainerInspect, options: PlanOptions): ServicePlan {
  const networkMode = container.HostConfig?.NetworkMode ?? '';
  if (networkMode.startsWith('container:')) {
    return { register: false, reason: `shares the network namespace of ${networkMode.slice('container:'.length, 'container:'.length + 12)}` };
  }
  if (container.State && container.State.Running === false) {
    return { register: false, reason: `not running (${container.State.Status ?? 'stopped'})` };
  }

  const ports = exposedPorts(container);
  if (ports.length === 0) return { register: false, reason: 'no exposed ports' };

  const containerMeta = serviceMetadata(container, undefined).values;
  if (nonEmpty(containerMeta.ignore) && ports.every((port) => !serviceMetadata(container, port.number).fromPort.has('ignore'))) {
    return { register: false, reason: 'SERVICE_IGNORE is set' };
  }

  const ip = containerIp(container);
  if (!ip) return { register: false, reason: `has no IP address of its own (network mode ${networkMode || 'default'})` };

  const containerName = container.Name.replace(/^\//, '');
  const isGroup = ports.length > 1;
  const services: ServiceRegistration[] = [];
  const ignored: IgnoredPort[] = [];

  for (const port of ports) {
    const label = `${port.number}/${port.protocol}`;
    if (port.protocol !== 'tcp') {
      ignored.push({ port: label, reason: 'only TCP ports are registered' });
      continue;
    }
    const { values: meta, fromPort } = serviceMetadata(container, port.number);
    if (nonEmpty(meta.ignore)) {
      ignored.push({ port: label, reason: fromPort.has('ignore') ? `SERVICE_${port.number}_IGNORE is set` : 'SERVICE_IGNORE is set' });
      continue;
    }
    let name = meta.name ?? '';
    if (name === '') {
      if (options.explicit) {
        ignored.push({ port: label, reason: 'no SERVICE_NAME (explicit mode)' });
        continue;
      }
      name = imageBaseName(container.Config.Image);
    }
    if (isGroup && !fromPort.has('name')) name += `-${port.number}`;

    const tags = [...parseTags(meta.tags ?? ''), ...(options.forceTags ?? [])];
    const attrs: Record<string, string> = {};
    for (const [key, value] of Object.entries(meta)) if (!RESERVED_KEYS.has(key)) attrs[key] = value;

    services.push({
      id: nonEmpty(meta.id) ? meta.id : `${options.hostname}:${containerName}:${port.number}`,
      name,
      ip,
      port: port.number,
      tags,
      labels: labelsFromTags(tags),
      protocol: nonEmpty(meta.protocol) ? meta.protocol : 'http',
      attrs,
      containerId: container.Id,
      containerName,
    });
  }

  if (services.length === 0) {
    return { register: false, reason: ignored.map((entry) => `${entry.port}: ${entry.reason}`).join('; ') };
  }
  return { register: true, services, ignored };
}

function nonEmpty(value: string | undefined): value is string {
  return value !== undefined && value !== '';
}

interface ExposedPort {
  number: number;
  protocol: string;
}

/** Exposed ports ("9080/tcp"), from the config and the runtime port map, in numeric order. */
export function exposedPorts(container: ContainerInspect): ExposedPort[] {
  const keys = new Set([...Object.keys(container.Config.ExposedPorts ?? {}), ...Object.keys(container.NetworkSettings?.Ports ?? {})]);
  const ports: ExposedPort[] = [];
  for (const key of keys) {
    const [number, protocol = 'tcp'] = key.split('/');
    const value = Number(number);
    if (Number.isInteger(value) && value > 0 && value <= 65535) ports.push({ number: value, protocol: protocol.toLowerCase() });
  }
  return ports.sort((a, b) => a.number - b.number || a.protocol.localeCompare(b.protocol));
}

/**
 * SERVICE_* settings for one port (or for the container when `port` is undefined): env wins over
 * labels, SERVICE_<port>_<KEY> wins over SERVICE_<KEY>. `fromPort` names the keys a port setting gave.
 */
export function serviceMetadata(container: ContainerInspect, port: number | undefined): { values: Record<string, string>; fromPort: Set<string> } {
  const settings = new Map<string, string>();
  for (const [key, value] of Object.entries(container.Config.Labels ?? {})) settings.set(key, value);
  for (const entry of container.Config.Env ?? []) {
    const equals = entry.indexOf('=');
    if (equals < 0) settings.set(entry, '');
    else settings.set(entry.slice(0, equals), entry.slice(equals + 1));
  }

  const values: Record<string, string> = {};
  const fromPort = new Set<string>();
  for (const [rawKey, value] of settings) {
    if (!rawKey.startsWith('SERVICE_') || rawKey.length === 'SERVICE_'.length) continue;
    const key = rawKey.slice('SERVICE_'.length).toLowerCase();
    const portKey = /^(\d+)_(.+)$/.exec(key);
    if (portKey) {
      if (port === undefined || Number(portKey[1]) !== port) continue;
      values[portKey[2] as string] = value;
      fromPort.add(portKey[2] as string);
    } else if (!fromPort.has(key)) {
      values[key] = value;
    }
  }
  return { values, fromPort };
}

/** "docker.io/istio/examples-bookinfo-details-v1:1.5.0" -> "examples-bookinfo-details-v1". */
export function imageBaseName(image: string): string {
  const withoutDigest = image.split('@')[0] ?? image;
  const base = withoutDigest.slice(withoutDigest.lastIndexOf('/') + 1);
  return base.split(':')[0] ?? base;
}

/** Splits SERVICE_TAGS on commas not escaped as `\,`; trims and drops empty tags. */
export function parseTags(raw: string): string[] {
  const tags: string[] = [];
  let current = '';
  for (let index = 0; index < raw.length; index += 1) {
    const char = raw[index];
    if (char === '\\' && raw[index + 1] === ',') {
      current += ',';
      index += 1;
    } else if (char === ',') {
      tags.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  tags.push(current);
  return tags.map((tag) => tag.trim()).filter((tag) => tag !== '');
}

/** `key|value` tags as labels, as Pilot's Consul adapter reads them; other tags are not labels. */
export function labelsFromTags(tags: string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const tag of tags) {
    const bar = tag.indexOf('|');
    if (bar > 0) labels[tag.slice(0, bar)] = tag.slice(bar + 1);
  }
  return labels;
}

/**
 * The container's own IP: on the network its network mode names (Compose sets the primary network
 * there), else the default bridge address, else the first network, by name, that has one.
 */
export function containerIp(container: ContainerInspect): string | undefined {
  const settings = container.NetworkSettings;
  const networks = settings?.Networks ?? {};
  const mode = container.HostConfig?.NetworkMode ?? '';
  const primary = networks[mode]?.IPAddress;
  if (primary) return primary;
  if (settings?.IPAddress) return settings.IPAddress;
  for (const name of Object.keys(networks).sort()) {
    const address = networks[name]?.IPAddress;
    if (address) return address;
  }
  return undefined;
}
