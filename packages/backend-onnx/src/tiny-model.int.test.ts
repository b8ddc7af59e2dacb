import { stubTokenizerFactory, tinyModelFolder } from './__fixtures__/model-folders';
import { runBackendConformance } from '@decodekit/conformance';
import { createCpuBackend, createWasmBackend } from './index';

// The seeded tiny random Llama (GQA, 2 KV heads) on both runtimes.
const cpu = createCpuBackend({ createTokenizer: stubTokenizerFactory });
runBackendConformance('onnx-cpu (tiny)', {
  makeModel: () => cpu.load(tinyModelFolder()),
  makePlainModel: () => cpu.load(tinyModelFolder({ plain: true })),
});

const wasm = createWasmBackend({ createTokenizer: stubTokenizerFactory });
runBackendConformance('onnx-wasm (tiny)', {
  makeModel: () => wasm.load(tinyModelFolder()),
  makePlainModel: () => wasm.load(tinyModelFolder({ plain: true })),
});
