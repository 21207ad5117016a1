// @ts-check
// The byte order marks a text export may open with, and the encoding each names. Plain JavaScript: the csv worker
// runs without a TypeScript loader and imports it as the ndjson and json sources do (through input.ts).

const BYTE_ORDER_MARKS = [
  { encoding: 'utf-8', bytes: [0xef, 0xbb, 0xbf] },
  { encoding: 'utf-16le', bytes: [0xff, 0xfe] },
  { encoding: 'utf-16be', bytes: [0xfe, 0xff] },
];

/**
 * The encoding named by the byte order mark the input opens with, or undefined when it has none.
 * @param {Uint8Array} first The input's first chunk.
 * @returns {string | undefined}
 */
export function markedEncoding(first) {
  return BYTE_ORDER_MARKS.find(({ bytes }) => bytes.every((byte, index) => first[index] === byte))?.encoding;
}
