// Runs one browser test by name (`node run.mjs text_to_scene`), as registered by tests/browser.cmake.
import { tests } from './console_tests.mjs';

const name = process.argv[2];
if (!tests[name]) {
  console.error(`unknown browser test '${name}' (tests: ${Object.keys(tests).join(', ')})`);
  process.exit(2);
}
const t0 = Date.now();
try {
  await tests[name]();
  console.log(`browser test ${name}: passed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  process.exit(0);
} catch (e) {
  console.error(`browser test ${name}: FAILED: ${e.stack || e}`);
  process.exit(1);
}
