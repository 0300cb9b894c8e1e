const t0 = performance.now();
const b = require('undici/lib/llhttp/llhttp_simd-wasm.js');
const t1 = performance.now();
const m = new WebAssembly.Module(b);
const t2 = performance.now();
const i = new WebAssembly.Instance(m, { env: new Proxy({}, { get: () => () => 0 }) });
const t3 = performance.now();
console.log('load', (t1-t0).toFixed(2), 'compile', (t2-t1).toFixed(2), 'instantiate', (t3-t2).toFixed(2), b.length);
