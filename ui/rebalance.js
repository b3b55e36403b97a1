// rebalance.js - the Rebalancing and tasks page: the rebalances and
// drains that run (their moves and progress, refreshed), a plan of a
// pool's rebalance with each host's eta before and after (and a start
// behind a confirmation), the recent tasks and the recent failures.
import { all, call, get, last } from './api.js';
import { bar, confirmAction, h, noticeBox, num, pct, section, showError, table, val, when } from './dom.js';

const DIMS = [['vcpus', 'vCPU', 'cpu_ratio'], ['mem_mib', 'memory', 'mem_ratio'], ['disk_gib', 'disk', 'disk_ratio']];

// kind: 'recent' or 'failures', a second class of the table
function taskTable(tasks, kind) {
  return table([
    { title: 'task', cell: (t) => h('span', { title: t.id, class: 'task' }, t.id.slice(0, 8)) },
    { title: 'type', cell: (t) => t.type },
    { title: 'state', cell: (t) => h('span', { class: t.state === 'failed' ? 'bad' : t.state === 'done' ? 'ok' : null }, t.state) },
    { title: 'VM', cell: (t) => t.vm_id || '-' },
    { title: 'hosts', cell: (t) => [t.source_host, t.target_host].filter(Boolean).join(' -> ') || '-' },
    { title: 'updated', cell: (t) => when(t.updated_ms) },
    { title: 'error', cell: (t) => t.error || '' },
  ], tasks, { class: `tasks ${kind}` });
}

function progress(t) {
  const p = t.progress;
  const box = h('div', { class: 'run', dataset: { task: t.id } },
    h('h3', null, `${t.type} of ${p.host ? 'host ' + p.host : 'pool ' + p.pool} (task ${t.id.slice(0, 8)}, ${t.state})`),
    h('p', null, bar(p.done + p.skipped + p.failed + p.cancelled, p.total,
      `${p.done} done, ${p.running} running, ${p.skipped} skipped, ${p.failed} failed, ${p.cancelled} cancelled of ${p.total}`)));
  box.append(table([
    { title: 'VM', cell: (m) => m.vm_name },
    { title: 'from', cell: (m) => m.source },
    { title: 'to', cell: (m) => m.target },
    { title: 'memory', num: true, cell: (m) => `${num(m.mem_mib)} MiB` },
    { title: 'state', cell: (m) => h('span', { class: m.state === 'failed' ? 'bad' : m.state === 'done' ? 'ok' : null }, m.state) },
    { title: 'note', cell: (m) => m.note || '' },
  ], p.moves, { class: 'moves' }));
  if (p.notes.length) box.append(h('ul', null, p.notes.map((n) => h('li', null, n))));
  return box;
}

// Each host's eta (allocated / usable) before the plan and after its moves.
async function hostEtas(pool, plan) {
  const [p, hosts] = await Promise.all([get(`/v1/pools/${encodeURIComponent(pool)}`), all('/v1/hosts', { pool })]);
  const after = new Map(hosts.map((x) => [x.name, { ...x.allocated }]));
  const sizes = new Map();
  for (const m of plan.moves.slice(0, 200))
    if (!sizes.has(m.vm)) sizes.set(m.vm, await get(`/v1/vms/${encodeURIComponent(m.vm)}`));
  for (const m of plan.moves) {
    const v = sizes.get(m.vm) || { vcpus: 0, mem_mib: m.mem_mib, disk_gib: 0 };
    for (const [d] of DIMS) {
      if (after.has(m.source)) after.get(m.source)[d] -= v[d];
      if (after.has(m.target)) after.get(m.target)[d] += v[d];
    }
  }
  const eta = (alloc, x, d, ratio) => (x[d] > 0 ? alloc[d] / (x[d] * p[ratio]) : 0);
  const cols = [{ title: 'host', cell: (x) => x.name }];
  for (const [d, name, ratio] of DIMS) {
    cols.push({ title: `${name} before`, num: true, cell: (x) => val(eta(x.allocated, x, d, ratio), pct(eta(x.allocated, x, d, ratio))) });
    cols.push({ title: `${name} after`, num: true, cell: (x) => val(eta(after.get(x.name), x, d, ratio), pct(eta(after.get(x.name), x, d, ratio))) });
  }
  return table(cols, hosts, { class: 'host-etas' });
}

