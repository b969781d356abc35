// tests/drivers/node/pg_cases.js — node-postgres cases: named queries ({name, text, values}: one
// Parse per client connection, then only Bind), many concurrent pg.Client connections and a
// pg.Pool, errors in transactions, LISTEN/NOTIFY, session state. Prints a transcript
// "<case> | <text>" for tests/drivers/run_driver.sh; nothing in it depends on timing.
'use strict';

const pg = require('pg');

const CLIENTS = 30;
const ITERATIONS = 5;
const ROWS_PER_ITERATION = 4;
const ROLLED_BACK_ITERATION = 2;
const POOL_TASKS = 40;
const POOL_MAX = 8;
const CASE_TIMEOUT_MS = 100000;
const NOTIFY_WAIT_MS = 5000;

const TAG = process.env.DRV_TAG;
const CONFIG = {
  host: process.env.PGHOST,
  port: Number(process.env.PGPORT),
  user: process.env.PGUSER,
  password: process.env.PGPASSWORD,
  database: process.env.PGDATABASE,
  connectionTimeoutMillis: 20000,
};

const name = (base) => `drv_${TAG}_${base}`;

// Lines of one case or one concurrent client; a failed check makes the run exit 1.
class Log {
  constructor() {
    this.lines = [];
    this.failed = false;
  }
  out(text) {
    this.lines.push(String(text).split(TAG).join('<tag>'));
  }
  unexpected(text) {
    this.failed = true;
    this.out(`UNEXPECTED ${text}`);
  }
  check(label, got, want, quiet = false) {
    const g = JSON.stringify(got);
    const w = JSON.stringify(want);
    if (g !== w) {
      this.unexpected(`${label}: got ${g}, PostgreSQL gives ${w}`);
    } else if (!quiet) {
      this.out(`${label}: ${g}`);
    }
  }
}

function describe(e) {
  const message = String(e && e.message ? e.message : e).split('\n')[0];
  return e && e.code ? `${e.code} ${message}` : message;
}

async function connect() {
  const client = new pg.Client(CONFIG);
  // An 'error' event without a listener would kill the process; the failing query reports it.
  client.on('error', () => {});
  await client.connect();
  return client;
}

