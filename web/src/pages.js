// The pages: jobs (filters, keyset pages), one job (spec, timeline, live log,
// cancel, retry), agents (drain, resume) and the queue (by label set,
// health). Each page is a function that fills main and returns an object
// with refresh() (called on live changes) and destroy().
import { api, request, session, stream, ApiError } from './api.js';
import { LogView } from './logview.js';
import { ago, duration, esc, h, repoName, stateBadge, timings, toast, when } from './util.js';

const STATES = ['queued', 'running', 'passed', 'failed', 'errored', 'canceled'];

export function link(href, text, attrs = {}) {
  return h('a', { href, 'data-link': '', ...attrs }, text);
}

function labels(list) {
  return (list || []).map((l) => h('span', { class: 'label', text: l }));
}

function canAct() { return session.role === 'client'; }

async function act(fn, okMsg) {
  try {
    await fn();
    if (okMsg) toast(okMsg);
  } catch (e) {
    if (e instanceof ApiError && e.status === 403) toast(`Not allowed: ${e.message}`);
    else toast(e.message);
  }
}

// ------------------------------------------------------------------ jobs

export function jobsPage(main, params) {
  const f = {
    state: params.get('state') || '', label: params.get('label') || '',
    repo: params.get('repo') || '', q: params.get('q') || '', before: params.get('before') || '',
  };
  const stateSel = h('select', { name: 'state', 'aria-label': 'state' },
    h('option', { value: '' }, 'any state'), STATES.map((s) => h('option', { value: s, selected: s === f.state }, s)));
  const labelIn = h('input', { name: 'label', placeholder: 'label', value: f.label, size: 10 });
  const repoIn = h('input', { name: 'repo', placeholder: 'repository URL', value: f.repo, size: 24, class: 'hide-sm' });
  const qIn = h('input', { name: 'q', type: 'search', placeholder: 'search id, repo, ref, commit, image, script', value: f.q });
  const form = h('form', { class: 'filters', role: 'search' }, stateSel, labelIn, repoIn, qIn,
    h('button', { type: 'submit' }, 'Filter'));
  const body = h('tbody');
  const table = h('div', { class: 'tablewrap' }, h('table', { class: 'jobs' },
    h('thead', {}, h('tr', {},
      ['Job', 'State', 'Repository', 'Labels', 'Queued', 'Ran', 'Tries', 'Agent', 'Submitted']
        .map((t, i) => h('th', { class: `${[4, 5, 6].includes(i) ? 'num' : ''} ${[3, 6, 7].includes(i) ? 'hide-sm' : ''}` }, t)))),
    body));
  const pager = h('div', { class: 'pager' });
  main.replaceChildren(h('h1', {}, 'Jobs'), form, table, pager);

  const go = (extra) => {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries({ ...f, ...extra })) if (v) p.set(k, v);
    window.airgapNavigate(`?${p}`);
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    Object.assign(f, { state: stateSel.value, label: labelIn.value.trim(), repo: repoIn.value.trim(),
      q: qIn.value.trim() });
    go({ before: '' });
  });
  stateSel.addEventListener('change', () => form.requestSubmit());

  async function refresh() {
    const q = { limit: 50 };
    for (const k of ['state', 'label', 'repo', 'q', 'before']) if (f[k]) q[k] = f[k];
    let res;
    try {
      res = await api.jobs(q);
    } catch (e) {
      body.replaceChildren(h('tr', {}, h('td', { colspan: 9, class: 'error', text: e.message })));
      return;
    }
    const now = Date.now();
    body.replaceChildren(...res.jobs.map((j) => {
      const t = timings(j, now);
      const spec = j.spec || {};
      const status = [stateBadge(j.state)];
      if (j.reason && j.reason !== j.state) status.push(h('span', { class: 'muted', text: ` ${j.reason}` }));
      if (j.exit_code !== null && j.exit_code !== undefined) status.push(h('span', { class: 'muted', text: ` exit ${j.exit_code}` }));
      return h('tr', { 'data-id': j.id },
        h('td', {}, link(`?job=${j.id}`, j.id, { class: 'mono' })),
        h('td', {}, status),
        h('td', { title: spec.repo || '' }, repoName(spec.repo), ' ',
          h('span', { class: 'muted mono', text: spec.commit ? spec.commit.slice(0, 8) : spec.ref || '' })),
        h('td', { class: 'hide-sm' }, labels(spec.labels)),
        h('td', { class: 'num' }, duration(t.queued)),
        h('td', { class: 'num' }, t.running === null ? '' : duration(t.running)),
        h('td', { class: 'num hide-sm' }, String(j.attempts)),
        h('td', { class: 'hide-sm mono' }, j.agent || ''),
        h('td', { title: when(j.created_at) }, ago(j.created_at, now)));
    }));
    if (!res.jobs.length) body.replaceChildren(h('tr', {}, h('td', { colspan: 9, class: 'muted', text: 'No jobs.' })));
    pager.replaceChildren(
      f.before ? h('button', { type: 'button', onclick: () => go({ before: '' }) }, '⇤ Newest') : '',
      res.next ? h('button', { type: 'button', class: 'older', onclick: () => go({ before: String(res.next) }) }, 'Older →') : '');
  }
  refresh();
  return { refresh, destroy() {} };
}

