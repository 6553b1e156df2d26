/**
 * Typed errors. Every error the tool raises on purpose carries a stable `code` and the exit
 * code it maps to; `exitCodeFor` in this file is the only place that decides exit codes.
 *
 * Exit codes: 0 ok, 1 runtime failure, 2 bad input or usage, 130 interrupted (Ctrl-C), 141 the
 * reader of stdout or stderr went away (`mesh-local ... | head -1`).
 */

export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  interrupted: 130,
  /**
   * 128 + SIGPIPE: what the shell reports for git, coreutils and Go programs, which SIGPIPE kills
   * when their reader closes the pipe. Node ignores SIGPIPE, so mesh-local exits with the code.
   */
  outputClosed: 141,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export type ErrorCode =
  | 'ML_USAGE'
  | 'ML_CONFIG_INVALID'
  | 'ML_INPUT_UNREADABLE'
  | 'ML_INPUT_TOO_LARGE'
  | 'ML_YAML_SYNTAX'
  | 'ML_YAML_ALIAS_EXPANSION'
  | 'ML_INPUT_SHAPE'
  | 'ML_RULE_INVALID'
  | 'ML_OUTPUT_CONFLICT'
  | 'ML_COMPOSE_FAILED'
  | 'ML_DOCKER_UNREACHABLE'
  | 'ML_IMAGE_BUILD_FAILED'
  | 'ML_IMAGE_UNAVAILABLE'
  | 'ML_PREFLIGHT'
  | 'ML_SERVICE_FAILED'
  | 'ML_HEALTH_TIMEOUT'
  | 'ML_INTERRUPTED'
  | 'ML_REMOVAL_FAILED'
  | 'ML_PROJECT_NOT_RUNNING'
  | 'ML_CONFIG_STORE'
  | 'ML_NOT_FOUND'
  | 'ML_VERIFY_MISMATCH'
  | 'ML_INTERNAL';

export abstract class MeshLocalError extends Error {
  abstract readonly code: ErrorCode;
  abstract readonly exitCode: ExitCode;
  /** Optional next step shown under the message. */
  readonly hint: string | undefined;

  constructor(message: string, options: { cause?: unknown; hint?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
  }
}

/** Wrong flags, unknown choices, missing arguments. */
export class UsageError extends MeshLocalError {
  readonly code = 'ML_USAGE';
  readonly exitCode = ExitCode.usage;
}

export interface ConfigIssue {
  /** Dotted path of the setting, e.g. `ports.gateway`. */
  path: string;
  message: string;
  /** Where the bad value came from: `mesh-local.yaml`, `MESH_LOCAL_REGISTRY`, `--registry`... */
  source?: string;
}

/** One or more settings are invalid; all of them are reported at once. */
export class ConfigError extends MeshLocalError {
  readonly code = 'ML_CONFIG_INVALID';
  readonly exitCode = ExitCode.usage;
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], options: { hint?: string } = {}) {
    super(
      issues.length === 1
        ? formatIssue(issues[0]!)
        : `invalid settings:\n${issues.map((issue) => `  - ${formatIssue(issue)}`).join('\n')}`,
      options,
    );
    this.issues = issues;
  }
}

function formatIssue(issue: ConfigIssue): string {
  const from = issue.source ? ` (from ${issue.source})` : '';
  return `${issue.path}: ${issue.message}${from}`;
}

/** An input file could not be read, or is larger than we accept. */
export class InputFileError extends MeshLocalError {
  readonly code: 'ML_INPUT_UNREADABLE' | 'ML_INPUT_TOO_LARGE';
  readonly exitCode = ExitCode.usage;
  readonly file: string;

  constructor(
    code: 'ML_INPUT_UNREADABLE' | 'ML_INPUT_TOO_LARGE',
    file: string,
    message: string,
    options: { cause?: unknown; hint?: string } = {},
  ) {
    super(message, options);
    this.code = code;
    this.file = file;
  }
}

/** Malformed YAML, or YAML whose aliases would expand beyond our limits. */
export class YamlError extends MeshLocalError {
  readonly code: 'ML_YAML_SYNTAX' | 'ML_YAML_ALIAS_EXPANSION';
  readonly exitCode = ExitCode.usage;
  readonly file: string;
  /** 1-based, when known. */
  readonly line: number | undefined;
  readonly column: number | undefined;

  constructor(
    code: 'ML_YAML_SYNTAX' | 'ML_YAML_ALIAS_EXPANSION',
    file: string,
    reason: string,
    position: { line?: number; column?: number } = {},
    options: { cause?: unknown } = {},
  ) {
    const where =
      position.line === undefined ? file : `${file}:${position.line}:${position.column ?? 1}`;
    super(`${where}: ${reason}`, options);
    this.code = code;
    this.file = file;
    this.line = position.line;
    this.column = position.column;
  }
}

/** Well-formed YAML with the wrong shape, e.g. `services` as a list. */
export class InputShapeError extends MeshLocalError {
  readonly code = 'ML_INPUT_SHAPE';
  readonly exitCode = ExitCode.usage;
  readonly file: string;
  readonly path: string;

  constructor(file: string, path: string, expected: string, found: string) {
    super(`${file}: '${path}' must be ${expected}, found ${found}`);
    this.file = file;
    this.path = path;
  }
}

/** One problem in a route-rule file: which document, which field, what is wrong. */
export interface RuleIssue {
  file: string;
  /** 1-based position of the document in the file. */
  document: number;
  /** `metadata.name`, when the document has one. */
  name?: string;
  /** Field path inside the document, e.g. `spec.route[1].weight`. */
  path: string;
  message: string;
}

