// Omni console entry: builds the 3D view (or the 2D plan without WebGL), keeps it in sync with the
// server's scene (GET /v1/scene + /v1/events), and wires text, voice, image, confirm and speech.
// Tests read the scene through window.omniScene and the #view data attributes.
import './style.css';
import { api, subscribe_events, file_to_data_url, ApiError } from './api.js';
import { Voice } from './voice.js';
import { View2D } from './view2d.js';
import { STYLES } from './styles.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);

// ---------- the view ----------
function webgl_available() {
  try {
    const c = document.createElement('canvas');
    return !!(window.WebGLRenderingContext && (c.getContext('webgl2') || c.getContext('webgl')));
  } catch { return false; }
}

async function create_view(container) {
  if (params.get('view') !== '2d' && webgl_available()) {
    try {
      const { Room3D } = await import('./room3d.js');
      return { view: new Room3D(container), kind: '3d' };
    } catch (e) {
      console.warn('3D view failed, using the 2D plan:', e);
      container.textContent = '';
    }
  }
  return { view: new View2D(container), kind: '2d' };
}

// A placeholder room until the server's state arrives (or when the server has no scene route).
const EMPTY_STATE = {
  revision: -1,
  room: { width: 6, depth: 5, height: 2.7, style: 'modern', window: { wall: 'back', x: -1.2, width: 1.6 }, door: { wall: 'right', z: 1.2, width: 0.9 } },
  objects: [], lights: [{ id: 'ceiling', on: true, color: '#fff4e0', brightness: 0.8 }, { id: 'ambient', on: true, color: '#dfe8ff', brightness: 0.5 }],
  camera: 'overview', anchors: {},
};

let view = null, renderer = '', state = EMPTY_STATE, drawn = [], scene_served = null;
const revision_waiters = [];

function apply_state(s, force = false) {
  if (!s || !s.room) return;
  if (!force && state && s.revision < state.revision) return;  // an older event arrived late
  state = s;
  drawn = view.apply_state(s);
  const el = $('view');
  el.dataset.revision = String(s.revision);
  el.dataset.objectCount = String(s.objects.length);
  el.dataset.objects = s.objects.map((o) => `${o.style}:${o.type}@${o.anchor || `${o.x},${o.z}`}`).join(' ');
  el.dataset.camera = s.camera;
  render_summary();
  for (let i = revision_waiters.length - 1; i >= 0; i--) {
    if (s.revision >= revision_waiters[i].rev) { revision_waiters[i].resolve(s); revision_waiters.splice(i, 1); }
  }
}

async function refresh_scene() {
  try {
    apply_state(await api.scene());
    scene_served = true;
  } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 503)) {
      if (scene_served !== false) log_note(`This server does not serve the scene state (${e.message}).`, 'warn');
      scene_served = false;
    }
  }
}

function render_summary() {
  const counts = {};
  for (const o of state.objects) counts[o.type] = (counts[o.type] || 0) + 1;
  const items = Object.entries(counts).map(([t, n]) => `${n}× ${t.replace('_', ' ')}`).join(', ') || 'empty room';
  const on = (state.lights || []).filter((l) => l.on).length;
  const style = STYLES[state.room.style] ? STYLES[state.room.style].label : state.room.style;
  $('scene-summary').textContent = `${style} · ${items} · lights on: ${on}/${(state.lights || []).length} · ${renderer.toUpperCase()} view`;
}

// ---------- camera and light quick buttons (they go through /v1/scene like any client) ----------
function build_quick_buttons() {
  const row = $('camera-buttons');
  for (const v of ['overview', 'top', 'front', 'window', 'corner']) {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = v;
    b.dataset.view = v;
    b.onclick = () => scene_action({ action: 'camera_view', preset: v });
    row.appendChild(b);
  }
  const light = document.createElement('button');
  light.type = 'button';
  light.textContent = 'lights';
  light.title = 'toggle the room lights';
  light.onclick = () => {
    const any_on = (state.lights || []).some((l) => l.on);
    scene_action({ action: 'set_light', state: any_on ? 'off' : 'on' });
  };
  row.appendChild(light);
}

async function scene_action(action) {
  try { apply_state((await api.scene_action(action)).state); } catch (e) { log_note(e.message, 'error'); }
}

