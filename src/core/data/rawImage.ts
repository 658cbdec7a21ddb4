/** Decoded pixels, row-major, interleaved channels (HWC), 8 bits per channel. */
export interface RawImage {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Uint8Array;
}
