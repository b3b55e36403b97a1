// vms.js - the Tenants and VMs page: each tenant's quotas and usage, its
// service groups (availability achieved against the target), and its
// VMs, paged (state, host, image, addresses from its ports, group).
import { all, page as apiPage } from './api.js';
import { bar, h, num, pager, section, table, val } from './dom.js';

const QUOTA = [['vms', 'VMs', ''], ['vcpus', 'vCPU', ''], ['mem_mib', 'memory', ' MiB'], ['disk_gib', 'disk', ' GiB']];

function availability(g) {
  if (!g) return '-';
  const text = `${(100 * g.achieved_availability).toFixed(4)}% of ${(100 * g.availability).toFixed(4)}%`;
  return h('span', { class: g.meets_target ? 'ok' : 'bad', dataset: { v: String(g.achieved_availability) } },
    text, g.meets_target ? '' : ' (below target)');
}

// ctx: {ports: Map vm id -> [address], groups: Map name -> group}, or
// null (a host's page: no addresses or groups loaded).
export function vmTable(items, ctx) {
  const cols = [
    { title: 'VM', cell: (v) => h('span', { class: 'vm', title: v.id, dataset: { id: v.id } }, v.name) },
    { title: 'tenant', cell: (v) => v.tenant },
    { title: 'state', cell: (v) => h('span', { class: v.state === 'running' ? 'ok' : v.state === 'error' ? 'bad' : null, title: v.error || '' }, v.state) },
    { title: 'host', cell: (v) => (v.host ? h('a', { href: `#/host/${encodeURIComponent(v.host)}` }, v.host) : '-') },
    { title: 'flavor', cell: (v) => `${v.flavor} (${v.vcpus} vCPU, ${num(v.mem_mib)} MiB, ${v.disk_gib} GiB)` },
    { title: 'image', cell: (v) => (v.image ? v.image.name : 'none') },
  ];
  if (ctx) {
    cols.push({ title: 'addresses', cell: (v) => (ctx.ports.get(v.id) || []).join(', ') || '-' });
    cols.push({ title: 'group', cell: (v) => v.group || '-' });
    cols.push({ title: 'availability vs target', cell: (v) => (v.group ? availability(ctx.groups.get(v.group)) : '-') });
  } else {
    cols.push({ title: 'group', cell: (v) => v.group || '-' });
  }
  return table(cols, items, { class: 'vms' });
}

function quotaTable(t) {
  return table([
    { title: 'resource', cell: (q) => q[1] },
    { title: 'used', num: true, cell: (q) => val(t.usage[q[0]], num(t.usage[q[0]]) + q[2]) },
    { title: 'quota', num: true, cell: (q) => (t.quota[q[0]] === null ? 'unlimited' : val(t.quota[q[0]], num(t.quota[q[0]]) + q[2])) },
    { title: '', cell: (q) => (t.quota[q[0]] === null ? '' : bar(t.usage[q[0]], t.quota[q[0]], `${num(t.usage[q[0]])} of ${num(t.quota[q[0]])}`)) },
  ], QUOTA, { class: 'quota', dataset: { tenant: t.name } });
}

export async function render(page, params) {
  const tenants = await all('/v1/tenants');
  const chosen = tenants.find((t) => t.name === params.get('tenant')) || tenants[0];
  page.append(h('h1', null, 'Tenants and VMs'),
    h('nav', { class: 'tabs' }, tenants.map((t) =>
      h('a', { href: `#/tenants?tenant=${encodeURIComponent(t.name)}`, class: t === chosen ? 'current' : null, dataset: { tenant: t.name } }, t.name))));
  if (!chosen) {
    page.append(h('p', null, 'No tenants.'));
    return;
  }
  const q = { tenant: chosen.name };
  page.append(h('p', { class: 'meta' }, `isolation ${chosen.isolation}`,
    chosen.compliance_class ? `, compliance class ${chosen.compliance_class}` : '',
    chosen.pools.length ? `, pools ${chosen.pools.join(', ')}` : ', every pool'));
  await section(page, 'Quotas and usage', async (box) => box.append(quotaTable(chosen)));
  const groups = new Map();
  await section(page, 'Service groups', async (box) => {
    const gs = await all('/v1/groups', q);
    for (const g of gs) groups.set(g.name, g);
    box.append(table([
      { title: 'group', cell: (g) => g.name },
      { title: 'policy', cell: (g) => g.policy },
      { title: 'members', num: true, cell: (g) => String(g.members) },
      { title: 'hosts', num: true, cell: (g) => String(g.hosts) },
      { title: 'availability vs target', cell: availability },
    ], gs, { class: 'groups' }));
  });
  await section(page, 'VMs', async (box) => {
    const ports = new Map();
    for (const p of await all('/v1/ports', q)) {
      const a = ports.get(p.vm_id) || [];
      a.push(`${p.ip} (${p.network})`);
      ports.set(p.vm_id, a);
    }
    const p = pager((after, limit) => apiPage('/v1/vms', q, after, limit), (items) => vmTable(items, { ports, groups }));
    box.append(p);
    await p.ready;
  });
}
