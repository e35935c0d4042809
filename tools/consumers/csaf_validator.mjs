// Runs the BSI CSAF validator library on CSAF files, as a consumer of modelcvd's exports would.
//
//   node tools/consumers/csaf_validator.mjs FILE...
//
// The tests are the library's own "basic" preset: the strict CSAF 2.0 schema test and every
// mandatory test of CSAF 2.0 section 6.1 (6.1.8, invalid CVSS, is part of the schema test),
// run through `validateStrict`, which refuses any test the library does not define. Prints one
// JSON object: {"consumer", "files": {FILE: {"ok", "errors": [...], "warnings": [...]}}}, where
// each error names the failed test, the JSON path and the library's message. Exit 0 when every
// file passed, 1 when any failed, 2 on a usage error.
//
// The library is loaded from .consumers/node (installed by `make consumers`), or from the
// folder CSAF_VALIDATOR_LIB names.
import { readFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const lib = resolve(
  process.env.CSAF_VALIDATOR_LIB ??
    join(here, '..', '..', '.consumers', 'node', 'node_modules', '@secvisogram', 'csaf-validator-lib'),
)

const files = process.argv.slice(2)
if (files.length === 0) {
  process.stderr.write('usage: node csaf_validator.mjs FILE...\n')
  process.exit(2)
}

const basic = await import(pathToFileURL(join(lib, 'basic.js')).href)
const validateStrict = (await import(pathToFileURL(join(lib, 'validateStrict.js')).href)).default
const { version } = JSON.parse(await readFile(join(lib, 'package.json'), 'utf8'))
const tests = Object.values(basic)

const line = (test, entry) => `${test}: ${entry.instancePath || '/'}: ${entry.message}`

const results = {}
let allOk = true
for (const file of files) {
  let document
  try {
    document = JSON.parse(await readFile(file, 'utf8'))
  } catch (error) {
    results[file] = { ok: false, errors: [`not JSON: ${error.message}`], warnings: [] }
    allOk = false
    continue
  }
  const outcome = await validateStrict(tests, document)
  const errors = outcome.tests.flatMap((t) => t.errors.map((e) => line(t.name, e)))
  const warnings = outcome.tests.flatMap((t) => t.warnings.map((w) => line(t.name, w)))
  // isValid is false only through errors; both are checked so neither can hide the other.
  const ok = outcome.isValid && errors.length === 0
  results[file] = { ok, errors, warnings }
  allOk = allOk && ok
}

process.stdout.write(
  JSON.stringify({
    consumer: `@secvisogram/csaf-validator-lib ${version} (basic: csaf_2_0_strict + mandatory)`,
    tests: tests.map((t) => t.name),
    files: results,
  }) + '\n',
)
process.exit(allOk ? 0 : 1)
