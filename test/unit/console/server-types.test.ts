import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const consoleDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../../console');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return /\.tsx?$/.test(entry.name) ? [path] : [];
  });
}

/** Every import or re-export of a file outside console/, with whether it is type-only. */
function importsFromOutside(file: string): { from: string; typeOnly: boolean }[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const found: { from: string; typeOnly: boolean }[] = [];
  for (const statement of source.statements) {
    let specifier: ts.Expression | undefined;
    let typeOnly = false;
    if (ts.isImportDeclaration(statement)) {
      specifier = statement.moduleSpecifier;
      typeOnly = statement.importClause?.isTypeOnly ?? false;
    } else if (ts.isExportDeclaration(statement) && statement.moduleSpecifier) {
      specifier = statement.moduleSpecifier;
      typeOnly = statement.isTypeOnly;
    }
    if (!specifier || !ts.isStringLiteral(specifier) || !specifier.text.startsWith('.')) continue;
    const target = resolve(dirname(file), specifier.text);
    if (relative(consoleDir, target).startsWith('..')) found.push({ from: specifier.text, typeOnly });
  }
  return found;
}

/**
 * The console shares the server's view types (src/core) but must never bundle server code: whatever it
 * takes from outside console/ is `import type` / `export type`, erased at build.
 */
describe('console imports from the server', () => {
  it('are type-only', () => {
    const outside = sources(join(consoleDir, 'src')).flatMap((file) =>
      importsFromOutside(file).map((i) => ({ file: relative(consoleDir, file), ...i })),
    );
    // The view types do come from the server (so this test checks something).
    expect(outside.map((i) => i.from)).toContain('../../src/core/view');
    expect(outside.filter((i) => !i.typeOnly)).toEqual([]);
  });
});
