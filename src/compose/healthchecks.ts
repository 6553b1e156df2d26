import type { ImageKey } from '../model/images.js';
import type { IstioVersion } from '../model/istio-versions.js';
import { hasCommand, imageFacts } from '../model/upstream/facts.js';
import type { ComposeHealthcheck } from './compose-spec.js';

/**
 * In-container healthchecks, only with a tool the upstream image really has (see
 * `model/upstream/`): the 0.6 pilot image is `FROM scratch` and has no curl, so its readiness is
 * probed from outside by mesh-local instead. The sandbox images carry the same tools, so both
 * image sets run the same check. Docker's probe timing is the same everywhere: every 2 s, up to 2 s
 * each, 60 failures before `unhealthy`.
 */
const TIMING = { interval: '2s', timeout: '2s', retries: 60 } as const;

/** The upstream facts of an image key at a version (not of a mirror or override of it). */
function factsOf(version: IstioVersion, key: ImageKey) {
  return imageFacts(version.images[key]);
}

/** Whether the version's upstream image for `key` has every command named. */
export function imageHas(version: IstioVersion, key: ImageKey, ...commands: string[]): boolean {
  const facts = factsOf(version, key);
  return facts !== undefined && commands.every((command) => hasCommand(facts, command));
}

/** A GET that must answer 2xx, with curl or else wget; `undefined` when the image has neither. */
export function httpHealthcheck(version: IstioVersion, key: ImageKey, url: string): ComposeHealthcheck | undefined {
  if (imageHas(version, key, 'curl')) return { test: ['CMD', 'curl', '-fsS', '-o', '/dev/null', url], ...TIMING };
  if (imageHas(version, key, 'wget')) return { test: ['CMD', 'wget', '-q', '-O', '/dev/null', url], ...TIMING };
  return undefined;
}

/** A GET whose body must contain `text` (Consul's leader is `"<ip>:8300"` once elected). */
export function httpBodyHealthcheck(version: IstioVersion, key: ImageKey, url: string, text: string): ComposeHealthcheck | undefined {
  if (!imageHas(version, key, 'sh', 'grep')) return undefined;
  if (imageHas(version, key, 'wget')) return { test: ['CMD-SHELL', `wget -q -O - ${url} | grep -q '${text}'`], ...TIMING };
  if (imageHas(version, key, 'curl')) return { test: ['CMD-SHELL', `curl -fsS ${url} | grep -q '${text}'`], ...TIMING };
  return undefined;
}

/** etcd's v3 health check with the image's own etcdctl. */
export function etcdHealthcheck(version: IstioVersion, endpoint: string): ComposeHealthcheck | undefined {
  if (!imageHas(version, 'etcd', 'env', 'etcdctl')) return undefined;
  return { test: ['CMD', 'env', 'ETCDCTL_API=3', 'etcdctl', `--endpoints=${endpoint}`, 'endpoint', 'health'], ...TIMING };
}
