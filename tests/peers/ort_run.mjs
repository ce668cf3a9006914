// ONNX Runtime (npm onnxruntime-node, CPU) as the judge of tinyq's ONNX files.
// Usage: node ort_run.mjs MODEL.onnx INPUT OUT.npy [--nhwc] [--batch N]
//   INPUT is a CIFAR-10 binary batch (.bin, read here, raw 0..255 pixels) or a float32 .npy.
// Writes the first model output for every input row as float32 .npy.
import fs from 'node:fs';
import * as ort from 'onnxruntime-node';
import { readNpyF32, writeNpyF32 } from './npy.mjs';

const [modelPath, inputPath, outPath, ...rest] = process.argv.slice(2);
const nhwc = rest.includes('--nhwc');
const batchArg = rest.indexOf('--batch');
const batch = batchArg >= 0 ? Number(rest[batchArg + 1]) : 250;

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
const session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 2, graphOptimizationLevel: 'all' });
const perItem = input.shape.slice(1).reduce((a, b) => a * b, 1);
const n = input.shape[0];
let outputs = null, outWidth = 0, outShape = null;
const start = process.hrtime.bigint();
for (let b = 0; b < n; b += batch) {
  const count = Math.min(batch, n - b);
  const feed = new ort.Tensor('float32', input.data.subarray(b * perItem, (b + count) * perItem), [count, ...input.shape.slice(1)]);
  const result = await session.run({ [session.inputNames[0]]: feed });
  const y = result[session.outputNames[0]];
  if (!outputs) {
    outShape = [n, ...y.dims.slice(1)];
    outWidth = y.data.length / count;
    outputs = new Float32Array(n * outWidth);
  }
  outputs.set(y.data, b * outWidth);
}
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
writeNpyF32(outPath, outShape, outputs);
console.log(`onnxruntime ${ort.env.versions?.common ?? ''}: ${n} inputs through ${modelPath} in ${seconds.toFixed(2)} s (${(n / seconds).toFixed(1)} /s)`);
