import type { ProgressEvent, ServiceSummary } from './events.js';
import { paint, seconds } from './text.js';

export type FinishEvent = Extract<ProgressEvent, { type: 'finish' }>;

/**
 * The end-of-run summary shared by the TTY and plain reporters: a SERVICE / ENDPOINT / READY AFTER
 * table (left-aligned, two spaces between columns) and a last line `ready in 42.1s` or
 * `failed after 42.1s: <message>`. Only that last line is colored, and only when `color` is set.
 */
export function formatSummary(event: FinishEvent, options: { color: boolean }): string {
  const lines: string[] = [];
  if (event.summary.length > 0) {
    const header = ['SERVICE', 'ENDPOINT', 'READY AFTER'];
    const rows = event.summary.map((entry) => [entry.service, entry.endpoint || '-', readyAfter(entry)]);
    const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
    for (const row of [header, ...rows]) {
      lines.push(row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd());
    }
  }
  const elapsed = seconds(event.elapsedMs);
  const last = event.ok ? `ready in ${elapsed}` : `failed after ${elapsed}${event.message ? `: ${event.message}` : ''}`;
  lines.push(paint(last, event.ok ? 'ok' : 'error', options.color));
  return lines.join('\n') + '\n';
}

function readyAfter(entry: ServiceSummary): string {
  if (entry.readyAfterMs !== undefined) return seconds(entry.readyAfterMs);
  return entry.state === 'ready' ? '-' : `not ready (${entry.state})`;
}
