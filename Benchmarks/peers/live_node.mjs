// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0
//
// The Node.js consumer of the live benchmark (Benchmarks/live.py): Node's built-in WebSocket and JSON.parse,
// the two prices a quick start subscribes to, the same fields read. The browser WebSocket API cannot set headers,
// so the key goes in the URL query (CMC_PRO_API_KEY=, the documented alternative).
//
// Usage: node --experimental-websocket live_node.mjs URL [MESSAGES]

const url = process.argv[2];
const timed = Number(process.argv[3] ?? 200000);
const warmup = Math.floor(timed / 10);
let n = 0, sum = 0, cpu0, wall0;

const ws = new WebSocket(`${url}?CMC_PRO_API_KEY=bench`);
ws.onopen = () => ws.send(JSON.stringify({ id: 1, method: "subscribe", channel: "market@crypto_latest_price",
                                           params: { crypto_ids: [1, 1027] } }));
ws.onmessage = (event) => {
  const message = JSON.parse(event.data);
  if (message.type !== "data") return;
  const d = message.data;
  sum += d.p + d.cid + (d.p24h ?? 0);
  n++;
  if (n === warmup) {
    cpu0 = process.cpuUsage();
    wall0 = process.hrtime.bigint();
  } else if (n === warmup + timed) {
    const cpu = process.cpuUsage(cpu0);
    const wall = Number(process.hrtime.bigint() - wall0) / 1e9;
    console.log(JSON.stringify({ consumer: `Node.js ${process.version} (WebSocket + JSON.parse)`, messages: timed,
                                 cpu_s: (cpu.user + cpu.system) / 1e6, wall_s: wall, checksum: sum }));
    ws.close();
    process.exit(0);
  }
};
ws.onerror = (e) => { console.error("websocket error", e.message ?? e); process.exit(1); };
