import { fileURLToPath } from 'node:url';

/** The installed package's root (holds images/, build/sandbox/, compose/), from src/ or dist/ alike. */
export function packageRoot(): string {
  return fileURLToPath(new URL('../..', import.meta.url));
}
