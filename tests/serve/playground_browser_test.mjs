// The playground end to end in a real browser: Debian's chromium driven by
// npm playwright-core (executablePath set: nothing is downloaded).
//
// Usage: node playground_browser_test.mjs TINYQ TEST_BATCH.bin WORK_DIR
// It starts `tinyq serve`, opens the page, sets one layer's bits from 8 to 2
// (accuracy and that layer's SQNR must fall), keeps the layer in float
// (accuracy must recover), exports the model and runs it in ONNX Runtime on
// the page's evaluation images (its accuracy must equal the page's), replays
// the exported overrides with `tinyq quantize --overrides` (the same file,
// byte for byte), and saves a screenshot.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import * as ort from 'onnxruntime-node';

const [tinyq, testBatch, work] = process.argv.slice(2);
const chromiumPath = process.env.TINYQ_CHROMIUM || '/usr/bin/chromium';
const layer = 'conv2d_1';
let failures = 0;
function check(ok, what) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures++;
}

fs.rmSync(work, { recursive: true, force: true });
fs.mkdirSync(work, { recursive: true });
if (!fs.existsSync(chromiumPath)) {
  console.error(`${chromiumPath} not found: scripts/setup.sh installs Debian's chromium`);
  process.exit(1);
}

// The server on a free port; its first stdout line names the URL.
const server = spawn(tinyq, ['serve', '--port', '0', '--eval-count', '1000'], { stdio: ['ignore', 'pipe', 'inherit'] });
const url = await new Promise((resolve, reject) => {
  let out = '';
  server.stdout.on('data', (d) => {
    out += d;
    const m = out.match(/(http:\/\/[^\s]+)/);
    if (m) resolve(m[1]);
  });
  server.on('exit', (code) => reject(new Error(`tinyq serve exited with ${code}`)));
  setTimeout(() => reject(new Error('tinyq serve did not start within 120 s')), 120000);
});

