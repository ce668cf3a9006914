// Saves the graph ONNX Runtime (npm onnxruntime-node, CPU) actually runs for
// MODEL after its graph rewrites up to the 'extended' level: the QDQ
// transformers (s8 pairs to u8, DQ -> op -> Q fused into QLinear ops), but
// not the layout ones of the 'all' level (NCHWc, NHWC), so node names stay.
// Usage: node ort_optimized.mjs MODEL.onnx OUT.onnx
import * as ort from 'onnxruntime-node';

const [modelPath, outPath] = process.argv.slice(2);
await ort.InferenceSession.create(modelPath, { optimizedModelFilePath: outPath, graphOptimizationLevel: 'extended' });
