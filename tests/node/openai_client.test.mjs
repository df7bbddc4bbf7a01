// omni serve through the official `openai` npm client: models, chat (plain, streamed, tools,
// json_schema), completions, speech, transcription, API keys and errors. Spawns the built binary
// (OMNI_CLI) on a free loopback port with the random-weight test models (OMNI_TEST_DATA).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import OpenAI, { toFile } from 'openai';

const CLI = process.env.OMNI_CLI;
const DATA = process.env.OMNI_TEST_DATA;
const KEY = 'sk-omni-node-test';
let proc;
let client;
let baseURL;

before(async () => {
  assert.ok(CLI && DATA, 'OMNI_CLI and OMNI_TEST_DATA must be set');
  proc = spawn(CLI, ['serve', '--port', '0', '--api-key', KEY, '--dry-run', '--threads', '2', '--ctx', '1024',
    '-m', `${DATA}/llm/mini-qwen2-q4_k_m.gguf`, '--asr-model', `${DATA}/whisper/mini-random.ggml.bin`,
    '--vad-model', `${DATA}/models/silero-vad-v6.2.0.ggml.bin`], { stdio: ['ignore', 'pipe', 'inherit'] });
  baseURL = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 60000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/[0-9.:]+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    proc.on('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
  });
  client = new OpenAI({ apiKey: KEY, baseURL: `${baseURL}/v1`, maxRetries: 0, timeout: 120000 });
});

after(async () => {
  if (!proc) return;
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  proc.kill('SIGTERM');
  const { code } = await exited;
  assert.equal(code, 0, 'graceful shutdown exits 0');
});

test('models lists the loaded LLM', async () => {
  const models = await client.models.list();
  const ids = models.data.map((m) => m.id);
  assert.ok(ids.includes('mini-qwen2-q4_k_m'), ids.join(','));
  assert.ok(ids.includes('whisper-1'));
});

test('chat completion (non-stream) with usage', async () => {
  const r = await client.chat.completions.create({
    model: 'mini-qwen2-q4_k_m', messages: [{ role: 'user', content: 'Hello' }], max_tokens: 6, seed: 42,
  });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(typeof r.choices[0].message.content, 'string');
  assert.equal(r.usage.completion_tokens, 6);
  assert.ok(r.usage.prompt_tokens > 0);
});

test('chat stream equals the non-stream answer for the same seed', async () => {
  const params = { model: 'mini-qwen2-q4_k_m', messages: [{ role: 'user', content: 'Tell me' }], max_tokens: 10, seed: 7, temperature: 0.9 };
  const whole = await client.chat.completions.create(params);
  const stream = await client.chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } });
  let text = '';
  let finish = null;
  let usage = null;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    const c = chunk.choices[0];
    if (!c) continue;
    if (c.delta?.content) text += c.delta.content;
    if (c.finish_reason) finish = c.finish_reason;
  }
  assert.equal(text, whole.choices[0].message.content);
  assert.equal(finish, whole.choices[0].finish_reason);
  assert.equal(usage.completion_tokens, whole.usage.completion_tokens);
});

test('tools: required and named tool_choice give calls that validate', async () => {
  const tools = [{
    type: 'function',
    function: {
      name: 'set_thermostat',
      parameters: {
        type: 'object', additionalProperties: false, required: ['celsius', 'mode'],
        properties: { celsius: { type: 'integer', minimum: 10, maximum: 30 }, mode: { type: 'string', enum: ['heat', 'cool'] } },
      },
    },
  }, { type: 'function', function: { name: 'noop', parameters: { type: 'object', properties: {}, additionalProperties: false } } }];
  for (const tool_choice of ['required', { type: 'function', function: { name: 'set_thermostat' } }]) {
    const r = await client.chat.completions.create({
      model: 'mini-qwen2-q4_k_m', messages: [{ role: 'user', content: 'Make it warm' }], tools, tool_choice, max_tokens: 200, seed: 1,
    });
    assert.equal(r.choices[0].finish_reason, 'tool_calls');
    const call = r.choices[0].message.tool_calls[0];
    assert.equal(call.type, 'function');
    const args = JSON.parse(call.function.arguments);
    if (call.function.name === 'set_thermostat') {
      assert.ok(Number.isInteger(args.celsius) && args.celsius >= 10 && args.celsius <= 30, call.function.arguments);
      assert.ok(['heat', 'cool'].includes(args.mode));
      assert.deepEqual(Object.keys(args).sort(), ['celsius', 'mode']);
    } else {
      assert.equal(typeof tool_choice, 'string');
      assert.equal(call.function.name, 'noop');
      assert.deepEqual(args, {});
    }
  }
});

