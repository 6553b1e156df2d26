'use strict';
// The hello service of mesh-local's deploy sample: answers every GET with its version.
// Plain Node.js (no dependencies), run from the mesh-local/node:sandbox image with this file mounted.
const http = require('node:http');

const version = process.env.VERSION || 'v1';
const port = Number(process.env.PORT || '8080');

http
  .createServer((request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(`${JSON.stringify({ service: 'hello', version, path: request.url })}\n`);
  })
  .listen(port, () => console.log(`hello ${version} listening on ${port}`));
