// ONNX Runtime (npm onnxruntime-node, CPU) as the judge of tinyq's ONNX files.
// Usage: node ort_run.mjs MODEL.onnx INPUT OUT [--nhwc] [--batch N] [--threads N] [--outputs a,b,...]
//   INPUT is a CIFAR-10 binary batch (.bin, read here, raw 0..255 pixels) or a float32 .npy.
//   Without --outputs: writes the first model output to the file OUT (.npy).
//   With --outputs: OUT is a folder; each named output goes to OUT/<name with / replaced by _>.npy
//   in its own element type (float32, uint8, int8).
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { readNpyF32, writeNpy } from './npy.mjs';

const [modelPath, inputPath, outPath, ...rest] = process.argv.slice(2);
const flag = (name) => { const i = rest.indexOf(name); return i >= 0 ? rest[i + 1] : undefined; };
const nhwc = rest.includes('--nhwc');
const batch = Number(flag('--batch') ?? 250);
const threads = Number(flag('--threads') ?? 2);
const wanted = flag('--outputs')?.split(',');

function readCifar(file) {
  const raw = fs.readFileSync(file);
  const n = raw.length / 3073;
  const data = new Float32Array(n * 3072);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < 3072; j++) data[i * 3072 + j] = raw[i * 3073 + 1 + j];
  return { shape: [n, 3, 32, 32], data };
}

// CHW -> HWC per image, for models exported with --input-layout nhwc.
function toNhwc({ shape, data }) {
  const [n, c, h, w] = shape;
  const out = new Float32Array(data.length);
  for (let b = 0; b < n; b++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let k = 0; k < c; k++) out[((b * h + y) * w + x) * c + k] = data[((b * c + k) * h + y) * w + x];
  return { shape: [n, h, w, c], data: out };
}

let input = inputPath.endsWith('.bin') ? readCifar(inputPath) : readNpyF32(inputPath);
if (nhwc) input = toNhwc(input);
const session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
const names = wanted ?? [session.outputNames[0]];
const perItem = input.shape.slice(1).reduce((a, b) => a * b, 1);
const n = input.shape[0];
const collected = new Map();
const start = process.hrtime.bigint();
const batchMs = [];
for (let b = 0; b < n; b += batch) {
  const count = Math.min(batch, n - b);
  const batchStart = process.hrtime.bigint();
  const feed = new ort.Tensor('float32', input.data.subarray(b * perItem, (b + count) * perItem), [count, ...input.shape.slice(1)]);
  const result = await session.run({ [session.inputNames[0]]: feed }, names);
  for (const name of names) {
    const y = result[name];
    if (!collected.has(name)) {
      const width = y.data.length / count;
      collected.set(name, { type: y.type, shape: [n, ...y.dims.slice(1)], width, data: new y.data.constructor(n * width) });
    }
    const c = collected.get(name);
    c.data.set(y.data, b * c.width);
  }
  batchMs.push(Number(process.hrtime.bigint() - batchStart) / 1e6);
}
batchMs.sort((x, y) => x - y);
const pct = (q) => batchMs[Math.min(batchMs.length - 1, Math.floor(q * batchMs.length))];
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
if (wanted) fs.mkdirSync(outPath, { recursive: true });
for (const [name, c] of collected) {
  const file = wanted ? path.join(outPath, name.replaceAll('/', '_') + '.npy') : outPath;
  writeNpy(file, c.type, c.shape, c.data);
}
console.log(`onnxruntime: ${n} inputs through ${modelPath} in ${seconds.toFixed(2)} s (${(n / seconds).toFixed(1)} /s)` +
            ` batch latency median ${pct(0.5).toFixed(4)} ms p99 ${pct(0.99).toFixed(4)} ms`);
