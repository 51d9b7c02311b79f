// Where message bodies are kept: received bodies are copied once into shared slabs, so a queued
// message holds exactly its own bytes and never a whole socket read buffer. A slab is freed by the
// garbage collector when the last message in it is gone.

const SLAB_SIZE = 256 * 1024;
/** bodies at least this large get a buffer of their own */
const OWN_BUFFER = 32 * 1024;

export class BodyStore {
  #slab: Buffer = Buffer.allocUnsafeSlow(SLAB_SIZE);
  #pos = 0;
  /** the buffer the last copy went into; the offset is what copy() returned */
  buffer: Buffer = this.#slab;

  /** Copies src[start, start+length) and returns its offset in `this.buffer`. */
  copy(src: Buffer, start: number, length: number): number {
    if (length >= OWN_BUFFER) {
      const own = Buffer.allocUnsafeSlow(length);
      src.copy(own, 0, start, start + length);
      this.buffer = own;
      return 0;
    }
    if (this.#pos + length > SLAB_SIZE) {
      this.#slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
      this.#pos = 0;
    }
    const at = this.#pos;
    src.copy(this.#slab, at, start, start + length);
    // keep 8-byte alignment for the next body
    this.#pos = (at + length + 7) & ~7;
    this.buffer = this.#slab;
    return at;
  }
}
