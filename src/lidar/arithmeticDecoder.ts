/**
 * The adaptive arithmetic decoder LASzip uses (after Amir Said's FastAC), with just enough of its
 * integer decompressor to read a LAZ chunk table. laz-perf decodes the points themselves; it does not
 * expose the chunk table, which is encoded with this coder. All arithmetic is on unsigned 32-bit values.
 */

const MIN_LENGTH = 0x01000000;
const MAX_LENGTH = 0xffffffff;
const BIT_LENGTH_SHIFT = 13;
const BIT_MAX_COUNT = 1 << BIT_LENGTH_SHIFT;
const SYMBOL_LENGTH_SHIFT = 15;
const SYMBOL_MAX_COUNT = 1 << SYMBOL_LENGTH_SHIFT;

class BitModel {
  bit0Count = 1;
  bitCount = 2;
  bit0Probability = 1 << (BIT_LENGTH_SHIFT - 1);
  updateCycle = 4;
  bitsUntilUpdate = 4;

  update(): void {
    if ((this.bitCount += this.updateCycle) > BIT_MAX_COUNT) {
      this.bitCount = (this.bitCount + 1) >>> 1;
      this.bit0Count = (this.bit0Count + 1) >>> 1;
      if (this.bit0Count === this.bitCount) this.bitCount++;
    }
    const scale = Math.floor(0x80000000 / this.bitCount);
    this.bit0Probability = (this.bit0Count * scale) >>> (31 - BIT_LENGTH_SHIFT);
    this.updateCycle = Math.min((5 * this.updateCycle) >>> 2, 64);
    this.bitsUntilUpdate = this.updateCycle;
  }
}

class SymbolModel {
  readonly distribution: Uint32Array;
  readonly symbolCount: Uint32Array;
  readonly decoderTable: Uint32Array | undefined;
  readonly tableShift: number;
  readonly lastSymbol: number;
  totalCount = 0;
  updateCycle: number;
  symbolsUntilUpdate = 0;

  constructor(readonly symbols: number) {
    if (symbols > 16) {
      let tableBits = 3;
      while (symbols > 1 << (tableBits + 2)) tableBits++;
      this.decoderTable = new Uint32Array((1 << tableBits) + 2);
      this.tableShift = SYMBOL_LENGTH_SHIFT - tableBits;
    } else {
      this.decoderTable = undefined;
      this.tableShift = 0;
    }
    this.distribution = new Uint32Array(symbols);
    this.symbolCount = new Uint32Array(symbols).fill(1);
    this.lastSymbol = symbols - 1;
    this.updateCycle = symbols;
    this.update();
    this.symbolsUntilUpdate = this.updateCycle = (symbols + 6) >>> 1;
  }

  update(): void {
    if ((this.totalCount += this.updateCycle) > SYMBOL_MAX_COUNT) {
      this.totalCount = 0;
      for (let n = 0; n < this.symbols; n++) this.totalCount += this.symbolCount[n] = (this.symbolCount[n]! + 1) >>> 1;
    }
    const scale = Math.floor(0x80000000 / this.totalCount);
    const table = this.decoderTable;
    let sum = 0;
    let s = 0;
    for (let k = 0; k < this.symbols; k++) {
      this.distribution[k] = (scale * sum) >>> (31 - SYMBOL_LENGTH_SHIFT);
      sum += this.symbolCount[k]!;
      if (table) {
        const w = this.distribution[k]! >>> this.tableShift;
        while (s < w) table[++s] = k - 1;
      }
    }
    if (table) {
      table[0] = 0;
      const tableSize = table.length - 2;
      while (s <= tableSize) table[++s] = this.symbols - 1;
    }
    this.updateCycle = Math.min((5 * this.updateCycle) >>> 2, (this.symbols + 6) << 3);
    this.symbolsUntilUpdate = this.updateCycle;
  }
}

export class ArithmeticDecoder {
  private value: number;
  private length = MAX_LENGTH;
  private position: number;

  /** Starts decoding `bytes` at `start`; bytes past the end read as 0. */
  constructor(private readonly bytes: Uint8Array, start = 0) {
    this.position = start;
    this.value = ((this.nextByte() << 24) | (this.nextByte() << 16) | (this.nextByte() << 8) | this.nextByte()) >>> 0;
  }

