// The dashboard in a real browser: Debian's chromium, headless, driven by
// puppeteer-core (from the npm cache scripts/deps.sh fills), against the
// live controller ui_browser.sh started. Reads what the API said from
// UI_EXPECT (JSON); prints one line a check, "PASS what" or
// "FAIL what<TAB>detail", for ui_browser.sh to count; screenshots go to
// UI_SHOTS; chromium's PID goes to UI_PIDFILE at once, so the shell can
// stop it (and its children) whatever happens here.
'use strict';
const fs = require('fs');
const path = require('path');
const puppeteer = require('puppeteer-core');

const env = process.env;
const URL = env.UI_URL;
const want = JSON.parse(fs.readFileSync(env.UI_EXPECT, 'utf8'));
const WAIT = { timeout: 30000 };

function check(what, ok, detail) {
  console.log(ok ? `PASS ${what}` : `FAIL ${what}\t${detail === undefined ? '' : String(detail).replace(/\s+/g, ' ').slice(0, 600)}`);
  return ok;
}

// Console errors, page errors, failed requests and CSP violations of page;
// allow(text, url) forgives one (a 403 the role probe expects).
function watch(page, allow) {
  const problems = [];
  page.on('console', (m) => {
    const url = (m.location() && m.location().url) || '';
    if ((m.type() === 'error' || /Content Security Policy/i.test(m.text())) && !(allow && allow(m.text(), url)))
      problems.push(`console ${m.type()}: ${m.text()} (${url})`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure() && r.failure().errorText}`));
  page.evaluateOnNewDocument(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  return problems;
}

// Check that page name loaded clean since the last call; screenshot it.
async function clean(page, problems, name) {
  const csp = await page.evaluate(() => window.__csp.splice(0));
  const errs = await page.$$eval('#page .error', (es) => es.map((e) => e.textContent));
  check(`${name}: no console error or failed request`, problems.length === 0, problems.join(' | '));
  check(`${name}: no Content-Security-Policy violation`, csp.length === 0, csp.join(' | '));
  check(`${name}: no API error shown`, errs.length === 0, errs.join(' | '));
  problems.length = 0;
  await page.screenshot({ path: path.join(env.UI_SHOTS, `${name}.png`), fullPage: true });
}

async function show(page, hash, name) {
  await page.evaluate((h) => { location.hash = h; }, hash);
  await page.waitForSelector(`#page[data-page="${name}"][data-ready="1"]`, WAIT);
}

async function login(page, token) {
  await page.goto(`${URL}/`, { waitUntil: 'load' });
  await page.waitForSelector('#login:not([hidden])', WAIT);
  await page.type('#token', token);
  await page.click('#login button[type=submit]');
}

// The confirmation dialog is open with text naming what; answer it.
async function confirmDialog(page, what, answer) {
  await page.waitForSelector('dialog#confirm[open]', WAIT);
  const text = await page.$eval('dialog#confirm', (d) => d.textContent);
  check(`the ${what} asks for confirmation first`, text.includes(what.split(' ').pop()), text);
  await page.click(answer ? '#confirm-ok' : '#confirm-cancel');
  await page.waitForSelector('dialog#confirm:not([open])', WAIT);
}

const near = (a, b) => Math.abs(Number(a) - Number(b)) < 1e-9;
const texts = (page, sel) => page.$$eval(sel, (es) => es.map((e) => e.textContent));

async function pools(page, problems) {
  await show(page, '#/pools', 'pools');
  const rows = await page.$$eval('table.dims[data-pool="default"] tbody tr',
    (trs) => trs.map((tr) => [...tr.querySelectorAll('[data-v]')].map((s) => Number(s.dataset.v))));
  const u = want.util_default;
  ['vcpus', 'mem_mib', 'disk_gib'].forEach((d, i) => {
    const r = rows[i] || [];
    const a = u.dimensions[d];
    check(`Pools: ${d} total, usable, allocated and eta allocated of pool default are the API's`,
      near(r[0], a.total) && near(r[1], a.usable) && near(r[2], a.allocated) && near(r[4], a.eta_allocated),
      `shown ${JSON.stringify(r)} api ${JSON.stringify(a)}`);
  });
  const hostsUp = await page.$eval('.pool[data-pool="default"] p [data-v]', (s) => Number(s.dataset.v));
  check('Pools: hosts up of pool default is the API\'s', hostsUp === u.hosts, `${hostsUp} vs ${u.hosts}`);
  const pts = await page.waitForFunction(() => {
    const p = document.querySelector('.pool[data-pool="default"] .plot');
    return p && p.uplot && p.querySelector('canvas') ? p.uplot.data[0].length : 0;
  }, WAIT).then((hd) => hd.jsonValue());
  check('Pools: the plot of pool default has points', pts > 0 && pts >= want.series_default, `${pts} points, the API had ${want.series_default}`);
  await page.click('.pool[data-pool="default"] .capplan-run');
  await page.waitForSelector('.capplan[data-pool="default"] .needed', WAIT);
  const plan = await page.$$eval('.capplan[data-pool="default"] [data-v]', (ss) => ss.map((s) => Number(s.dataset.v)));
  check('Pools: the capacity plan shows the hosts the pack LP needs and the hosts running',
    plan[0] === want.plan_default.hosts_active_after && plan[1] === want.plan_default.hosts_active_before,
    `${JSON.stringify(plan)} vs ${JSON.stringify(want.plan_default)}`);
  await clean(page, problems, 'pools');
  await show(page, '#/pools?range=week', 'pools');
  await page.waitForSelector('.ranges a.current', WAIT);
  const cur = await page.$eval('.ranges a.current', (a) => a.textContent);
  check('Pools: the range switches to the last week', cur === 'week', cur);
  await clean(page, problems, 'pools-week');
}

async function hosts(page, problems) {
  await show(page, '#/hosts', 'hosts');
  const first = await page.$$eval('table.hosts tbody tr', (t) => t.length);
  check('Hosts: the first page has 100 hosts', first === 100, first);
  const [next] = await page.$$('xpath/.//button[text()="Next"]');
  await next.click();
  await page.waitForFunction(() => /page 2/.test(document.querySelector('.pageinfo').textContent), WAIT);
  const second = await page.$$eval('table.hosts tbody tr', (t) => t.length);
  check(`Hosts: the second page has the other ${want.hosts_total - 100}`, second === want.hosts_total - 100, second);
  await clean(page, problems, 'hosts');
  await show(page, '#/hosts?pool=default', 'hosts');
  const n1 = await page.$$eval('table.hosts tbody tr', (trs) => trs.filter((tr) => tr.querySelector('a.host').textContent === 'n1')
    .map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent).concat(
      [...tr.querySelectorAll('[data-v]')].map((s) => s.dataset.v)))[0]);
  check('Hosts: n1 shows its state, maintenance, status and VM count as the API',
    n1 && n1[2] === want.n1.state && n1[3] === (want.n1.maintenance ? 'yes' : 'no') && n1[4] === want.n1.status &&
      Number(n1[n1.length - 1]) === want.n1.vm_count, JSON.stringify(n1));
  const vb = Number(n1[n1.length - 4]);
  check('Hosts: n1\'s vCPU bar is allocated over its vCPUs', near(vb, want.n1.allocated.vcpus / want.n1.vcpus), `${vb}`);
  await page.click('button.drain[data-host="n1"]');
  await confirmDialog(page, 'drain of host n1', false);
  await clean(page, problems, 'hosts-default');
  await show(page, '#/hosts?pool=prod', 'hosts');
  const dh = want.drain_host;
  await page.click(`button.drain[data-host="${dh}"]`);
  await confirmDialog(page, `drain of host ${dh}`, true);
  await page.waitForSelector('.notice', WAIT);
  const n = await page.$eval('.notice', (e) => e.textContent);
  check('Hosts: a confirmed drain starts and says its task', new RegExp(`drain of ${dh} started as task [0-9a-f-]{36}`).test(n), n);
  await clean(page, problems, 'hosts-drained');

  await show(page, '#/host/n1', 'host');
  const vms = (await texts(page, 'table.vms .vm')).sort();
  check('Host n1: its VMs are the API\'s', JSON.stringify(vms) === JSON.stringify(want.n1_vms), `${vms} vs ${want.n1_vms}`);
  const pts = await page.waitForFunction(() => {
    const p = document.querySelector('#page .plot');
    return p && p.uplot ? p.uplot.data[0].length : 0;
  }, WAIT).then((hd) => hd.jsonValue());
  check('Host n1: its plot draws the stored series (at least the points the API had)',
    pts > 0 && pts >= want.series_n1, `${pts} vs ${want.series_n1}`);
  await show(page, '#/host/n1?range=week', 'host');
  const week = await page.waitForFunction(() => {
    const p = document.querySelector('#page .plot');
    return p && p.uplot ? p.uplot.data[0].length : 0;
  }, WAIT).then((hd) => hd.jsonValue());
  check('Host n1: the week\'s plot has points', week >= pts, `${week} vs ${pts}`);
  await clean(page, problems, 'host-n1');
}

