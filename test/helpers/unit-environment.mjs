// Jest environment of the unit project: jest's node environment plus the test file's window for the
// debris check (test/helpers/debris.mjs names the file that leaves files behind).
import { TestEnvironment } from 'jest-environment-node';
import { fileWindow } from './debris.mjs';

export default class UnitEnvironment extends TestEnvironment {
  #done;

  constructor(config, context) {
    super(config, context);
    this.#done = fileWindow(context.testPath);
  }

  async teardown() {
    this.#done();
    await super.teardown();
  }
}
