/**
 * Istio 0.6/0.8 v1alpha1 routing documents (`apiVersion: config.istio.io/v1alpha2`, kinds
 * `RouteRule` and `DestinationPolicy`), as `istioctl create -f` accepted them.
 *
 * Sources (istio/istio tag 0.8.0):
 * - fields: vendor/istio.io/api/routing/v1alpha1/{route_rule,http_fault,l4_fault,dest_policy}.proto
 * - parsing: pilot/pkg/config/kube/crd/conversion.go `ParseInputs` (YAML stream, empty documents
 *   skipped) and pilot/pkg/model/conversion.go `ApplyJSON` (golang/protobuf jsonpb: unknown fields are
 *   errors, both camelCase and snake_case field names are read)
 * - values: pilot/pkg/model/validation.go `ValidateRouteRule`, `ValidateDestinationPolicy` and the
 *   helpers they call; each check below names the helper it copies.
 *
 * `parseRuleDocuments` needs no registry; `checkAgainstRegistry` does the checks that do.
 */
import { RuleValidationError, type RuleIssue } from '../errors.js';
import { parseRuleDuration } from './durations.js';

export const RULE_API_VERSION = 'config.istio.io/v1alpha2';
export const RULE_KINDS = ['RouteRule', 'DestinationPolicy'] as const;
export type RuleKind = (typeof RULE_KINDS)[number];

/** Durations are kept as written (`7s`) plus their value in milliseconds. */
export interface RuleDuration {
  text: string;
  ms: number;
}

/** IstioService (route_rule.proto). Exactly one of `name` and `service` is set. */
export interface IstioService {
  name?: string;
  namespace?: string;
  domain?: string;
  /** A full hostname (`reviews.service.consul`); takes precedence over name/namespace/domain. */
  service?: string;
  labels?: Record<string, string>;
}

export type StringMatch = { exact: string } | { prefix: string } | { regex: string };

export interface L4MatchAttributes {
  sourceSubnet?: string[];
  destinationSubnet?: string[];
}

export interface MatchCondition {
  source?: IstioService;
  tcp?: L4MatchAttributes;
  /** Upstream rejects it ("UDP protocol not supported yet"); kept only so the type is complete. */
  udp?: L4MatchAttributes;
  request?: { headers?: Record<string, StringMatch> };
}

export interface DestinationWeight {
  destination?: IstioService;
  labels?: Record<string, string>;
  /** 0..100; a single route without weight means 100. */
  weight?: number;
}

export interface HttpRedirect {
  uri?: string;
  authority?: string;
}
export type HttpRewrite = HttpRedirect;

export interface HttpTimeout {
  simpleTimeout?: { timeout: RuleDuration; overrideHeaderName?: string };
}

export interface HttpRetry {
  simpleRetry?: { attempts?: number; perTryTimeout: RuleDuration; overrideHeaderName?: string };
}

export interface HttpFaultInjection {
  delay?: { percent?: number; fixedDelay: RuleDuration; overrideHeaderName?: string };
  abort?: { percent?: number; httpStatus?: number; http2Error?: string; overrideHeaderName?: string };
}

export interface CorsPolicy {
  allowOrigin?: string[];
  allowMethods?: string[];
  allowHeaders?: string[];
  exposeHeaders?: string[];
  maxAge?: RuleDuration;
  allowCredentials?: boolean;
}

export interface RouteRuleSpec {
  destination: IstioService;
  precedence?: number;
  match?: MatchCondition;
  route?: DestinationWeight[];
  redirect?: HttpRedirect;
  rewrite?: HttpRewrite;
  websocketUpgrade?: boolean;
  httpReqTimeout?: HttpTimeout;
  httpReqRetries?: HttpRetry;
  httpFault?: HttpFaultInjection;
  mirror?: IstioService;
  corsPolicy?: CorsPolicy;
  appendHeaders?: Record<string, string>;
}

export const LOAD_BALANCING_NAMES = ['ROUND_ROBIN', 'LEAST_CONN', 'RANDOM'] as const;
export type LoadBalancingName = (typeof LOAD_BALANCING_NAMES)[number];

export interface SimpleCircuitBreakerPolicy {
  maxConnections?: number;
  httpMaxPendingRequests?: number;
  httpMaxRequests?: number;
  sleepWindow: RuleDuration;
  httpConsecutiveErrors?: number;
  httpDetectionInterval: RuleDuration;
  httpMaxRequestsPerConnection?: number;
  httpMaxEjectionPercent?: number;
  httpMaxRetries?: number;
}

export interface DestinationPolicySpec {
  destination: IstioService;
  source?: IstioService;
  loadBalancing?: { name: LoadBalancingName };
  circuitBreaker?: { simpleCb?: SimpleCircuitBreakerPolicy };
}

export interface RuleMetadata {
  name: string;
  namespace?: string;
}

interface RuleDocumentBase {
  /** 1-based position in the file. */
  index: number;
  metadata: RuleMetadata;
}
export type RuleDocument =
  | (RuleDocumentBase & { kind: 'RouteRule'; spec: RouteRuleSpec })
  | (RuleDocumentBase & { kind: 'DestinationPolicy'; spec: DestinationPolicySpec });

type Json = Record<string, unknown>;