async function tenants(page, problems) {
  await show(page, '#/tenants?tenant=loan', 'tenants');
  const vms = (await texts(page, 'table.vms .vm')).sort();
  check('Tenants: loan\'s VMs are the API\'s', JSON.stringify(vms) === JSON.stringify(want.loan_vms), `${vms} vs ${want.loan_vms}`);
  const used = await page.$eval('table.quota tbody tr [data-v]', (s) => Number(s.dataset.v));
  check('Tenants: loan\'s VM count against its quota is the API\'s usage', used === want.loan_usage.vms, `${used}`);
  await clean(page, problems, 'tenants-loan');
  await show(page, '#/tenants?tenant=pay', 'tenants');
  const body = await page.$eval('table.vms', (t) => t.textContent);
  check('Tenants: pay\'s VMs show their addresses from their ports', want.pay_ips.every((ip) => body.includes(ip)), body);
  const grp = await page.$eval('table.groups [data-v]', (s) => Number(s.dataset.v));
  check('Tenants: pay\'s group shows its achieved availability', near(grp, want.pay_group.achieved_availability), grp);
  await clean(page, problems, 'tenants-pay');
}

async function rebalance(page, problems) {
  await show(page, '#/rebalance', 'rebalance');
  await page.select('select[name="pool"]', 'default');
  await page.select('select[name="policy"]', 'pack');
  await page.click('button.plan-run');
  await page.waitForSelector('.plan[data-pool="default"]', WAIT);
  await page.waitForSelector('table.host-etas', WAIT);
  const etas = await page.$$eval('table.host-etas tbody tr', (trs) => trs.map((tr) =>
    [tr.querySelector('td').textContent, ...[...tr.querySelectorAll('[data-v]')].map((s) => Number(s.dataset.v))]));
  const n1 = etas.find((r) => r[0] === 'n1');
  check('Rebalancing: n1\'s vCPU eta before the plan is allocated over usable',
    n1 && near(n1[1], want.n1.allocated.vcpus / (want.n1.vcpus * want.pool_default.cpu_ratio)), JSON.stringify(etas));
  const moves = await page.$$eval('.plan table.moves tbody tr', (t) => t.length);
  check('Rebalancing: the plan lists the moves the API planned', moves === Math.max(1, want.plan_default.moves.length), moves);
  const tasks = await page.$$eval('table.tasks.recent tbody tr', (t) => t.length);
  check('Rebalancing: recent tasks are listed', tasks > 0 && tasks <= 50, tasks);
  if (want.plan_default.moves.length > 0) {
    await page.click('button.start-rebalance');
    await confirmDialog(page, 'rebalance of pool default', false);
  } else {
    check('Rebalancing: the plan has moves to start', false, 'the pack plan of pool default moves nothing');
  }
  await clean(page, problems, 'rebalance');
}

