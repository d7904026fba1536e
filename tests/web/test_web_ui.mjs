// The web UI in a real browser: Debian's chromium, headless, driven by
// puppeteer-core (no browser download), against a real queue and a real agent
// running real jobs in Docker (network none) — the way tests/agent's Cluster
// starts them. What issue #19 asks of the page, step by step: the login (a
// wrong token gets the login back), a running job's log streaming live with
// colours, a section collapsed, follow and stop following, the raw log
// downloaded byte for byte, a running and a queued job canceled, a job
// retried, an agent drained (no new job starts on it) and resumed, a
// 200,000-line log scrolled and searched, the viewer role unable to cancel,
// the page under a reverse proxy's path prefix, a phone's viewport.
// Screenshots of each page go to $AIRGAP_WEB_SCREENSHOTS (default
// <tmp>/airgap-web-screenshots).
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import puppeteer from 'puppeteer-core';

const AIRGAP = process.env.AIRGAP_BIN;
const CHROMIUM = process.env.AIRGAP_CHROMIUM || '/usr/bin/chromium';
const SHOTS = process.env.AIRGAP_WEB_SCREENSHOTS || join(tmpdir(), 'airgap-web-screenshots');
const BUSYBOX = 'airgap-test/busybox';
const AGENT = `web-${process.pid}`;

const root = mkdtempSync(join(tmpdir(), 'airgap-web-'));
const procs = [];
let queueUrl, clientToken, viewerToken, agentToken, repo, browser, proxy;

function run(cmd, ...args) {
  return execFileSync(cmd, args, { encoding: 'utf8' }).trim();
}

function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