/** Collects issues for one document; paths are relative to the document root. */
class Issues {
  readonly list: RuleIssue[] = [];
  name: string | undefined;
  constructor(
    readonly file: string,
    readonly document: number,
  ) {}
  add(path: string, message: string): void {
    this.list.push({
      file: this.file,
      document: this.document,
      ...(this.name === undefined ? {} : { name: this.name }),
      path,
      message,
    });
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

function isMapping(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function camel(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Reads a proto message: a mapping whose keys are the message's fields. jsonpb takes both the JSON
 * (camelCase) and the proto (snake_case) name and refuses unknown fields. `null` means unset.
 */
function message(issues: Issues, value: unknown, path: string, fields: readonly string[]): Json | undefined {
  if (!isMapping(value)) {
    issues.add(path, `must be a mapping, found ${describe(value)}`);
    return undefined;
  }
  const out: Json = {};
  for (const [key, field] of Object.entries(value)) {
    const name = fields.includes(key) ? key : camel(key);
    if (!fields.includes(name)) {
      issues.add(`${path}.${key}`, `unknown field (known: ${fields.join(', ')})`);
      continue;
    }
    if (name in out) {
      issues.add(`${path}.${key}`, `set twice (as ${name} and ${key})`);
      continue;
    }
    if (field !== null) out[name] = field;
  }
  return out;
}

function str(issues: Issues, value: unknown, path: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') {
    issues.add(path, `must be a string, found ${describe(value)}`);
    return undefined;
  }
  return value;
}

function bool(issues: Issues, value: unknown, path: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') {
    issues.add(path, `must be true or false, found ${describe(value)}`);
    return undefined;
  }
  return value;
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** int32 fields: jsonpb refuses fractions and out-of-range numbers. */
function int32(issues: Issues, value: unknown, path: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < INT32_MIN || value > INT32_MAX) {
    issues.add(path, `must be an integer (int32), found ${describe(value)}`);
    return undefined;
  }
  return value;
}

/** float percent: `ValidateFloatPercent` (validation.go@0.8.0), 0..100. */
function floatPercent(issues: Issues, value: unknown, path: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    issues.add(path, `must be a number, found ${describe(value)}`);
    return undefined;
  }
  if (value < 0 || value > 100) {
    issues.add(path, `percentage ${value} is not in range 0..100`);
    return undefined;
  }
  return value;
}

function strings(issues: Issues, value: unknown, path: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) {
    issues.add(path, `must be a list of strings, found ${describe(value)}`);
    return undefined;
  }
  const out: string[] = [];
  value.forEach((item, i) => {
    const s = str(issues, item, `${path}[${i}]`);
    if (s !== undefined) out.push(s);
  });
  return out;
}

function stringMap(issues: Issues, value: unknown, path: string): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  if (!isMapping(value)) {
    issues.add(path, `must be a mapping of strings, found ${describe(value)}`);
    return undefined;
  }
  const out: Record<string, string> = {};
  for (const [key, item] of Object.entries(value)) {
    const s = str(issues, item, `${path}.${key}`);
    if (s !== undefined) out[key] = s;
  }
  return out;
}

function duration(issues: Issues, value: unknown, path: string): RuleDuration | undefined {
  const result = parseRuleDuration(value);
  if (!result.ok) {
    issues.add(path, result.problem);
    return undefined;
  }
  return { text: value as string, ms: result.ms };
}

