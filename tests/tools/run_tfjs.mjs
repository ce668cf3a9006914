// The Keras-semantics judge: runs each generated model in TensorFlow.js (pure
// JS CPU backend) on its input and writes expected_keras.npy beside it.
// Usage: node run_tfjs.mjs FIXTURE_DIR
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { readNpyF32, writeNpyF32 } from '../peers/npy.mjs';

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