async function until(what, fn, timeout = 60000, every = 200) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${last})`);
    await sleep(every);
  }
}

async function api(method, path, body, token = clientToken) {
  const resp = await fetch(queueUrl + path, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await resp.text();
  return { status: resp.status, body: text ? JSON.parse(text) : null };
}

async function rawLog(id) {
  const resp = await fetch(`${queueUrl}/v1/jobs/${id}/logs`, { headers: { Authorization: `Bearer ${clientToken}` } });
  return Buffer.from(await resp.arrayBuffer());
}

async function submit(script, extra = {}) {
  const r = await api('POST', '/v1/jobs', { repo, image: BUSYBOX, script, ...extra });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id;
}

const job = async (id) => (await api('GET', `/v1/jobs/${id}`)).body;
const waitState = (id, states, timeout = 90000) =>
  until(`job ${id} in ${states}`, async () => { const j = await job(id); return states.includes(j.state) && j; }, timeout);

function startAgent(labels = 'linux') {
  const p = spawn(AIRGAP, ['agent', '--queue', queueUrl, '--token', agentToken, '--id', AGENT, '--slots', '2',
    '--labels', labels, '--network', 'none', '--cache', join(root, 'cache'), '--work', join(root, 'work'),
    '--log-level', 'warn', '--pull', 'never', '--allow-local-repos'], { stdio: ['ignore', 'inherit', 'inherit'] });
  procs.push(p);
  return p;
}

async function shot(page, name) {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

async function newPage(viewport = { width: 1280, height: 860 }) {
  const ctx = await browser.createBrowserContext(); // its own sessionStorage
  const page = await ctx.newPage();
  await page.setViewport(viewport);
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error' && !/401|403|409/.test(m.text())) errors.push(m.text()); });
  page.errors = errors;
  return page;
}

async function login(page, token, base = queueUrl) {
  await page.goto(`${base}/`);
  await page.waitForSelector('#login');
  await page.type('#token', token);
  await page.click('#login button[type=submit]');
}

// Clicks selector, again when the list it is in was re-rendered by a live
// update between finding the element and clicking it (the page refreshes
// its lists on every change the queue reports).
async function click(page, selector) {
  for (let i = 0; ; i++) {
    try {
      await page.click(selector);
      return;
    } catch (e) {
      if (i >= 10 || !/detached|not clickable|No node found/.test(String(e))) throw e;
      await sleep(100);
    }
  }
}

// Text of the log rows in the DOM (the virtualised window).
const rowTexts = (page) => page.$$eval('#log .ln .tx', (els) => els.map((e) => e.textContent));

before(async () => {
  assert.ok(AIRGAP, 'AIRGAP_BIN must name the airgap binary');
  repo = join(root, 'repo');
  mkdirSync(repo);
  writeFileSync(join(repo, 'README'), 'web ui test\n');
  const git = ['-C', repo, '-c', 'user.email=t@example.com', '-c', 'user.name=t'];
  run('git', '-C', repo, 'init', '-q', '-b', 'main');
  run('git', ...git, 'add', '-A');
  run('git', ...git, 'commit', '-qm', 'initial');

  const data = join(root, 'queue');
  const q = spawn(AIRGAP, ['queue', '--listen', '127.0.0.1:0', '--data', data, '--log-level', 'info'],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  procs.push(q);
  queueUrl = await new Promise((resolve, reject) => {
    let buf = '';
    q.stdout.on('data', (d) => {
      buf += d;
      const m = /listening on (http:\/\/\S+)/.exec(buf);
      if (m) resolve(m[1]);
    });
    q.on('exit', (code) => reject(new Error(`queue exited ${code}`)));
  });
  q.stdout.resume();
  const token = (role) => run(AIRGAP, 'queue', 'token', 'create', '--role', role, '--data', data);
  clientToken = token('client');
  viewerToken = token('viewer');
  agentToken = token('agent');
  startAgent();
  await until('the agent registered', async () => (await api('GET', '/v1/agents')).body.agents.length === 1);

  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: join(root, 'chromium-profile'),
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
});

after(async () => {
  if (browser) await browser.close();
  if (proxy) proxy.close();
  for (const p of procs.reverse()) {
    if (p.exitCode === null && p.signalCode === null) {
      p.kill('SIGTERM');
      await new Promise((r) => { const t = setTimeout(() => { p.kill('SIGKILL'); r(); }, 60000); p.on('exit', () => { clearTimeout(t); r(); }); });
    }
  }
  const left = run('docker', 'ps', '-aq', '--filter', `label=airgap.agent=${AGENT}`);
  rmSync(root, { recursive: true, force: true });
  assert.equal(left, '', 'containers left behind');
});

test('a wrong token gets the login page back; the right one the jobs', async () => {
  const page = await newPage();
  await login(page, 'aq_0000000000000000_00000000');
  await page.waitForFunction(() => document.querySelector('#login-error')?.textContent.includes('not valid'));
  assert.equal(await page.$('#nav:not([hidden])'), null);
  await shot(page, 'login');
  await page.$eval('#token', (e) => { e.value = ''; });
  await login(page, clientToken);
  await page.waitForSelector('table.jobs');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('airgap.token')), clientToken);
  assert.deepEqual(await page.cookies(), []);
  assert.deepEqual(page.errors, []);
  await page.close();
});

const LIVE_SCRIPT = [
  "printf '\\033[0Ksection_start:%s:build\\r\\033[0KBuilding the thing\\n' $(date +%s)",
  "printf '\\033[31mred line\\033[0m and \\033[1;32mbold green\\033[0m\\n'",
  'i=0; while [ $i -lt 70 ]; do echo "build step $i"; i=$((i+1)); sleep 0.12; done',
  "printf '\\033[0Ksection_end:%s:build\\r\\033[0K\\n' $(date +%s)",
  "echo '::group::Tests'", 'echo test one ok', "echo '::endgroup::'",
  'i=0; while [ $i -lt 30 ]; do echo "after $i"; i=$((i+1)); sleep 0.1; done',
  'echo done',
].join('\n');

test('a running job: live log with colours, sections, follow, raw download, retry', async () => {
  const id = await submit(LIVE_SCRIPT, { labels: ['linux'], secrets: { API_KEY: 'sekret-value' } });
  const page = await newPage();
  await login(page, clientToken);
  await page.waitForSelector('table.jobs');
  await page.waitForSelector(`tr[data-id="${id}"]`); // the list showed the new job
  await click(page, `tr[data-id="${id}"] a`);
  await page.waitForSelector('#log');
  // the log streams while the job runs, in colour
  await page.waitForSelector('#log .ansi-red-fg', { timeout: 60000 });
  assert.equal(await page.$eval('h1 .state', (e) => e.textContent), 'running');
  assert.equal(await page.$eval('#log .ansi-red-fg', (e) => e.textContent), 'red line');
  assert.ok(await page.$('#log .ansi-bold.ansi-bright-green-fg, #log .ansi-bold.ansi-green-fg'));
  // secrets shown as ***
  assert.match(await page.$eval('pre.spec', (e) => e.textContent), /"API_KEY": "\*\*\*"/);
  assert.doesNotMatch(await page.content(), /sekret-value/);
  // following: the view sits at the bottom as lines arrive
  await page.waitForFunction(() => window.airgapLog.lineCount > 60, { timeout: 30000 });
  assert.ok(await page.$('#follow.on'));
  const atBottom = () => page.$eval('#log', (e) => e.scrollTop + e.clientHeight >= e.scrollHeight - 2);
  await until('the log followed to the bottom', atBottom, 5000, 100);
  await shot(page, 'job-live');
  // scrolling up stops following; new lines do not move the view
  await page.$eval('#log', (e) => { e.scrollTop = 0; });
  await page.waitForSelector('#follow:not(.on)');
  await page.waitForSelector('#log .jump:not([hidden])');
  const n0 = await page.evaluate(() => window.airgapLog.lineCount);
  await page.waitForFunction((n) => window.airgapLog.lineCount > n + 3, {}, n0);
  assert.equal(await page.$eval('#log', (e) => e.scrollTop), 0);
  // jump to bottom follows again
  await click(page, '#log .jump');
  await page.waitForSelector('#follow.on');
  await until('back at the bottom', atBottom, 5000, 100);
  // collapse the GitLab section: its lines go, its header stays
  await page.$eval('#log', (e) => { e.scrollTop = 0; });
  await page.waitForSelector('#log .ln.sec');
  assert.match((await rowTexts(page)).join('\n'), /build step 0/);
  await click(page, '#log .ln.sec');
  await page.waitForSelector('#log .ln.sec.closed');
  const collapsed = (await rowTexts(page)).join('\n');
  assert.doesNotMatch(collapsed, /build step 0/);
  assert.match(collapsed, /Building the thing/);
  await shot(page, 'job-collapsed');
  await click(page, '#log .ln.sec');
  await page.waitForSelector('#log .ln.sec:not(.closed)');
  // the job ends; the page says so without a reload
  await waitState(id, ['passed']);
  await page.waitForFunction(() => document.querySelector('h1 .state')?.textContent === 'passed', { timeout: 15000 });
  await page.waitForFunction(() => window.airgapLog.lines.some((l) => l === 'done'));
  // the GitHub group is a section too; the agent's lines are styled apart
  assert.ok(await page.evaluate(() => window.airgapLog.sections.some((s) => s.kind === 'github' && s.title === 'Tests')));
  await page.$eval('#log', (e) => { e.scrollTop = 0; });
  await page.waitForSelector('#log .ln.agent');
  // timestamps: when the queue stored each line's chunk
  await click(page, '#times');
  await page.waitForFunction(() => [...document.querySelectorAll('#log .ln .ts')].some((e) => /^\d\d:\d\d:\d\d\.\d{3}$/.test(e.textContent)));
  await click(page, '#times');
  await page.waitForFunction(() => !document.querySelector('#log .ln .ts'));
  // line links: #L3 selects line 3
  await click(page, '#log .ln[data-line="2"] .no');
  assert.equal(await page.evaluate(() => location.hash), '#L3');
  // the hash is set before the page marks the line: wait for the mark
  assert.ok(await page.waitForSelector('#log .ln.sel[data-line="2"]', { timeout: 5000 }));
  // the raw download is the stored log, byte for byte
  const dl = join(root, 'downloads');
  mkdirSync(dl);
  const cdp = await page.createCDPSession();
  await cdp.send('Page.setDownloadBehavior', { behavior: 'allow', downloadPath: dl });
  await click(page, '#raw');
  const file = await until('the download', () => readdirSync(dl).find((f) => f.endsWith('.log')), 15000);
  await until('the download to finish', () => !readdirSync(dl).some((f) => f.endsWith('.crdownload')), 15000);
  const want = await rawLog(id);
  assert.ok(want.length > 500);
  assert.ok(want.includes(Buffer.from('\x1b[31mred line')), 'the raw log keeps the escapes');
  assert.ok(readFileSync(join(dl, file)).equals(want), 'downloaded bytes differ from the stored log');
  // retry: a new job, linked both ways
  await click(page, '#retry');
  await page.waitForSelector('#retry-of');
  const newId = await page.evaluate(() => new URLSearchParams(location.search).get('job'));
  assert.notEqual(newId, id);
  assert.equal(await page.$eval('#retry-of', (e) => e.textContent), id);
  assert.equal((await job(id)).retried_by, newId);
  assert.equal((await job(newId)).retry_of, id);
  await waitState(newId, ['passed']);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('cancel a running job and a queued one', async () => {
  const running = await submit('echo started; sleep 300', { labels: ['linux'] });
  const queued = await submit('echo never', { labels: ['nobody-has-this'] });
  await waitState(running, ['running']);
  const page = await newPage();
  await login(page, clientToken);
  await page.waitForSelector('table.jobs');
  // the queue page: the queued job's label set, which no agent has
  await page.evaluate(() => window.airgapNavigate('?view=queue'));
  await page.waitForFunction(() => document.body.textContent.includes('no available agent has these labels'));
  assert.match(await page.$eval('main', (e) => e.textContent), /nobody-has-this/);
  await shot(page, 'queue');
  await page.evaluate((id) => window.airgapNavigate(`?job=${id}`), running);
  await page.waitForFunction(() => window.airgapLog.lines.some((l) => l === 'started'), { timeout: 60000 });
  await click(page, '#cancel');
  await page.waitForFunction(() => document.querySelector('h1 .state')?.textContent === 'canceled', { timeout: 60000 });
  assert.equal((await job(running)).state, 'canceled');
  await page.evaluate((id) => window.airgapNavigate(`?job=${id}`), queued);
  // the queued job's page, not the canceled one's still being replaced
  await page.waitForFunction(() => document.querySelector('h1 .state')?.textContent === 'queued');
  await page.waitForSelector('#cancel:not([hidden])');
  assert.equal(await page.$eval('h1 .state', (e) => e.textContent), 'queued');
  await click(page, '#cancel');
  await page.waitForFunction(() => document.querySelector('h1 .state')?.textContent === 'canceled');
  assert.equal((await job(queued)).state, 'canceled');
  // now nothing waits
  await page.evaluate(() => window.airgapNavigate('?view=queue'));
  await page.waitForFunction(() => document.body.textContent.includes('Nothing is queued.'));
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('drain an agent: no new job starts on it until it is resumed', async () => {
  const page = await newPage();
  await login(page, clientToken);
  await page.waitForSelector('table.jobs');
  await page.evaluate(() => window.airgapNavigate('?view=agents'));
  const row = `tr[data-agent="${AGENT}"]`;
  await page.waitForSelector(`${row} button.drain`);
  assert.match(await page.$eval(row, (e) => e.textContent), /connected/);
  assert.match(await page.$eval(row, (e) => e.textContent), /linux/);
  await click(page, `${row} button.drain`);
  await page.waitForSelector(`${row} button.resume`);
  assert.match(await page.$eval(row, (e) => e.textContent), /drained/);
  const id = await submit('echo after drain', { labels: ['linux'] });
  await sleep(6000); // the agent polls every 2 s: three polls, no lease
  const j = await job(id);
  assert.equal(j.state, 'queued');
  assert.equal(j.attempts, 0);
  // the queue page names the problem
  const q = (await api('GET', '/v1/queue')).body;
  assert.equal(q.status, 'degraded');
  assert.match(q.problems.join(' '), /drained/);
  await shot(page, 'agents-drained');
  await click(page, `${row} button.resume`);
  await page.waitForSelector(`${row} button.drain`);
  await waitState(id, ['passed']);
  assert.equal((await job(id)).agent, AGENT);
  await page.waitForFunction((a) => document.querySelector(`tr[data-agent="${a}"]`)?.textContent.includes('connected'), {}, AGENT);
  await shot(page, 'agents');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('a 200,000-line log scrolls and searches with only the visible rows in the page', async () => {
  const id = await submit("seq 1 200000 | sed 's/^/line number /'; printf '\\033[33mthe end\\033[0m\\n'", { labels: ['linux'] });
  await waitState(id, ['passed'], 180000);
  const page = await newPage();
  await login(page, clientToken);
  await page.waitForSelector('table.jobs');
  const t0 = Date.now();
  await page.evaluate((jid) => window.airgapNavigate(`?job=${jid}`), id);
  await page.waitForFunction(() => window.airgapLog && window.airgapLog.lines.some((l) => l.includes('the end')), { timeout: 60000 });
  const loaded = Date.now() - t0;
  const lines = await page.evaluate(() => window.airgapLog.lineCount);
  assert.ok(lines >= 200001, `only ${lines} lines`);
  assert.ok((await page.$$('#log .ln')).length < 200, 'every line is in the DOM');
  // scroll to the middle: the rows there are rendered, and only them
  const t1 = Date.now();
  await page.$eval('#log', (e) => { e.scrollTop = e.scrollHeight / 2; });
  await page.waitForFunction(() => [...document.querySelectorAll('#log .ln .tx')].some((e) => /^line number 1000\d\d$/.test(e.textContent)));
  const scrolled = Date.now() - t1;
  assert.ok((await page.$$('#log .ln')).length < 200);
  // search: a line near the end, found and shown
  const t2 = Date.now();
  await page.type('#logsearch', 'line number 199999');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#log .ln.hitcur');
  const searched = Date.now() - t2;
  assert.equal(await page.$eval('#log .ln.hitcur .tx', (e) => e.textContent), 'line number 199999');
  assert.match(await page.$eval('.logbar .count', (e) => e.textContent), /1\/1 found/);
  await shot(page, 'job-200k-search');
  console.log(`200,000 lines: loaded and shown in ${loaded} ms, scrolled in ${scrolled} ms, searched in ${searched} ms`);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('a viewer token reads but cannot cancel', async () => {
  const id = await submit('echo for the viewer', { labels: ['nobody-has-this'] });
  const page = await newPage();
  await login(page, viewerToken);
  await page.waitForSelector('table.jobs');
  await page.evaluate((jid) => window.airgapNavigate(`?job=${jid}`), id);
  await page.waitForSelector('#cancel:not([hidden])');
  assert.ok(await page.$eval('#cancel', (e) => e.disabled));
  // and the queue refuses it anyway
  const status = await page.evaluate(async (jid) => (await fetch(`v1/jobs/${jid}/cancel`, {
    method: 'POST', headers: { Authorization: `Bearer ${sessionStorage.getItem('airgap.token')}` } })).status, id);
  assert.equal(status, 403);
  assert.equal((await job(id)).state, 'queued');
  await page.evaluate(() => window.airgapNavigate('?view=agents'));
  await page.waitForSelector(`tr[data-agent="${AGENT}"] button:disabled`);
  await api('POST', `/v1/jobs/${id}/cancel`, {});
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("an attempt handed back shows in the timeline, linked to the queue's note in the log", async () => {
  const id = await submit('echo never runs', { labels: ['manual'] });
  const agentCall = (path, body) => api('POST', path, body, agentToken);
  const leased = await agentCall('/v1/leases', { agent: 'hand-back', labels: ['manual'], wait: 0 });
  assert.equal(leased.status, 200);
  assert.equal((await agentCall(`/v1/jobs/${id}/release`, { lease: leased.body.lease, reason: 'docker' })).status, 200);
  const page = await newPage();
  await login(page, clientToken);
  await page.waitForSelector('table.jobs');
  await page.evaluate((jid) => window.airgapNavigate(`?job=${jid}`), id);
  await page.waitForFunction(() => [...document.querySelectorAll('.card dl dd')]
    .some((e) => /attempt 1 handed back by agent hand-back \(docker\)/.test(e.textContent)));
  await page.waitForSelector('a.note');
  await click(page, 'a.note');
  await page.waitForSelector('#log .ln.sel');
  const line = await page.$eval('#log .ln.sel', (e) => e.textContent);
  assert.match(line, /\[airgap: attempt 1 handed back/);
  assert.ok(await page.$('#log .ln.sel.agent'));
  await shot(page, 'job-attempts');
  await api('POST', `/v1/jobs/${id}/cancel`, {});
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('under a reverse proxy path prefix, on a phone, in the dark', async () => {
  // a plain proxy: /ci/… → the queue's /…, streaming bodies through
  proxy = http.createServer((req, res) => {
    if (!req.url.startsWith('/ci/')) { res.writeHead(404); res.end(); return; }
    const up = http.request(`${queueUrl}${req.url.slice(3)}`, { method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    });
    up.on('error', () => { res.writeHead(502); res.end(); });
    req.pipe(up);
  });
  await new Promise((r) => proxy.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${proxy.address().port}/ci`;
  const page = await newPage({ width: 390, height: 844, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  await login(page, clientToken, base);
  await page.waitForSelector('table.jobs tbody tr[data-id]');
  assert.ok(page.url().startsWith(`${base}/`));
  await shot(page, 'jobs-phone');
  await click(page, '#theme');
  await page.waitForFunction(() => document.documentElement.dataset.theme);
  // filters: state and text, through the prefix
  await page.select('select[name=state]', 'passed');
  await page.waitForFunction(() => location.search.includes('state=passed'));
  await page.waitForFunction(() => [...document.querySelectorAll('table.jobs tbody .state')].every((e) => e.textContent === 'passed'));
  await page.setViewport({ width: 1280, height: 860 });
  await shot(page, 'jobs-dark');
  const first = await page.$eval('table.jobs tbody tr[data-id] a', (e) => e.textContent);
  await click(page, 'table.jobs tbody tr[data-id] a');
  await page.waitForFunction(() => window.airgapLog && window.airgapLog.lineCount > 0, { timeout: 30000 });
  assert.ok(page.url().startsWith(`${base}/?job=${first}`));
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('the jobs page in light theme with its filters', async () => {
  const page = await newPage();
  await login(page, clientToken);
  await page.waitForSelector('table.jobs tbody tr[data-id]');
  await page.type('input[name=q]', 'line number');
  await click(page, 'form.filters button[type=submit]');
  await page.waitForFunction(() => location.search.includes('q=line+number'));
  await page.waitForFunction(() => document.querySelectorAll('table.jobs tbody tr[data-id]').length === 1);
  await page.goto(`${queueUrl}/`);
  await page.waitForSelector('table.jobs tbody tr[data-id]');
  await shot(page, 'jobs');
  assert.deepEqual(page.errors, []);
  await page.close();
});

