// The TFLite judge: TensorFlow Lite's own runtime, compiled to WebAssembly
// (npm @tensorflow/tfjs-tflite ships it), loaded straight from its emscripten
// module so that node needs no browser globals. Runs a .tflite model on
// CIFAR-10 records fed as the model expects them (float pixels 0..255, or int8
// pixel - 128 for the official int8 model) and writes every output.
//
// Usage: node tflite_run.mjs MODEL.tflite BATCH.bin OUT.npy [COUNT]
// Prints the accuracy and the operators the runtime's profiler saw (XNNPACK
// takes over the ops it supports, as in the browser).
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { writeNpy } from './npy.mjs';

const require = createRequire(import.meta.url);
const wasmDir = path.join(path.dirname(require.resolve('@tensorflow/tfjs-tflite/package.json')), 'wasm');
const factory = require(path.join(wasmDir, 'tflite_web_api_cc.js'));

const [modelPath, batchPath, outPath, countArg] = process.argv.slice(2);
const runtime = await factory({ wasmBinary: fs.readFileSync(path.join(wasmDir, 'tflite_web_api_cc.wasm')),
                                print: () => {}, printErr: () => {} });
const model = new Uint8Array(fs.readFileSync(modelPath));
const at = runtime._malloc(model.length);
runtime.HEAPU8.set(model, at);
const created = runtime.TFLiteWebModelRunner.CreateFromBufferAndOptions(
  at, model.length, { numThreads: 1, enableProfiling: true, maxProfilingBufferEntries: 4096 });
if (!created.ok()) throw new Error(`TFLite runtime: ${created.errorMessage()}`);
const runner = created.value();
const input = runner.GetInputs().get(0), output = runner.GetOutputs().get(0);
const outSize = output.shape.split(',').map(Number).reduce((a, b) => a * b, 1);

const records = fs.readFileSync(batchPath);
const count = Math.min(countArg ? Number(countArg) : Infinity, records.length / 3073);
const outputs = new (output.dataType === 'int8' ? Int8Array : Float32Array)(count * outSize);
let correct = 0;
for (let n = 0; n < count; ++n) {
  const record = records.subarray(n * 3073, (n + 1) * 3073);
  const x = input.data();
  // CIFAR-10 stores planes (R, G, B); TFLite wants NHWC.
  for (let c = 0; c < 3; ++c)
    for (let p = 0; p < 1024; ++p) {
      const v = record[1 + c * 1024 + p];
      x[p * 3 + c] = input.dataType === 'int8' ? v - 128 : v;
    }
  if (!runner.Infer()) throw new Error(`TFLite runtime: inference failed on image ${n}`);
  const y = output.data();
  outputs.set(y, n * outSize);
  let best = 0;
  for (let k = 1; k < outSize; ++k) if (y[k] > y[best]) best = k;
  if (best === record[0]) ++correct;
}
writeNpy(outPath, output.dataType === 'int8' ? 'int8' : 'float32', [count, outSize], outputs);
const ops = new Set();
const profile = runner.GetProfilingResults();
for (let i = 0; i < profile.size(); ++i) ops.add(profile.get(i).nodeType);
console.log(`tflite runtime: ${path.basename(modelPath)} on ${count} images: accuracy ${(100 * correct / count).toFixed(2)}% ` +
            `(${correct} correct); input ${input.dataType}, output ${output.dataType}; ops run: ${[...ops].join(' ')}`);