function planView(pool, policy, plan, notice) {
  const box = h('div', { class: 'plan', dataset: { pool } });
  box.append(h('p', null, `policy ${plan.policy}, ${plan.metric} ${plan.score_before.toFixed(4)} -> ${plan.score_after.toFixed(4)}; `,
    `${plan.moves.length} moves (${num(plan.mib_moved)} MiB), hosts active ${plan.hosts_active_before} -> ${plan.hosts_active_after}`,
    plan.max_moves_reached ? ' (stopped at max_moves)' : ''));
  box.append(table([
    { title: 'VM', cell: (m) => m.vm_name },
    { title: 'tenant', cell: (m) => m.tenant },
    { title: 'from', cell: (m) => m.source },
    { title: 'to', cell: (m) => m.target },
    { title: 'memory', num: true, cell: (m) => `${num(m.mem_mib)} MiB` },
    { title: 'phase', cell: (m) => m.phase },
  ], plan.moves, { class: 'moves' }));
  if (plan.not_moved.length)
    box.append(h('p', null, 'not moved: ', plan.not_moved.map((n) => `${n.vm_name} on ${n.host}: ${n.reason}`).join('; ')));
  const start = h('button', { type: 'button', class: 'start-rebalance', disabled: plan.moves.length === 0 }, 'Start this rebalance');
  start.addEventListener('click', async () => {
    const yes = await confirmAction(`Rebalance pool ${pool}?`,
      `${plan.moves.length} VMs of pool ${pool} will be live-migrated (${num(plan.mib_moved)} MiB of memory), as planned with policy ${plan.policy}.`);
    if (!yes) return;
    start.disabled = true;
    try {
      const t = await call('POST', `/v1/pools/${encodeURIComponent(pool)}/rebalance`, policy ? { policy } : {});
      notice(h('p', { class: 'notice' }, `rebalance of ${pool} started as task ${t.id}`));
    } catch (e) {
      start.disabled = false;
      notice(null, e);
    }
  });
  box.append(h('p', null, start));
  return box;
}

export async function render(page, params, onLeave, role) {
  page.append(h('h1', null, 'Rebalancing and tasks'));
  const [notices, notice] = noticeBox();
  page.append(notices);
  await section(page, 'Running rebalances and drains', async (box) => {
    const runs = h('div');
    box.append(runs);
    const refresh = async () => {
      const open = (await all('/v1/tasks', { state: 'running' })).concat(await all('/v1/tasks', { state: 'pending' }))
        .filter((t) => t.progress);
      runs.replaceChildren(...(open.length ? open.map(progress) : [h('p', null, 'none running')]));
    };
    await refresh();
    const timer = setInterval(() => refresh().catch((e) => { clearInterval(timer); showError(box, e); }), 3000);
    onLeave(() => clearInterval(timer));
  });
  if (role !== 'tenant')
    await section(page, 'Plan a rebalance', async (box) => {
      const pools = await all('/v1/pools');
      const poolSel = h('select', { name: 'pool', 'aria-label': 'pool' }, pools.map((p) => h('option', { value: p.name }, p.name)));
      const polSel = h('select', { name: 'policy', 'aria-label': 'policy' },
        [['', "the pool's policy"], ['spread', 'spread'], ['pack', 'pack']].map(([v, t]) => h('option', { value: v }, t)));
      const out = h('div');
      const btn = h('button', { type: 'button', class: 'plan-run' }, 'Plan');
      btn.addEventListener('click', async () => {
        btn.disabled = true;
        out.replaceChildren(h('p', null, 'planning...'));
        const pool = poolSel.value, policy = polSel.value;
        try {
          const plan = await call('POST', `/v1/pools/${encodeURIComponent(pool)}/rebalance`, policy ? { dry_run: true, policy } : { dry_run: true });
          out.replaceChildren(planView(pool, policy, plan, notice), h('h3', null, 'eta per host, allocated of usable'), await hostEtas(pool, plan));
        } catch (e) {
          out.replaceChildren();
          showError(out, e);
        }
        btn.disabled = false;
      });
      box.append(h('p', null, poolSel, ' ', polSel, ' ', btn), out);
    });
  await section(page, 'Recent tasks', async (box) => box.append(taskTable((await last('/v1/tasks', {}, 50)).reverse(), 'recent')));
  await section(page, 'Recent failures', async (box) => box.append(taskTable((await last('/v1/tasks', { state: 'failed' }, 20)).reverse(), 'failures')));
}