// ---------- transcript and action log ----------
function transcript_line(who, text, partial = false) {
  const box = $('transcript');
  let line = partial ? box.querySelector(`.line.partial.${who}`) : null;
  if (!line) {
    line = document.createElement('div');
    line.className = `line ${who}${partial ? ' partial' : ''}`;
    box.appendChild(line);
  }
  line.textContent = text;
  if (!partial) line.classList.remove('partial');
  box.scrollTop = box.scrollHeight;
  return line;
}

function log_note(text, kind = 'info') {
  const li = document.createElement('li');
  li.className = `note ${kind}`;
  li.textContent = text;
  $('log').prepend(li);
}

function describe_action(a) {
  if (!a) return 'no action';
  const { action, ...args } = a;
  const parts = Object.entries(args).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`);
  return `${action}(${parts.join(', ')})`;
}

function log_result(input, res, rtt_ms, source) {
  const li = document.createElement('li');
  const tier = res.tier === '' || res.tier == null ? '–' : `tier ${res.tier}`;
  const total = res.timings_ms && typeof res.timings_ms.total === 'number' ? res.timings_ms.total : null;
  const latency = total != null ? `${total.toFixed(1)} ms` : `${rtt_ms.toFixed(0)} ms rtt`;
  const policy = res.policy || (res.action ? 'allow' : 'none');
  const status = res.action ? (res.executed ? (res.ok ? 'done' : 'failed') : policy === 'confirm' ? 'waiting' : 'not run') : 'not understood';
  li.className = `entry ${status.replace(' ', '-')}`;
  li.dataset.policy = policy;
  li.dataset.tier = res.tier ?? '';
  li.innerHTML = '<div class="in"></div><div class="act"></div><div class="meta"></div><div class="reply"></div>';
  li.querySelector('.in').textContent = `${source === 'voice' ? '◉' : '›'} ${input}`;
  li.querySelector('.act').textContent = describe_action(res.action);
  li.querySelector('.meta').innerHTML = `<span class="tag">${tier}</span><span class="tag">${latency}</span>` +
    `<span class="tag policy-${policy}">${policy}</span><span class="tag">${status}</span>`;
  li.querySelector('.reply').textContent = res.reply || '';
  $('log').prepend(li);
  return li;
}

// ---------- speech playback ----------
const player = $('player');
async function speak(res) {
  if (!$('speak').checked || !res.reply) return;
  const audio = res.speech || res.audio;
  try {
    if (typeof audio === 'string' && audio.length > 100) {
      player.src = audio.startsWith('data:') ? audio : `data:audio/wav;base64,${audio}`;
    } else if (audio && typeof audio.data === 'string') {
      player.src = `data:${audio.mime_type || 'audio/wav'};base64,${audio.data}`;
    } else if (capabilities.tts) {
      player.src = URL.createObjectURL(await api.speech(res.reply));
    } else return;
    await player.play();
  } catch (e) {
    console.warn('speech playback:', e.message);
  }
}

// ---------- confirm dialog ----------
function ask_confirm(res) {
  const dlg = $('confirm');
  $('confirm-action').textContent = describe_action(res.action);
  $('confirm-reply').textContent = res.reply || 'This action needs your confirmation.';
  return new Promise((resolve) => {
    dlg.onclose = () => resolve(dlg.returnValue === 'yes');
    dlg.showModal();
  });
}

// ---------- the text/image request ----------
let image_data_url = null;

async function act(text, source = 'text', extra = {}) {
  if (!text.trim()) return;
  transcript_line('user', text);
  const body = { text, speak: $('speak').checked, ...extra };
  if (image_data_url) body.image = image_data_url;
  const t0 = performance.now();
  let res;
  try {
    res = await api.act(body);
  } catch (e) {
    log_note(`${text}: ${e.message}`, 'error');
    return null;
  }
  log_result(text, res, performance.now() - t0, source);
  if (res.reply) transcript_line('assistant', res.reply);
  if (res.policy === 'confirm' && !res.executed) {
    const yes = await ask_confirm(res);
    const t1 = performance.now();
    try {
      const answer = await api.act({ ...extra, text: yes ? 'yes' : 'no', confirm: yes, speak: $('speak').checked });
      log_result(yes ? 'yes (confirmed)' : 'no (declined)', answer, performance.now() - t1, 'text');
      if (answer.reply) transcript_line('assistant', answer.reply);
      speak(answer);
      res = answer;
    } catch (e) { log_note(e.message, 'error'); }
  } else {
    speak(res);
  }
  await refresh_scene();
  return res;
}

// ---------- components / tiers ----------
let capabilities = {};
async function load_capabilities() {
  const chips = $('components');
  let h;
  try { h = await api.health(); } catch (e) { chips.textContent = 'server unreachable'; return; }
  capabilities = h;
  const items = [
    ['tier 0 · templates', !!h.agent, 'the action catalog\'s template matcher (no model)'],
    ['tier 1 · LLM', !!h.llm, 'an LLM for anything the templates miss'],
    ['ASR · Whisper', !!h.asr, 'speech recognition'],
    ['VAD', !!h.vad, 'voice activity detection for hands-free turns'],
    ['TTS', !!h.tts, 'spoken replies (espeak-ng)'],
  ];
  chips.innerHTML = '';
  const active_tiers = [];
  if (h.agent) active_tiers.push('0');
  if (h.llm) active_tiers.push('1');
  chips.dataset.tiers = active_tiers.join(',');
  for (const [name, on, what] of items) {
    const c = document.createElement('span');
    c.className = `chip ${on ? 'on' : 'off'}`;
    c.textContent = name;
    c.title = `${what}: ${on ? 'active' : 'not active'}`;
    chips.appendChild(c);
  }
  const help = [];
  help.push(`<p>Active tiers: <b>${active_tiers.length ? active_tiers.map((t) => `tier ${t}`).join(' + ') : 'none'}</b>. ` +
    'Tier 0 matches the catalog\'s templates in under a millisecond; tier 1 asks an LLM, constrained to the catalog\'s schema.</p>');
  if (!h.llm) {
    help.push('<p><b>Add an LLM (tier 1)</b>: download a GGUF model and restart with it, e.g.<br>' +
      '<code>omni pull hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q4_k_m.gguf</code><br>' +
      '<code>omni serve -m qwen2.5-0.5b-instruct-q4_k_m.gguf</code> — or use a remote engine: <code>--llm-backend http://host:8080</code></p>');
  }
  if (!h.asr) {
    help.push('<p><b>Add speech recognition</b>: <code>omni pull hf:ggerganov/whisper.cpp/ggml-base.en.bin</code> then ' +
      '<code>omni serve --asr-model ggml-base.en.bin</code>.</p>');
  }
  if (!h.vad) help.push('<p><b>Hands-free turns</b> need Silero VAD: <code>--vad-model silero-vad-v6.2.0.ggml.bin</code>.</p>');
  if (h.active && h.active.length) help.push(`<p>Active:</p><ul>${h.active.map((a) => `<li>${escape_html(a)}</li>`).join('')}</ul>`);
  if (h.waiting && h.waiting.length) help.push(`<p>Not active:</p><ul>${h.waiting.map((a) => `<li>${escape_html(a)}</li>`).join('')}</ul>`);
  $('help-body').innerHTML = help.join('');
  if (!h.llm || !h.asr) $('help').open = true;
}

function escape_html(s) {
  return String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]));
}

// ---------- voice ----------
let assistant_partial = '', last_transcript = '', voice_turn_started = 0;
const voice = new Voice({
  on_state: (s, detail) => {
    $('ptt').dataset.state = s;
    $('ptt').textContent = s === 'listening' ? '◉ Listening…' : s === 'connecting' ? '… connecting' : '● Hold to talk';
    if (s === 'error') log_note(`microphone: ${detail}`, 'error');
  },
  on_level: (level) => $('ptt').style.setProperty('--level', String(Math.min(1, level * 3))),
  on_event: (ev) => {
    switch (ev.type) {
      case 'input_audio_buffer.speech_started':
        $('vad').dataset.speech = 'true'; $('vad').textContent = 'speech'; break;
      case 'input_audio_buffer.speech_stopped':
        voice_turn_started = performance.now();
        $('vad').dataset.speech = 'false'; $('vad').textContent = 'silence'; break;
      case 'conversation.item.input_audio_transcription.delta':
        transcript_line('user', ev.delta || '', true); break;
      case 'conversation.item.input_audio_transcription.completed':
        last_transcript = ev.transcript || '';
        transcript_line('user', last_transcript); break;
      case 'response.created': assistant_partial = ''; break;
      case 'response.output_text.delta':
      case 'response.text.delta':
        assistant_partial += ev.delta || '';
        transcript_line('assistant', assistant_partial, true); break;
      case 'response.done':
        if (assistant_partial) transcript_line('assistant', assistant_partial);
        assistant_partial = ''; break;
      case 'omni.action': {
        // The realtime session acted on a spoken turn (in the socket's conversation, ev.conversation_id).
        const res = ev.result || ev;
        const latency = voice_turn_started ? performance.now() - voice_turn_started : 0;
        log_result(last_transcript || '(voice)', { ...res, action: res.action || ev.action }, latency, 'voice');
        if (res.policy === 'confirm' && !res.executed) {
          const extra = ev.conversation_id ? { conversation_id: ev.conversation_id } : {};
          ask_confirm(res).then((yes) => act(yes ? 'yes' : 'no', 'text', extra));
        }
        refresh_scene();
        break;
      }
      case 'error':
        if (!(ev.error && ev.error.code === 'input_audio_buffer_commit_empty')) log_note(`realtime: ${ev.error ? ev.error.message : 'error'}`, 'error');
        break;
      default: break;
    }
  },
});

function wire_inputs() {
  $('ask').addEventListener('submit', (e) => {
    e.preventDefault();
    const t = $('text').value;
    $('text').value = '';
    act(t);
  });
  const ptt = $('ptt');
  const down = (e) => { e.preventDefault(); if (!$('handsfree').checked) voice.start().catch(() => {}); };
  const up = () => { if (!$('handsfree').checked && voice.listening) voice.stop(true); };
  ptt.addEventListener('pointerdown', down);
  ptt.addEventListener('pointerup', up);
  ptt.addEventListener('pointerleave', up);
  window.addEventListener('keydown', (e) => {
    if (e.code === 'Space' && !e.repeat && document.activeElement !== $('text') && !$('confirm').open) down(e);
  });
  window.addEventListener('keyup', (e) => { if (e.code === 'Space' && document.activeElement !== $('text')) up(); });
  $('handsfree').addEventListener('change', (e) => {
    if (e.target.checked) voice.start().catch(() => { e.target.checked = false; });
    else voice.stop(true);
  });
  const set_image = async (file) => {
    if (!file || !file.type.startsWith('image/')) return;
    image_data_url = await file_to_data_url(file);
    $('photo-img').src = image_data_url;
    $('photo').hidden = false;
    document.body.dataset.image = 'attached';
  };
  $('image').addEventListener('change', (e) => set_image(e.target.files[0]));
  window.addEventListener('paste', (e) => {
    for (const item of e.clipboardData ? e.clipboardData.items : []) if (item.type.startsWith('image/')) set_image(item.getAsFile());
  });
  $('photo-clear').onclick = () => { image_data_url = null; $('photo').hidden = true; $('image').value = ''; delete document.body.dataset.image; };
}

// ---------- start ----------
async function main() {
  const container = $('view');
  const made = await create_view(container);
  view = made.view;
  renderer = made.kind;
  container.dataset.renderer = renderer;
  document.body.dataset.renderer = renderer;
  apply_state(EMPTY_STATE, true);
  build_quick_buttons();
  wire_inputs();
  const conn = $('conn');
  subscribe_events((ev) => {
    if (ev.type === 'omni.scene' && ev.state) apply_state(ev.state);
    else if (ev.type === 'omni.scene_error') log_note(`scene: ${ev.error}`, 'error');
    else if (ev.type === 'omni.reconnected' || ev.type === 'omni.poll' || ev.type === 'omni.action') refresh_scene();
  }, (status) => { conn.dataset.state = status; conn.textContent = status; });
  await Promise.all([refresh_scene(), load_capabilities()]);
  document.body.dataset.ready = 'true';
}

const ready = main();

// The test and automation surface.
window.omniScene = {
  ready,
  state: () => JSON.parse(JSON.stringify(state)),
  objects: () => state.objects.map((o) => ({ ...o })),
  renderer: () => renderer,
  drawn: () => drawn.slice(),
  samples: () => (view && view.samples ? JSON.parse(JSON.stringify(view.samples)) : {}),
  served: () => scene_served,
  refresh: refresh_scene,
  settle: () => view && view.settle(),
  act: (text) => act(text),
  wait_for_revision: (rev, timeout_ms = 10000) => new Promise((resolve, reject) => {
    if (state.revision >= rev) return resolve(state);
    const w = { rev, resolve };
    revision_waiters.push(w);
    setTimeout(() => { const i = revision_waiters.indexOf(w); if (i >= 0) { revision_waiters.splice(i, 1); reject(new Error(`revision ${rev} not reached`)); } }, timeout_ms);
  }),
};
window.omniVoice = {
  events: () => voice.events.map((e) => e.type),
  listening: () => voice.listening,
  chunks_sent: () => voice.sent_chunks,
  start: () => voice.start(),
  stop: () => voice.stop(true),
};