async function audit(page, problems) {
  await show(page, '#/audit', 'audit');
  const v = await page.$eval('.verify', (p) => ({ ok: p.dataset.ok, entries: Number(p.dataset.entries) }));
  check('Audit: the verify result is the API\'s', v.ok === 'true' && v.entries >= want.audit.entries, JSON.stringify(v));
  const seqs = await page.$$eval('table.audit tbody tr td:first-child', (tds) => tds.map((td) => Number(td.textContent)));
  check('Audit: the recent entries, newest first, end at the head', seqs.length > 0 && seqs.length <= 100 &&
    seqs[0] >= want.audit.head.seq && seqs.every((s, i) => i === 0 || s < seqs[i - 1]), seqs.slice(0, 5).join(','));
  await clean(page, problems, 'audit');
}

async function asTenant(browser) {
  const ctx = await browser.createBrowserContext();
  const page = await ctx.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  // the role probe: a tenant token may not list pools (403, expected)
  const problems = watch(page, (text, url) => / 403 /.test(text) && url.endsWith('/v1/pools?limit=1'));
  await login(page, env.UI_TENANT_TOKEN);
  await page.waitForSelector('#page[data-page="tenants"][data-ready="1"]', WAIT);
  const tabs = await texts(page, '.tabs a');
  check('tenant token: only its tenant is listed', JSON.stringify(tabs) === '["loan"]', tabs);
  const vms = (await texts(page, 'table.vms .vm')).sort();
  check('tenant token: its VMs are listed', JSON.stringify(vms) === JSON.stringify(want.loan_vms), vms);
  const text = await page.$eval('body', (b) => b.textContent);
  check('tenant token: no other tenant\'s VM appears', want.pay_vms.every((n) => !text.includes(n)), want.pay_vms);
  const hidden = await page.$$eval('#nav a', (as) => as.filter((a) => a.hidden).map((a) => a.dataset.page));
  check('tenant token: the fleet\'s pages are not offered', JSON.stringify(hidden) === '["pools","hosts","audit"]', hidden);
  await clean(page, problems, 'tenant-vms');
  await show(page, '#/rebalance', 'rebalance');
  const plan = await page.$$('button.plan-run');
  check('tenant token: no rebalance can be planned', plan.length === 0, plan.length);
  await clean(page, problems, 'tenant-tasks');
  await ctx.close();
}