  decodeBit(model: BitModel): number {
    const x = model.bit0Probability * (this.length >>> BIT_LENGTH_SHIFT);
    let bit: number;
    if (this.value < x) {
      bit = 0;
      this.length = x;
      model.bit0Count++;
    } else {
      bit = 1;
      this.value -= x;
      this.length -= x;
    }
    if (this.length < MIN_LENGTH) this.renormalize();
    if (--model.bitsUntilUpdate === 0) model.update();
    return bit;
  }

  decodeSymbol(model: SymbolModel): number {
    const distribution = model.distribution;
    let symbol = 0;
    let x = 0;
    let y = this.length;
    this.length = this.length >>> SYMBOL_LENGTH_SHIFT;
    const table = model.decoderTable;
    if (table) {
      const dv = Math.floor(this.value / this.length);
      const t = dv >>> model.tableShift;
      symbol = table[t]!;
      let n = table[t + 1]! + 1;
      while (n > symbol + 1) {
        const k = (symbol + n) >>> 1;
        if (distribution[k]! > dv) n = k;
        else symbol = k;
      }
      x = distribution[symbol]! * this.length;
      if (symbol !== model.lastSymbol) y = distribution[symbol + 1]! * this.length;
    } else {
      let n = model.symbols;
      let k = n >>> 1;
      do {
        const z = this.length * distribution[k]!;
        if (z > this.value) {
          n = k;
          y = z;
        } else {
          symbol = k;
          x = z;
        }
      } while ((k = (symbol + n) >>> 1) !== symbol);
    }
    this.value -= x;
    this.length = y - x;
    if (this.length < MIN_LENGTH) this.renormalize();
    model.symbolCount[symbol]!++;
    if (--model.symbolsUntilUpdate === 0) model.update();
    return symbol;
  }

  /** Bytes consumed so far, counting the zeros read past the end (a valid stream ends exactly at its end). */
  get bytesRead(): number {
    return this.position;
  }

  readBits(bits: number): number {
    if (bits > 19) {
      const low = this.readShort();
      const high = this.readBits(bits - 16);
      return (high * 0x10000 + low) >>> 0;
    }
    this.length = this.length >>> bits;
    const value = Math.floor(this.value / this.length);
    this.value -= this.length * value;
    if (this.length < MIN_LENGTH) this.renormalize();
    return value;
  }

  private readShort(): number {
    return this.readBits(16);
  }

  private renormalize(): void {
    do {
      this.value = ((this.value << 8) | this.nextByte()) >>> 0;
      this.length = (this.length << 8) >>> 0;
    } while (this.length < MIN_LENGTH);
  }

  private nextByte(): number {
    return this.position < this.bytes.length ? this.bytes[this.position++]! : (this.position++, 0);
  }
}

const CORRECTOR_BITS = 32;
const BITS_HIGH = 8;

/** LASzip's integer decompressor for 32-bit values (the only kind the chunk table uses). */
export class IntegerDecompressor {
  private readonly bitModels: SymbolModel[];
  private readonly zeroCorrector = new BitModel();
  private readonly correctors: SymbolModel[] = [];

  constructor(private readonly decoder: ArithmeticDecoder, contexts: number) {
    this.bitModels = Array.from({ length: contexts }, () => new SymbolModel(CORRECTOR_BITS + 1));
    for (let i = 1; i < CORRECTOR_BITS; i++) this.correctors[i] = new SymbolModel(1 << Math.min(i, BITS_HIGH));
  }

  /** The value coded as a correction of `prediction` in `context` (32-bit wrap-around). */
  decompress(prediction: number, context: number): number {
    return (prediction + this.readCorrector(this.bitModels[context]!)) | 0;
  }

  private readCorrector(model: SymbolModel): number {
    const k = this.decoder.decodeSymbol(model);
    if (k === 0) return this.decoder.decodeBit(this.zeroCorrector);
    if (k >= CORRECTOR_BITS) return -0x80000000;
    let c = this.decoder.decodeSymbol(this.correctors[k]!);
    if (k > BITS_HIGH) {
      const lowBits = k - BITS_HIGH;
      c = c * 2 ** lowBits + this.decoder.readBits(lowBits);
    }
    // The corrector codes [-(2^k - 1), -2^(k-1)] ∪ [2^(k-1), 2^k] as [0, 2^k).
    return c >= 2 ** (k - 1) ? c + 1 : c - (2 ** k - 1);
  }
}
