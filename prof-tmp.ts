import RE2 from 're2';
import { BUILTIN_DETECTORS } from './src/classification/detectors';
import { withoutCaptures } from './src/classification/engine';
const words = 'the quick brown fox jumps over lazy dog lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua version build release server customer order Request GET /api/v1/users status=200 latency_ms'.split(' ');
let seed = 1; const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
const pii = ['john.doe@example.com', '(555) 123-4567', '4111 1111 1111 1111', 'ssn 123-45-6788', 'from 10.0.3.17', 'AKIAIOSFODNN7EXAMPLF'];
let s = ''; let next = 4096; while (s.length < 2e6) { let line = '2024-05-01T10:00:00Z INFO '; for (let i = 0; i < 14; i++) { line += words[Math.floor(rnd()*words.length)] + ' '; if (rnd() < 0.05) line += Math.floor(rnd()*10000) + ' '; } if (s.length >= next) { line += pii[Math.floor(rnd()*pii.length)]; next += 4096; } s += line + '\n'; }
const alts = BUILTIN_DETECTORS.map(d => { const src = withoutCaptures(d.pattern); return d.ignoreCase ? `(?i:${src})` : `(?:${src})`; });
const set = new RE2.Set(alts);
const hitsCount = new Array(alts.length).fill(0);
let t0 = process.hrtime.bigint();
const B = 16384;
const blocks: number[][] = [];
for (let i = 0; i < s.length; i += B) { const h = set.match(s.slice(i, i + B + 1024)); blocks.push(h); for (const a of h) hitsCount[a]++; }
console.log('set ms', Number(process.hrtime.bigint() - t0) / 1e6, 'blocks', blocks.length);
BUILTIN_DETECTORS.forEach((d, a) => { if (!hitsCount[a]) return; const re = new RegExp(d.pattern, d.ignoreCase ? 'gdi' : 'gd'); const t = process.hrtime.bigint(); let n = 0; for (let i = 0; i < s.length; i += B) { re.lastIndex = i; let m; while ((m = re.exec(s)) && m.index < i + B) n++; } console.log(d.id.padEnd(30), hitsCount[a], 'ms(all blocks)', (Number(process.hrtime.bigint() - t) / 1e6).toFixed(1), n); });
