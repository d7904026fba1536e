// The log view: a virtualised list of lines (only the rows in view are in
// the DOM, so 200,000 lines scroll like 200), ANSI colours and styles by
// ansi_up, collapsible sections (GitLab's section_start/section_end, GitHub's
// ::group::/::endgroup::), follow mode with jump-to-bottom, line links
// (#L120), search, optional timestamps, and the agent's own lines
// ("[airgap] ...") styled apart.
//
// Colours carry from one line to the next, so a line is rendered from the
// ansi_up state at its start: the state is tracked once as lines arrive (only
// lines that hold an escape, or follow a styled one, are run through ansi_up)
// and a line is turned into HTML when it scrolls into view.
import { AnsiUp } from 'ansi_up';
import { esc } from './util.js';

const ROW = 18;          // px, as in app.css (.ln)
const OVERSCAN = 30;     // rows rendered above and below the view
const MAX_SHOWN = 4000;  // characters of one line put on screen (the download has all)
const AGENT_MARK = '[airgap] ';
const QUEUE_NOTE = '[airgap: '; // the queue's notes: an attempt handed back, a lease expired

// ansi_up's fragments as classes, never style attributes: the page's
// Content-Security-Policy forbids inline styles. Colours outside the 16 get
// data attributes that apply() sets through the CSSOM, which CSP allows.
class Ansi extends AnsiUp {
  constructor() {
    super();
    this.use_classes = true;
  }

  transform_to_html(f) {
    if (!f.text) return '';
    const txt = this.escape_txt_for_html(f.text);
    const cls = [];
    let data = '';
    if (f.bold) cls.push('ansi-bold');
    if (f.faint) cls.push('ansi-faint');
    if (f.italic) cls.push('ansi-italic');
    if (f.underline) cls.push('ansi-underline');
    if (f.fg) {
      if (f.fg.class_name !== 'truecolor') cls.push(`${f.fg.class_name}-fg`);
      else data += ` data-fg="${f.fg.rgb.join(',')}"`;
    }
    if (f.bg) {
      if (f.bg.class_name !== 'truecolor') cls.push(`${f.bg.class_name}-bg`);
      else data += ` data-bg="${f.bg.rgb.join(',')}"`;
    }
    if (!cls.length && !data) return txt;
    return `<span${cls.length ? ` class="${cls.join(' ')}"` : ''}${data}>${txt}</span>`;
  }

  snapshot() {
    if (!this.bold && !this.faint && !this.italic && !this.underline && !this.fg && !this.bg)
      return null;
    return { bold: this.bold, faint: this.faint, italic: this.italic, underline: this.underline,
      fg: this.fg, bg: this.bg };
  }

  restore(s) {
    this._buffer = '';
    this.bold = !!(s && s.bold);
    this.faint = !!(s && s.faint);
    this.italic = !!(s && s.italic);
    this.underline = !!(s && s.underline);
    this.fg = s ? s.fg : null;
    this.bg = s ? s.bg : null;
  }
}

// Escape sequences, only to find markers and to search plain text (the
// rendering is ansi_up's).
const ESC_RE = /\x1b(?:\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])/g;
const GL_START = /section_start:(\d+):([A-Za-z0-9_.\-]+)(\[[^\]]*\])?/;
const GL_END = /section_end:(\d+):([A-Za-z0-9_.\-]+)/;

function plain(s) { return s.indexOf('\x1b') >= 0 ? s.replace(ESC_RE, '') : s; }

// What a terminal would leave of a line with carriage returns: the text after
// the last one (progress bars redraw that way). A CRLF's \r is no redraw.
function lastSegment(s) {
  if (s.endsWith('\r')) s = s.slice(0, -1);
  const i = s.lastIndexOf('\r');
  return i >= 0 ? s.slice(i + 1) : s;
}

