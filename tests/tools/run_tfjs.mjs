// The Keras-semantics judge: runs each generated model in TensorFlow.js (pure
// JS CPU backend) on its input and writes expected_keras.npy beside it.
// Usage: node run_tfjs.mjs FIXTURE_DIR
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';

function readNpyF32(file) {
  const buf = fs.readFileSync(file);
  const headerLen = buf.readUInt16LE(8);
  const header = buf.toString('latin1', 10, 10 + headerLen);
  if (!header.includes("'<f4'")) throw new Error(`${file}: expected float32`);
  const shape = header.match(/'shape': \(([^)]*)\)/)[1].split(',').filter((s) => s.trim()).map(Number);
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset + 10 + headerLen, buf.byteOffset + buf.length));
  return { shape, data };
}

function writeNpyF32(file, shape, data) {
  let dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const pad = (64 - ((10 + dict.length + 1) % 64)) % 64;
  dict += ' '.repeat(pad) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1; head[7] = 0; head.writeUInt16LE(dict.length, 8);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(dict, 'latin1'), Buffer.from(data.buffer)]));
}

await tf.setBackend('cpu');
const root = process.argv[2];
const names = fs.readFileSync(path.join(root, 'models.txt'), 'utf8').split('\n').filter(Boolean);
for (const name of names) {
  const dir = path.join(root, name);
  const spec = JSON.parse(fs.readFileSync(path.join(dir, 'tfjs_model.json'), 'utf8'));
  const weights = fs.readFileSync(path.join(dir, 'tfjs_weights.bin'));
  const model = await tf.loadLayersModel(tf.io.fromMemory({
    modelTopology: spec.modelTopology,
    weightSpecs: spec.weightSpecs,
    weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.length),
  }));
  const input = readNpyF32(path.join(dir, 'input_keras.npy'));
  const y = model.predict(tf.tensor(input.data, input.shape, 'float32'));
  writeNpyF32(path.join(dir, 'expected_keras.npy'), y.shape, await y.data());
  console.log(`tfjs ${name}: output ${JSON.stringify(y.shape)}`);
}
