import RE2 from 're2';
let s = ''; while (s.length < 1e6) s += 'hello world 12345 foo bar baz qux\n';
const buf = Buffer.from(s);
function time(name: string, f: () => number) { const t0 = process.hrtime.bigint(); const n = f(); const ms = Number(process.hrtime.bigint() - t0)/1e6; console.log(name.padEnd(40), (1 / (ms / 1000)).toFixed(1), 'MB/s', n); }
const re = new RE2('\\b\\d{5}\\b', 'g');
time('buffer exec', () => { re.lastIndex = 0; let n = 0; while (re.exec(buf as any)) n++; return n; });
time('string exec', () => { re.lastIndex = 0; let n = 0; while (re.exec(s)) n++; return n; });
const re2 = new RE2('\\b\\d{5}\\b|(?i:\\bpassword\\s*=)|\\b[A-Za-z0-9][A-Za-z0-9._%+\'-]*@[a-z]+\\.[a-z]{2,}', 'g');
time('buffer exec 3alt', () => { re2.lastIndex = 0; let n = 0; while (re2.exec(buf as any)) n++; return n; });
const small = buf.subarray(0, 65536);
time('buffer exec 64k x16', () => { let n = 0; for (let k = 0; k < 16; k++) { re.lastIndex = 0; while (re.exec(small as any)) n++; } return n; });
time('string replace cb', () => { let n = 0; re.replace(s, (m: string, off: number) => { n++; return m; }); return n; });
time('buffer replace cb', () => { let n = 0; re.replace(buf as any, ((m: any, off: number) => { n++; return m; }) as any); return n; });
const reNoB = new RE2('\\d{5}', 'g');
time('buffer exec no \\b', () => { reNoB.lastIndex = 0; let n = 0; while (reNoB.exec(buf as any)) n++; return n; });
time('match all', () => (s.match(re as any) ?? []).length);
time('v8 exec', () => { const r = /\b\d{5}\b/g; let n = 0; while (r.exec(s)) n++; return n; });
time('re2 test only no-g whole', () => { const r = new RE2('\\bzzzz\\d{5}\\b'); return r.test(buf as any) ? 1 : 0; });