export class LogView {
  constructor(root, { onFollowChange } = {}) {
    this.root = root;
    this.onFollowChange = onFollowChange || (() => {});
    this.lines = [];        // display text of each line (escapes kept)
    this.raw = [];          // the line as received, for markers
    this.states = new Map(); // line → ansi state at its start (non-default only)
    this.times = [];        // ms when the line arrived, or 0 (there before the page)
    this.starts = [];       // byte offset of each line in the log
    this.bytes = 0;         // bytes of the log seen so far (lines ended)
    this.chunkStarts = [];  // when the queue stored each chunk (see setChunkTimes)
    this.chunkAt = [];
    this.hidden = new Uint8Array(1024); // marker lines not shown (section ends)
    this.sections = [];     // {start, end, title, closed, t0, t1, kind}
    this.sectionAt = new Map(); // header line → section
    this.open = [];         // sections not ended yet (a stack)
    this.rows = new Int32Array(1024); // visible row → line
    this.rowCount = 0;
    this.skip = null;       // the closed section the row scan is inside
    this.tracker = new Ansi();
    this.renderer = new Ansi();
    this.partial = '';
    this.decoder = new TextDecoder();
    this.follow = false;
    this.selected = 0;      // 1-based line from #L…, 0: none
    this.showTimes = false;
    this.notes = [];        // {line, text} of the queue's notes (the attempts)
    this.onNote = null;
    this.hits = [];         // lines that match the search
    this.hitSet = new Set();
    this.hit = -1;
    this.live = false;
    this.lastAutoTop = 0;
    this.frame = 0;
    this.build();
  }

  build() {
    this.root.classList.add('log');
    this.root.tabIndex = 0;
    this.spacer = document.createElement('div');
    this.spacer.className = 'spacer';
    this.rowsEl = document.createElement('div');
    this.rowsEl.className = 'rows';
    this.spacer.append(this.rowsEl);
    this.empty = document.createElement('div');
    this.empty.className = 'logempty';
    this.empty.textContent = 'No output yet.';
    this.jumpBtn = document.createElement('button');
    this.jumpBtn.className = 'jump primary';
    this.jumpBtn.type = 'button';
    this.jumpBtn.textContent = '↓ Jump to bottom';
    this.jumpBtn.hidden = true;
    this.jumpBtn.addEventListener('click', () => this.setFollow(true));
    this.root.append(this.empty, this.spacer, this.jumpBtn);
    this.root.addEventListener('scroll', () => this.onScroll(), { passive: true });
    this.rowsEl.addEventListener('click', (e) => this.onClick(e));
    this.resizeObs = new ResizeObserver(() => this.schedule());
    this.resizeObs.observe(this.root);
  }

  destroy() { this.resizeObs.disconnect(); cancelAnimationFrame(this.frame); }

  get lineCount() { return this.lines.length; }

  // ---- input ----

  appendBytes(bytes, now = 0) {
    this.appendText(this.decoder.decode(bytes, { stream: true }), now);
  }

  appendText(text, now = 0) {
    if (!text) return;
    const parts = (this.partial + text).split('\n');
    this.partial = parts.pop();
    for (const p of parts) this.addLine(p, now);
    this.scanRows();
    this.schedule();
  }

  // The end of the log: a last line without a newline is a line too.
  finish() {
    const rest = this.partial + this.decoder.decode();
    this.partial = '';
    if (rest) {
      this.addLine(rest, 0);
      this.scanRows();
      this.schedule();
    }
  }