// DNS-1123 label as pilot wrote it (validation.go@0.8.0 `dns1123LabelFmt`). Its character class
// `[-a-z-A-Z0-9]` admits upper case; copied as is, since that is what istioctl accepted.
const DNS1123_LABEL = /^[a-zA-Z0-9]([-a-z-A-Z0-9]*[a-zA-Z0-9])?$/;
const WILDCARD_LABEL = /^(\*|(\*|\*-)?([a-zA-Z0-9]([-a-z-A-Z0-9]*[a-zA-Z0-9])?))$/;
/** validation.go@0.8.0 `IsDNS1123Label`. */
function isDns1123Label(value: string): boolean {
  return value.length <= 63 && DNS1123_LABEL.test(value);
}
/** validation.go@0.8.0 `ValidateFQDN` (checkDNS1123Preconditions + validateDNS1123Labels). */
function fqdnProblem(domain: string): string | undefined {
  if (domain.length > 255) return `domain name ${JSON.stringify(domain)} too long (max 255)`;
  if (domain.length === 0) return 'empty domain name not allowed';
  const bad = domain.split('.').find((label) => !isDns1123Label(label));
  return bad === undefined ? undefined : `domain name ${JSON.stringify(domain)} invalid (label ${JSON.stringify(bad)} invalid)`;
}
/** validation.go@0.8.0 `ValidateEgressRuleService` → `ValidateEgressRuleDomain` / `validateCIDR`. */
function serviceProblem(service: string): string | undefined {
  if ((service.match(/\//g) ?? []).length === 1) {
    return ipv4CidrProblem(service);
  }
  if (service.length > 255) return `domain name ${JSON.stringify(service)} too long (max 255)`;
  if (service.length === 0) return 'empty domain name not allowed';
  const [first = '', ...rest] = service.split('.');
  if (!(first.length <= 63 && WILDCARD_LABEL.test(first))) {
    return `domain name ${JSON.stringify(service)} invalid (label ${JSON.stringify(first)} invalid)`;
  }
  return rest.length === 0 ? undefined : fqdnProblem(rest.join('.'));
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
function ipv4CidrProblem(cidr: string): string | undefined {
  const [ip = '', bits = ''] = cidr.split('/');
  if (!IPV4.test(ip) || !/^\d{1,2}$/.test(bits) || Number(bits) > 32) return `${cidr} is not a valid CIDR block`;
  return undefined;
}
/** validation.go@0.8.0 `ValidateIPv4Subnet`: `a.b.c.d/xx` or `a.b.c.d`. */
function subnetProblem(subnet: string): string | undefined {
  if ((subnet.match(/\//g) ?? []).length === 1) return ipv4CidrProblem(subnet);
  return IPV4.test(subnet) ? undefined : `${subnet} is not a valid IPv4 address`;
}

/** validation.go@0.8.0 `tagRegexp` (`qualifiedNameFmt`), used by `Labels.Validate` for keys and values. */
const TAG = /^[-A-Za-z0-9_./]*$/;
function labels(issues: Issues, value: unknown, path: string): Record<string, string> | undefined {
  const map = stringMap(issues, value, path);
  if (!map) return undefined;
  for (const [key, item] of Object.entries(map)) {
    if (!TAG.test(key)) issues.add(`${path}.${key}`, `invalid tag key: ${JSON.stringify(key)}`);
    if (!TAG.test(item)) issues.add(`${path}.${key}`, `invalid tag value: ${JSON.stringify(item)}`);
  }
  return map;
}

/** validation.go@0.8.0 `ValidateIstioService`. */
function istioService(issues: Issues, value: unknown, path: string): IstioService | undefined {
  const m = message(issues, value, path, ['name', 'namespace', 'domain', 'service', 'labels']);
  if (!m) return undefined;
  const out: IstioService = {};
  const name = str(issues, m.name, `${path}.name`);
  const namespace = str(issues, m.namespace, `${path}.namespace`);
  const domain = str(issues, m.domain, `${path}.domain`);
  const service = str(issues, m.service, `${path}.service`);
  const labelMap = labels(issues, m.labels, `${path}.labels`);
  // proto3: an empty string is the same as unset.
  if (name) out.name = name;
  if (namespace) out.namespace = namespace;
  if (domain) out.domain = domain;
  if (service) out.service = service;
  if (labelMap && Object.keys(labelMap).length > 0) out.labels = labelMap;

  if (!name && !service) {
    issues.add(path, 'name or service is mandatory for a service reference');
  } else if (name && service) {
    issues.add(path, 'specify either name or service, not both');
  } else if (service) {
    const problem = serviceProblem(service);
    if (problem) issues.add(`${path}.service`, problem);
    if (namespace) issues.add(`${path}.namespace`, 'namespace is not valid when service is provided');
    if (domain) issues.add(`${path}.domain`, 'domain is not valid when service is provided');
  } else if (name && !isDns1123Label(name)) {
    issues.add(`${path}.name`, `name ${JSON.stringify(name)} must be a valid label`);
  }
  if (namespace && !isDns1123Label(namespace)) {
    issues.add(`${path}.namespace`, `namespace ${JSON.stringify(namespace)} must be a valid label`);
  }
  if (domain) {
    const problem = fqdnProblem(domain);
    if (problem) issues.add(`${path}.domain`, problem);
  }
  return out;
}

/** validation.go@0.8.0 `ValidateHTTPHeaderName`: non-empty, lower case. */
function headerNameProblem(name: string): string | undefined {
  if (name === '') return 'header name cannot be empty';
  if (name.toLowerCase() !== name) return `header name ${JSON.stringify(name)} must be in lower case`;
  return undefined;
}

/**
 * Header regexes. Pilot 0.8 does not check them (`ValidateStringMatch` only checks the match type);
 * the v1 sidecar's Envoy hands them to `std::regex` (ECMAScript grammar, whole-value match). We
 * compile them as JavaScript (also ECMAScript) and refuse the JS-only syntax std::regex lacks:
 * lookbehind and named groups. Go RE2-only syntax such as `(?i)` or `(?P<n>...)` fails to compile
 * here, which is right: Envoy would not take it either.
 */
function regexProblem(source: string): string | undefined {
  if (/\(\?<[=!]/.test(source)) return 'lookbehind (?<= / ?<!) is not supported by the sidecar (std::regex)';
  if (/\(\?<[A-Za-z]/.test(source)) return 'named groups (?<name>...) are not supported by the sidecar (std::regex)';
  try {
    new RegExp(source);
    return undefined;
  } catch (error) {
    return `regex does not compile: ${error instanceof Error ? error.message : String(error)}`;
  }
}

function stringMatch(issues: Issues, value: unknown, path: string, header: string): StringMatch | undefined {
  const m = message(issues, value, path, ['exact', 'prefix', 'regex']);
  if (!m) return undefined;
  const kinds = (['exact', 'prefix', 'regex'] as const).filter((k) => m[k] !== undefined);
  if (kinds.length !== 1) {
    issues.add(
      path,
      kinds.length === 0
        ? 'needs one of exact, prefix or regex'
        : `set only one of exact, prefix or regex, found ${kinds.join(' and ')}`,
    );
    return undefined;
  }
  const kind = kinds[0]!;
  const text = str(issues, m[kind], `${path}.${kind}`);
  if (text === undefined) return undefined;
  // validation.go@0.8.0 `ValidateMatchCondition`: the special `uri` header needs a non-empty value.
  if (header === 'uri' && text === '') issues.add(`${path}.${kind}`, `${kind} header value for "uri" must be non-empty`);
  if (kind === 'regex') {
    const problem = regexProblem(text);
    if (problem) issues.add(`${path}.regex`, problem);
  }
  return { [kind]: text } as StringMatch;
}

function l4Match(issues: Issues, value: unknown, path: string): L4MatchAttributes | undefined {
  const m = message(issues, value, path, ['sourceSubnet', 'destinationSubnet']);
  if (!m) return undefined;
  const out: L4MatchAttributes = {};
  for (const field of ['sourceSubnet', 'destinationSubnet'] as const) {
    const list = strings(issues, m[field], `${path}.${field}`);
    if (!list) continue;
    list.forEach((subnet, i) => {
      const problem = subnetProblem(subnet);
      if (problem) issues.add(`${path}.${field}[${i}]`, problem);
    });
    out[field] = list;
  }
  return out;
}

/** validation.go@0.8.0 `ValidateMatchCondition`. */
function matchCondition(issues: Issues, value: unknown, path: string): MatchCondition | undefined {
  const m = message(issues, value, path, ['source', 'tcp', 'udp', 'request']);
  if (!m) return undefined;
  const out: MatchCondition = {};
  if (m.source !== undefined) {
    const source = istioService(issues, m.source, `${path}.source`);
    if (source) out.source = source;
  }
  if (m.tcp !== undefined) {
    const tcp = l4Match(issues, m.tcp, `${path}.tcp`);
    if (tcp) out.tcp = tcp;
  }
  if (m.udp !== undefined) {
    l4Match(issues, m.udp, `${path}.udp`);
    issues.add(`${path}.udp`, 'UDP protocol not supported yet (Pilot 0.8 refuses it)');
  }
  if (m.request !== undefined) {
    const request = message(issues, m.request, `${path}.request`, ['headers']);
    if (request) {
      out.request = {};
      if (request.headers !== undefined) {
        const hpath = `${path}.request.headers`;
        if (!isMapping(request.headers)) {
          issues.add(hpath, `must be a mapping, found ${describe(request.headers)}`);
        } else {
          const headers: Record<string, StringMatch> = {};
          for (const [name, match] of Object.entries(request.headers)) {
            const problem = headerNameProblem(name);
            if (problem) issues.add(`${hpath}.${name}`, problem);
            const parsed = stringMatch(issues, match, `${hpath}.${name}`, name);
            if (parsed) headers[name] = parsed;
          }
          out.request.headers = headers;
        }
      }
    }
  }
  return out;
}

/** validation.go@0.8.0 `ValidateDestinationWeight` + `ValidatePercent`. */
function destinationWeight(issues: Issues, value: unknown, path: string): DestinationWeight | undefined {
  const m = message(issues, value, path, ['destination', 'labels', 'weight']);
  if (!m) return undefined;
  const out: DestinationWeight = {};
  if (m.destination !== undefined) {
    const destination = istioService(issues, m.destination, `${path}.destination`);
    if (destination) out.destination = destination;
  }
  const labelMap = labels(issues, m.labels, `${path}.labels`);
  if (labelMap) out.labels = labelMap;
  const weight = int32(issues, m.weight, `${path}.weight`);
  if (weight !== undefined) {
    if (weight < 0 || weight > 100) issues.add(`${path}.weight`, `weight ${weight} is not in range 0..100`);
    else out.weight = weight;
  }
  return out;
}

function redirectOrRewrite(issues: Issues, value: unknown, path: string, what: string): HttpRedirect | undefined {
  const m = message(issues, value, path, ['uri', 'authority']);
  if (!m) return undefined;
  const uri = str(issues, m.uri, `${path}.uri`);
  const authority = str(issues, m.authority, `${path}.authority`);
  // validation.go@0.8.0 `ValidateRouteRule`: "<what> must specify path, host, or both".
  if (!uri && !authority) issues.add(path, `${what} must specify uri, authority, or both`);
  return { ...(uri ? { uri } : {}), ...(authority ? { authority } : {}) };
}

/** validation.go@0.8.0 `ValidateHTTPFault`, `ValidateDelay`, `ValidateAbort`. */
function httpFault(issues: Issues, value: unknown, path: string): HttpFaultInjection | undefined {
  const m = message(issues, value, path, ['delay', 'abort']);
  if (!m) return undefined;
  const out: HttpFaultInjection = {};
  if (m.delay !== undefined) {
    const p = `${path}.delay`;
    const d = message(issues, m.delay, p, ['percent', 'fixedDelay', 'exponentialDelay', 'overrideHeaderName']);
    if (d) {
      const percent = floatPercent(issues, d.percent, `${p}.percent`);
      const override = str(issues, d.overrideHeaderName, `${p}.overrideHeaderName`);
      if (d.exponentialDelay !== undefined) {
        issues.add(`${p}.exponentialDelay`, 'exponentialDelay not supported yet (Pilot 0.8 refuses it)');
      } else {
        // ValidateDelay validates GetFixedDelay() unconditionally, so a delay needs fixedDelay.
        const fixed = duration(issues, d.fixedDelay, `${p}.fixedDelay`);
        if (fixed) {
          out.delay = {
            fixedDelay: fixed,
            ...(percent !== undefined ? { percent } : {}),
            ...(override ? { overrideHeaderName: override } : {}),
          };
        }
      }
    }
  }
  if (m.abort !== undefined) {
    const p = `${path}.abort`;
    const a = message(issues, m.abort, p, ['percent', 'grpcStatus', 'http2Error', 'httpStatus', 'overrideHeaderName']);
    if (a) {
      const abort: NonNullable<HttpFaultInjection['abort']> = {};
      const percent = floatPercent(issues, a.percent, `${p}.percent`);
      if (percent !== undefined) abort.percent = percent;
      const set = (['grpcStatus', 'http2Error', 'httpStatus'] as const).filter((k) => a[k] !== undefined);
      if (set.length > 1) issues.add(p, `set only one of grpcStatus, http2Error or httpStatus, found ${set.join(' and ')}`);
      if (a.grpcStatus !== undefined) {
        issues.add(`${p}.grpcStatus`, 'gRPC fault injection not supported yet (Pilot 0.8 refuses it)');
      }
      const http2Error = str(issues, a.http2Error, `${p}.http2Error`);
      if (http2Error) abort.http2Error = http2Error;
      const status = int32(issues, a.httpStatus, `${p}.httpStatus`);
      if (status !== undefined) {
        // Upstream `ValidateAbortHTTPStatus` allows 0..600; we require a real status code (100..599),
        // since Envoy answers with the number as the response status.
        if (status < 100 || status > 599) issues.add(`${p}.httpStatus`, `${status} is not an HTTP status (100..599)`);
        else abort.httpStatus = status;
      }
      const override = str(issues, a.overrideHeaderName, `${p}.overrideHeaderName`);
      if (override) abort.overrideHeaderName = override;
      out.abort = abort;
    }
  }
  return out;
}

/** validation.go@0.8.0 `supportedMethods`. */
const SUPPORTED_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);

function corsPolicy(issues: Issues, value: unknown, path: string): CorsPolicy | undefined {
  const fields = ['allowOrigin', 'allowMethods', 'allowHeaders', 'exposeHeaders', 'maxAge', 'allowCredentials'];
  const m = message(issues, value, path, fields);
  if (!m) return undefined;
  const out: CorsPolicy = {};
  const origin = strings(issues, m.allowOrigin, `${path}.allowOrigin`);
  if (origin) out.allowOrigin = origin;
  const methods = strings(issues, m.allowMethods, `${path}.allowMethods`);
  methods?.forEach((method, i) => {
    if (!SUPPORTED_METHODS.has(method)) issues.add(`${path}.allowMethods[${i}]`, `${JSON.stringify(method)} is not a supported HTTP method`);
  });
  if (methods) out.allowMethods = methods;
  for (const field of ['allowHeaders', 'exposeHeaders'] as const) {
    const list = strings(issues, m[field], `${path}.${field}`);
    list?.forEach((name, i) => {
      const problem = headerNameProblem(name);
      if (problem) issues.add(`${path}.${field}[${i}]`, problem);
    });
    if (list) out[field] = list;
  }
  if (m.maxAge !== undefined) {
    const maxAge = duration(issues, m.maxAge, `${path}.maxAge`);
    if (maxAge && maxAge.ms % 1000 !== 0) issues.add(`${path}.maxAge`, 'max_age duration is accurate only to seconds precision');
    else if (maxAge) out.maxAge = maxAge;
  }
  // allowCredentials is a google.protobuf.BoolValue: JSON true/false.
  const credentials = bool(issues, m.allowCredentials, `${path}.allowCredentials`);
  if (credentials !== undefined) out.allowCredentials = credentials;
  return out;
}

/** validation.go@0.8.0 `ValidateRouteRule`. */
function routeRuleSpec(issues: Issues, value: unknown): RouteRuleSpec | undefined {
  const fields = [
    'destination', 'precedence', 'match', 'route', 'redirect', 'rewrite', 'websocketUpgrade',
    'httpReqTimeout', 'httpReqRetries', 'httpFault', 'l4Fault', 'mirror', 'corsPolicy', 'appendHeaders',
  ];
  const m = message(issues, value, 'spec', fields);
  if (!m) return undefined;
  let destination: IstioService | undefined;
  if (m.destination === undefined) {
    issues.add('spec.destination', 'route rule must have a destination service');
  } else {
    destination = istioService(issues, m.destination, 'spec.destination');
    if (destination?.labels) issues.add('spec.destination.labels', 'route rule destination labels must be empty');
  }
  const spec: Partial<RouteRuleSpec> = {};
  // "We don't validate precedence because any int32 is legal."
  const precedence = int32(issues, m.precedence, 'spec.precedence');
  if (precedence !== undefined) spec.precedence = precedence;
  if (m.match !== undefined) {
    const match = matchCondition(issues, m.match, 'spec.match');
    if (match) spec.match = match;
  }
  if (m.rewrite !== undefined) {
    const rewrite = redirectOrRewrite(issues, m.rewrite, 'spec.rewrite', 'rewrite');
    if (rewrite) spec.rewrite = rewrite;
  }
  const websocketUpgrade = bool(issues, m.websocketUpgrade, 'spec.websocketUpgrade');
  if (websocketUpgrade !== undefined) spec.websocketUpgrade = websocketUpgrade;
  if (m.route !== undefined) {
    if (!Array.isArray(m.route)) {
      issues.add('spec.route', `must be a list, found ${describe(m.route)}`);
    } else {
      const before = issues.list.length;
      const routes = m.route.map((item, i) => destinationWeight(issues, item, `spec.route[${i}]`));
      // A total over weights already refused would only repeat those problems.
      if (issues.list.length === before && routes.every((r) => r !== undefined)) {
        // validation.go@0.8.0 `ValidateWeights`: weights total 100, except that a single route
        // without a weight is assumed to be 100.
        const sum = routes.reduce((total, r) => total + (r.weight ?? 0), 0);
        if (routes.length === 1 && sum === 0) {
          routes[0]!.weight = 100;
        } else if (routes.length > 0 && sum !== 100) {
          issues.add('spec.route', `route weights total ${sum} (must total 100)`);
        }
        spec.route = routes;
      }
    }
  }
  if (m.redirect !== undefined) {
    const redirect = redirectOrRewrite(issues, m.redirect, 'spec.redirect', 'redirect');
    if (Array.isArray(m.route) && m.route.length > 0) issues.add('spec.redirect', 'rule cannot contain both route and redirect');
    if (m.httpFault !== undefined) issues.add('spec.redirect', 'rule cannot contain both fault and redirect');
    if (websocketUpgrade) issues.add('spec.redirect', 'WebSocket upgrade is not allowed on redirect rules');
    if (m.rewrite !== undefined) issues.add('spec.redirect', 'rule cannot contain both rewrite and redirect');
    if (redirect) spec.redirect = redirect;
  }
  if (m.mirror !== undefined) {
    const mirror = istioService(issues, m.mirror, 'spec.mirror');
    if (mirror) spec.mirror = mirror;
  }
  const appendHeaders = stringMap(issues, m.appendHeaders, 'spec.appendHeaders');
  if (appendHeaders) {
    for (const [name, item] of Object.entries(appendHeaders)) {
      const problem = headerNameProblem(name);
      if (problem) issues.add(`spec.appendHeaders.${name}`, problem);
      if (item === '') issues.add(`spec.appendHeaders.${name}`, `appended header ${JSON.stringify(name)} must have a non-empty value`);
    }
    spec.appendHeaders = appendHeaders;
  }
  if (m.corsPolicy !== undefined) {
    const cors = corsPolicy(issues, m.corsPolicy, 'spec.corsPolicy');
    if (cors) spec.corsPolicy = cors;
  }
  if (m.httpReqTimeout !== undefined) {
    // validation.go@0.8.0 `ValidateHTTPTimeout`; `custom` (google.protobuf.Any) is not modelled.
    const t = message(issues, m.httpReqTimeout, 'spec.httpReqTimeout', ['simpleTimeout']);
    if (t?.simpleTimeout !== undefined) {
      const p = 'spec.httpReqTimeout.simpleTimeout';
      const s = message(issues, t.simpleTimeout, p, ['timeout', 'overrideHeaderName']);
      if (s) {
        const timeout = duration(issues, s.timeout, `${p}.timeout`);
        const override = str(issues, s.overrideHeaderName, `${p}.overrideHeaderName`);
        if (timeout) spec.httpReqTimeout = { simpleTimeout: { timeout, ...(override ? { overrideHeaderName: override } : {}) } };
      }
    } else if (t) {
      spec.httpReqTimeout = {};
    }
  }
  if (m.httpReqRetries !== undefined) {
    // validation.go@0.8.0 `ValidateHTTPRetries`: attempts >= 0, perTryTimeout a valid duration.
    const r = message(issues, m.httpReqRetries, 'spec.httpReqRetries', ['simpleRetry']);
    if (r?.simpleRetry !== undefined) {
      const p = 'spec.httpReqRetries.simpleRetry';
      const s = message(issues, r.simpleRetry, p, ['attempts', 'perTryTimeout', 'overrideHeaderName']);
      if (s) {
        const attempts = int32(issues, s.attempts, `${p}.attempts`);
        if (attempts !== undefined && attempts < 0) issues.add(`${p}.attempts`, 'attempts must be in range [0..]');
        const perTryTimeout = duration(issues, s.perTryTimeout, `${p}.perTryTimeout`);
        const override = str(issues, s.overrideHeaderName, `${p}.overrideHeaderName`);
        if (perTryTimeout) {
          spec.httpReqRetries = {
            simpleRetry: {
              perTryTimeout,
              ...(attempts !== undefined ? { attempts } : {}),
              ...(override ? { overrideHeaderName: override } : {}),
            },
          };
        }
      }
    } else if (r) {
      spec.httpReqRetries = {};
    }
  }
  if (m.httpFault !== undefined) {
    const fault = httpFault(issues, m.httpFault, 'spec.httpFault');
    if (fault) spec.httpFault = fault;
  }
  if (m.l4Fault !== undefined) {
    issues.add('spec.l4Fault', 'L4 faults are not implemented (Pilot 0.8 refuses them)');
  }
  if (!destination) return undefined;
  return { ...spec, destination };
}

/** validation.go@0.8.0 `ValidateCircuitBreaker`. */
function simpleCb(issues: Issues, value: unknown, path: string): SimpleCircuitBreakerPolicy | undefined {
  const counters = [
    'maxConnections', 'httpMaxPendingRequests', 'httpMaxRequests', 'httpConsecutiveErrors',
    'httpMaxRequestsPerConnection', 'httpMaxRetries',
  ] as const;
  const m = message(issues, value, path, [...counters, 'sleepWindow', 'httpDetectionInterval', 'httpMaxEjectionPercent']);
  if (!m) return undefined;
  const out: Partial<SimpleCircuitBreakerPolicy> = {};
  for (const field of counters) {
    const n = int32(issues, m[field], `${path}.${field}`);
    if (n === undefined) continue;
    // Upstream checks all but httpMaxRetries for >= 0; a negative retry budget makes no sense either.
    if (n < 0) issues.add(`${path}.${field}`, `${field} must be in range [0..]`);
    else out[field] = n;
  }
  const eject = int32(issues, m.httpMaxEjectionPercent, `${path}.httpMaxEjectionPercent`);
  if (eject !== undefined) {
    if (eject < 0 || eject > 100) issues.add(`${path}.httpMaxEjectionPercent`, `percentage ${eject} is not in range 0..100`);
    else out.httpMaxEjectionPercent = eject;
  }
  // ValidateCircuitBreaker runs ValidateDuration on both, and ValidateDuration(nil) fails: a simpleCb
  // without them was refused by istioctl.
  const sleepWindow = duration(issues, m.sleepWindow, `${path}.sleepWindow`);
  const detection = duration(issues, m.httpDetectionInterval, `${path}.httpDetectionInterval`);
  if (!sleepWindow || !detection) return undefined;
  return { ...out, sleepWindow, httpDetectionInterval: detection };
}

/** validation.go@0.8.0 `ValidateDestinationPolicy`. */
function destinationPolicySpec(issues: Issues, value: unknown): DestinationPolicySpec | undefined {
  const m = message(issues, value, 'spec', ['destination', 'source', 'loadBalancing', 'circuitBreaker', 'custom']);
  if (!m) return undefined;
  const spec: Partial<DestinationPolicySpec> = {};
  let destination: IstioService | undefined;
  if (m.destination === undefined) {
    issues.add('spec.destination', 'destination is required in the destination policy');
  } else {
    destination = istioService(issues, m.destination, 'spec.destination');
  }
  if (m.source !== undefined) {
    const source = istioService(issues, m.source, 'spec.source');
    if (source) spec.source = source;
  }
  if (m.custom !== undefined) issues.add('spec.custom', 'custom policies (google.protobuf.Any) are not supported by mesh-local');
  if (m.loadBalancing !== undefined) {
    const lb = message(issues, m.loadBalancing, 'spec.loadBalancing', ['name', 'custom']);
    if (lb) {
      if (lb.custom !== undefined) issues.add('spec.loadBalancing.custom', 'custom load balancing (google.protobuf.Any) is not supported by mesh-local');
      // `ValidateLoadBalancing`: "must set load balancing if specified". jsonpb takes the enum by name
      // or number.
      if (lb.name === undefined) {
        if (lb.custom === undefined) issues.add('spec.loadBalancing', 'must set load balancing if specified');
      } else {
        const name = typeof lb.name === 'number' ? LOAD_BALANCING_NAMES[lb.name] : lb.name;
        if (typeof name === 'string' && (LOAD_BALANCING_NAMES as readonly string[]).includes(name)) {
          spec.loadBalancing = { name: name as LoadBalancingName };
        } else {
          issues.add('spec.loadBalancing.name', `must be one of ${LOAD_BALANCING_NAMES.join(', ')}, found ${describe(lb.name)}`);
        }
      }
    }
  }
  if (m.circuitBreaker !== undefined) {
    const cb = message(issues, m.circuitBreaker, 'spec.circuitBreaker', ['simpleCb', 'custom']);
    if (cb?.custom !== undefined) issues.add('spec.circuitBreaker.custom', 'custom circuit breakers (google.protobuf.Any) are not supported by mesh-local');
    if (cb?.simpleCb !== undefined) {
      const simple = simpleCb(issues, cb.simpleCb, 'spec.circuitBreaker.simpleCb');
      if (simple) spec.circuitBreaker = { simpleCb: simple };
    } else if (cb) {
      spec.circuitBreaker = {};
    }
  }
  if (!destination) return undefined;
  return { ...spec, destination };
}

/** Kubernetes metadata.name of a custom resource: a DNS-1123 subdomain (lower case, <= 253). */
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LOWER_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

const V1ALPHA3_MESSAGE =
  'networking.istio.io/v1alpha3 (VirtualService, DestinationRule, Gateway, ServiceEntry) is served ' +
  'by Pilot only over Envoy v2 xDS to the proxyv2 sidecar; mesh-local runs the Istio 0.6/0.8 ' +
  'non-Kubernetes path, whose sidecars (proxy_debug) fetch routes from Pilot\'s v1 REST discovery, ' +
  'which reads config.istio.io/v1alpha2 RouteRule and DestinationPolicy only. Write the rule as a ' +
  'RouteRule or DestinationPolicy (samples/bookinfo/rules/ has BookInfo\'s scenarios written so; upstream\'s ' +
  'samples/bookinfo/routing/ROUTING_RULE_MIGRATION.md at 0.8.0 maps the fields)';

function parseDocument(issues: Issues, doc: unknown): RuleDocument | undefined {
  if (!isMapping(doc)) {
    issues.add('(document)', `must be a mapping, found ${describe(doc)}`);
    return undefined;
  }
  // Name first, so that every later issue carries it.
  const meta = doc.metadata;
  let metadata: RuleMetadata | undefined;
  if (!isMapping(meta)) {
    issues.add('metadata', meta === undefined ? 'is required' : `must be a mapping, found ${describe(meta)}`);
  } else {
    if (typeof meta.name === 'string' && meta.name !== '') issues.name = meta.name;
    if (meta.name === undefined || meta.name === '') {
      issues.add('metadata.name', 'is required');
    } else if (typeof meta.name !== 'string') {
      issues.add('metadata.name', `must be a string, found ${describe(meta.name)}`);
    } else if (meta.name.length > 253 || !DNS1123_SUBDOMAIN.test(meta.name)) {
      issues.add(
        'metadata.name',
        `${JSON.stringify(meta.name)} must be a DNS-1123 name: lower-case letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters`,
      );
    } else {
      metadata = { name: meta.name };
    }
    if (meta.namespace !== undefined) {
      if (typeof meta.namespace !== 'string' || meta.namespace.length > 63 || !DNS1123_LOWER_LABEL.test(meta.namespace)) {
        issues.add('metadata.namespace', `must be a DNS-1123 label (lower-case letters, digits and '-', at most 63), found ${describe(meta.namespace)}`);
        metadata = undefined;
      } else if (metadata) {
        metadata.namespace = meta.namespace;
      }
    }
  }

  if (doc.apiVersion === 'networking.istio.io/v1alpha3') {
    issues.add('apiVersion', V1ALPHA3_MESSAGE);
    return undefined;
  }
  if (doc.apiVersion !== RULE_API_VERSION) {
    issues.add('apiVersion', `must be ${RULE_API_VERSION}, found ${describe(doc.apiVersion)}`);
    return undefined;
  }
  const kind = doc.kind;
  if (kind !== 'RouteRule' && kind !== 'DestinationPolicy') {
    issues.add('kind', `must be RouteRule or DestinationPolicy, found ${describe(kind)}`);
    return undefined;
  }
  if (doc.spec === undefined || doc.spec === null) {
    issues.add('spec', 'is required');
    return undefined;
  }
  if (kind === 'RouteRule') {
    const spec = routeRuleSpec(issues, doc.spec);
    return spec && metadata ? { kind, index: issues.document, metadata, spec } : undefined;
  }
  const spec = destinationPolicySpec(issues, doc.spec);
  return spec && metadata ? { kind, index: issues.document, metadata, spec } : undefined;
}

/**
 * Validates the documents of one file without registry knowledge. Empty (null) documents are
 * skipped, as `ParseInputs` (pilot/pkg/config/kube/crd/conversion.go@0.8.0) skips them; indices
 * stay 1-based positions in `documents`. All or nothing: throws one `RuleValidationError` listing
 * every problem of the file.
 */
export function parseRuleDocuments(documents: readonly unknown[], file: string): RuleDocument[] {
  const all: RuleIssue[] = [];
  const out: RuleDocument[] = [];
  documents.forEach((doc, i) => {
    if (doc === null || doc === undefined) return;
    const issues = new Issues(file, i + 1);
    const parsed = parseDocument(issues, doc);
    all.push(...issues.list);
    if (parsed && issues.list.length === 0) out.push(parsed);
  });
  const seen = new Map<string, number>();
  for (const doc of out) {
    const key = `${doc.kind}/${doc.metadata.namespace ?? ''}/${doc.metadata.name}`;
    const first = seen.get(key);
    if (first !== undefined) {
      all.push({
        file,
        document: doc.index,
        name: doc.metadata.name,
        path: 'metadata.name',
        message: `a ${doc.kind} with this name is already in document ${first}`,
      });
    } else {
      seen.set(key, doc.index);
    }
  }
  if (all.length > 0) throw new RuleValidationError(all);
  return out;
}

/** Instance labels per hostname, as Pilot's registry adapter reports them. */
export type RegistryServices = ReadonlyMap<string, readonly Readonly<Record<string, string>>[]>;

/** Pilot 0.8's Consul adapter names services `<name>.service.consul` (consul/conversion.go `serviceHostname`). */
export function consulHostname(service: string): string {
  return `${service}.service.consul`;
}

/**
 * The hostname Pilot resolves an IstioService to, copied from `ResolveHostname`
 * (pilot/pkg/model/config.go@0.8.0): `service` verbatim; otherwise `name`, then `.namespace`
 * (its own, else the rule's), then `.domain`. Without a domain Pilot appends `.svc.<its domain>`,
 * which is never a Consul or Eureka hostname; we return undefined then.
 */
export function resolveHostname(svc: IstioService, metadata: RuleMetadata): string | undefined {
  if (svc.service) return svc.service;
  if (!svc.name) return undefined;
  const namespace = svc.namespace ?? metadata.namespace;
  if (!svc.domain) return undefined;
  return [svc.name, namespace, svc.domain].filter(Boolean).join('.');
}

function matches(selector: Readonly<Record<string, string>>, instance: Readonly<Record<string, string>>): boolean {
  return Object.entries(selector).every(([key, value]) => instance[key] === value);
}

/**
 * Checks that need the registry. `services` maps each hostname Pilot sees to its instances' labels:
 * Consul hostnames are `<name>.service.consul` (`consulHostname`); Eureka hostnames are the
 * instances' registered `hostName` as is (pilot/pkg/serviceregistry/eureka/conversion.go@0.8.0
 * `convertServices`). Each rule's destination (and a DestinationPolicy's source, a match source and
 * a mirror) must resolve to a known hostname, and every `route[].labels` selector must match at least
 * one instance of that service. Throws one `RuleValidationError` listing every problem.
 */
export function checkAgainstRegistry(rules: readonly RuleDocument[], services: RegistryServices, file: string): void {
  const issues: RuleIssue[] = [];
  const known = [...services.keys()].sort();
  const lookup = (doc: RuleDocument, svc: IstioService, path: string): string | undefined => {
    const add = (message: string) => issues.push({ file, document: doc.index, name: doc.metadata.name, path, message });
    const hostname = resolveHostname(svc, doc.metadata);
    if (hostname === undefined) {
      const guess = known.find((h) => h === svc.name || h.split('.')[0] === svc.name);
      add(
        `name ${JSON.stringify(svc.name)} without a domain resolves to a Kubernetes-style hostname (<name>.<namespace>.svc.<domain>), ` +
          `which no Consul or Eureka service has; use service: ${guess ?? '<hostname>'}`,
      );
      return undefined;
    }
    if (!services.has(hostname)) {
      // A short name with Consul (`reviews` for `reviews.service.consul`) is the usual slip.
      const near = known.find((candidate) => candidate.split('.')[0] === hostname.split('.')[0]);
      add(
        `no service ${JSON.stringify(hostname)} in the registry (known: ${known.join(', ') || 'none'})` +
          (near ? `; did you mean ${JSON.stringify(near)}?` : ''),
      );
      return undefined;
    }
    return hostname;
  };
  for (const doc of rules) {
    const destination = lookup(doc, doc.spec.destination, 'spec.destination');
    if (doc.kind === 'RouteRule') {
      if (doc.spec.match?.source) lookup(doc, doc.spec.match.source, 'spec.match.source');
      if (doc.spec.mirror) lookup(doc, doc.spec.mirror, 'spec.mirror');
      doc.spec.route?.forEach((route, i) => {
        const target = route.destination ? lookup(doc, route.destination, `spec.route[${i}].destination`) : destination;
        if (target === undefined || !route.labels || Object.keys(route.labels).length === 0) return;
        const instances = services.get(target) ?? [];
        if (!instances.some((instance) => matches(route.labels!, instance))) {
          const selector = Object.entries(route.labels).map(([k, v]) => `${k}=${v}`).join(',');
          issues.push({
            file,
            document: doc.index,
            name: doc.metadata.name,
            path: `spec.route[${i}].labels`,
            message: `no instance of ${target} has labels ${selector}`,
          });
        }
      });
    } else if (doc.spec.source) {
      lookup(doc, doc.spec.source, 'spec.source');
    }
  }
  if (issues.length > 0) throw new RuleValidationError(issues);
}
