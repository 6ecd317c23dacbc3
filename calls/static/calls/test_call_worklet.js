// The Test call page's audio processors (AudioWorklet, run on the browser's audio thread):
// "pcm-capture" turns the microphone into 16-bit mono PCM at the call's rate in 20 ms frames;
// "pcm-player" plays the bot's PCM at the call's rate without gaps. Both resample between the
// AudioContext's own rate (often 48 kHz) and the call's (16 or 8 kHz).
"use strict";

const TAPS = 95; // the anti-aliasing filter's length, at the context's rate

// A windowed-sinc low-pass with its cut-off at `cutoff` (a fraction of the sample rate).
function lowPass(cutoff, taps) {
  const h = new Float32Array(taps);
  const middle = (taps - 1) / 2;
  let sum = 0;
  for (let n = 0; n < taps; n++) {
    const x = n - middle;
    const sinc = x === 0 ? 2 * cutoff : Math.sin(2 * Math.PI * cutoff * x) / (Math.PI * x);
    const hamming = 0.54 - 0.46 * Math.cos((2 * Math.PI * n) / (taps - 1));
    h[n] = sinc * hamming;
    sum += h[n];
  }
  for (let n = 0; n < taps; n++) h[n] /= sum;
  return h;
}

class PcmCapture extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const rate = options.processorOptions.rate;
    this.step = sampleRate / rate; // context samples per call sample
    this.filter = this.step > 1 ? lowPass((0.45 * rate) / sampleRate, TAPS) : null;
    this.taps = this.filter ? TAPS : 1;
    // Input not yet consumed, after the last (taps - 1) samples the filter looks back on.
    this.input = new Float32Array(this.taps - 1 + 8192);
    this.length = this.taps - 1;
    this.position = this.taps - 1; // where the next output sample is read, in input samples
    this.frameSize = Math.round(rate / 50); // 20 ms
    this.frame = new Int16Array(this.frameSize);
    this.filled = 0;
  }

  filtered(index) {
    if (!this.filter) return this.input[index];
    let sum = 0;
    for (let k = 0; k < this.taps; k++) sum += this.filter[k] * this.input[index - k];
    return sum;
  }

  process(inputs) {
    const channels = inputs[0];
    if (!channels || channels.length === 0) return true;
    const count = channels[0].length;
    if (this.length + count > this.input.length) return true; // cannot happen: drained below
    for (let i = 0; i < count; i++) {
      let mixed = 0;
      for (const channel of channels) mixed += channel[i];
      this.input[this.length + i] = mixed / channels.length;
    }
    this.length += count;
    while (this.position + 1 < this.length) {
      const index = Math.floor(this.position);
      const fraction = this.position - index;
      const a = this.filtered(index);
      const value = fraction ? a + (this.filtered(index + 1) - a) * fraction : a;
      const clipped = Math.max(-1, Math.min(1, value));
      this.frame[this.filled++] = clipped < 0 ? clipped * 0x8000 : clipped * 0x7fff;
      if (this.filled === this.frameSize) {
        const buffer = this.frame.buffer;
        this.port.postMessage(buffer, [buffer]); // transferred: the array is empty now
        this.frame = new Int16Array(this.frameSize);
        this.filled = 0;
      }
      this.position += this.step;
    }
    // Keep what the filter still needs; drop the rest.
    const drop = Math.floor(this.position) - (this.taps - 1);
    if (drop > 0) {
      this.input.copyWithin(0, drop, this.length);
      this.length -= drop;
      this.position -= drop;
    }
    return true;
  }
}

class PcmPlayer extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const rate = options.processorOptions.rate;
    this.step = rate / sampleRate; // call samples per context sample
    this.prebuffer = Math.round(rate * 0.06); // absorbs the network's jitter
    this.lastArrival = 0; // currentTime of the last PCM from the page
    this.queue = []; // Float32Arrays of call samples
    this.head = 0; // the next unread sample of queue[0]
    this.buffered = 0;
    this.playing = false;
    this.previous = 0; // the two call samples the output is interpolated between
    this.next = 0;
    this.phase = 0;
    this.played = 0;
    this.reported = 0;
    this.port.onmessage = (event) => {
      if (event.data === "flush") {
        this.queue = [];
        this.head = 0;
        this.buffered = 0;
        this.playing = false;
        return;
      }
      const pcm = new Int16Array(event.data);
      const samples = new Float32Array(pcm.length);
      for (let i = 0; i < pcm.length; i++) samples[i] = pcm[i] / 0x8000;
      this.queue.push(samples);
      this.buffered += samples.length;
      this.lastArrival = currentTime;
    };
  }

  take() {
    const current = this.queue[0];
    const sample = current[this.head++];
    if (this.head === current.length) {
      this.queue.shift();
      this.head = 0;
    }
    this.buffered -= 1;
    this.played += 1;
    return sample;
  }

  process(inputs, outputs) {
    const output = outputs[0][0];
    // Start on a prebuffer's worth, or on less once nothing more comes (the end of a reply).
    if (!this.playing && this.buffered > 0) {
      this.playing = this.buffered >= this.prebuffer || currentTime - this.lastArrival > 0.1;
    }
    for (let i = 0; i < output.length; i++) {
      if (!this.playing) {
        output[i] = 0;
        continue;
      }
      output[i] = this.previous + (this.next - this.previous) * this.phase;
      this.phase += this.step;
      while (this.phase >= 1 && this.playing) {
        this.phase -= 1;
        this.previous = this.next;
        if (this.buffered > 0) {
          this.next = this.take();
        } else {
          this.playing = false; // ran dry: wait for a prebuffer's worth again
          this.previous = 0;
          this.next = 0;
          this.phase = 0;
        }
      }
    }
    for (let c = 1; c < outputs[0].length; c++) outputs[0][c].set(output);
    // Tell the page what was played: every 60 ms of speech, and when the queue runs dry.
    const unreported = this.played - this.reported;
    if (unreported >= this.prebuffer || (unreported > 0 && this.buffered === 0)) {
      this.reported = this.played;
      this.port.postMessage({ played: this.played, buffered: this.buffered });
    }
    return true;
  }
}

registerProcessor("pcm-capture", PcmCapture);
registerProcessor("pcm-player", PcmPlayer);
