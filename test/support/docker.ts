import type Docker from 'dockerode';
import { demultiplex as demux } from '../../src/runtime/docker-engine.js';

/** Runs a command in a container; resolves with its output, rejects on a non-zero exit. */
export async function execIn(container: Docker.Container, command: string[], user?: string): Promise<string> {
  const exec = await container.exec({ Cmd: command, AttachStdout: true, AttachStderr: true, ...(user ? { User: user } : {}) });
  const stream = await exec.start({ hijack: true, stdin: false });
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  const output = demux(Buffer.concat(chunks));
  const { ExitCode } = await exec.inspect();
  if (ExitCode !== 0) throw new Error(`${command.join(' ')} exited ${ExitCode}: ${output}`);
  return output;
}

export { demux };

/** A container's whole log; with `timestamps`, each line starts with Docker's RFC 3339 time. */
export async function containerLogs(container: Docker.Container, options: { timestamps?: boolean } = {}): Promise<string> {
  return demux((await container.logs({ stdout: true, stderr: true, follow: false, timestamps: options.timestamps ?? false })) as unknown as Buffer);
}

/** The time of a log line written with `timestamps` (Docker gives nanoseconds; Date takes milliseconds). */
export function logLineTime(line: string): number {
  const stamp = line.slice(0, line.indexOf(' '));
  const time = Date.parse(stamp.replace(/(\.\d{3})\d*Z$/, '$1Z'));
  if (Number.isNaN(time)) throw new Error(`no timestamp at the start of: ${line}`);
  return time;
}
