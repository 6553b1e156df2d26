/**
 * Upstream facts of the pod's network-namespace holder: Kubernetes' pause image, which the
 * kubelet starts first in every pod so that the pod's other containers can join (and rejoin,
 * after a restart) one network namespace that outlives them.
 */
import type { ImageFacts } from './types.js';

const PAUSE_31: ImageFacts = {
  reference: 'registry.k8s.io/pause:3.1',
  base: 'scratch: one static binary, no shell and no other tool',
  entrypoint: ['/pause'],
  cmd: null,
  user: 'root',
  tools: [],
  programs: [
    {
      path: '/pause',
      // pause.c reads only `-v` (print the version and exit 0) and ignores every other argument;
      // it sleeps until SIGINT or SIGTERM (exit 0) and reaps orphaned children on SIGCHLD.
      syntax: 'none',
      flags: [],
      positionals: { kind: 'any' },
      refusal: { exitCode: 0 },
      complete: true,
      sources: [
        { repo: 'kubernetes/kubernetes', path: 'build/pause/pause.c', ref: 'e8387da7d8546b64aca566ebb1727aaa02a61eca', note: 'SIGINT/SIGTERM exit 0, SIGCHLD reaps, the pause() loop; takes no arguments (the 3.1 CHANGELOG adds only `-v`).' },
      ],
    },
  ],
  sources: [
    { repo: 'kubernetes/kubernetes', path: 'build/pause/Dockerfile', ref: '10765f6a6dabb90c62d72e13de8350a7dd601254', note: 'FROM scratch, ADD the binary as /pause, ENTRYPOINT ["/pause"], no USER.' },
    { repo: 'kubernetes/kubernetes', path: 'build/pause/CHANGELOG.md', ref: 'cb1929221e0ab17ffebd3b3d8f1ac06abef1390c', note: '3.1: reaps orphaned zombies; `pause -v` prints build information.' },
  ],
  unverified: [
    'That the Dockerfile commit read is the one the 3.1 image was built from (the Dockerfile is the same FROM scratch/ENTRYPOINT shape until a BASE argument was added later).',
  ],
};

export const POD_IMAGE_FACTS: readonly ImageFacts[] = [PAUSE_31];
