/**
 * STAND-IN for Istio's Mixer (mesh-local sandbox). The real docker.io/istio/mixer images cannot
 * be pulled here. This program keeps Mixer's ports open and its monitoring surface real enough
 * for Prometheus to scrape:
 *
 *  - the monitoring port (`--monitoringPort`, 9093): `GET /metrics` (Prometheus text format),
 *    `GET /version`, `GET /health`, and `POST /report`, which counts JSON reports;
 *  - 42422: `GET /metrics`, where the real Mixer's Prometheus adapter serves the mesh metrics
 *    (the stand-in has none to serve but its own);
 *  - the gRPC port (`--address`/`--port`, 9091): a plain HTTP `GET /health`, only so it exists.
 *
 * Command line: upstream's `mixs server ...`, parsed with that version's flag set.
 *
 * Real sidecars speak gRPC (istio.mixer.v1.Mixer/Check and /Report) to 9091; none of the sandbox
 * proxies do, and this stand-in implements neither Check nor Report over gRPC. `POST /report` is
 * a stand-in-only JSON endpoint for programs that want to show traffic in the counter.
 */
import { pathToFileURL } from 'node:url';
import { HttpError, Router, listen, readBody, sendJson, sendText, type RunningServer, standinHandler } from '../common/server.js';
import { portOfAddress, runUpstreamProgram, type UpstreamCommandLine } from '../common/upstream-cli.js';

export interface MixerOptions {
  monitoringPort: number;
  grpcPort: number;
  /** Omit for none. */
  prometheusPort?: number;
  host?: string;
}

export interface RunningMixer extends RunningServer {
  /** The monitoring port (same as `port`). */
  monitoringPort: number;
  grpcPort: number;
  prometheusPort?: number;
}

export const STANDIN_VERSION = 'mesh-local mixer stand-in 1';
const PROMETHEUS_TEXT = 'text/plain; version=0.0.4; charset=utf-8';

function withStandinHeader(router: Router): Router['handle'] {
  return standinHandler('mixer', router);
}

export async function start(options: MixerOptions): Promise<RunningMixer> {
  const startedAt = process.hrtime.bigint();
  let reports = 0;

  const metrics = () =>
    [
      '# HELP mixer_standin_reports_total Report requests the mixer stand-in received on POST /report.',
      '# TYPE mixer_standin_reports_total counter',
      `mixer_standin_reports_total ${reports}`,
      '# HELP mixer_standin_uptime_seconds Seconds since the mixer stand-in process started serving.',
      '# TYPE mixer_standin_uptime_seconds gauge',
      `mixer_standin_uptime_seconds ${(Number(process.hrtime.bigint() - startedAt) / 1e9).toFixed(3)}`,
      '',
    ].join('\n');
  const health = (response: Parameters<Router['handle']>[1]) => sendJson(response, 200, { status: 'SERVING', standin: true });

  const monitoring = new Router();
  monitoring.add('GET', '/metrics', (_request, response) => sendText(response, 200, metrics(), PROMETHEUS_TEXT));
  monitoring.add('GET', '/version', (_request, response) => sendText(response, 200, `${STANDIN_VERSION}\n`));
  monitoring.add('GET', '/health', (_request, response) => health(response));
  monitoring.add('POST', '/report', async (request, response) => {
    const type = String(request.headers['content-type'] ?? 'application/json').split(';')[0]!.trim();
    if (type !== 'application/json') throw new HttpError(415, `POST /report takes application/json, not ${type}`);
    const text = await readBody(request, 256 * 1024);
    try {
      JSON.parse(text);
    } catch {
      throw new HttpError(400, 'request body is not valid JSON');
    }
    reports++;
    sendJson(response, 200, { accepted: true, reports });
  });

  const grpc = new Router();
  grpc.add('GET', '/health', (_request, response) => health(response));

  const prometheus = new Router();
  prometheus.add('GET', '/metrics', (_request, response) => sendText(response, 200, metrics(), PROMETHEUS_TEXT));

  const servers: RunningServer[] = [];
  try {
    servers.push(await listen(withStandinHeader(monitoring), options.monitoringPort, options.host));
    servers.push(await listen(withStandinHeader(grpc), options.grpcPort, options.host));
    if (options.prometheusPort !== undefined) {
      servers.push(await listen(withStandinHeader(prometheus), options.prometheusPort, options.host));
    }
  } catch (error) {
    await Promise.all(servers.map((server) => server.close()));
    throw error;
  }
  const [monitoringServer, grpcServer, prometheusServer] = servers as [RunningServer, RunningServer, RunningServer | undefined];
  return {
    port: monitoringServer.port,
    url: monitoringServer.url,
    monitoringPort: monitoringServer.port,
    grpcPort: grpcServer.port,
    prometheusPort: prometheusServer?.port,
    close: async () => {
      await Promise.all(servers.map((server) => server.close()));
    },
  };
}

/** The path upstream's mixer image runs (`mixs server` is its ENTRYPOINT). */
export const MIXS = '/usr/local/bin/mixs';
/** The real Mixer's Prometheus adapter always serves here; no flag moves it. */
const PROMETHEUS_ADAPTER_PORT = 42422;

/**
 * Options from `mixs server ...`: the gRPC port from `--address tcp://host:port` where the
 * version has that flag and it is given (0.8), else `--port` (0.6, and 0.8's default), and the
 * monitoring port from `--monitoringPort`.
 */
export function optionsFromCommandLine(commandLine: UpstreamCommandLine): MixerOptions {
  if (commandLine.subcommand !== 'server') throw new Error(`the stand-in runs 'mixs server' only, not '${commandLine.subcommand}'`);
  const address = commandLine.given('address') ? commandLine.string('address') : undefined;
  return {
    monitoringPort: commandLine.int('monitoringPort')!,
    grpcPort: address ? portOfAddress(address, '--address') : commandLine.int('port')!,
    prometheusPort: PROMETHEUS_ADAPTER_PORT,
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runUpstreamProgram('mixs stand-in', MIXS, async (commandLine) => start(optionsFromCommandLine(commandLine)));
}
