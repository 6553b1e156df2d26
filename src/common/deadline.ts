import { setMaxListeners } from 'node:events';

/**
 * A signal that aborts when `parent` does, or after `ms` with a `TimeoutError` (as
 * `AbortSignal.timeout` does), and `clear` to stop the timer once the work is done.
 *
 * Not `AbortSignal.any([parent, AbortSignal.timeout(ms)])`: Node.js (20.x here) holds the sources
 * of a composite signal weakly, so a garbage collection can take the timeout signal and its timer
 * with it, and the deadline never fires (nodejs/node#57736). Here the timer holds the controller.
 */
export function deadline(ms: number, parent?: AbortSignal): { signal: AbortSignal; clear: () => void } {
  const controller = new AbortController();
  // Every call made under a deadline listens on it: `down` removes dozens of containers at once.
  setMaxListeners(0, controller.signal);
  const timer = setTimeout(() => controller.abort(new DOMException(`the deadline of ${ms} ms passed`, 'TimeoutError')), ms);
  // The deadline alone never keeps the process running.
  timer.unref();
  const follow = () => controller.abort(parent!.reason);
  if (parent?.aborted) follow();
  else parent?.addEventListener('abort', follow, { once: true });
  return {
    signal: controller.signal,
    clear: () => {
      clearTimeout(timer);
      parent?.removeEventListener('abort', follow);
    },
  };
}
