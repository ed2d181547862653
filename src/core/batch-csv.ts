/**
 * A small, strict RFC 4180 reader for batch files (issue 11). Strict on purpose: a payout file that a
 * lenient parser "repairs" (a stray quote, a ragged row) could pay the wrong amount to the wrong person,
 * so anything ambiguous is refused with the line it is on, and nothing is recorded.
 *
 * Accepted: UTF-8 with or without a BOM; CRLF or LF line ends (mixed is fine); fields in double quotes
 * may hold commas, CR/LF and doubled quotes (`""` is one `"`); empty lines between records are skipped.
 * Refused: a quote inside an unquoted field, anything between a closing quote and the next separator,
 * an unterminated quoted field, a lone CR outside quotes.
 *
 * Why not a dependency: the one well-kept candidate (csv-parse) would do the same in more code than this,
 * and its many lenient options are exactly what a money file must not have. The property tests in
 * test/unit/core/batch-csv.test.ts check it against a writer on arbitrary strings.
 */

export interface CsvRecord {
  /** The physical line (1-based) the record starts on, for error messages. */
  readonly line: number;
  readonly fields: readonly string[];
}

export type CsvParse =
  | { readonly ok: true; readonly records: readonly CsvRecord[] }
  | { readonly ok: false; readonly line: number; readonly message: string };

const BOM = '\uFEFF';

export function parseCsv(input: string): CsvParse {
  const text = input.startsWith(BOM) ? input.slice(1) : input;
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let recordLine = 1;
  /** Whether the current record has any content yet (a quoted empty field counts). */
  let started = false;
  let i = 0;
  const n = text.length;

  const endField = () => {
    fields.push(field);
    field = '';
  };
  const endRecord = () => {
    endField();
    // An empty line (no characters, no quotes) is skipped, not read as a record of one empty field.
    if (started || fields.length > 1) records.push({ line: recordLine, fields });
    fields = [];
    started = false;
  };

  while (i < n) {
    const c = text[i]!;
    if (c === '"') {
      if (field.length > 0) return { ok: false, line, message: 'a quote inside an unquoted field' };
      started = true;
      i++;
      // Quoted field: up to the closing quote; `""` is a literal quote; newlines are content.
      for (;;) {
        if (i >= n) return { ok: false, line: recordLine, message: 'a quoted field is not closed' };
        const q = text[i]!;
        if (q === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        if (q === '\n') line++;
        field += q;
        i++;
      }
      const next = text[i];
      if (next !== undefined && next !== ',' && next !== '\n' && next !== '\r') {
        return { ok: false, line, message: 'characters after a closing quote' };
      }
      continue;
    }
    if (c === ',') {
      started = true;
      endField();
      i++;
      continue;
    }
    if (c === '\r') {
      if (text[i + 1] !== '\n') return { ok: false, line, message: 'a carriage return without a line feed' };
      i++;
      continue;
    }
    if (c === '\n') {
      endRecord();
      i++;
      line++;
      recordLine = line;
      continue;
    }
    started = true;
    field += c;
    i++;
  }
  if (started || field.length > 0 || fields.length > 0) endRecord();
  return { ok: true, records };
}

/** One CSV cell: quoted when it holds a separator, a quote, a line end, or leading/trailing spaces. */
export function csvCell(value: string): string {
  return /[",\r\n]|^\s|\s$/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** One CSV line (CRLF-terminated, as RFC 4180 writes it). */
export function csvLine(values: readonly string[]): string {
  return `${values.map(csvCell).join(',')}\r\n`;
}
