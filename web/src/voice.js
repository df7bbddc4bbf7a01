// Push-to-talk and hands-free voice: getUserMedia -> AudioWorklet (PCM16, 24 kHz, 20 ms chunks)
// -> /v1/realtime (OpenAI Realtime subset: session.update, input_audio_buffer.*, server VAD events,
// transcription, response text and omni.action events).
import { ws_url } from './api.js';

const SAMPLE_RATE = 24000;

function to_base64(buffer) {
  const bytes = new Uint8Array(buffer);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

export class Voice {
  // handlers: on_event(event) for every server event, on_level(0..1), on_state('idle'|'connecting'|'listening'|'error', detail)
  constructor(handlers) {
    this.h = handlers;
    this.ws = null;
    this.ctx = null;
    this.stream = null;
    this.node = null;
    this.listening = false;
    this.sent_chunks = 0;
    this.events = [];  // {type, t} of every server event (tests read this through window.omniVoice)
  }

  async connect() {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) return;
    if (this.connecting) return this.connecting;
    this.h.on_state('connecting');
    this.connecting = new Promise((resolve, reject) => {
      const ws = new WebSocket(ws_url('/v1/realtime'));
      ws.onopen = () => {
        this.ws = ws;
        ws.send(JSON.stringify({
          type: 'session.update',
          session: {
            modalities: ['text'],
            input_audio_format: 'pcm16',
            input_audio_rate: SAMPLE_RATE,
            input_audio_transcription: { model: 'whisper-1' },
            turn_detection: { type: 'server_vad', threshold: 0.5, silence_duration_ms: 500, prefix_padding_ms: 300 },
          },
        }));
        resolve();
      };
      ws.onerror = () => reject(new Error('cannot open /v1/realtime'));
      ws.onclose = (e) => {
        this.ws = null;
        this.connecting = null;
        if (this.listening) this.stop(false);
        this.h.on_state('idle', e.reason || '');
      };
      ws.onmessage = (m) => {
        let ev;
        try { ev = JSON.parse(m.data); } catch { return; }
        this.events.push({ type: ev.type, t: performance.now() });
        if (this.events.length > 500) this.events.shift();
        this.h.on_event(ev);
      };
    });
    try { await this.connecting; } finally { this.connecting = null; }
  }

  // Opens the microphone and streams it. Resolves once audio flows.
  async start() {
    if (this.listening) return;
    try {
      await this.connect();
      this.stream = await navigator.mediaDevices.getUserMedia({
        audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
      });
      this.ctx = new AudioContext({ sampleRate: SAMPLE_RATE });
      await this.ctx.audioWorklet.addModule(new URL('pcm-worklet.js', document.baseURI).toString());
      const src = this.ctx.createMediaStreamSource(this.stream);
      this.node = new AudioWorkletNode(this.ctx, 'pcm16-capture');
      this.node.port.onmessage = (e) => {
        if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
        this.ws.send(JSON.stringify({ type: 'input_audio_buffer.append', audio: to_base64(e.data.pcm) }));
        this.sent_chunks++;
        this.h.on_level(e.data.level);
      };
      src.connect(this.node);
      // Keep the graph pulled without playing the microphone back.
      const mute = this.ctx.createGain();
      mute.gain.value = 0;
      this.node.connect(mute).connect(this.ctx.destination);
      this.listening = true;
      this.h.on_state('listening');
    } catch (e) {
      this.release();
      this.h.on_state('error', e.message || String(e));
      throw e;
    }
  }

  // Stops the microphone; with commit, asks the server to finish the turn now (push-to-talk release).
  stop(commit = true) {
    const was = this.listening;
    this.release();
    if (was && commit && this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify({ type: 'input_audio_buffer.commit' }));
    }
    this.h.on_state('idle');
  }

  release() {
    this.listening = false;
    if (this.node) { this.node.port.onmessage = null; this.node.disconnect(); this.node = null; }
    if (this.stream) { for (const t of this.stream.getTracks()) t.stop(); this.stream = null; }
    if (this.ctx) { this.ctx.close(); this.ctx = null; }
  }
}
