import { Command } from 'commander';
import { registerAded } from './commands/aded.js';
import { registerBench } from './commands/bench.js';
import { registerSpecdecPP } from './commands/specdec-pp.js';
import { registerCompress } from './commands/compress.js';
import { registerConvert } from './commands/convert.js';
import { registerDemo } from './commands/demo.js';
import { registerEval } from './commands/eval.js';
import { registerGenerate } from './commands/generate.js';
import { registerModels } from './commands/models.js';
import { registerTrain } from './commands/train.js';
import { registerServe } from './commands/serve.js';

/** Builds the `decodekit` command line. */
export function createProgram(): Command {
  const program = new Command('decodekit').description(
    'LLM decoding strategies on ONNX models: generate, benchmark, convert, serve.',
  );
  registerGenerate(program);
  registerBench(program);
  registerDemo(program);
  registerEval(program);
  registerAded(program);
  registerSpecdecPP(program);
  registerTrain(program);
  registerCompress(program);
  registerConvert(program);
  registerModels(program);
  registerServe(program);
  return program;
}