test('response_format json_schema yields matching JSON', async () => {
  const r = await client.chat.completions.create({
    model: 'mini-qwen2-q4_k_m', messages: [{ role: 'user', content: 'A city' }], max_tokens: 60, seed: 3,
    response_format: {
      type: 'json_schema',
      json_schema: { name: 'city', strict: true, schema: { type: 'object', additionalProperties: false, required: ['name', 'big'], properties: { name: { type: 'string', maxLength: 12 }, big: { type: 'boolean' } } } },
    },
  });
  const v = JSON.parse(r.choices[0].message.content);
  assert.equal(typeof v.name, 'string');
  assert.ok(v.name.length <= 12);
  assert.equal(typeof v.big, 'boolean');
});

test('completions', async () => {
  const r = await client.completions.create({ model: 'mini-qwen2-q4_k_m', prompt: 'Once', max_tokens: 4, temperature: 0 });
  assert.equal(r.object, 'text_completion');
  assert.equal(typeof r.choices[0].text, 'string');
  assert.equal(r.usage.completion_tokens, 4);
});

test('speech returns a WAV and transcription reads it back', async () => {
  const speech = await client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'Open the door.', response_format: 'wav' });
  const wav = Buffer.from(await speech.arrayBuffer());
  assert.equal(wav.subarray(0, 4).toString(), 'RIFF');
  assert.equal(wav.subarray(8, 12).toString(), 'WAVE');
  const t = await client.audio.transcriptions.create({ model: 'whisper-1', file: await toFile(wav, 'speech.wav') });
  assert.equal(typeof t.text, 'string');
  const jfk = readFileSync(`${DATA}/audio/jfk.wav`);
  const v = await client.audio.transcriptions.create({ model: 'whisper-1', file: await toFile(jfk, 'jfk.wav'), response_format: 'verbose_json' });
  assert.ok(Math.abs(v.duration - 11) < 0.1, String(v.duration));
  assert.ok(Array.isArray(v.segments));
  const srt = await client.audio.transcriptions.create({ model: 'whisper-1', file: await toFile(jfk, 'jfk.wav'), response_format: 'srt' });
  assert.match(String(srt), /^1\n\d\d:\d\d:\d\d,\d\d\d --> /);
});

test('errors: unknown model 404, bad parameter 400, wrong key 401', async () => {
  await assert.rejects(
    client.chat.completions.create({ model: 'gpt-nope', messages: [{ role: 'user', content: 'x' }] }),
    (e) => e instanceof OpenAI.NotFoundError && e.status === 404 && e.code === 'model_not_found');
  await assert.rejects(
    client.chat.completions.create({ model: 'mini-qwen2-q4_k_m', messages: [{ role: 'user', content: 'x' }], temperature: 9 }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'temperature');
  const wrong = new OpenAI({ apiKey: 'wrong', baseURL: `${baseURL}/v1`, maxRetries: 0 });
  await assert.rejects(wrong.models.list(), (e) => e instanceof OpenAI.AuthenticationError && e.status === 401);
  const health = await fetch(`${baseURL}/health`);
  assert.equal(health.status, 200);
});
