// Browser-test harness: starts the built `omni serve` on a free loopback port with a temporary
// --db, launches Debian's headless chromium through playwright-core, and measures screenshots.
// Paths come from the environment set by tests/browser.cmake (OMNI_CLI, OMNI_WEB_DIR,
// OMNI_TEST_DATA, OMNI_ARTIFACTS).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const env = {
  cli: process.env.OMNI_CLI,
  web_dir: process.env.OMNI_WEB_DIR,
  data: process.env.OMNI_TEST_DATA,
  artifacts: process.env.OMNI_ARTIFACTS || path.join(os.tmpdir(), 'omni-browser-artifacts'),
  chromium: process.env.OMNI_CHROMIUM || '/usr/bin/chromium',
};

export function temp_dir(name) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `omni-browser-${name}-`));
}

// Starts `omni serve --port 0 --db DB ...extra`; resolves with {url, proc, stop(), output()} once
// it prints "listening on URL".
export function start_server({ db, extra = [] }) {
  for (const [k, v] of Object.entries({ OMNI_CLI: env.cli, OMNI_WEB_DIR: env.web_dir })) {
    if (!v) throw new Error(`${k} is not set (run through ctest)`);
  }
  const args = ['serve', '--host', '127.0.0.1', '--port', '0', '--db', db, '--web-dir', env.web_dir, ...extra];
  const proc = spawn(env.cli, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`omni serve did not start in 60 s:\n${out}`)); }, 60000);
    const on_data = (d) => {
      out += d.toString();
      const m = out.match(/listening on (http:\/\/[0-9.:]+)/);
      if (m) {
        clearTimeout(timer);
        resolve({
          url: m[1],
          proc,
          output: () => out,
          stop: () => new Promise((res) => {
            if (proc.exitCode !== null) return res(proc.exitCode);
            proc.once('exit', (code) => res(code));
            proc.kill('SIGTERM');
            setTimeout(() => proc.kill('SIGKILL'), 10000).unref();
          }),
        });
      }
    };
    proc.stdout.on('data', on_data);
    proc.stderr.on('data', on_data);
    proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`omni serve exited with ${code}:\n${out}`)); });
  });
}

// Launches headless chromium with a fresh profile. options.webgl = false disables WebGL;
// options.fake_audio = WAV path feeds the fake microphone.
export async function launch({ webgl = true, fake_audio = null } = {}) {
  const profile = temp_dir('profile');
  const args = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
                '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'];
  if (webgl) args.push('--use-angle=swiftshader', '--enable-unsafe-swiftshader');
  else args.push('--disable-webgl', '--disable-3d-apis');
  if (fake_audio) {
    args.push('--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-audio-capture=${fake_audio}`,
              '--autoplay-policy=no-user-gesture-required');
  }
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: env.chromium, headless: true, args, viewport: { width: 1280, height: 800 },
  });
  const close = async () => {
    await context.close().catch(() => {});
    fs.rmSync(profile, { recursive: true, force: true });
  };
  return { context, close };
}

// Opens the console and waits until it has loaded the scene state. Collects page errors.
export async function open_console(context, url) {
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  page.on('console', (m) => { if (process.env.OMNI_BROWSER_VERBOSE) console.log(`[page] ${m.type()}: ${m.text()}`); });
  await page.goto(url + '/');
  await page.waitForFunction(() => document.body.dataset.ready === 'true' && window.omniScene && window.omniScene.served() === true,
                             null, { timeout: 60000 });
  return page;
}

// Statistics of a PNG (decoded by the browser itself): luminance mean and standard deviation and
// the number of distinct colours (quantised to 5 bits per channel).
export async function image_stats(page, png) {
  const b64 = png.toString('base64');
  return page.evaluate(async (data) => {
    const img = new Image();
    img.src = `data:image/png;base64,${data}`;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.width;
    c.height = img.height;
    const g = c.getContext('2d');
    g.drawImage(img, 0, 0);
    const px = g.getImageData(0, 0, c.width, c.height).data;
    let sum = 0, sum2 = 0, n = 0;
    const colours = new Set();
    for (let i = 0; i < px.length; i += 4) {
      const y = 0.2126 * px[i] + 0.7152 * px[i + 1] + 0.0722 * px[i + 2];
      sum += y; sum2 += y * y; n++;
      colours.add(((px[i] >> 3) << 10) | ((px[i + 1] >> 3) << 5) | (px[i + 2] >> 3));
    }
    const mean = sum / n;
    return { width: c.width, height: c.height, mean, stddev: Math.sqrt(Math.max(0, sum2 / n - mean * mean)), colours: colours.size };
  }, b64);
}

// Screenshot of the scene view only, saved as a test artefact; returns its statistics.
export async function view_screenshot(page, name) {
  fs.mkdirSync(env.artifacts, { recursive: true });
  await page.evaluate(() => window.omniScene.settle());
  await page.waitForTimeout(300);
  const box = await page.locator('#view').boundingBox();
  const file = path.join(env.artifacts, `${name}.png`);
  const png = await page.screenshot({ path: file, clip: box });
  await page.screenshot({ path: path.join(env.artifacts, `${name}-page.png`) });
  return { file, ...(await image_stats(page, png)) };
}

export async function post_json(url, body) {
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const json = await res.json().catch(() => null);
  if (!res.ok) throw new Error(`POST ${url}: HTTP ${res.status} ${JSON.stringify(json)}`);
  return json;
}

export async function get_json(url) {
  const res = await fetch(url);
  const json = await res.json().catch(() => null);
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status} ${JSON.stringify(json)}`);
  return json;
}

// Types a command into the console's text box and sends it.
export async function type_command(page, text) {
  await page.fill('#text', text);
  await page.press('#text', 'Enter');
}

// Waits until the page's scene state satisfies `predicate` (a function of the state, run in the page).
export async function wait_for_scene(page, predicate, arg, timeout = 20000) {
  await page.waitForFunction(([src, a]) => {
    const f = new Function('state', 'arg', `return (${src})(state, arg);`);
    return f(window.omniScene.state(), a);
  }, [predicate.toString(), arg], { timeout, polling: 100 });
  return page.evaluate(() => window.omniScene.state());
}