const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
try {
  const page = await browser.newPage({ viewport: { width: 1500, height: 1100 }, acceptDownloads: true });
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(url);
  await page.waitForSelector('#int8-accuracy');

  const version = async () => Number(await page.getAttribute('#status', 'data-version'));
  const accuracy = async () => Number(await page.textContent('#int8-accuracy'));
  const sqnr = async () => Number(await page.textContent(`tr[data-layer="${layer}"] td.sqnr-acc`));
  const afterEdit = async (action) => {
    const before = await version();
    await action();
    await page.waitForFunction((v) => Number(document.querySelector('#status').dataset.version) > v && !document.querySelector('#status.busy'), before, { timeout: 60000 });
  };

  // Without VNNI, ONNX Runtime's u8 x s8 kernels (vpmaddubsw) saturate 16-bit
  // pair sums, so its results are not ONNX's exact integer arithmetic: there
  // the page is switched to 7-bit activations, which rules that out.
  const vnni = /\b(avx512_vnni|avx_vnni)\b/.test(fs.readFileSync('/proc/cpuinfo', 'utf8'));
  if (!vnni) {
    console.log('this CPU has no VNNI: using 7-bit activations (reduce range) so that ONNX Runtime computes exactly');
    await afterEdit(() => page.click('#global-reduce-range'));
  }
  const a8 = await accuracy(), s8 = await sqnr();
  console.log(`8 bits: int8 accuracy ${a8}%, ${layer} SQNR ${s8} dB`);

  await page.click(`tr[data-layer="${layer}"]`);
  await page.waitForSelector('#layer-bits');
  await afterEdit(() => page.selectOption('#layer-bits', '2'));
  const a2 = await accuracy(), s2 = await sqnr();
  console.log(`2 bits: int8 accuracy ${a2}%, ${layer} SQNR ${s2} dB`);
  check(a2 < a8 - 5, `accuracy drops with 2 bits (${a8}% -> ${a2}%)`);
  check(s2 < s8 - 10, `${layer}'s SQNR falls with 2 bits (${s8} -> ${s2} dB)`);
  check(/\(-\d/.test(await page.textContent('#accuracy-change')), 'the page shows the accuracy change');
  check(/re-evaluated in \d+ ms/.test(await page.textContent('#timing')), 'the page shows how long the re-evaluation took');

  await afterEdit(() => page.click('#layer-keep-float'));
  const af = await accuracy();
  console.log(`kept in float: int8 accuracy ${af}%`);
  check(af > a2 + 5 && af >= a8 - 1, `accuracy recovers with the layer in float (${a2}% -> ${af}%, 8-bit ${a8}%)`);

  // Exports, through the page's own links.
  const download = async (selector, name) => {
    const [d] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
    const file = path.join(work, name);
    await d.saveAs(file);
    return file;
  };
  const qop = await download('#export-qop', 'page_qop.onnx');
  const qdq = await download('#export-qdq', 'page_qdq.onnx');
  const overrides = await download('#export-overrides', 'overrides.json');

  // ONNX Runtime on the same evaluation images.
  const evaluation = await (await fetch(`${url}api/evaluation`)).json();
  const raw = fs.readFileSync(testBatch);
  const n = evaluation.test_batch_indices.length;
  const input = new Float32Array(n * 3072);
  evaluation.test_batch_indices.forEach((idx, i) => {
    for (let j = 0; j < 3072; j++) input[i * 3072 + j] = raw[idx * 3073 + 1 + j];
  });
  for (const [file, label] of [[qop, 'QOperator'], [qdq, 'QDQ']]) {
    const session = await ort.InferenceSession.create(file, { intraOpNumThreads: 2 });
    const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', input, [n, 3, 32, 32]) });
    const scores = out[session.outputNames[0]].data;
    let correct = 0;
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let k = 1; k < 10; k++) if (scores[i * 10 + k] > scores[i * 10 + best]) best = k;
      correct += best === evaluation.labels[i];
    }
    const ortAccuracy = (100 * correct) / n;
    check(Math.abs(ortAccuracy - af) < 1e-9, `ONNX Runtime on the exported ${label} model: ${ortAccuracy}% (page: ${af}%)`);
  }

  // The CLI replays the page: same overrides, same scheme flags -> the same file.
  const exported = JSON.parse(fs.readFileSync(overrides, 'utf8'));
  check(exported.layers[layer]?.keep_float === true, 'the overrides JSON records the edit');
  const replay = path.join(work, 'cli_qdq.onnx');
  const flags = exported.scheme.quantize_flags.split(' ');
  const model = (await (await fetch(`${url}api/model`)).json()).path;
  execFileSync(tinyq, ['quantize', model, '--out', replay, '--overrides', overrides, ...flags], { stdio: 'ignore' });
  check(Buffer.compare(fs.readFileSync(replay), fs.readFileSync(qdq)) === 0, '`tinyq quantize --overrides` writes the page\'s QDQ model byte for byte');

  // A chosen image: its activation heatmap, the first divergent layer, the layer's golden vectors.
  await page.click('.thumb >> nth=0');
  await page.waitForSelector('#first-divergent');
  await page.waitForFunction(() => document.querySelector('#first-divergent').textContent !== '…');
  await page.click('tr[data-layer="conv2d_2"]');
  await page.waitForSelector('#export-golden');
  const golden = await download('#export-golden', 'golden.tar.gz');
  const listing = execFileSync('tar', ['tzf', golden], { encoding: 'utf8' });
  check(/golden\/manifest\.json/.test(listing) && /golden\/\d+_conv2d_2\/accumulator\.npy/.test(listing), 'golden vectors of the layer download as .tar.gz');

  // Sensitivity: every layer kept in float in turn, with a progress bar.
  await page.click('#sensitivity-run');
  await page.waitForFunction((n) => document.querySelectorAll('#sensitivity tbody tr').length === n && !document.querySelector('#sensitivity-run').disabled,
    (await (await fetch(`${url}api/model`)).json()).layers.length, { timeout: 120000 });
  const ranking = await page.$$eval('#sensitivity tbody tr td:first-child', (tds) => tds.map((td) => td.textContent));
  console.log(`sensitivity ranking (most accuracy gained first): ${ranking.slice(0, 3).join(', ')}, ...`);
  check(ranking.length > 10, `the sensitivity ranking lists every layer (${ranking.length})`);
  await page.waitForTimeout(1000);
  await page.screenshot({ path: path.join(work, 'playground.png'), fullPage: true });
  console.log(`screenshot: ${path.join(work, 'playground.png')}`);
  await afterEdit(() => page.click('#reset-edits'));
  const reset = await accuracy();
  check(reset === a8, `undoing every layer edit gives the 8-bit accuracy back (${reset}%)`);
  check(pageErrors.length === 0, `no script errors on the page${pageErrors.length ? ': ' + pageErrors.join('; ') : ''}`);
} finally {
  await browser.close();
  server.kill();
}
console.log(failures ? `${failures} check(s) failed` : 'all checks passed');
process.exit(failures ? 1 : 0);
