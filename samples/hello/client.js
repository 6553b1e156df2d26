'use strict';
// The client of mesh-local's deploy sample: GET /call?n=N calls http://hello:8080/ N times (through
// its sidecar, which routes by the Host header) and answers how many replies each version gave.
const http = require('node:http');

const target = process.env.TARGET || 'http://hello:8080/';
const port = Number(process.env.PORT || '8081');

function get(url) {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { timeout: 5000 }, (response) => {
      let body = '';
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode, body }));
    });
    request.on('timeout', () => request.destroy(new Error('timed out')));
    request.on('error', reject);
  });
}

http
  .createServer(async (request, response) => {
    const url = new URL(request.url, 'http://client');
    if (url.pathname === '/healthz') return response.end('ok\n');
    const n = Math.min(Number(url.searchParams.get('n') || '1'), 1000);
    const byVersion = {};
    for (let i = 0; i < n; i++) {
      let key;
      try {
        const answer = await get(target);
        key = answer.status === 200 ? JSON.parse(answer.body).version : `status-${answer.status}`;
      } catch (error) {
        key = 'error';
      }
      byVersion[key] = (byVersion[key] || 0) + 1;
    }
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(`${JSON.stringify({ requests: n, byVersion })}\n`);
  })
  .listen(port, () => console.log(`client listening on ${port}, calling ${target}`));
