/**
 * Reads the API server address from a kubeconfig file, as the `--kubeconfig` / `--kube-config`
 * flags of pilot-discovery, mixs (`k8s://<path>`) and istio_ca make the real binaries do:
 * the cluster of the current context, its `server`.
 */
import { readFile } from 'node:fs/promises';
import { parseYamlSubset } from '../standins/apiserver-yaml.js';

interface Named<T> {
  name?: string;
  cluster?: T;
  context?: T;
}

export async function kubeconfigServer(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read the kubeconfig ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return serverOf(parseYamlSubset(text), path);
}

/** The `server` of the current context's cluster; throws naming what is missing. */
export function serverOf(config: unknown, path = 'kubeconfig'): string {
  const document = (config ?? {}) as {
    'current-context'?: string;
    contexts?: Named<{ cluster?: string }>[];
    clusters?: Named<{ server?: string }>[];
  };
  const contextName = document['current-context'];
  if (!contextName) throw new Error(`${path} has no current-context`);
  const context = document.contexts?.find((entry) => entry.name === contextName)?.context;
  if (!context?.cluster) throw new Error(`${path}: context '${contextName}' names no cluster`);
  const server = document.clusters?.find((entry) => entry.name === context.cluster)?.cluster?.server;
  if (!server) throw new Error(`${path}: cluster '${context.cluster}' has no server`);
  return server.replace(/\/+$/, '');
}
