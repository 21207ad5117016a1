// @ts-check
// Whether UTF-8 input holds bytes that do not decode, told chunk by chunk. Decoded, such bytes become U+FFFD, and so
// does nothing else but a U+FFFD the text holds itself (a name mangled long before the export): until a chunk has
// bytes that do not decode, a U+FFFD is the text's own. Plain JavaScript: the csv worker imports it, as the ndjson and
// json sources do (through input.ts).
import { isAscii, isUtf8 } from 'node:buffer';

/**
 * How many of the bytes end with a whole character: the last one to three may open a character the next chunk ends.
 * @param {Uint8Array} bytes
 */
function wholeLength(bytes) {
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const byte = bytes[bytes.length - back];
    // A continuation byte: the character it belongs to opens further back.
    if ((byte & 0xc0) === 0x80) continue;
    const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return length > back ? bytes.length - back : bytes.length;
  }
  return bytes.length;
}

export class Utf8Check {
  /** The start of a character the last chunk did not end. */
  #carried = Buffer.alloc(0);
  #sawUndecodable = false;
  #sawNonAscii = false;

  /**
   * Takes the next chunk of the input.
   * @param {Buffer} chunk
   */
  take(chunk) {
    if (this.#sawUndecodable) return;
    const bytes = this.#carried.length === 0 ? chunk : Buffer.concat([this.#carried, chunk]);
    const whole = wholeLength(bytes);
    this.#carried = Buffer.from(bytes.subarray(whole));
    // Bytes carried to the next chunk are not ASCII, but no character yet: `é` in Windows-1252 ending a chunk is one.
    if (!isUtf8(bytes.subarray(0, whole))) this.#sawUndecodable = true;
    else if (!this.#sawNonAscii && !isAscii(bytes.subarray(0, whole))) this.#sawNonAscii = true;
  }

  /** Ends the input: a character it did not end does not decode. */
  end() {
    if (this.#carried.length > 0) this.#sawUndecodable = true;
  }

  /** Whether bytes taken so far do not decode, so that a U+FFFD may stand for them. */
  get sawUndecodable() {
    return this.#sawUndecodable;
  }

  /**
   * Whether the bytes taken so far are UTF-8 with characters beyond ASCII: text of a single-byte encoding (`José` in
   * Windows-1252) almost never is, so an input read as one is most likely UTF-8 (`José` read as `JosÃ©`).
   */
  get readsAsUtf8() {
    return this.#sawNonAscii && !this.#sawUndecodable;
  }
}
