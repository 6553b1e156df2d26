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

export async function containerLogs(container: Docker.Container): Promise<string> {
  return demux((await container.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer);
}
