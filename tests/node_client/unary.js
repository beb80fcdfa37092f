// MatchEnterprise calls from grpc-js, `concurrency` in flight, for `seconds`:
// how many answers per second a Node client gets in each view.
//
//   node unary.js ADDR [seconds] [concurrency]
//
// Prints one JSON line per view: {"view":"full","calls":N,"per_second":R,"bytes":B}.
'use strict';
const path = require('path');
const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');

const [addr, secArg, concArg] = process.argv.slice(2);
const seconds = Number(secArg || 5);
const concurrency = Number(concArg || 32);
const root = path.join(__dirname, '..', '..', 'proto');
const def = loader.loadSync(path.join(root, 'smefin/v1/matching_service.proto'), {
  includeDirs: [root], keepCase: true, longs: Number, enums: String, defaults: false,
});
const pkg = grpc.loadPackageDefinition(def).smefin.v1;
const client = new pkg.MatchingService(addr, grpc.credentials.createInsecure());
const meta = new grpc.Metadata();
if (process.env.SMEFIN_TOKEN) meta.add('authorization', `Bearer ${process.env.SMEFIN_TOKEN}`);
const profile = {
  name: '南昌某新材料科技有限公司', region_code: '360102', industry_code: 'C3562', employees: 24,
  annual_revenue: '1800万', new_eligible_hires: 3, wage_or_social_insurance_arrears: false,
  request: { amount: '300万', term_months: 12 },
};
const Resp = def['smefin.v1.MatchEnterpriseResponse'];

function run(view) {
  return new Promise((resolve, reject) => {
    const end = Date.now() + seconds * 1000;
    let calls = 0;
    let bytes = 0;
    let live = 0;
    const one = () => {
      if (Date.now() >= end) {
        if (live === 0) resolve({ view, calls, per_second: Math.round(calls / seconds), bytes });
        return;
      }
      live++;
      client.MatchEnterprise({ profile, as_of: '2025-06-01', view }, meta, (err, r) => {
        live--;
        if (err) return reject(err);
        calls++;
        if (!bytes) bytes = JSON.stringify(r).length;
        one();
      });
    };
    for (let i = 0; i < concurrency; i++) one();
  });
}

(async () => {
  for (const view of ['MATCH_VIEW_FULL', 'MATCH_VIEW_BASIC']) {
    const r = await run(view);
    console.log(JSON.stringify({ ...r, view: view.replace('MATCH_VIEW_', '').toLowerCase() }));
  }
  process.exit(0);
})().catch((e) => { console.error(e); process.exit(1); });
