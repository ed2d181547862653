// Belt and braces beside Biome's noFocusedTests/noSkippedTests: a focused or skipped test must never
// reach CI, because a green run that silently skipped the money path proves nothing.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const roots = ['test', 'src', 'functions', 'sandbox', 'local'];
const pattern = /\b(it|test|describe)\.(only|skip|todo)\(/;
const offenders = [];
function walk(dir) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of entries) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (/\.(ts|mts|js|mjs)$/.test(name)) {
      readFileSync(path, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (pattern.test(line)) offenders.push(`${path}:${i + 1}: ${line.trim()}`);
        });
    }
  }
}
for (const root of roots) walk(root);
if (offenders.length > 0) {
  console.error(`Focused or skipped tests are not allowed:\n${offenders.join('\n')}`);
  process.exit(1);
}
