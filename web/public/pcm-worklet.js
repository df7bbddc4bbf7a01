// AudioWorklet processor of the console's microphone: mono float frames -> PCM16 little-endian
// chunks of ~20 ms, posted to the page (which sends them to /v1/realtime).
class Pcm16Capture extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.chunk = Math.round(sampleRate * 0.02);
    this.buffer = new Int16Array(this.chunk);
    this.filled = 0;
    this.level = 0;
  }

  process(inputs) {
    const input = inputs[0];
    if (!input || input.length === 0) return true;
    const ch = input[0];
    for (let i = 0; i < ch.length; i++) {
      const v = Math.max(-1, Math.min(1, ch[i]));
      this.level = Math.max(this.level * 0.9995, Math.abs(v));
      this.buffer[this.filled++] = v < 0 ? v * 0x8000 : v * 0x7fff;
      if (this.filled === this.chunk) {
        this.port.postMessage({ pcm: this.buffer.buffer, level: this.level }, [this.buffer.buffer]);
        this.buffer = new Int16Array(this.chunk);
        this.filled = 0;
      }
    }
    return true;
  }
}

registerProcessor('pcm16-capture', Pcm16Capture);
