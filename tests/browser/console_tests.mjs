// Browser tests of the 3D console against a real `omni serve` (one server per test, temporary --db):
// text command -> scene, screenshot non-blank, microphone -> realtime VAD events, 2D view without
// WebGL, reload and restart restore the scene, two pages see the same change.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  env, temp_dir, start_server, launch, open_console, view_screenshot, post_json, get_json, type_command, wait_for_scene,
} from './harness.mjs';

// Runs body(ctx) with a server (and its temp dir) that is always stopped afterwards.
async function with_server(name, extra, body) {
  const dir = temp_dir(name);
  const server = await start_server({ db: path.join(dir, 'omni.db'), extra });
  try {
    return await body(server, dir);
  } catch (e) {
    console.error(`--- omni serve output ---\n${server.output()}`);
    throw e;
  } finally {
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const has_nordic_sofa_at_window = (state) =>
  state.objects.some((o) => o.type === 'sofa' && o.style === 'nordic' && o.anchor === 'window');

export const tests = {
  // Type the sentence; the page's scene state gets a Nordic sofa at the window anchor; the
  // action log shows the tier; the screenshot of the room is not blank.
  async text_to_scene() {
    await with_server('text', [], async (server) => {
      const { context, close } = await launch();
      try {
        const page = await open_console(context, server.url);
        assert.equal(await page.evaluate(() => window.omniScene.renderer()), '3d', 'WebGL (SwiftShader) should give the 3D view');
        const before = await page.evaluate(() => window.omniScene.state());
        assert.equal(before.objects.length, 0, 'a fresh --db starts with an empty room');
        const empty = await view_screenshot(page, 'console-empty-room');
        await type_command(page, 'put a nordic sofa by the window');
        const state = await wait_for_scene(page, has_nordic_sofa_at_window);
        const sofa = state.objects.find((o) => o.type === 'sofa');
        // The window anchor is centred on the window in the back wall.
        assert.ok(Math.abs(sofa.x - state.room.window.x) < 1e-6, `sofa x ${sofa.x} vs window x ${state.room.window.x}`);
        assert.ok(sofa.z < -state.room.depth / 2 + 1.0, `sofa z ${sofa.z} should be against the back wall`);
        // The server agrees with the page.
        const served = await get_json(`${server.url}/v1/scene`);
        assert.ok(has_nordic_sofa_at_window(served), 'GET /v1/scene has the sofa');
        assert.equal(await page.locator('#view').getAttribute('data-object-count'), '1');
        // The action log names the action, the tier and the policy.
        const entry = page.locator('#log .entry').first();
        await entry.waitFor({ timeout: 10000 });
        const text = await entry.innerText();
        assert.match(text, /place_furniture/);
        assert.match(text, /tier 0/);
        assert.match(text, /allow/);
        // Non-blank screenshot, and different from the empty room's.
        const shot = await view_screenshot(page, 'console-nordic-sofa');
        console.log(`screenshot ${shot.file}: ${shot.width}x${shot.height}, luminance stddev ${shot.stddev.toFixed(1)}, ${shot.colours} colours`);
        assert.ok(shot.stddev > 12, `screenshot looks blank (luminance stddev ${shot.stddev})`);
        assert.ok(shot.colours > 200, `screenshot has only ${shot.colours} colours`);
        assert.ok(Math.abs(shot.mean - empty.mean) > 0.05 || shot.colours !== empty.colours, 'the sofa changed the picture');
        assert.deepEqual(page.errors, [], `page errors: ${page.errors.join('; ')}`);
      } finally {
        await close();
      }
    });
  },

  // An uploaded image is shown beside the scene and sent with the request; a `confirm` action
  // (the demo catalog's unlock) opens the confirm dialog and runs only after "Yes".
  async image_and_confirm() {
    await with_server('image', [], async (server) => {
      const { context, close } = await launch();
      try {
        const page = await open_console(context, server.url);
        const bodies = [];
        page.on('request', (r) => { if (r.url().endsWith('/v1/act') && r.method() === 'POST') bodies.push(JSON.parse(r.postData())); });
        await page.setInputFiles('#image', path.join(env.data, 'vision', 'noise-168x112.png'));
        await page.locator('#photo').waitFor({ state: 'visible', timeout: 10000 });
        const size = await page.evaluate(() => { const i = document.getElementById('photo-img'); return [i.naturalWidth, i.naturalHeight]; });
        assert.deepEqual(size, [168, 112], 'the uploaded image is shown');
        await type_command(page, 'put a plant in the corner');
        await wait_for_scene(page, (s) => s.objects.some((o) => o.type === 'plant' && o.anchor === 'corner'));
        assert.equal(bodies.length, 1);
        assert.match(bodies[0].image || '', /^data:image\/png;base64,/, 'the image travels with the request');

        await type_command(page, 'unlock the front door');
        const dialog = page.locator('#confirm');
        await dialog.waitFor({ state: 'visible', timeout: 10000 });
        assert.match(await page.locator('#confirm-action').innerText(), /door_lock/);
        const waiting = page.locator('#log .entry').first();
        assert.equal(await waiting.getAttribute('data-policy'), 'confirm');
        await page.click('#confirm-yes');
        await page.waitForFunction(() => {
          const e = document.querySelector('#log .entry');
          return e && e.classList.contains('done') && /door_lock/.test(e.textContent);
        }, null, { timeout: 10000 });
        assert.equal(bodies.length, 3);
        assert.equal(bodies[2].confirm, true, 'the answer carries confirm: true');
        assert.deepEqual(page.errors, [], `page errors: ${page.errors.join('; ')}`);
      } finally {
        await close();
      }
    });
  },

  // The fake microphone plays jfk.wav into the realtime session; the server's VAD reports speech
  // start and stop.
  async microphone() {
    const vad = path.join(env.data, 'models', 'silero-vad-v6.2.0.ggml.bin');
    const wav = path.join(env.data, 'audio', 'jfk.wav');
    await with_server('mic', ['--vad-model', vad], async (server) => {
      const { context, close } = await launch({ fake_audio: wav });
      try {
        const page = await open_console(context, server.url);
        await page.check('#handsfree');
        await page.waitForFunction(() => window.omniVoice.listening(), null, { timeout: 20000 });
        await page.waitForFunction(() => {
          const ev = window.omniVoice.events();
          const start = ev.indexOf('input_audio_buffer.speech_started');
          return start >= 0 && ev.indexOf('input_audio_buffer.speech_stopped', start) > start;
        }, null, { timeout: 60000, polling: 200 });
        const sent = await page.evaluate(() => window.omniVoice.chunks_sent());
        assert.ok(sent > 10, `only ${sent} audio chunks were sent`);
        const events = await page.evaluate(() => window.omniVoice.events());
        console.log(`realtime events: ${[...new Set(events)].join(', ')}; ${sent} chunks sent`);
        await page.uncheck('#handsfree');
        assert.deepEqual(page.errors, [], `page errors: ${page.errors.join('; ')}`);
      } finally {
        await close();
      }
    });
  },

  // Without WebGL the page draws the 2D plan of the same state: every object is drawn, in its
  // style's colour, where the state puts it.
  async webgl_off() {
    await with_server('2d', [], async (server) => {
      for (const a of [
        { action: 'place_furniture', type: 'sofa', style: 'nordic', position: 'window' },
        { action: 'place_furniture', type: 'plant', style: 'japanese', position: 'corner' },
        { action: 'place_furniture', type: 'shelf', style: 'industrial', position: 'left wall' },
        { action: 'place_furniture', type: 'armchair', style: 'classic', position: 'door' },
      ]) await post_json(`${server.url}/v1/scene`, a);
      const { context, close } = await launch({ webgl: false });
      try {
        const page = await open_console(context, server.url);
        assert.equal(await page.evaluate(() => window.omniScene.renderer()), '2d');
        const state = await page.evaluate(() => window.omniScene.state());
        const served = await get_json(`${server.url}/v1/scene`);
        assert.deepEqual(state.objects, served.objects, 'the page shows the server state');
        const drawn = await page.evaluate(() => window.omniScene.drawn());
        assert.deepEqual([...drawn].sort(), served.objects.map((o) => o.id).sort(), '2D view draws every object');
        // Each object's pixels have its style colour (not the floor's).
        const checks = await page.evaluate(() => {
          const canvas = document.querySelector('#view canvas[data-view="2d"]');
          const g = canvas.getContext('2d');
          const dpr = canvas.width / canvas.clientWidth;
          const hex = (h) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16));
          return Object.entries(window.omniScene.samples()).map(([id, s]) => {
            const p = g.getImageData(Math.round(s.x * dpr), Math.round(s.y * dpr), 1, 1).data;
            const want = hex(s.color), floor = hex(s.floor);
            const dist = (a) => Math.hypot(p[0] - a[0], p[1] - a[1], p[2] - a[2]);
            return { id, got: [p[0], p[1], p[2]], want, d_want: dist(want), d_floor: dist(floor) };
          });
        });
        assert.equal(checks.length, 4);
        for (const c of checks) {
          assert.ok(c.d_want < 30, `${c.id}: pixel ${c.got} is not its colour ${c.want}`);
          assert.ok(c.d_floor > 20, `${c.id}: pixel ${c.got} is the floor colour`);
        }
        const shot = await view_screenshot(page, 'console-2d-plan');
        assert.ok(shot.stddev > 12, `2D screenshot looks blank (stddev ${shot.stddev})`);
        assert.deepEqual(page.errors, [], `page errors: ${page.errors.join('; ')}`);
      } finally {
        await close();
      }
    });
  },

  // A reload shows the same scene; so does a restarted server on the same --db.
  async reload_restores() {
    const dir = temp_dir('reload');
    const db = path.join(dir, 'omni.db');
    const { context, close } = await launch();
    try {
      let server = await start_server({ db });
      let saved;
      try {
        const page = await open_console(context, server.url);
        await type_command(page, 'put a nordic sofa by the window');
        await wait_for_scene(page, has_nordic_sofa_at_window);
        await post_json(`${server.url}/v1/scene`, { action: 'camera_view', preset: 'top' });
        await post_json(`${server.url}/v1/scene`, { action: 'set_light', state: 'off' });
        saved = await wait_for_scene(page, (s) => s.camera === 'top' && s.lights.every((l) => !l.on));
        await page.reload();
        await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 60000 });
        const after = await page.evaluate(() => window.omniScene.state());
        assert.deepEqual(after, saved, 'reload shows the same state');
        await page.close();
      } finally {
        await server.stop();
      }
      server = await start_server({ db });
      try {
        const page = await open_console(context, server.url);
        const restored = await page.evaluate(() => window.omniScene.state());
        assert.deepEqual(restored, saved, 'a restarted server restores the scene from --db');
        assert.ok(has_nordic_sofa_at_window(restored));
      } finally {
        await server.stop();
      }
    } finally {
      await close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },

  // Two pages: a command typed in one appears in the other through the event broadcast (no reload).
  async two_pages() {
    await with_server('two', [], async (server) => {
      const a = await launch();
      const b = await launch();
      try {
        const page_a = await open_console(a.context, server.url);
        const page_b = await open_console(b.context, server.url);
        await page_b.waitForFunction(() => document.getElementById('conn').dataset.state === 'live', null, { timeout: 20000 });
        await type_command(page_a, 'put a nordic sofa by the window');
        await wait_for_scene(page_a, has_nordic_sofa_at_window);
        await wait_for_scene(page_b, has_nordic_sofa_at_window, null, 10000);
        // And back: a change made through page B reaches page A.
        await page_b.click('#camera-buttons button[data-view="top"]');
        await wait_for_scene(page_a, (s) => s.camera === 'top', null, 10000);
        const sa = await page_a.evaluate(() => window.omniScene.state());
        const sb = await page_b.evaluate(() => window.omniScene.state());
        assert.deepEqual(sa, sb, 'both pages hold the same state');
      } finally {
        await a.close();
        await b.close();
      }
    });
  },
};
