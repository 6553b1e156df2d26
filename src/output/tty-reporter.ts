import { SERVICE_STATES, type ProgressEvent, type Reporter, type ServiceState } from './events.js';
import { formatSummary, type FinishEvent } from './summary.js';
import { oneLine, paint, seconds, stateTone, type Tone } from './text.js';

const REDRAW_INTERVAL_MS = 100;
const DEFAULT_COLUMNS = 100;
const STATE_WIDTH = Math.max(...[...SERVICE_STATES, 'exited', 'failed'].map((state) => state.length));

const ESC = '\x1b[';
const HIDE_CURSOR = `${ESC}?25l`;
const SHOW_CURSOR = `${ESC}?25h`;
const CLEAR_LINE = `${ESC}2K`;
const CLEAR_BELOW = `${ESC}0J`;
const cursorUp = (lines: number) => `${ESC}${lines}A`;

interface Row {
  service: string;
  state: ServiceState;
  /** When the service reached `state`, from the start of the run; unset while pending from the start. */
  sinceMs: number | undefined;
  detail: string;
}

/** A run of text painted in one tone; a line is a list of them so it can be cut to width before painting. */
interface Segment {
  text: string;
  tone?: Tone | undefined;
}

/**
 * A per-service table redrawn in place (SERVICE, STATE, SINCE, DETAIL), notices scrolling above it,
 * and the summary at the end.
 *
 * Redrawing moves the cursor up over the lines drawn last time and clears each one, so every row must
 * stay one terminal line: details are folded to one line and rows are cut to `columns - 1`
 * (terminals that wrap eagerly at the last column would otherwise add a line and throw the count off).
 * Redraws are throttled to one per 100 ms without a timer: a due emit draws, and finish/close draw
 * whatever is still pending.
 */
export class TtyReporter implements Reporter {
  private readonly rows: Row[] = [];
  private readonly byService = new Map<string, Row>();
  private readonly color: boolean;
  private readonly columns: number;
  private readonly now: () => number;
  private origin: number | undefined;
  private drawnLines = 0;
  private lastDrawAt: number | undefined;
  private dirty = false;
  private cursorHidden = false;
  private finished = false;
  private closed = false;

  constructor(
    private readonly write: (text: string) => void,
    options: { color: boolean; columns?: number; now?: () => number },
  ) {
    this.color = options.color;
    this.columns = options.columns !== undefined && options.columns > 0 ? options.columns : DEFAULT_COLUMNS;
    this.now = options.now ?? Date.now;
  }

  emit(event: ProgressEvent): void {
    if (this.closed) return;
    if (event.type === 'start') this.origin = event.at;
    this.origin ??= event.at;
    switch (event.type) {
      case 'start':
        for (const service of event.services) this.rowFor(service);
        this.changed();
        return;
      case 'state': {
        const row = this.rowFor(event.service);
        // SINCE is when the service reached the state: a detail-only update keeps it.
        if (row.state !== event.state || row.sinceMs === undefined) row.sinceMs = event.at - this.origin;
        row.state = event.state;
        row.detail = event.detail ? oneLine(event.detail) : '';
        this.changed();
        return;
      }
      case 'notice':
        this.notice(event.message);
        return;
      case 'finish':
        this.finish(event);
        return;
    }
  }

  close(): void {
    if (this.closed) return;
    if (!this.finished && this.dirty) this.draw();
    this.closed = true;
    if (this.cursorHidden) {
      this.cursorHidden = false;
      this.write(SHOW_CURSOR);
    }
  }

  private rowFor(service: string): Row {
    let row = this.byService.get(service);
    if (!row) {
      row = { service, state: 'pending', sinceMs: undefined, detail: '' };
      this.byService.set(service, row);
      this.rows.push(row);
    }
    return row;
  }

  private changed(): void {
    if (this.finished) return;
    this.dirty = true;
    if (this.lastDrawAt === undefined || this.now() - this.lastDrawAt >= REDRAW_INTERVAL_MS) this.draw();
  }

  /** Notices scroll: erase the table, print the notice where it was, and draw the table again below. */
  private notice(message: string): void {
    const lines = message.split(/\r?\n/).map((line) => paint('notice:', 'busy', this.color) + ' ' + line);
    if (this.finished) {
      this.write(lines.map((line) => line + '\n').join(''));
      return;
    }
    this.draw(lines);
  }

  private finish(event: FinishEvent): void {
    if (this.finished) return;
    if (this.dirty) this.draw();
    this.finished = true;
    // The table is history now; later output must not move the cursor over it.
    this.drawnLines = 0;
    this.write('\n' + formatSummary(event, { color: this.color }));
  }

  /** `above` are lines that scroll above the table (notices); they are written once, never redrawn. */
  private draw(above: string[] = []): void {
    const table = this.tableLines();
    if (table.length === 0 && above.length === 0) return;
    let out = '';
    if (table.length > 0 && !this.cursorHidden) {
      out += HIDE_CURSOR;
      this.cursorHidden = true;
    }
    if (this.drawnLines > 0) out += cursorUp(this.drawnLines);
    // A notice may be longer than the table it replaces or wrap; clearing below beats clearing per line.
    if (above.length > 0 && this.drawnLines > 0) out += CLEAR_BELOW;
    for (const line of above) out += line + '\n';
    for (const line of table) out += CLEAR_LINE + line + '\n';
    this.write(out);
    this.drawnLines = table.length;
    this.lastDrawAt = this.now();
    this.dirty = false;
  }

  private tableLines(): string[] {
    if (this.rows.length === 0) return [];
    const sinces = this.rows.map((row) => (row.sinceMs === undefined ? '-' : seconds(row.sinceMs)));
    const serviceWidth = Math.max('SERVICE'.length, ...this.rows.map((row) => row.service.length));
    const sinceWidth = Math.max('SINCE'.length, ...sinces.map((since) => since.length));
    const header = ['SERVICE'.padEnd(serviceWidth), 'STATE'.padEnd(STATE_WIDTH), 'SINCE'.padEnd(sinceWidth), 'DETAIL'].join('  ');
    const width = this.columns - 1;
    return [
      this.fit([{ text: header, tone: 'strong' }], width),
      ...this.rows.map((row, index) => {
        const segments: Segment[] = [
          { text: row.service.padEnd(serviceWidth) + '  ' },
          { text: row.state.padEnd(STATE_WIDTH), tone: stateTone(row.state, row.detail) },
          { text: '  ' + (row.detail ? sinces[index]!.padEnd(sinceWidth) + '  ' + row.detail : sinces[index]!) },
        ];
        return this.fit(segments, width);
      }),
    ];
  }

  /** Cuts a line to `width` characters (ending in `…` when cut), then paints each segment. */
  private fit(segments: Segment[], width: number): string {
    const total = segments.reduce((sum, segment) => sum + segment.text.length, 0);
    let budget = total <= width ? total : Math.max(0, width - 1);
    let out = '';
    for (const segment of segments) {
      if (budget <= 0) break;
      const text = segment.text.slice(0, budget);
      budget -= text.length;
      out += paint(text, segment.tone, this.color);
    }
    return total <= width ? out : out + '…';
  }
}
