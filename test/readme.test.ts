import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { UPSTREAM_IMAGE_FACTS } from '../src/model/upstream/facts.js';

/**
 * The README's version section lists what could not be confirmed about the upstream images; each
 * image with an `unverified` fact must be named there. A new image, or a new doubt about one, needs
 * a line in the README (and a name here to find it by).
 */
const NAMED_AS: Record<string, RegExp> = {
  'docker.io/istio/pilot:0.8.0': /pilot and\s+proxy_debug 0\.8\.0/,
  'docker.io/istio/proxy_debug:0.8.0': /proxy_debug 0\.8\.0/,
  'docker.io/istio/proxy_init:0.8.0': /essential commands of its distribution/,
  'docker.io/istio/citadel:0.8.0': /`istio_ca`'s flags/,
  'docker.io/istio/grafana:0.8.0': /grafana's build of 5\.0\.x/,
  'docker.io/istio/proxy_debug:0.6.0': /essential commands of its distribution/,
  'docker.io/istio/proxy_init:0.6.0': /proxy_init 0\.6\.0's `gcr\.io\/istio-testing\/iptables`/,
  'docker.io/istio/istio-ca:0.6.0': /`istio_ca`'s flags/,
  'docker.io/istio/grafana:0.6.0': /grafana's build of 5\.0\.x/,
  'quay.io/coreos/etcd:v3.2.18': /etcd's `alpine:latest`/,
  'gcr.io/google_containers/kube-apiserver-amd64:v1.7.3': /kube-apiserver v1\.7\.3's flag set/,
  'docker.io/prom/prometheus:v2.0.0': /Prometheus' busybox/,
  'docker.io/curlimages/curl:7.85.0': /curl's Alpine 3\.15/,
  'docker.io/openzipkin/zipkin:2.6.0': /Zipkin's Alpine base/,
  'docker.io/openzipkin/zipkin:2.7': /Zipkin's `2\.7` tag/,
  'docker.io/library/consul:1.3.0': /consul 1\.3\.0's agent flags/,
  'docker.io/gliderlabs/registrator:master': /`gliderlabs\/registrator:master`/,
  'docker.io/ijsnellf/registrator:v7': /`ijsnellf\/registrator:v7`/,
  'docker.io/netflixoss/eureka:1.3.1': /Eureka's image very likely has GNU wget/,
  'registry.k8s.io/pause:3.1': /`pause:3\.1` was built from/,
};

describe('README: what could not be confirmed', () => {
  it('names every upstream image with an unverified fact', async () => {
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    const start = readme.indexOf('What could not be confirmed');
    expect(start).toBeGreaterThan(-1);
    const section = readme.slice(start, readme.indexOf('\n## ', start));
    const doubtful = UPSTREAM_IMAGE_FACTS.filter(
      (image) => (image.unverified?.length ?? 0) > 0 || image.programs.some((program) => (program.unverified?.length ?? 0) > 0 || !program.complete),
    );
    const unnamed = doubtful
      .filter((image) => !(NAMED_AS[image.reference] ?? (image.reference.includes('examples-bookinfo') ? /The BookInfo 1\.5\.0/ : undefined))?.test(section))
      .map((image) => image.reference);
    expect(unnamed).toEqual([]);
  });
});
