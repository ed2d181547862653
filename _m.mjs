import { build } from 'esbuild';
const r = await build({ bundle: true, platform: 'node', target: 'node22', format: 'esm', minify: true, write: false, metafile: true, mainFields: ['module','main'], alias: { '@aws-sdk/credential-provider-node': './functions/shared/lambda-credentials.ts' }, entryPoints: [`functions/${process.argv[2]}/index.ts`], outfile: '/tmp/x.mjs', logLevel: 'error' });
const out = Object.values(r.metafile.outputs)[0];
const pk = {};
for (const [f, v] of Object.entries(out.inputs)) { const m = f.match(/^(.*node_modules\/(@[^/]+\/[^/]+|[^/]+))\//); const k = m ? m[1].replace(/^.*?node_modules/, 'nm') : f.split('/').slice(0,2).join('/'); pk[k] = (pk[k] ?? 0) + v.bytesInOutput; }
for (const [k, v] of Object.entries(pk).sort((a,b)=>b[1]-a[1]).slice(0,16)) console.log(v, k);