// ------------------------------------------------------------------- job

export function jobPage(main, id) {
  let job = null, destroyed = false, streaming = null, offset = 0, downloading = false;
  const title = h('h1', {}, 'Job ', h('span', { class: 'mono', text: id }));
  const badge = h('span');
  const cancelBtn = h('button', { type: 'button', class: 'danger', id: 'cancel' }, 'Cancel');
  const retryBtn = h('button', { type: 'button', id: 'retry' }, 'Retry');
  title.append(badge, h('span', { class: 'actions' }, cancelBtn, retryBtn));
  const info = h('dl', { class: 'kv' });
  const timeline = h('dl', { class: 'kv' });
  const spec = h('pre', { class: 'spec' });
  const cards = h('div', { class: 'grid' },
    h('div', { class: 'card' }, h('h3', {}, 'Job'), info),
    h('div', { class: 'card' }, h('h3', {}, 'Timeline'), timeline),
    h('div', { class: 'card' }, h('h3', {}, 'Spec (secrets hidden)'), spec));
  const followBtn = h('button', { type: 'button', id: 'follow' }, 'Follow');
  const timesBtn = h('button', { type: 'button', id: 'times' }, 'Timestamps');
  const expandBtn = h('button', { type: 'button', id: 'expand', class: 'hide-sm' }, 'Expand all');
  const searchIn = h('input', { type: 'search', id: 'logsearch', placeholder: 'Search the log', 'aria-label': 'search the log' });
  const count = h('span', { class: 'count' });
  const prevBtn = h('button', { type: 'button', title: 'previous match (Shift+Enter)' }, '↑');
  const nextBtn = h('button', { type: 'button', title: 'next match (Enter)' }, '↓');
  const rawBtn = h('button', { type: 'button', id: 'raw' }, 'Download raw');
  const logEl = h('div', { id: 'log' });
  main.replaceChildren(title, cards,
    h('div', { class: 'logbar' }, followBtn, timesBtn, expandBtn, searchIn, prevBtn, nextBtn, count,
      h('span', { class: 'spacer' }), rawBtn),
    logEl);
  const view = new LogView(logEl, { onFollowChange: (on) => followBtn.classList.toggle('on', on) });
  window.airgapLog = view; // for the browser tests and the curious
  view.onNote = () => show();

  const lineFromHash = () => { const m = /^#L(\d+)$/.exec(location.hash); return m ? +m[1] : 0; };
  let pendingLine = lineFromHash();

  followBtn.addEventListener('click', () => view.setFollow(!view.follow));
  let timesLoaded = false;
  timesBtn.addEventListener('click', async () => {
    view.setTimes(!view.showTimes);
    timesBtn.classList.toggle('on', view.showTimes);
    if (!view.showTimes || timesLoaded) return;
    timesLoaded = true;
    try { // when the queue stored each chunk, page by page
      const chunks = [];
      for (let off = 0; off !== null;) {
        const r = await request(`v1/jobs/${id}/logs/times?offset=${off}`);
        chunks.push(...r.chunks);
        off = r.next;
      }
      view.setChunkTimes(chunks);
    } catch (e) {
      timesLoaded = false;
      toast(e.message);
    }
  });
  expandBtn.addEventListener('click', () => {
    const anyClosed = view.sections.some((s) => s.closed);
    for (const s of view.sections) s.closed = !anyClosed;
    expandBtn.textContent = anyClosed ? 'Collapse all' : 'Expand all';
    view.rescan();
  });
  let searchTimer = 0;
  const showCount = () => {
    count.textContent = view.query ? `${view.hit + 1 > 0 ? `${view.hit + 1}/` : ''}${view.hits.length} found` : '';
  };
  searchIn.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => { view.search(searchIn.value); showCount(); }, 150);
  });
  searchIn.addEventListener('keydown', (e) => {
    if (e.key !== 'Enter') return;
    e.preventDefault();
    clearTimeout(searchTimer);
    if (view.query !== searchIn.value.toLowerCase()) view.search(searchIn.value);
    view.nextHit(e.shiftKey ? -1 : 1);
    showCount();
  });
  prevBtn.addEventListener('click', () => { view.nextHit(-1); showCount(); });
  nextBtn.addEventListener('click', () => { view.nextHit(1); showCount(); });
  rawBtn.addEventListener('click', () => download());
  cancelBtn.addEventListener('click', () => act(async () => { job = await api.cancel(id); show(); }, 'Cancel requested'));
  retryBtn.addEventListener('click', () => act(async () => {
    const n = await api.retry(id);
    window.airgapNavigate(`?job=${n.id}`);
  }));
  const onHash = () => { const l = lineFromHash(); if (l) view.select(l); };
  window.addEventListener('hashchange', onHash);

  function show() {
    if (!job) return;
    const final = !['queued', 'running'].includes(job.state);
    badge.replaceChildren(stateBadge(job.state));
    cancelBtn.hidden = final;
    cancelBtn.disabled = !canAct() || job.cancel_requested;
    cancelBtn.title = canAct() ? '' : 'your token is read-only';
    if (job.cancel_requested && !final) cancelBtn.textContent = 'Cancel requested';
    retryBtn.hidden = !final || !!job.retried_by;
    retryBtn.disabled = !canAct();
    retryBtn.title = canAct() ? '' : 'your token is read-only';
    const s = job.spec || {};
    const kv = (dl, pairs) => dl.replaceChildren(...pairs.filter((p) => p[1] !== '' && p[1] !== null && p[1] !== undefined)
      .flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
    kv(info, [
      ['state', [stateBadge(job.state), job.reason && job.reason !== job.state ? ` ${job.reason}` : '']],
      ['exit code', job.exit_code ?? ''],
      ['repository', s.repo || ''],
      ['ref', s.ref || ''],
      ['commit', s.commit ? h('span', { class: 'mono', text: s.commit }) : ''],
      ['image', s.image || ''],
      ['labels', s.labels && s.labels.length ? labels(s.labels) : ''],
      ['agent', job.agent ? link('?view=agents', job.agent, { class: 'mono' }) : ''],
      ['attempts', String(job.attempts)],
      ['retry of', job.retry_of ? link(`?job=${job.retry_of}`, job.retry_of, { class: 'mono', id: 'retry-of' }) : ''],
      ['retried as', job.retried_by ? link(`?job=${job.retried_by}`, job.retried_by, { class: 'mono', id: 'retried-by' }) : ''],
    ]);
    const t = timings(job);
    kv(timeline, [
      ['submitted', when(job.created_at)],
      [job.state === 'queued' ? 'last leased' : 'leased',
        job.started_at ? `${when(job.started_at)} (attempt ${job.attempts})` : ''],
      ['waited', duration(t.queued)],
      ['finished', job.finished_at ? when(job.finished_at) : ''],
      ['ran', t.running === null ? '' : duration(t.running)],
      ['log', `${job.log_size} bytes`],
    ]);
    // each attempt that ended without a result, as the queue noted it in the log
    for (const n of view.notes)
      timeline.append(h('dt', {}, h('a', { href: `#L${n.line + 1}`, class: 'note' }, `L${n.line + 1}`)), h('dd', {}, n.text));
    spec.textContent = JSON.stringify(s, null, 2);
    view.setLive(!final);
  }

  async function refresh() {
    try {
      job = await api.job(id);
    } catch (e) {
      if (!job) main.replaceChildren(h('h1', {}, 'Job ', h('span', { class: 'mono', text: id })), h('p', { class: 'error', text: e.message }));
      return;
    }
    if (destroyed) return;
    show();
    if (!streaming) follow();
  }

  // Streams the log from offset, reconnecting until the job has ended.
  async function follow() {
    streaming = new AbortController();
    const first = offset === 0;
    if (first && ['queued', 'running'].includes(job.state) && !pendingLine) view.setFollow(true);
    while (!destroyed) {
      let ended = false;
      try {
        const live = ['queued', 'running'].includes(job.state);
        const resp = await request(`v1/jobs/${id}/logs?offset=${offset}${live ? '&follow=1' : ''}`,
          { raw: true, signal: streaming.signal });
        await stream(resp, (bytes) => {
          offset += bytes.length;
          view.appendBytes(bytes, live ? Date.now() : 0);
          if (pendingLine && view.lineCount >= pendingLine) { view.select(pendingLine); pendingLine = 0; }
        });
        const state = resp.headers.get('X-Airgap-Job-State');
        ended = !live || !['queued', 'running'].includes(state);
        if (!ended) {
          job = await api.job(id);
          ended = !['queued', 'running'].includes(job.state);
          show();
          if (ended) continue; // read what came after the last chunk, then stop
        }
      } catch (e) {
        if (destroyed || (e instanceof ApiError && e.status === 401)) return;
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      if (ended) break;
    }
    if (destroyed) return;
    view.finish();
    view.setLive(false);
    if (pendingLine) { view.select(pendingLine); pendingLine = 0; }
    refresh();
  }

  // The raw log, byte for byte, as a file (not through the text decoder).
  async function download() {
    if (downloading) return;
    downloading = true;
    try {
      const resp = await request(`v1/jobs/${id}/logs`, { raw: true });
      const blob = new Blob([await resp.arrayBuffer()], { type: 'application/octet-stream' });
      const a = h('a', { href: URL.createObjectURL(blob), download: `airgap-job-${id}.log` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10000);
    } catch (e) {
      toast(e.message);
    } finally {
      downloading = false;
    }
  }

  refresh();
  return {
    refresh,
    destroy() {
      destroyed = true;
      if (streaming) streaming.abort();
      view.destroy();
      window.removeEventListener('hashchange', onHash);
    },
  };
}

// ---------------------------------------------------------------- agents

export function agentsPage(main) {
  const body = h('tbody');
  const agentRows = new Map(); // name → {tr, cells, drained}
  main.replaceChildren(h('h1', {}, 'Agents'), h('div', { class: 'tablewrap' }, h('table', { class: 'agents' },
    h('thead', {}, h('tr', {}, ['Agent', 'Status', 'Labels', 'In use', 'Version', 'Last contact', 'Running', '']
      .map((t, i) => h('th', { class: i === 3 ? 'num' : (i === 2 || i === 4 ? 'hide-sm' : '') }, t)))),
    body)));
  async function refresh() {
    let res;
    try {
      res = await api.agents();
    } catch (e) {
      body.replaceChildren(h('tr', {}, h('td', { colspan: 8, class: 'error', text: e.message })));
      return;
    }
    const now = Date.now();
    // Rows are updated in place, keyed by agent, and a button is replaced only
    // when its agent's state flips: a refresh never eats a click on it.
    const keep = new Set();
    const rows = res.agents.map((a) => {
      keep.add(a.name);
      let r = agentRows.get(a.name);
      if (!r) {
        r = { tr: h('tr', { 'data-agent': a.name }), cells: [], drained: null };
        r.cells = [0, 1, 2, 3, 4, 5, 6, 7].map(() => h('td'));
        r.cells[0].className = 'mono';
        r.cells[2].className = 'hide-sm wrap';
        r.cells[3].className = 'num';
        r.cells[4].className = 'hide-sm';
        r.cells[6].className = 'wrap';
        r.tr.append(...r.cells);
        agentRows.set(a.name, r);
      }
      const status = !a.connected ? 'offline' : a.drained ? 'drained' : 'connected';
      r.cells[0].textContent = a.name;
      r.cells[1].replaceChildren(stateBadge(status));
      r.cells[2].replaceChildren(...labels(a.labels));
      r.cells[3].textContent = `${a.running.length}${a.slots ? ` / ${a.slots}` : ''}`;
      r.cells[4].textContent = a.version || '';
      r.cells[5].textContent = ago(a.last_seen, Math.max(now, res.now));
      r.cells[5].title = when(a.last_seen);
      r.cells[6].replaceChildren(...a.running.flatMap((j) => [link(`?job=${j.id}`, j.id, { class: 'mono' }), ' ']));
      if (r.drained !== a.drained) {
        r.drained = a.drained;
        const btn = h('button', { type: 'button', class: a.drained ? 'resume' : 'drain', disabled: !canAct(),
          title: canAct() ? (a.drained ? 'lease jobs again' : 'lease no new job; running jobs go on') : 'your token is read-only' },
        a.drained ? 'Resume' : 'Drain');
        btn.addEventListener('click', () => act(async () => { await api.drain(a.name, !a.drained); refresh(); },
          a.drained ? `${a.name} resumed` : `${a.name} drained`));
        r.cells[7].replaceChildren(btn);
      }
      return r.tr;
    });
    for (const name of [...agentRows.keys()]) if (!keep.has(name)) agentRows.delete(name);
    const same = rows.length === body.children.length && rows.every((tr, i) => body.children[i] === tr);
    if (!same) body.replaceChildren(...rows);
    if (!res.agents.length) body.replaceChildren(h('tr', {}, h('td', { colspan: 8, class: 'muted', text: 'No agent has asked for work yet.' })));
  }
  refresh();
  const timer = setInterval(refresh, 5000); // heartbeats are not events
  return { refresh, destroy() { clearInterval(timer); } };
}

// ----------------------------------------------------------------- queue

export function queuePage(main) {
  const health = h('div', { class: 'card' });
  const counts = h('div', { class: 'grid' });
  const body = h('tbody');
  main.replaceChildren(h('h1', {}, 'Queue'), health, h('h2', {}, 'Jobs'), counts,
    h('h2', {}, 'Queued, by label set'),
    h('div', { class: 'tablewrap' }, h('table', {},
      h('thead', {}, h('tr', {}, h('th', {}, 'Labels'), h('th', { class: 'num' }, 'Jobs'),
        h('th', { class: 'num' }, 'Longest wait'), h('th', {}, 'Runnable'))), body)));
  async function refresh() {
    let q;
    try {
      q = await api.queue();
    } catch (e) {
      health.replaceChildren(h('p', { class: 'error', text: e.message }));
      return;
    }
    health.replaceChildren(h('h3', {}, 'Health'),
      h('div', {}, stateBadge(q.status), ' ',
        `${q.agents.connected} agent(s) connected, ${q.agents.drained} drained, ${q.waiting_lease_requests} waiting for work`),
      q.problems.length ? h('ul', { class: 'problems' }, q.problems.map((p) => h('li', { text: p }))) : '');
    counts.replaceChildren(...Object.entries(q.counts).map(([k, v]) =>
      h('div', { class: 'card' }, h('h3', {}, link(`./?state=${k}`, k)), h('div', { class: 'big', text: String(v) }))));
    body.replaceChildren(...q.groups.map((g) => h('tr', {},
      h('td', {}, g.labels.length ? labels(g.labels) : h('span', { class: 'muted', text: '(none)' })),
      h('td', { class: 'num' }, String(g.count)),
      h('td', { class: 'num' }, duration(g.oldest_wait_ms)),
      h('td', {}, g.runnable ? 'yes' : h('span', { class: 'error', text: 'no available agent has these labels' })))));
    if (!q.groups.length) body.replaceChildren(h('tr', {}, h('td', { colspan: 4, class: 'muted', text: 'Nothing is queued.' })));
  }
  refresh();
  const timer = setInterval(refresh, 5000); // waits grow without events
  return { refresh, destroy() { clearInterval(timer); } };
}

export { esc };