  addLine(raw, now) {
    const i = this.lines.length;
    if (i >= this.hidden.length) {
      const h = new Uint8Array(this.hidden.length * 2);
      h.set(this.hidden);
      this.hidden = h;
    }
    const text = lastSegment(raw);
    this.lines.push(text);
    this.raw.push(raw);
    this.times.push(now);
    this.starts.push(this.bytes);
    this.bytes += utf8Length(raw) + 1;
    const st = this.tracker.snapshot();
    if (st) this.states.set(i, st);
    if (st || text.indexOf('\x1b') >= 0) {
      this.tracker._buffer = '';
      this.tracker.ansi_to_html(text); // advances the state; the HTML is made when shown
    }
    this.markers(i, raw, text);
    if (text.startsWith(QUEUE_NOTE)) {
      this.notes.push({ line: i, text: text.slice(QUEUE_NOTE.length).replace(/\]$/, '') });
      if (this.onNote) this.onNote();
    }
  }

  markers(i, raw, text) {
    if (raw.indexOf('section_') >= 0) {
      const p = plain(raw);
      let m = GL_START.exec(p);
      if (m) {
        const title = plain(text).trim() || m[2];
        this.startSection(i, { kind: 'gitlab', name: m[2], title, t0: +m[1],
          closed: /collapsed=true/.test(m[3] || '') });
        return;
      }
      m = GL_END.exec(p);
      if (m) {
        for (let k = this.open.length - 1; k >= 0; k--) {
          if (this.open[k].kind === 'gitlab' && this.open[k].name === m[2]) {
            while (this.open.length > k) this.endSection(this.open.pop(), i, +m[1]);
            break;
          }
        }
        this.hidden[i] = 1;
        return;
      }
    }
    if (text.indexOf('::') >= 0) {
      const p = plain(text);
      if (p.startsWith('::group::')) {
        const top = this.open[this.open.length - 1];
        if (top && top.kind === 'github') this.endSection(this.open.pop(), i - 1, 0);
        this.startSection(i, { kind: 'github', title: p.slice(9).trim() || 'group', closed: false });
      } else if (p.startsWith('::endgroup::')) {
        const top = this.open[this.open.length - 1];
        if (top && top.kind === 'github') this.endSection(this.open.pop(), i, 0);
        this.hidden[i] = 1;
      }
    }
  }

  startSection(i, s) {
    s.start = i;
    s.end = Infinity;
    this.sections.push(s);
    this.sectionAt.set(i, s);
    this.open.push(s);
  }

  endSection(s, i, t1) {
    s.end = Math.max(i, s.start);
    s.t1 = t1;
  }

  // Adds the rows of the lines that arrived since the last scan.
  scanRows() {
    const from = this.scanned || 0;
    for (let i = from; i < this.lines.length; i++) this.scanLine(i);
    this.scanned = this.lines.length;
  }

  scanLine(i) {
    if (this.skip && i <= this.skip.end) return;
    this.skip = null;
    if (this.hidden[i]) return;
    if (this.rowCount >= this.rows.length) {
      const r = new Int32Array(this.rows.length * 2);
      r.set(this.rows);
      this.rows = r;
    }
    this.rows[this.rowCount++] = i;
    const s = this.sectionAt.get(i);
    if (s && s.closed) this.skip = s;
  }

  rescan() {
    this.rowCount = 0;
    this.skip = null;
    this.scanned = 0;
    this.scanRows();
    this.schedule();
  }

  toggleSection(line) {
    const s = this.sectionAt.get(line);
    if (!s) return;
    s.closed = !s.closed;
    this.rescan();
  }

  // Opens every section around line (a search hit, a #L link).
  reveal(line) {
    let changed = false;
    for (const s of this.sections)
      if (s.closed && s.start < line && line <= s.end) { s.closed = false; changed = true; }
    if (changed) this.rescan();
  }

  rowOf(line) {
    // rows is sorted: binary search
    let lo = 0, hi = this.rowCount - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const v = this.rows[mid];
      if (v === line) return mid;
      if (v < line) lo = mid + 1; else hi = mid - 1;
    }
    return Math.max(0, lo - 1);
  }

  // ---- follow, selection, search ----

  setFollow(on) {
    this.follow = on;
    this.jumpBtn.hidden = on || !this.live;
    if (on) this.scrollToBottom();
    this.onFollowChange(on);
  }

  setLive(live) {
    this.live = live;
    if (!live) this.jumpBtn.hidden = true;
    else this.jumpBtn.hidden = this.follow;
  }

  scrollToBottom() {
    this.render(); // the spacer's height first
    this.root.scrollTop = this.root.scrollHeight;
    this.lastAutoTop = this.root.scrollTop;
  }

  select(line, scroll = true) {
    this.selected = line;
    if (line > 0 && scroll) {
      this.reveal(line - 1);
      this.setFollow(false);
      this.scrollToLine(line - 1);
    }
    this.schedule();
  }

  scrollToLine(i) {
    this.render();
    const r = this.rowOf(i);
    const top = r * ROW - this.root.clientHeight / 3;
    this.root.scrollTop = Math.max(0, top);
  }

  search(q) {
    this.query = q.toLowerCase();
    this.hits = [];
    if (this.query) {
      for (let i = 0; i < this.lines.length; i++) {
        if (this.hidden[i]) continue;
        if (plain(this.lines[i]).toLowerCase().indexOf(this.query) >= 0) this.hits.push(i);
      }
    }
    this.hitSet = new Set(this.hits);
    this.hit = -1;
    this.schedule();
    return this.hits.length;
  }

  nextHit(dir = 1) {
    if (!this.hits.length) return -1;
    this.hit = (this.hit + dir + this.hits.length) % this.hits.length;
    const line = this.hits[this.hit];
    this.setFollow(false);
    this.reveal(line);
    this.scrollToLine(line);
    this.schedule();
    return this.hit;
  }

  setTimes(on) { this.showTimes = on; this.schedule(); }

  // When the queue stored each chunk of the log: [[start, at_ms], ...] in
  // order. A line shows the time of the chunk it starts in.
  setChunkTimes(chunks) {
    this.chunkStarts = chunks.map((c) => c[0]);
    this.chunkAt = chunks.map((c) => c[1]);
    this.schedule();
  }

  lineTime(i) {
    const start = this.starts[i];
    let lo = 0, hi = this.chunkStarts.length - 1, found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.chunkStarts[mid] <= start) { found = mid; lo = mid + 1; } else hi = mid - 1;
    }
    return found >= 0 && this.chunkAt[found] ? this.chunkAt[found] : this.times[i];
  }

  // ---- events ----

  onScroll() {
    const el = this.root;
    const atBottom = el.scrollTop + el.clientHeight >= el.scrollHeight - 4;
    if (this.follow && !atBottom && el.scrollTop < this.lastAutoTop - 2) this.setFollow(false);
    else if (!this.follow && atBottom && this.live && this.userScrolled) this.setFollow(true);
    this.userScrolled = true;
    this.schedule();
  }

  onClick(e) {
    const row = e.target.closest('.ln');
    if (!row) return;
    const line = +row.dataset.line;
    if (Number.isNaN(line)) return; // the line still being written
    if (e.target.classList.contains('no')) {
      e.preventDefault();
      history.replaceState(history.state, '', `${location.pathname}${location.search}#L${line + 1}`);
      this.select(line + 1, false);
      return;
    }
    if (this.sectionAt.has(line) && !window.getSelection().toString()) this.toggleSection(line);
  }

  // ---- drawing ----

  schedule() {
    if (!this.frame) this.frame = requestAnimationFrame(() => { this.frame = 0; this.render(); });
  }

  render() {
    const el = this.root;
    const total = this.rowCount + (this.partial ? 1 : 0);
    this.empty.hidden = total > 0;
    this.spacer.style.height = `${total * ROW}px`;
    if (this.follow && el.scrollTop + el.clientHeight < el.scrollHeight - 1) {
      el.scrollTop = el.scrollHeight;
      this.lastAutoTop = el.scrollTop;
    }
    const first = Math.max(0, Math.floor(el.scrollTop / ROW) - OVERSCAN);
    const last = Math.min(total, Math.ceil((el.scrollTop + el.clientHeight) / ROW) + OVERSCAN);
    // Rows are kept while their HTML is unchanged: a click on a row (a
    // section header, a line number) is not lost to a re-render while lines
    // stream in, and the DOM changes only at the edges as the view moves.
    const old = new Map();
    for (const el of this.rowsEl.children) old.set(el.dataset.line, el);
    const next = [];
    let same = this.rowsEl.children.length === last - first;
    for (let r = first; r < last; r++) {
      const partial = r >= this.rowCount;
      const key = partial ? `p${this.lines.length}` : String(this.rows[r]);
      const html = partial ? this.partialHtml() : this.rowHtml(this.rows[r]);
      let el = old.get(key);
      if (!el || el.airgapHtml !== html) {
        const t = document.createElement('template');
        t.innerHTML = html;
        el = t.content.firstElementChild;
        el.dataset.line = key;
        el.airgapHtml = html;
        for (const sp of el.querySelectorAll('[data-fg],[data-bg]')) {
          if (sp.dataset.fg) sp.style.color = `rgb(${sp.dataset.fg})`;
          if (sp.dataset.bg) sp.style.backgroundColor = `rgb(${sp.dataset.bg})`;
        }
      }
      if (same && this.rowsEl.children[r - first] !== el) same = false;
      next.push(el);
    }
    this.rowsEl.style.transform = `translateY(${first * ROW}px)`;
    if (!same) this.rowsEl.replaceChildren(...next);
  }

  lineHtml(i, text) {
    this.renderer.restore(this.states.get(i) || null);
    let t = text;
    if (t.length > MAX_SHOWN) t = `${t.slice(0, MAX_SHOWN)}… (${t.length - MAX_SHOWN} more characters: download the raw log)`;
    return this.renderer.ansi_to_html(t);
  }

  rowHtml(i) {
    const text = this.lines[i];
    const cls = ['ln'];
    const sec = this.sectionAt.get(i);
    let body;
    if (sec) {
      cls.push('sec');
      if (sec.closed) cls.push('closed');
      const secs = sec.t1 && sec.t0 ? ` <span class="dur">${esc(`${sec.t1 - sec.t0}s`)}</span>` : '';
      const count = sec.end !== Infinity ? sec.end - sec.start : this.lines.length - 1 - sec.start;
      const n = sec.closed ? ` <span class="dur">${count} line${count === 1 ? '' : 's'}</span>` : '';
      body = `${esc(sec.title)}${secs}${n}`;
    } else {
      body = this.lineHtml(i, text);
    }
    const p = plain(text);
    if (p.startsWith(AGENT_MARK) || p.startsWith(QUEUE_NOTE)) cls.push('agent');
    if (this.selected === i + 1) cls.push('sel');
    if (this.hitSet.has(i)) cls.push('hit');
    if (this.hit >= 0 && this.hits[this.hit] === i) cls.push('hitcur');
    const at = this.showTimes ? this.lineTime(i) : 0;
    const ts = this.showTimes ? `<span class="ts">${at ? esc(clock(at)) : ''}</span>` : '';
    return `<div class="${cls.join(' ')}" data-line="${i}"><a class="no" href="#L${i + 1}">${i + 1}</a>` +
      `${ts}<span class="tx">${body}</span></div>`;
  }

  partialHtml() {
    const i = this.lines.length;
    const st = this.tracker.snapshot();
    this.renderer.restore(st);
    const body = this.renderer.ansi_to_html(lastSegment(this.partial).slice(0, MAX_SHOWN));
    const ts = this.showTimes ? '<span class="ts"></span>' : '';
    return `<div class="ln" data-line="${i}"><a class="no" href="#L${i + 1}">${i + 1}</a>${ts}` +
      `<span class="tx">${body}</span></div>`;
  }
}

// UTF-8 bytes of a string (the log's offsets count bytes).
function utf8Length(s) {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) { n += 4; i++; } else n += 3;
  }
  return n;
}

function clock(ms) {
  const d = new Date(ms);
  const p = (n, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}