async function sqlstateOf(promise) {
  try {
    await promise;
    return 'ok';
  } catch (e) {
    return e.code || describe(e);
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Makes every step of a session case run on a different pooled server connection than the step
// before it (tests/drivers/python/driver_common.py, Rotator, says how): two helper clients
// leapfrog, the idle one opening a transaction (taking the server connection the last step used)
// before the other commits. Their queries have no values: simple Query messages, never named.
class Rotator {
  async open() {
    this.clients = [await connect(), await connect()];
    this.holding = -1;
    return this;
  }
  async turn() {
    const idle = this.holding < 0 ? 0 : 1 - this.holding;
    await this.clients[idle].query('BEGIN');
    await this.clients[idle].query('SELECT 1');
    if (this.holding >= 0) {
      await this.clients[this.holding].query('COMMIT');
    }
    this.holding = idle;
  }
  async close() {
    if (this.holding >= 0) {
      await this.clients[this.holding].query('COMMIT');
    }
    for (const c of this.clients) {
      await c.end();
    }
  }
}

function iterationValues(client, it) {
  return Array.from({length: ROWS_PER_ITERATION}, (_, k) => client * 1000 + it * 10 + k);
}

// [count, sum] of a client's committed rows after `done` iterations.
function expectedRows(client, done) {
  const values = [];
  for (let it = 0; it < done; it++) {
    if (it !== ROLLED_BACK_ITERATION) {
      values.push(...iterationValues(client, it));
    }
  }
  return [values.length, values.reduce((a, b) => a + b, 0)];
}

// body(log, i) for i in 0..count-1, concurrently; the lines are printed in id order.
async function runClients(log, count, body) {
  const logs = Array.from({length: count}, () => new Log());
  await Promise.all(logs.map(async (clog, i) => {
    try {
      await body(clog, i);
    } catch (e) {
      clog.unexpected(describe(e));
    }
  }));
  logs.forEach((clog, i) => {
    clog.lines.forEach((line) => log.out(`client ${String(i).padStart(2, '0')}: ${line}`));
    if (clog.failed) {
      log.failed = true;
    }
  });
}

const totals = (table, client) => ({
  name: 'drv-totals',
  text: `SELECT count(*)::int AS c, coalesce(sum(n), 0)::int AS s FROM ${table} WHERE client = $1`,
  values: [client],
});

async function concurrentClients(log) {
  const table = name('items');
  const admin = await connect();
  await admin.query(`CREATE TABLE ${table} (client int, iter int, n int)`);
  const clients = await Promise.all(Array.from({length: CLIENTS}, () => connect()));
  await runClients(log, CLIENTS, async (clog, i) => {
    const c = clients[i];
    const label = `c${String(i).padStart(2, '0')}`;
    await c.query(`SET drv.client = '${label}'`);
    for (let it = 0; it < ITERATIONS; it++) {
      try {
        await c.query('BEGIN');
        for (const v of iterationValues(i, it)) {
          await c.query({
            name: 'drv-insert',
            text: `INSERT INTO ${table} VALUES ($1, $2, $3)`,
            values: [i, it, v],
          });
        }
        const before = expectedRows(i, it);
        const added = iterationValues(i, it).reduce((a, b) => a + b, 0);
        const inside = (await c.query(totals(table, i))).rows[0];
        clog.check(`iteration ${it} rows inside the transaction`, [inside.c, inside.s],
            [before[0] + ROWS_PER_ITERATION, before[1] + added], true);
        await c.query(it === ROLLED_BACK_ITERATION ? 'ROLLBACK' : 'COMMIT');
        const setting = await c.query({
          name: 'drv-setting',
          text: 'SELECT current_setting($1) AS v',
          values: ['drv.client'],
        });
        clog.check(`iteration ${it} setting`, setting.rows[0].v, label, true);
      } catch (e) {
        clog.unexpected(`iteration ${it}: ${describe(e)}`);
        await c.query('ROLLBACK').catch(() => {});
      }
    }
    const final = (await c.query(totals(table, i))).rows[0];
    clog.check('committed rows', [final.c, final.s], expectedRows(i, ITERATIONS));
  });
  await Promise.all(clients.map((c) => c.end()));
  const all = (await admin.query(
      `SELECT count(*)::int AS n, count(DISTINCT client)::int AS d FROM ${table}`)).rows[0];
  log.check('all rows', [all.n, all.d],
      [CLIENTS * (ITERATIONS - 1) * ROWS_PER_ITERATION, CLIENTS]);
  await admin.query(`DROP TABLE ${table}`);
  await admin.end();
}

async function pgPool(log) {
  const table = name('pooled');
  const pool = new pg.Pool({...CONFIG, max: POOL_MAX});
  pool.on('error', () => {});
  await pool.query(`CREATE TABLE ${table} (task int, n int)`);
  await runClients(log, POOL_TASKS, async (clog, i) => {
    for (let it = 0; it < 3; it++) {
      try {
        const c = await pool.connect();
        try {
          await c.query('BEGIN');
          await c.query({
            name: 'drv-pool-insert',
            text: `INSERT INTO ${table} VALUES ($1, $2), ($1, $3)`,
            values: [i, it, it * 100],
          });
          await c.query('COMMIT');
        } finally {
          c.release();
        }
        const sum = await pool.query({
          name: 'drv-pool-sum',
          text: `SELECT sum(n)::int AS s FROM ${table} WHERE task = $1`,
          values: [i],
        });
        let want = 0;
        for (let k = 0; k <= it; k++) {
          want += k + k * 100;
        }
        clog.check(`iteration ${it} sum`, sum.rows[0].s, want, true);
      } catch (e) {
        clog.unexpected(`iteration ${it}: ${describe(e)}`);
      }
    }
  });
  const all = await pool.query(`SELECT count(*)::int AS n FROM ${table}`);
  log.check('all rows', all.rows[0].n, POOL_TASKS * 6);
  await pool.query(`DROP TABLE ${table}`);
  await pool.end();
}

async function namedQueryReuse(log) {
  const c = await connect();
  const rot = await new Rotator().open();
  for (let k = 0; k < 4; k++) {
    await rot.turn();
    const r = await c.query({name: 'drv-times', text: 'SELECT $1::int * 11 AS v', values: [k]});
    log.check(`execution ${k}`, r.rows[0].v, k * 11);
  }
  await rot.close();
  await c.end();
}

async function errors(log) {
  const c = await connect();
  await c.query('BEGIN');
  log.check('division by zero',
      await sqlstateOf(c.query({text: 'SELECT 1 / $1::int', values: [0]})), '22012');
  log.check('next statement', await sqlstateOf(c.query('SELECT 1')), '25P02');
  await c.query('ROLLBACK');
  log.check('bad parameter', await sqlstateOf(
      c.query({name: 'drv-int', text: 'SELECT $1::int AS v', values: ['nope']})), '22P02');
  const r = await c.query({name: 'drv-int', text: 'SELECT $1::int AS v', values: ['5']});
  log.check('same name after the error', r.rows[0].v, 5);
  log.check('unknown table', await sqlstateOf(c.query(`SELECT * FROM ${name('missing')}`)),
      '42P01');
  const ok = await c.query({text: 'SELECT $1::int + 1 AS v', values: [41]});
  log.check('usable afterwards', ok.rows[0].v, 42);
  await c.end();
}

async function waitNotifications(list, count) {
  const deadline = Date.now() + NOTIFY_WAIT_MS;
  while (list.length < count && Date.now() < deadline) {
    await sleep(50);
  }
  return list.splice(0, list.length);
}

async function listenNotify(log) {
  // No Rotator: the notifier gets the server connection the listener just used (LIFO pool), so a
  // LISTEN left behind on it would deliver to the wrong client.
  const channel = name('chan');
  const listener = await connect();
  const notifier = await connect();
  const received = [];
  const stray = [];
  listener.on('notification', (m) => received.push([m.channel === channel, m.payload]));
  notifier.on('notification', (m) => stray.push([m.channel === channel, m.payload]));
  await listener.query(`LISTEN ${channel}`);
  await notifier.query(`NOTIFY ${channel}, 'alpha'`);
  await notifier.query({text: 'SELECT pg_notify($1, $2)', values: [channel, 'beta']});
  log.check('listener receives', await waitNotifications(received, 2),
      [[true, 'alpha'], [true, 'beta']]);
  log.check('notifier receives nothing', await waitNotifications(stray, 1), []);
  await listener.query(`UNLISTEN ${channel}`);
  await notifier.query(`NOTIFY ${channel}, 'gamma'`);
  log.check('nothing after UNLISTEN', await waitNotifications(received, 1), []);
  await listener.end();
  await notifier.end();
}

async function sessionState(log) {
  const c = await connect();
  const rot = await new Rotator().open();
  await rot.turn();
  await c.query("SET work_mem = '4567kB'");
  await rot.turn();
  log.check('SET', (await c.query('SHOW work_mem')).rows[0].work_mem, '4567kB');
  await rot.turn();
  await c.query('CREATE TEMP TABLE drv_tmpn (v int)');
  for (const v of [1, 2, 3]) {
    await rot.turn();
    await c.query({name: 'drv-tmp-insert', text: 'INSERT INTO drv_tmpn VALUES ($1)', values: [v]});
  }
  await rot.turn();
  const r = await c.query('SELECT count(*)::int AS n, sum(v)::int AS s FROM drv_tmpn');
  log.check('temp rows', [r.rows[0].n, r.rows[0].s], [3, 6]);
  await rot.turn();
  await c.query('RESET ALL');
  await rot.turn();
  log.check('RESET ALL', (await c.query('SHOW work_mem')).rows[0].work_mem, '4MB');
  await rot.close();
  await c.end();
}

const CASES = [
  ['concurrent_clients', concurrentClients],
  ['pg_pool', pgPool],
  ['named_query_reuse', namedQueryReuse],
  ['errors', errors],
  ['listen_notify', listenNotify],
  ['session_state', sessionState],
];

async function main() {
  let anyFailed = false;
  for (const [caseName, body] of CASES) {
    const log = new Log();
    let timer;
    const timeout = new Promise((resolve) => {
      timer = setTimeout(() => resolve('timeout'), CASE_TIMEOUT_MS);
    });
    const run = body(log).then(() => 'done', (e) => {
      log.unexpected(describe(e));
      console.error(`case ${caseName}:`, e);
      return 'done';
    });
    if ((await Promise.race([run, timeout])) === 'timeout') {
      log.unexpected(`no result within ${CASE_TIMEOUT_MS / 1000} s`);
    }
    clearTimeout(timer);
    for (const line of log.lines) {
      process.stdout.write(`${caseName} | ${line}\n`);
    }
    anyFailed = anyFailed || log.failed;
  }
  // Abandoned cases may still hold sockets open: exit once stdout is flushed.
  process.stdout.write('', () => process.exit(anyFailed ? 1 : 0));
}

main();
