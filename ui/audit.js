// audit.js - the Audit page: the hash chain's verification and the most
// recent entries, newest first.
import { get, page as apiPage } from './api.js';
import { h, section, table, when } from './dom.js';

const RECENT = 100;

export async function render(page) {
  page.append(h('h1', null, 'Audit'));
  let head = 0;
  await section(page, 'Verification of the hash chain', async (box) => {
    const v = await get('/v1/audit/verify');
    head = v.head.seq;
    box.append(h('p', { class: v.ok ? 'ok verify' : 'bad verify', dataset: { ok: String(v.ok), entries: String(v.entries) } },
      v.ok ? `verified: ${v.entries} entries, the chain is intact` : `BROKEN at entry ${v.bad_seq}: ${v.reason}`),
    h('p', { class: 'meta' }, `head: entry ${v.head.seq}, hash ${v.head.hash}`));
  });
  await section(page, `The last ${RECENT} entries`, async (box) => {
    // from just before the verified head to the end (entries may follow it)
    let after = String(Math.max(0, head - RECENT));
    let items = [];
    do {
      const p = await apiPage('/v1/audit', {}, after, 1000);
      items = items.concat(p.items).slice(-RECENT);
      after = p.next;
    } while (after);
    box.append(table([
      { title: 'seq', num: true, cell: (e) => String(e.seq) },
      { title: 'time', cell: (e) => when(e.time_ms) },
      { title: 'actor', cell: (e) => e.actor },
      { title: 'action', cell: (e) => e.action },
      { title: 'target', cell: (e) => e.target },
      { title: 'result', num: true, cell: (e) => h('span', { class: e.result >= 400 ? 'bad' : null }, String(e.result)) },
      { title: 'request', cell: (e) => e.request_id },
    ], items.reverse(), { class: 'audit' }));
  });
}
