import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/**
 * The size DynamoDB bills an item by (Developer Guide, "Item sizes and formats"): per attribute its
 * name's UTF-8 length plus the value — strings by UTF-8 length, numbers about one byte per two
 * significant digits plus one, binary by length, booleans and null one byte, lists and maps 3 bytes plus
 * one byte per element plus their contents. Writes cost one WRU per started 1 KB, strongly consistent
 * reads one RRU per started 4 KB.
 */
export function itemSizeBytes(item: Readonly<Record<string, AttributeValue>>): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) size += utf8(name) + valueSize(value);
  return size;
}

function utf8(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

function numberSize(text: string): number {
  const digits = text
    .replace(/^-/, '')
    .replace(/[eE].*$/, '')
    .replace('.', '')
    .replace(/^0+/, '');
  const significant = digits.replace(/0+$/, '').length || 1;
  return Math.ceil(significant / 2) + 1;
}

function valueSize(value: AttributeValue): number {
  if (value.S !== undefined) return utf8(value.S);
  if (value.N !== undefined) return numberSize(value.N);
  if (value.B !== undefined) return value.B.byteLength;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.L !== undefined) return 3 + value.L.reduce((sum, v) => sum + 1 + valueSize(v), 0);
  if (value.M !== undefined) {
    return 3 + Object.entries(value.M).reduce((sum, [k, v]) => sum + 1 + utf8(k) + valueSize(v), 0);
  }
  if (value.SS !== undefined) return value.SS.reduce((sum, s) => sum + utf8(s), 0);
  if (value.NS !== undefined) return value.NS.reduce((sum, n) => sum + numberSize(n), 0);
  if (value.BS !== undefined) return value.BS.reduce((sum, b) => sum + b.byteLength, 0);
  return 0;
}

export const writeUnitsFor = (bytes: number) => Math.max(1, Math.ceil(bytes / 1024));
export const strongReadUnitsFor = (bytes: number) => Math.max(1, Math.ceil(bytes / 4096));
