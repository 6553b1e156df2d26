import type { ProgressEvent, Reporter, ServiceState } from './events.js';
import { formatSummary } from './summary.js';
import { oneLine, seconds } from './text.js';

/**
 * Output for logs and CI (not a TTY): one line per state change, `[ 12.3s] istio-pilot: healthy
 * (detail)`, notices as `notice: <message>`, then the summary. No colors, no cursor codes.
 *
 * Times come from the events' `at` (relative to the `start` event, or to the first event seen), so
 * `now` is not needed for output; it is accepted so both human reporters take the same options.
 * A repeated state with only a new detail (pull progress, health retries) prints nothing: in a log
 * that would be noise, and the TTY table is where live detail belongs.
 */
export class PlainReporter implements Reporter {
  private origin: number | undefined;
  private readonly states = new Map<string, ServiceState>();
  private finished = false;

  constructor(
    private readonly write: (text: string) => void,
    _options: { now?: () => number } = {},
  ) {}

  emit(event: ProgressEvent): void {
    if (event.type === 'start') this.origin = event.at;
    this.origin ??= event.at;
    switch (event.type) {
      case 'start':
        for (const service of event.services) if (!this.states.has(service)) this.states.set(service, 'pending');
        return;
      case 'state': {
        if (this.states.get(event.service) === event.state) return;
        this.states.set(event.service, event.state);
        const detail = event.detail ? oneLine(event.detail) : '';
        const time = seconds(event.at - this.origin).padStart(6);
        this.write(`[${time}] ${event.service}: ${event.state}${detail ? ` (${detail})` : ''}\n`);
        return;
      }
      case 'notice':
        this.write(`notice: ${event.message}\n`);
        return;
      case 'finish':
        if (this.finished) return;
        this.finished = true;
        this.write('\n' + formatSummary(event, { color: false }));
        return;
    }
  }

  close(): void {}
}
