// Samples allocations (collected ones included) of a process through its inspector for N seconds.
import { writeFileSync } from 'node:fs';
import WebSocket from 'ws';
const [port, seconds, out] = process.argv.slice(2);
const [target] = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
const ws = new WebSocket(target.webSocketDebuggerUrl, { perMessageDeflate: false });
await new Promise((r) => ws.once('open', r));
let id = 0; const pending = new Map();
ws.on('message', (d) => { const m = JSON.parse(d.toString()); if (pending.has(m.id)) { pending.get(m.id)(m); pending.delete(m.id); } });
const call = (method, params = {}) => new Promise((r) => { const i = ++id; pending.set(i, r); ws.send(JSON.stringify({ id: i, method, params })); });
console.log(JSON.stringify(await call('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true })).slice(0,200));
await new Promise((r) => setTimeout(r, Number(seconds) * 1000));
const res = await call('HeapProfiler.stopSampling');
writeFileSync(out, JSON.stringify(res.result.profile));
// summarize: self size by function+url, and by package
const self = new Map(), pkg = new Map(); let total = 0;
const pk = (url) => { if (!url) return '(native)'; const m = url.match(/node_modules\/((@[^/]+\/)?[^/]+)/); if (m) return m[1]; const w = url.match(/packages\/([^/]+)\//); if (w) return '@ystate/'+w[1]; return url.slice(-30); };
(function walk(n, chain) {
  const f = n.callFrame; const k = `${f.functionName||'(anon)'} ${pk(f.url)}:${f.lineNumber}`;
  const c = [...chain, k];
  if (n.selfSize) { total += n.selfSize; self.set(k, (self.get(k)??0)+n.selfSize);
    const owner = c.slice().reverse().find((x)=>/@ystate\//.test(x)) ?? 'none'; pkg.set(owner, (pkg.get(owner)??0)+n.selfSize); }
  for (const ch of n.children ?? []) walk(ch, c);
})(res.result.profile.head, []);
console.log('total MB', (total/2**20).toFixed(1));
for (const [k,v] of [...self].sort((a,b)=>b[1]-a[1]).slice(0,30)) console.log((100*v/total).toFixed(1).padStart(5)+'%', k);
console.log('--- by innermost @ystate frame');
for (const [k,v] of [...pkg].sort((a,b)=>b[1]-a[1]).slice(0,25)) console.log((100*v/total).toFixed(1).padStart(5)+'%', k);
process.exit(0);
