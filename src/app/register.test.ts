import { describe, expect, it } from 'vitest';
import { UsageError } from '../errors.js';
import { parseNamedPort, parseRegistration } from './register.js';

describe('register arguments', () => {
  it('reads [name:]port as istioctl does, with the protocol from the name', () => {
    expect(parseNamedPort('8090')).toEqual({ name: 'http', port: 8090, protocol: 'http' });
    expect(parseNamedPort('443')).toEqual({ name: 'https', port: 443, protocol: 'https' });
    expect(parseNamedPort('grpc:9090')).toEqual({ name: 'grpc', port: 9090, protocol: 'grpc' });
    expect(parseNamedPort('http-api:8080')).toEqual({ name: 'http-api', port: 8080, protocol: 'http' });
  });

  it.each([
    ['Host_Svc', '172.20.0.1', ['80'], /NAME 'Host_Svc'/],
    ['-svc', '172.20.0.1', ['80'], /DNS label/],
    ['a'.repeat(64), '172.20.0.1', ['80'], /at most 63/],
    ['svc', '172.20.0', ['80'], /IP '172.20.0'/],
    ['svc', '::1', ['80'], /IPv4/],
    ['svc', '127.0.0.1', ['80'], /loopback/],
    ['svc', '172.20.0.1', ['0'], /1 to 65535/],
    ['svc', '172.20.0.1', ['65536'], /1 to 65535/],
    ['svc', '172.20.0.1', ['http:'], /1 to 65535/],
    ['svc', '172.20.0.1', ['web:80'], /protocol pilot knows/],
    ['svc', '172.20.0.1', ['HTTP:80'], /port name/],
    ['svc', '172.20.0.1', ['http--a:80'], /port name/],
    ['svc', '172.20.0.1', ['80', 'http:80'], /given twice/],
    ['svc', '172.20.0.1', [], /at least one/],
  ])('refuses %s %s %j with exit 2', (name, ip, ports, message) => {
    let error: unknown;
    try {
      parseRegistration(name, ip, ports);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).exitCode).toBe(2);
    expect((error as Error).message).toMatch(message);
  });

  it('refuses a version that is no label value', () => {
    expect(() => parseRegistration('svc', '10.0.0.7', ['80'], 'v 2')).toThrow(/--app-version/);
    expect(parseRegistration('svc', '10.0.0.7', ['80'], 'v2.1').version).toBe('v2.1');
  });
});
