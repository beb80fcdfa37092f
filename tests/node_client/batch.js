// A BatchMatch stream of N small profiles from grpc-js, written with
// backpressure (wait for 'drain' whenever write() says the buffer is full),
// reading answers as they come. Exits 0 when every answer arrived, in order.
//
//   node batch.js ADDR N [basic|full]
//
// Prints one JSON line: {"sent":N,"received":N,"seconds":S,"per_second":R}.
'use strict';
const path = require('path');
const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');

const [addr, nArg, viewArg] = process.argv.slice(2);
const n = Number(nArg || 1000);
const view = { basic: 'MATCH_VIEW_BASIC', full: 'MATCH_VIEW_FULL' }[viewArg || ''];
const root = path.join(__dirname, '..', '..', 'proto');
const def = loader.loadSync(path.join(root, 'smefin/v1/matching_service.proto'), {
  includeDirs: [root], keepCase: true, longs: Number, enums: String, defaults: false,
});
const pkg = grpc.loadPackageDefinition(def).smefin.v1;
const client = new pkg.MatchingService(addr, grpc.credentials.createInsecure(), {
  'grpc.max_receive_message_length': 64 << 20,
});
const meta = new grpc.Metadata();
if (process.env.SMEFIN_TOKEN) meta.add('authorization', `Bearer ${process.env.SMEFIN_TOKEN}`);

const started = process.hrtime.bigint();
const call = client.BatchMatch(meta);
let received = 0;
let outOfOrder = 0;
call.on('data', (r) => {
  if (Number(r.index || 0) !== received) outOfOrder++;
  received++;
});
call.on('error', (e) => {
  console.error(JSON.stringify({ error: e.code, details: e.details, sent, received }));
  process.exit(1);
});
call.on('end', () => {
  const s = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(JSON.stringify({ sent, received, out_of_order: outOfOrder, seconds: +s.toFixed(3), per_second: Math.round(received / s) }));
  process.exit(received === n && outOfOrder === 0 ? 0 : 1);
});

let sent = 0;
function pump() {
  while (sent < n) {
    const req = {
      reference: String(sent),
      profile: { industry_code: 'C3562', employees: 20 + (sent % 300), annual_revenue: `${300 + (sent % 5000)}万` },
      as_of: '2025-06-01',
    };
    if (view) req.view = view;
    sent++;
    if (!call.write(req)) {
      call.once('drain', pump);
      return;
    }
  }
  call.end();
}
pump();