async function badToken(browser) {
  const ctx = await browser.createBrowserContext();
  const page = await ctx.newPage();
  await login(page, 'fc_not_a_token');
  await page.waitForSelector('#login-error:not([hidden])', WAIT);
  const msg = await page.$eval('#login-error', (e) => e.textContent);
  check('a token the API refuses: its error is shown', /401 unauthenticated: .*not valid/.test(msg), msg);
  await page.screenshot({ path: path.join(env.UI_SHOTS, 'login-refused.png') });
  await ctx.close();
}

async function main() {
  const browser = await puppeteer.launch({
    executablePath: env.UI_CHROMIUM,
    headless: true,
    userDataDir: env.UI_PROFILE,
    // root in a test: no user namespace sandbox to drop into
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
  });
  fs.writeFileSync(env.UI_PIDFILE, `${browser.process().pid}\n`);
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    const problems = watch(page, null);
    await login(page, env.UI_ADMIN_TOKEN);
    await page.waitForSelector('#page[data-page="pools"][data-ready="1"]', WAIT);
    const headers = await page.evaluate(async () => {
      const r = await fetch('/ui/app.js');
      return r.headers.get('content-security-policy');
    });
    check('the page came with the strict Content-Security-Policy', /script-src 'self'/.test(headers || '') && !/unsafe/.test(headers), headers);
    for (const f of [pools, hosts, tenants, rebalance, audit]) {
      try {
        await f(page, problems);
      } catch (e) {
        check(`${f.name}: the page could be driven`, false, e.stack);
        await page.screenshot({ path: path.join(env.UI_SHOTS, `${f.name}-failed.png`), fullPage: true }).catch(() => {});
      }
    }
    for (const f of [asTenant, badToken]) {
      try {
        await f(browser);
      } catch (e) {
        check(`${f.name}: the page could be driven`, false, e.stack);
      }
    }
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  check('the browser runs', false, e.stack);
  process.exitCode = 1;
});
