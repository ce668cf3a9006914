// Minimal .npy reader (float32) and writer (float32, uint8, int8) for the node-side peers.
import fs from 'node:fs';

export function readNpyF32(file) {
  const buf = fs.readFileSync(file);
  const headerLen = buf.readUInt16LE(8);
  const header = buf.toString('latin1', 10, 10 + headerLen);
  if (!header.includes("'<f4'")) throw new Error(`${file}: expected float32`);
  const shape = header.match(/'shape': \(([^)]*)\)/)[1].split(',').filter((s) => s.trim()).map(Number);
  const bytes = buf.subarray(10 + headerLen);
  return { shape, data: new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)) };
}

const DESCR = { float32: '<f4', uint8: '|u1', int8: '|i1', int32: '<i4' };
const ARRAY = { float32: Float32Array, uint8: Uint8Array, int8: Int8Array, int32: Int32Array };

export function writeNpy(file, type, shape, data) {
  if (!DESCR[type]) throw new Error(`cannot write ${type} to .npy`);
  let dict = `{'descr': '${DESCR[type]}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  dict += ' '.repeat((64 - ((10 + dict.length + 1) % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head.writeUInt16LE(dict.length, 8);
  const typed = ARRAY[type].from(data);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(dict, 'latin1'), Buffer.from(typed.buffer)]));
}

export function writeNpyF32(file, shape, data) { writeNpy(file, 'float32', shape, data); }
