import { ISTIO_IMAGE_FACTS } from './istio-images.js';
import { PLATFORM_IMAGE_FACTS } from './platform-images.js';
import { POD_IMAGE_FACTS } from './pod-images.js';
import { BOOKINFO_IMAGE_FACTS, REGISTRY_IMAGE_FACTS } from './registry-images.js';
import type { ImageFacts, ProgramFacts } from './types.js';

/**
 * Every upstream image mesh-local renders, with what it contains and what its programs accept
 * (see `types.ts`). Looked up by the exact upstream reference of the version matrix.
 */
export const UPSTREAM_IMAGE_FACTS: readonly ImageFacts[] = [
  ...ISTIO_IMAGE_FACTS,
  ...PLATFORM_IMAGE_FACTS,
  ...POD_IMAGE_FACTS,
  ...REGISTRY_IMAGE_FACTS,
  ...BOOKINFO_IMAGE_FACTS,
];

/** The facts of an upstream reference (`docker.io/istio/pilot:0.8.0`), if mesh-local has them. */
export function imageFacts(reference: string): ImageFacts | undefined {
  return UPSTREAM_IMAGE_FACTS.find((image) => image.reference === reference);
}

/** Directories a bare command name is looked up in, as the images' PATH has them. */
const SEARCH_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/**
 * The program a command runs in an image: an absolute path names it directly, a bare name is
 * found on the usual PATH. `undefined` when the image has no such program.
 */
export function findProgram(image: ImageFacts, command: string): ProgramFacts | undefined {
  if (command.startsWith('/')) return image.programs.find((program) => program.path === command);
  return SEARCH_PATH.map((dir) => `${dir}/${command}`)
    .map((path) => image.programs.find((program) => program.path === path))
    .find((program) => program !== undefined);
}

/** Whether a command (bare name or absolute path) can run in the image: a tool or a program. */
export function hasCommand(image: ImageFacts, command: string): boolean {
  if (findProgram(image, command)) return true;
  const name = command.startsWith('/') ? command.slice(command.lastIndexOf('/') + 1) : command;
  return image.tools.includes(name);
}
