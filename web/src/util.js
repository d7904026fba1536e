// Small DOM and formatting helpers. Everything user- or job-supplied goes in
// as text (textContent, or esc() before it becomes HTML).
export function esc(s) {
  return String(s ?? '').replace(/[&<>"']/g, (c) =>
    ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function duration(ms) {
  if (ms === null || ms === undefined || ms < 0) return '';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  const hr = Math.floor(s / 3600);
  if (hr < 48) return `${hr}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(hr / 24)}d ${hr % 24}h`;
}

export function ago(ms, now = Date.now()) {
  if (!ms) return '';
  return `${duration(now - ms)} ago`;
}

export function when(ms) {
  if (!ms) return '';
  const d = new Date(ms);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

// queued for (until it started, or until now), and running for
export function timings(j, now = Date.now()) {
  // a queued job may have run before (handed back, lease expired): it waits again
  if (j.state === 'queued') return { queued: now - j.created_at, running: null };
  const queued = (j.started_at || j.finished_at || now) - j.created_at;
  const running = j.started_at ? (j.finished_at || now) - j.started_at : null;
  return { queued, running };
}

export function stateBadge(state) {
  return h('span', { class: `state ${state}`, text: state });
}

export function repoName(repo) {
  if (!repo) return '';
  return repo.replace(/\.git$/, '').replace(/^.*[/:]([^/:]+\/[^/:]+)$/, '$1');
}

let toastTimer = null;
export function toast(msg) {
  const t = document.getElementById('toast');
  t.textContent = msg;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, 4000);
}
