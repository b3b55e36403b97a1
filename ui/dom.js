// dom.js - building the pages: elements from API data (always as text,
// never as markup: a VM name cannot inject anything), tables, bars,
// pagers, error boxes and the confirmation dialog.

// h('td', {class: 'x', dataset: {v: 1}, onclick: f}, child, ...)
export function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const kid of kids.flat(Infinity)) {
    if (kid === null || kid === undefined || kid === false) continue;
    el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return el;
}

// A table: columns [{title, cell: row => node|string, num: bool}], rows.
export function table(columns, rows, attrs) {
  const head = h('tr', null, columns.map((c) => h('th', { class: c.num ? 'num' : null }, c.title)));
  const body = h('tbody', null, rows.map((r) =>
    h('tr', null, columns.map((c) => h('td', { class: c.num ? 'num' : null }, c.cell(r))))));
  if (rows.length === 0)
    body.append(h('tr', null, h('td', { colspan: columns.length, class: 'empty' }, 'none')));
  return h('table', attrs, h('thead', null, head), body);
}

export const pct = (x) => (x === null || x === undefined ? '-' : (100 * x).toFixed(1) + '%');

export function num(x, digits = 0) {
  if (x === null || x === undefined) return '-';
  return Number(x).toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export function when(ms) {
  if (!ms) return '-';
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 19) + 'Z';
}

// A number shown as text, its exact value in data-v (what the tests read).
export const val = (x, text) => h('span', { dataset: { v: x === null || x === undefined ? '' : String(x) } }, text);

// A bar of used/of (clamped at full), labelled; the width goes through the
// CSSOM, which the Content-Security-Policy allows (no style attribute).
export function bar(used, of, label) {
  const f = of > 0 ? used / of : 0;
  const fill = h('span', { class: 'fill' + (f > 1 ? ' over' : f > 0.85 ? ' high' : '') });
  fill.style.width = Math.min(100, 100 * f).toFixed(1) + '%';
  return h('span', { class: 'bar', title: label, dataset: { v: String(f) } }, fill,
    h('span', { class: 'label' }, label));
}

// An API error (or any) as a box in parent; returns the box.
export function showError(parent, err) {
  const box = h('div', { class: 'error', role: 'alert' }, err && err.message ? err.message : String(err));
  parent.append(box);
  return box;
}

// A place for the outcome of an action: notice(element, error) shows
// either (or clears it). Returns [box, notice].
export function noticeBox() {
  const box = h('div');
  const notice = (el, err) => {
    box.replaceChildren();
    if (el) box.append(el);
    if (err) showError(box, err);
  };
  return [box, notice];
}

// Run f(box) into a fresh box; an error it throws is shown in the box.
export async function section(parent, title, f) {
  const box = h('section', null, title ? h('h2', null, title) : null);
  parent.append(box);
  try {
    await f(box);
  } catch (e) {
    showError(box, e);
  }
  return box;
}

// The confirmation dialog: resolves true when the operator confirms.
export function confirmAction(title, text) {
  const dlg = document.getElementById('confirm');
  document.getElementById('confirm-title').textContent = title;
  document.getElementById('confirm-text').textContent = text;
  dlg.returnValue = '';
  return new Promise((resolve) => {
    dlg.addEventListener('close', () => resolve(dlg.returnValue === 'ok'), { once: true });
    dlg.showModal();
  });
}

// A paged table: load(after, limit) -> {items, next}; render(items) -> a
// table. Keeps the cursors of the pages before for Previous.
export function pager(load, render, limit = 100) {
  const box = h('div', { class: 'pager' });
  const body = h('div');
  const info = h('span', { class: 'pageinfo' });
  const prev = h('button', { type: 'button' }, 'Previous');
  const next = h('button', { type: 'button' }, 'Next');
  const size = h('select', { 'aria-label': 'rows a page' },
    [50, 100, 250, 500, 1000].map((n) => h('option', { value: n, selected: n === limit }, `${n} a page`)));
  const cursors = [];
  let after = null;
  let nextCursor = null;
  async function show() {
    prev.disabled = next.disabled = true;
    try {
      const p = await load(after, Number(size.value));
      body.replaceChildren(render(p.items));
      nextCursor = p.next;
      info.textContent = `page ${cursors.length + 1}, ${p.items.length} rows` + (p.next ? '' : ' (last)');
      prev.disabled = cursors.length === 0;
      next.disabled = !p.next;
    } catch (e) {
      body.replaceChildren();
      showError(body, e);
    }
  }
  prev.addEventListener('click', () => { after = cursors.pop() ?? null; show(); });
  next.addEventListener('click', () => { cursors.push(after); after = nextCursor; show(); });
  size.addEventListener('change', () => { cursors.length = 0; after = null; show(); });
  box.append(h('div', { class: 'pagebar' }, prev, next, info, size), body);
  box.ready = show();
  return box;
}
