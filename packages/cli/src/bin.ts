#!/usr/bin/env node
import { DecodingError } from '@decodekit/core';
import { createProgram } from './program.js';

createProgram()
  .parseAsync(process.argv)
  .catch((error: unknown) => {
    if (DecodingError.isInstance(error)) {
      process.stderr.write(`decodekit: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  });
