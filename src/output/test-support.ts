import type { ProgressEvent } from './events.js';

/** Collects what a reporter writes; `chunks` keeps each write call apart to count redraws. */
export function capture() {
  const chunks: string[] = [];
  return {
    chunks,
    write: (text: string) => void chunks.push(text),
    text: () => chunks.join(''),
  };
}

/** A clock the test moves by hand. */
export function manualClock(start = 0) {
  let time = start;
  return {
    now: () => time,
    set: (ms: number) => void (time = ms),
  };
}

export const T0 = 1_700_000_000_000;

export const start = (services: string[], at = T0): ProgressEvent => ({
  type: 'start',
  at,
  project: 'mesh',
  services,
  imageSet: 'sandbox',
});

export const state = (service: string, s: Extract<ProgressEvent, { type: 'state' }>['state'], afterMs: number, detail?: string): ProgressEvent => ({
  type: 'state',
  at: T0 + afterMs,
  service,
  state: s,
  ...(detail !== undefined ? { detail } : {}),
});
