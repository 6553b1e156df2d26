import type { ProgressEvent, Reporter } from './events.js';

/** `--json`: one event per line, exactly as emitted, for machines; nothing else is written. */
export class JsonReporter implements Reporter {
  constructor(private readonly write: (text: string) => void) {}

  emit(event: ProgressEvent): void {
    this.write(JSON.stringify(event) + '\n');
  }

  close(): void {}
}
