#!/usr/bin/env node
// Counts how many oversized requests a plain `fetch` client reads as an answer (413, or 404 for an
// unknown function) rather than a reset connection. Run against a separate `wafer serve` with small
// limits and the token `t`, e.g.:
//   WAFER_TOKEN=t WAFER_MAX_UPLOAD_BYTES=65536 WAFER_MAX_REQUEST_BYTES=16384 node bin/wafer.js serve --port 8099 --no-samples
//   node scripts/probe-413.mjs http://127.0.0.1:8099
// Each row sends 15 requests of 1, 8 and 64 MiB to an invoke and to an upload.
const url = process.argv[2];
if (!url || url === '--help') {
  console.log('usage: node scripts/probe-413.mjs <host url>   (the host must use the token "t")');
  process.exit(url ? 0 : 2);
}
for (const size of [1, 8, 64]) {
  const targets = [
    ['invoke', '/fn/hello-x', 'POST', {}],
    ['upload', '/v1/functions/x', 'PUT', { authorization: 'Bearer t' }],
  ];
  for (const [label, path, method, headers] of targets) {
    let readable = 0;
    const failures = [];
    for (let i = 0; i < 15; i++) {
      try {
        const res = await fetch(url + path, { method, headers, body: new Uint8Array(size << 20) });
        await res.text();
        if (res.status === 413 || res.status === 404) readable++;
        else failures.push(res.status);
      } catch (err) {
        failures.push(err.cause?.code ?? err.message);
      }
    }
    console.log(`${size} MiB ${label}: ${readable}/15 readable${failures.length ? ` (${failures.join(',')})` : ''}`);
  }
}
