/**
 * Progress of `up` and `bookinfo` as events. Use cases emit them; a Reporter (TTY table, plain
 * lines, JSON lines) renders them. Nothing here reads globals or writes to a stream itself.
 */

/** A service's way to ready, in order; a service may skip states (a job never gets healthy). */
export const SERVICE_STATES = ['pending', 'pulled', 'built', 'created', 'running', 'healthy', 'registered', 'ready'] as const;
export type ServiceState = (typeof SERVICE_STATES)[number] | 'exited' | 'failed';

export type ProgressEvent =
  /** The run began: the services it will wait for, in display order. */
  | { type: 'start'; at: number; project: string; services: string[]; imageSet: string }
  | { type: 'state'; at: number; service: string; state: ServiceState; detail?: string }
  /** A notice the user must see (e.g. the fallback to the sandbox image set). */
  | { type: 'notice'; at: number; message: string }
  | { type: 'finish'; at: number; ok: boolean; summary: ServiceSummary[]; elapsedMs: number; message?: string };

export interface ServiceSummary {
  service: string;
  state: ServiceState;
  /** Where a person reaches it, e.g. `http://127.0.0.1:9081`; empty when not published. */
  endpoint: string;
  /** Time from the start of the run until the service was ready. */
  readyAfterMs?: number;
}

export interface Reporter {
  emit(event: ProgressEvent): void;
  /** Flushes and restores the terminal (cursor) state; safe to call twice. */
  close(): void;
}