/** A RouteRule/DestinationPolicy file has problems; all of them are reported at once. */
export class RuleValidationError extends MeshLocalError {
  readonly code = 'ML_RULE_INVALID';
  readonly exitCode = ExitCode.usage;
  readonly issues: readonly RuleIssue[];

  constructor(issues: readonly RuleIssue[], options: { hint?: string } = {}) {
    super(
      issues.length === 1
        ? formatRuleIssue(issues[0]!)
        : `${issues.length} problems in route rules:\n${issues.map((issue) => `  - ${formatRuleIssue(issue)}`).join('\n')}`,
      options,
    );
    this.issues = issues;
  }
}

function formatRuleIssue(issue: RuleIssue): string {
  const name = issue.name === undefined ? '' : ` (${issue.name})`;
  return `${issue.file}: document ${issue.document}${name}: ${issue.path}: ${issue.message}`;
}

/** Refusing to overwrite a file that mesh-local did not write. */
export class OutputConflictError extends MeshLocalError {
  readonly code = 'ML_OUTPUT_CONFLICT';
  readonly exitCode = ExitCode.usage;
}

/** A Compose CLI invocation failed. Keeps argv and the tail of stderr for the report. */
export class ComposeCommandError extends MeshLocalError {
  readonly code = 'ML_COMPOSE_FAILED';
  readonly exitCode = ExitCode.failure;
  readonly argv: readonly string[];
  readonly processExitCode: number | null;
  readonly stderrTail: string;

  constructor(argv: readonly string[], processExitCode: number | null, stderrTail: string) {
    super(
      `${argv.join(' ')} exited with ${processExitCode ?? 'a signal'}` +
        (stderrTail ? `:\n${stderrTail}` : ''),
    );
    this.argv = argv;
    this.processExitCode = processExitCode;
    this.stderrTail = stderrTail;
  }
}

/** The Docker Engine does not answer. */
export class DockerUnreachableError extends MeshLocalError {
  readonly code = 'ML_DOCKER_UNREACHABLE';
  readonly exitCode = ExitCode.failure;
}

/** An image of a set could not be built; names the image and keeps the build output's tail. */
export class ImageBuildError extends MeshLocalError {
  readonly code = 'ML_IMAGE_BUILD_FAILED';
  readonly exitCode = ExitCode.failure;
  readonly image: string;
  outputTail = '';

  constructor(image: string, reason: string, options: { cause?: unknown; hint?: string } = {}) {
    super(`building ${image} failed: ${reason}`, options);
    this.image = image;
  }
}

/** An image a stack needs is missing and cannot be made here. */
export class ImageUnavailableError extends MeshLocalError {
  readonly code = 'ML_IMAGE_UNAVAILABLE';
  readonly exitCode = ExitCode.failure;
}

/** Something that blocks `up` was found before anything started (a taken host port...). */
export class PreflightError extends MeshLocalError {
  readonly code = 'ML_PREFLIGHT';
  readonly exitCode = ExitCode.failure;
}

/** A service exited, turned unhealthy or restarted in a loop while mesh-local waited. */
export class ServiceFailedError extends MeshLocalError {
  readonly code = 'ML_SERVICE_FAILED';
  readonly exitCode = ExitCode.failure;
}

/** The deadline passed with services still not ready; lists them with what was last seen. */
export class HealthTimeoutError extends MeshLocalError {
  readonly code = 'ML_HEALTH_TIMEOUT';
  readonly exitCode = ExitCode.failure;
}

/** Ctrl-C: the wait stopped; the message says how to resume or clean up. */
export class InterruptedError extends MeshLocalError {
  readonly code = 'ML_INTERRUPTED';
  readonly exitCode = ExitCode.interrupted;
}

/** `down` (or a rollback) could not remove something of the project; names what is left and why. */
export class ProjectRemovalError extends MeshLocalError {
  readonly code = 'ML_REMOVAL_FAILED';
  readonly exitCode = ExitCode.failure;
}

/** A command needs a running project's component (API server, pilot, gateway) that is not running. */
export class ProjectNotRunningError extends MeshLocalError {
  readonly code = 'ML_PROJECT_NOT_RUNNING';
  readonly exitCode = ExitCode.failure;

  constructor(project: string, missing: readonly string[]) {
    super(`project ${project} has no running ${missing.join(', ')}`, {
      hint: `start it with \`mesh-local up --project ${project}\`${missing.includes('gateway') ? ` and \`mesh-local bookinfo --project ${project}\`` : ''}`,
    });
  }
}

/** The config store (the API server) refused or failed a request; the message has its status and reason. */
export class ConfigStoreError extends MeshLocalError {
  readonly code = 'ML_CONFIG_STORE';
  readonly exitCode = ExitCode.failure;
}

/** A named object (a route rule, a destination policy) does not exist. */
export class NotFoundError extends MeshLocalError {
  readonly code = 'ML_NOT_FOUND';
  readonly exitCode = ExitCode.failure;
}

/** `verify --expect`: the observed traffic differs from the expectation; the message names each difference. */
export class VerifyMismatchError extends MeshLocalError {
  readonly code = 'ML_VERIFY_MISMATCH';
  readonly exitCode = ExitCode.failure;
}

/** A bug in mesh-local. */
export class InternalError extends MeshLocalError {
  readonly code = 'ML_INTERNAL';
  readonly exitCode = ExitCode.failure;
}

/** The one place that maps a thrown value to a process exit code. */
export function exitCodeFor(error: unknown): ExitCode {
  if (error instanceof MeshLocalError) return error.exitCode;
  if (isAbortError(error)) return ExitCode.interrupted;
  return ExitCode.failure;
}

export function isAbortError(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}
