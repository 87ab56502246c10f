#!/usr/bin/env node
'use strict';
/*
 * rmqlite interop driver for the Node.js RocketMQ client `ali-ons` (3.12.x), unmodified.
 *
 *   node interop.js --namesrv 127.0.0.1:9876 --scenario produce|tags|retry|all [--timeout-ms 90000]
 *   node interop.js --namesrv 127.0.0.1:9876 --scenario failover [--duration-ms 10000] [--await-mark]
 *   node interop.js --namesrv 127.0.0.1:9876 --scenario delay --delay-levels "1s 2s 3s ..." | --scenario acl
 *
 * How it works:
 *  1. Every scenario uses a fresh topic, producer group and consumer group (unique suffix), so runs never see
 *     each other's messages or offsets.
 *  2. The topic is created through ali-ons itself (MQClientAPI.createTopic = UPDATE_AND_CREATE_TOPIC, code 17)
 *     on every master broker found in the route of TBW102 (or, if that route is missing, in the cluster info),
 *     then we wait (bounded) until the name server serves its route. ali-ons cannot auto-create topics: its
 *     producer throws on TOPIC_NOT_EXIST before it would fall back to TBW102.
 *  3. Messages are produced first (sync sends, retryTimesWhenSendFailed=0 so no hidden re-sends), then a push
 *     consumer (CLUSTERING, CONSUME_FROM_FIRST_OFFSET) consumes. Every message carries a user property `nid`
 *     (its index); the original body/keys/tags/properties and send result are kept to check each delivery
 *     byte for byte (ali-ons deflates bodies >= 4 KiB before sending and inflates on receipt, so the
 *     compressed-sysflag path is exercised too).
 *  4. A scenario waits (bounded) until every expected message was accepted, then lingers `--linger-ms` to
 *     catch duplicates or unexpected deliveries, closes its clients (bounded) and prints ONE JSON line:
 *     {"scenario","sent","received","lost","duplicated","altered","ok","error", ...extra diagnostics}.
 *  5. Exit code: 0 when every scenario is ok, 1 otherwise, 2 on bad arguments. stdout carries only the JSON
 *     lines; ali-ons warnings and our diagnostics go to stderr.
 *
 * Scenarios:
 *  - produce: bodies 0 B .. 1 MiB (random and compressible), tags, keys, unicode user properties; one group
 *    must receive every message exactly once with identical body/tags/keys/properties, msgId, queue id/offset.
 *  - tags: TagA/TagB/TagC/untagged messages, subscription `TagA || TagB`; only TagA/TagB may reach the handler
 *    and the broker itself must not deliver TagC/untagged ones (we observe raw pull results).
 *  - retry: the handler throws on the first delivery of every third message; ali-ons sends it back
 *    (CONSUMER_SEND_MSG_BACK, delayLevel 0); it must come back once with reconsumeTimes > 0, original topic,
 *    body and properties, ORIGIN_MESSAGE_ID = the first msgId. The broker's delay level 3 (+ reconsumeTimes)
 *    decides how soon: 10 s on a stock 4.9.4 broker, so test brokers set messageDelayLevel to 1s everywhere.
 *  - delay, acl (not part of `all`; they need a broker configured for them, see the block comment above
 *    scenarioDelay): delay levels on time and exactly once; ali-ons' own ACL signature, permitted and refused.
 *  - failover (not part of `all`; see the block comment above scenarioFailover): produce for a while from
 *    --concurrency loops while someone kills a master (SIGKILL), then a fresh consumer group must get every
 *    ACKNOWLEDGED send exactly once, byte for byte, with its msgId and queue position.
 */

const crypto = require('crypto');
const { Producer, Consumer, Message } = require('ali-ons');
const RemotingCommand = require('ali-ons/lib/protocol/command/remoting_command');
const JSON2 = require('JSON2');

const SCENARIOS = [ 'produce', 'tags', 'retry' ];
const EXTRA_SCENARIOS = [ 'failover', 'delay', 'acl' ]; // run only when named
const GET_BROKER_CLUSTER_INFO = 106;
const PERM_READ_WRITE = 6;

// ---------------------------------------------------------------------------------------------------------
// small helpers

function parseArgs(argv) {
  const opts = { namesrv: null, scenario: 'all', timeoutMs: 90000, lingerMs: 2000, queues: 4, verbose: false,
    trace: null, durationMs: 10000, awaitMark: false, afterMarkMin: 20, concurrency: 4, routePollMs: 1000,
    sendRetries: 2, warmupAcks: 1 };
  Object.assign(opts, { delayLevels: '1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h', delaySlackMs: 250,
    arrivalSlackMs: 1000, aclAdmin: 'rmqlite_admin:admin-secret-1', aclUser: 'rmqlite_user:user-secret-1',
    aclDeniedTopic: 'AclDeniedTopic' }); // delay and acl scenarios
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`missing value for ${a}`);
      return argv[++i];
    };
    if (a === '--namesrv') opts.namesrv = next();
    else if (a === '--scenario') opts.scenario = next();
    else if (a === '--timeout-ms') opts.timeoutMs = Number(next());
    else if (a === '--linger-ms') opts.lingerMs = Number(next());
    else if (a === '--queues') opts.queues = Number(next());
    else if (a === '--verbose') opts.verbose = true;
    else if (a === '--trace') opts.trace = next();
    else if (a === '--duration-ms') opts.durationMs = Number(next());
    else if (a === '--await-mark') opts.awaitMark = true;
    else if (a === '--after-mark-min') opts.afterMarkMin = Number(next());
    else if (a === '--concurrency') opts.concurrency = Number(next());
    else if (a === '--route-poll-ms') opts.routePollMs = Number(next());
    else if (a === '--send-retries') opts.sendRetries = Number(next());
    else if (a === '--warmup-acks') opts.warmupAcks = Number(next());
    else if (a === '--delay-levels') opts.delayLevels = next();
    else if (a === '--delay-slack-ms') opts.delaySlackMs = Number(next());
    else if (a === '--arrival-slack-ms') opts.arrivalSlackMs = Number(next());
    else if (a === '--acl-admin') opts.aclAdmin = next();
    else if (a === '--acl-user') opts.aclUser = next();
    else if (a === '--acl-denied-topic') opts.aclDeniedTopic = next();
    else throw new Error(`unknown argument ${a}`);
  }
  if (!opts.namesrv) throw new Error('--namesrv ADDR is required');
  if (opts.scenario !== 'all' && !SCENARIOS.includes(opts.scenario) && !EXTRA_SCENARIOS.includes(opts.scenario)) {
    throw new Error(`--scenario must be one of ${SCENARIOS.concat(EXTRA_SCENARIOS).join(', ')}, all`);
  }
  return opts;
}

function makeLogger(verbose) {
  return {
    info(...args) { if (verbose) console.error('[ali-ons info]', ...args); },
    debug() {},
    warn(...args) { console.error('[ali-ons warn]', ...args); },
    error(...args) { console.error('[ali-ons error]', ...args); },
  };
}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

/** Resolve with p's value, or reject after ms with a message naming what timed out. */
function withTimeout(p, ms, what) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timeout after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([ p, t ]).finally(() => clearTimeout(timer));
}

/** Poll cond() every 50 ms until it is true or the deadline (epoch ms) passes; returns the last cond(). */
async function waitUntil(cond, deadline) {
  while (!cond()) {
    if (Date.now() >= deadline) return cond();
    await sleep(50);
  }
  return true;
}

function uniqueSuffix() {
  return `${Date.now().toString(36)}${crypto.randomBytes(3).toString('hex')}`;
}

/** A deterministic body: random (incompressible) or a repeated pattern (deflates well). */
function makeBody(size, compressible, seed) {
  if (size === 0) return Buffer.alloc(0);
  if (!compressible) return crypto.randomBytes(size);
  const pattern = Buffer.from(`rmqlite-node-interop-${seed}-\u00e9\u4e2d-`, 'utf8');
  const body = Buffer.alloc(size);
  for (let off = 0; off < size; off += pattern.length) pattern.copy(body, off, 0, Math.min(pattern.length, size - off));
  return body;
}

/**
 * --trace FILE: append one JSON line per remoting frame ali-ons writes or reads: the raw length word, header
 * word (ali-ons writes/reads it as a plain length), the header JSON exactly as on the wire, and the body size.
 */
function installFrameTrace(file) {
  const fs = require('fs');
  const out = fs.openSync(file, 'a');
  const log = (dir, frame) => {
    const headerWord = frame.readUInt32BE(4);
    const headerLen = headerWord & 0xFFFFFF;
    const body = frame.slice(8 + headerLen);
    // small JSON bodies (heartbeat, route, consumer list) are kept as text
    const bodyText = body.length && body.length <= 4096 && body[0] === 0x7B ? body.toString('utf8') : undefined;
    fs.writeSync(out, JSON.stringify({
      dir, lengthWord: frame.readUInt32BE(0), headerWord,
      header: frame.slice(8, 8 + headerLen).toString('utf8'), bodyLen: body.length, bodyText,
    }) + '\n');
  };
  const origEncode = RemotingCommand.prototype.encode;
  RemotingCommand.prototype.encode = function() {
    const frame = origEncode.call(this);
    log('out', frame);
    return frame;
  };
  const origDecode = RemotingCommand.decode;
  // channel.js hands decode() the frame including the 4-byte length word
  RemotingCommand.decode = function(packet) {
    log('in', packet);
    return origDecode.call(this, packet);
  };
}

// ---------------------------------------------------------------------------------------------------------
// clients and topic creation

function clientOptions(ctx, extra) {
  return Object.assign({
    nameSrv: ctx.namesrv,
    // ali-ons asserts an httpclient exists; it is only used to look up Aliyun name servers, never with nameSrv.
    httpclient: { request: async () => { throw new Error('httpclient must not be used with nameSrv'); } },
    clientIP: '127.0.0.1',
    logger: ctx.logger,
    pollNameServerInteval: 1000,
    rebalanceInterval: 1000,
    heartbeatBrokerInterval: 5000,
    persistConsumerOffsetInterval: 1000,
  }, extra);
}

function newProducer(ctx, name) {
  const producer = new Producer(clientOptions(ctx, {
    producerGroup: `PID_node_${name}`,
    instanceName: `node-${name}-p`,
    sendMsgTimeout: 10000,
    retryTimesWhenSendFailed: 0,
  }));
  producer.on('error', err => ctx.note('producer error', err));
  return producer;
}

/** Master broker addresses: from TBW102's route, else from GET_BROKER_CLUSTER_INFO. */
async function masterBrokers(mqClient) {
  try {
    const route = await mqClient.getDefaultTopicRouteInfoFromNameServer('TBW102', 3000);
    const addrs = (route && route.brokerDatas || []).map(b => b.brokerAddrs[0]).filter(Boolean);
    if (addrs.length) return addrs;
  } catch (err) {
    // fall through to cluster info
  }
  const request = RemotingCommand.createRequestCommand(GET_BROKER_CLUSTER_INFO, {});
  const response = await mqClient.invokeForNameSrvAtLeastOnce(request, 3000);
  if (response.code !== 0 || !response.body) {
    throw new Error(`cluster info failed: code ${response.code} ${response.remark}`);
  }
  const info = JSON2.parse(response.body.toString());
  return Object.values(info.brokerAddrTable || {}).map(b => b.brokerAddrs[0]).filter(Boolean);
}

/** Create `topic` with `queues` queues on every master, then wait until the name server serves its route. */
async function ensureTopic(ctx, producer, topic, queues) {
  await withTimeout(producer.ready(), 15000, 'producer start');
  const mqClient = producer._mqClient;
  const brokers = await masterBrokers(mqClient);
  if (!brokers.length) throw new Error('no master broker registered in the name server');
  ctx.brokers = brokers;
  const config = {
    topicName: topic, readQueueNums: queues, writeQueueNums: queues, perm: PERM_READ_WRITE,
    topicFilterType: 'SINGLE_TAG', topicSysFlag: 0, order: false,
  };
  for (const addr of brokers) await mqClient.createTopic(addr, 'TBW102', config, 5000);
  const deadline = Date.now() + 15000;
  let lastErr;
  while (Date.now() < deadline) {
    try {
      const route = await mqClient.getTopicRouteInfoFromNameServer(topic, 3000);
      if (route && route.queueDatas && route.queueDatas.length) return;
    } catch (err) {
      lastErr = err;
    }
    await sleep(100);
  }
  throw new Error(`route of ${topic} never appeared: ${lastErr && lastErr.message}`);
}

// ---------------------------------------------------------------------------------------------------------
// produce + verify

/**
 * Send every spec ({nid, body, tags, keys, props}) synchronously; return Map nid -> record of what was sent.
 * A spec with tags === undefined is sent WITHOUT a TAGS property (ali-ons would otherwise send the string "null").
 */
async function produceAll(ctx, producer, topic, specs) {
  const sent = new Map();
  for (const spec of specs) {
    const msg = new Message(topic, spec.tags === undefined ? null : spec.tags, Buffer.from(spec.body));
    if (spec.tags === undefined) delete msg.properties.TAGS;
    msg.keys = spec.keys;
    for (const [ k, v ] of Object.entries(spec.props)) msg.properties[k] = v;
    msg.properties.nid = String(spec.nid);
    const result = await producer.send(msg);
    if (result.sendStatus !== 'SEND_OK') throw new Error(`send nid=${spec.nid} status ${result.sendStatus}`);
    if (!/^[0-9A-F]{32}$/.test(String(result.msgId))) throw new Error(`send nid=${spec.nid} bad msgId ${result.msgId}`);
    sent.set(spec.nid, Object.assign({}, spec, {
      msgId: result.msgId, queueId: String(result.messageQueue.queueId), queueOffset: result.queueOffset,
      compressed: spec.body.length >= 4096,
    }));
  }
  ctx.sentCount = sent.size;
  return sent;
}

/** List of differences between a delivered ali-ons message and what was sent (empty = identical). */
function diffDelivery(ctx, topic, sentRec, msg, isRetry) {
  const diffs = [];
  const body = msg.body || Buffer.alloc(0);
  if (!body.equals(sentRec.body)) diffs.push(`body (${body.length} B vs ${sentRec.body.length} B)`);
  if (msg.topic !== topic) diffs.push(`topic ${msg.topic}`);
  const wantTags = sentRec.tags === undefined ? undefined : sentRec.tags;
  const gotTags = msg.properties.TAGS === null ? undefined : msg.properties.TAGS;
  if (gotTags !== wantTags) diffs.push(`tags ${gotTags} vs ${wantTags}`);
  if (msg.properties.KEYS !== sentRec.keys.join(' ')) diffs.push(`keys ${msg.properties.KEYS}`);
  for (const [ k, v ] of Object.entries(sentRec.props)) {
    // RocketMQ brokers re-encode properties and drop empty values (Java String.split drops the empty tail)
    const want = v === '' ? undefined : v;
    if (msg.properties[k] !== want) diffs.push(`property ${k}=${msg.properties[k]} vs ${want}`);
  }
  if (ctx.brokers && !ctx.brokers.includes(msg.storeHost)) diffs.push(`storeHost ${msg.storeHost}`);
  if (!isRetry) {
    if (msg.msgId !== sentRec.msgId) diffs.push(`msgId ${msg.msgId} vs ${sentRec.msgId}`);
    if (String(msg.queueId) !== sentRec.queueId) diffs.push(`queueId ${msg.queueId} vs ${sentRec.queueId}`);
    if (msg.queueOffset !== sentRec.queueOffset) diffs.push(`queueOffset ${msg.queueOffset} vs ${sentRec.queueOffset}`);
    if (msg.reconsumeTimes !== 0) diffs.push(`reconsumeTimes ${msg.reconsumeTimes}`);
  } else {
    if (!(msg.reconsumeTimes > 0)) diffs.push(`retry reconsumeTimes ${msg.reconsumeTimes}`);
    const origin = msg.properties.ORIGIN_MESSAGE_ID;
    if (origin !== sentRec.msgId) diffs.push(`ORIGIN_MESSAGE_ID ${origin} vs ${sentRec.msgId}`);
    if (msg.properties.RETRY_TOPIC !== topic) diffs.push(`RETRY_TOPIC ${msg.properties.RETRY_TOPIC}`);
  }
  return diffs;
}

/**
 * Run a push consumer on `topic` with `expression` until every nid in `expected` was accepted (or the deadline),
 * then linger. `shouldFail(nid, msg)` makes the handler throw (retry scenario). Returns delivery bookkeeping.
 */
async function consumeAll(ctx, name, topic, expression, sent, expected, shouldFail) {
  const book = {
    accepted: new Map(), // nid -> count of accepted deliveries
    altered: new Map(), // nid -> first list of diffs
    unexpected: [], // descriptions of deliveries that must not happen
    failedOnPurpose: new Map(), // nid -> planned failures
    retriedOk: new Set(), // nids accepted with reconsumeTimes > 0
    brokerDelivered: [], // [topic, TAGS] of every message in raw pull results
  };
  const consumer = new Consumer(clientOptions(ctx, {
    consumerGroup: `GID_node_${name}`,
    instanceName: `node-${name}-c`,
    consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
    maxReconsumeTimes: 3,
  }));
  consumer.on('error', err => {
    if (!String(err && err.message).includes('rmqlite planned failure')) ctx.note('consumer error', err);
  });
  // observe what the broker returns to pulls (before ali-ons' own client-side tag filter)
  const origPull = consumer.pullKernelImpl.bind(consumer);
  consumer.pullKernelImpl = async (...args) => {
    const result = await origPull(...args);
    for (const m of result.msgFoundList || []) {
      book.brokerDelivered.push([ m.topic, m.properties.TAGS, m.properties.nid ]);
    }
    return result;
  };
  consumer.subscribe(topic, expression, async msg => {
    const nid = Number(msg.properties.nid);
    const rec = sent.get(nid);
    if (!rec || !expected.has(nid)) {
      book.unexpected.push(`handler got nid=${msg.properties.nid} tags=${msg.properties.TAGS}`);
      return;
    }
    if (shouldFail && shouldFail(nid, msg)) {
      book.failedOnPurpose.set(nid, (book.failedOnPurpose.get(nid) || 0) + 1);
      throw new Error(`rmqlite planned failure nid=${nid}`);
    }
    const isRetry = msg.reconsumeTimes > 0;
    const diffs = diffDelivery(ctx, topic, rec, msg, isRetry);
    if (diffs.length && !book.altered.has(nid)) book.altered.set(nid, diffs);
    if (isRetry) book.retriedOk.add(nid);
    book.accepted.set(nid, (book.accepted.get(nid) || 0) + 1);
  });
  const deadline = ctx.deadline;
  await waitUntil(() => [ ...expected ].every(nid => book.accepted.has(nid)), deadline);
  await sleep(Math.max(0, Math.min(ctx.lingerMs, deadline - Date.now())));
  book.closeError = await closeQuietly(consumer, 'consumer');
  return book;
}

async function closeQuietly(client, what) {
  try {
    await withTimeout(client.close(), 10000, `${what} close`);
    return null;
  } catch (err) {
    return `${what} close: ${err.message}`;
  }
}

/** Build the one-line JSON result from the bookkeeping. */
function summarize(ctx, scenario, expected, book, extra) {
  let received = 0;
  let duplicated = 0;
  for (const n of book.accepted.values()) {
    received += n;
    duplicated += n - 1;
  }
  const lost = [ ...expected ].filter(nid => !book.accepted.has(nid));
  const result = Object.assign({
    scenario,
    sent: ctx.sentCount || 0,
    expected: expected.size,
    received,
    lost: lost.length,
    duplicated,
    altered: book.altered.size,
    unexpected: book.unexpected.length,
  }, extra);
  const problems = [];
  if (lost.length) problems.push(`lost nids ${lost.slice(0, 10).join(',')}`);
  if (duplicated) problems.push(`${duplicated} duplicate deliveries`);
  for (const [ nid, diffs ] of [ ...book.altered ].slice(0, 5)) {
    problems.push(`nid ${nid} altered: ${diffs.join('; ')}`);
  }
  if (book.unexpected.length) problems.push(`unexpected: ${book.unexpected.slice(0, 5).join('; ')}`);
  if (extra && extra.problems) problems.push(...extra.problems);
  delete result.problems;
  result.ok = problems.length === 0;
  result.error = problems.length ? problems.join(' | ') : null;
  return result;
}

// ---------------------------------------------------------------------------------------------------------
// scenarios

function produceSpecs() {
  const sizes = [ 0, 1, 2, 127, 128, 1000, 4095, 4096, 4097, 65535, 65536, 131072, 262144, 524288, 1048575,
    1048576 ];
  const specs = [];
  let nid = 0;
  for (const size of sizes) {
    for (const compressible of [ false, true ]) {
      if (size === 0 && compressible) continue;
      specs.push({
        nid, body: makeBody(size, compressible, nid), tags: nid % 2 ? 'TagA' : 'TagB',
        keys: [ `key-${nid}`, 'shared-key' ],
        props: { size: String(size), kind: compressible ? 'pattern' : 'random', uni: `h\u00e9llo-\u4e16\u754c-${nid}` },
      });
      nid++;
    }
  }
  for (let i = 0; i < 20; i++, nid++) {
    specs.push({ nid, body: makeBody(1 + (nid * 37) % 600, false, nid), tags: `Tag${nid % 5}`,
      keys: [ `key-${nid}` ], props: { small: 'yes', empty: '' } });
  }
  return specs;
}

async function scenarioProduce(ctx) {
  const name = `produce_${ctx.suffix}`;
  const topic = `NodeInterop_${name}`;
  const producer = newProducer(ctx, name);
  const specs = produceSpecs();
  await ensureTopic(ctx, producer, topic, ctx.queues);
  const t0 = Date.now();
  const sent = await produceAll(ctx, producer, topic, specs);
  const produceMs = Date.now() - t0;
  const expected = new Set(sent.keys());
  const book = await consumeAll(ctx, name, topic, '*', sent, expected, null);
  const closeErr = await closeQuietly(producer, 'producer');
  const bytes = specs.reduce((s, x) => s + x.body.length, 0);
  return summarize(ctx, 'produce', expected, book, { bytes, produce_ms: produceMs,
    problems: [ book.closeError, closeErr ].filter(Boolean) });
}

async function scenarioTags(ctx) {
  const name = `tags_${ctx.suffix}`;
  const topic = `NodeInterop_${name}`;
  const producer = newProducer(ctx, name);
  const specs = [];
  const plan = [ [ 'TagA', 12 ], [ 'TagB', 12 ], [ 'TagC', 12 ], [ undefined, 6 ], [ 'TagAB', 4 ] ];
  let nid = 0;
  for (const [ tags, n ] of plan) {
    for (let i = 0; i < n; i++, nid++) {
      specs.push({
        nid, body: makeBody(16 + nid, false, nid), tags, keys: [ `tkey-${nid}` ], props: { t: String(tags) },
      });
    }
  }
  await ensureTopic(ctx, producer, topic, ctx.queues);
  const sent = await produceAll(ctx, producer, topic, specs);
  const expected = new Set(specs.filter(s => s.tags === 'TagA' || s.tags === 'TagB').map(s => s.nid));
  const book = await consumeAll(ctx, name, topic, 'TagA || TagB', sent, expected, null);
  const closeErr = await closeQuietly(producer, 'producer');
  const leaked = book.brokerDelivered.filter(([ t, tag ]) => t === topic && tag !== 'TagA' && tag !== 'TagB');
  const problems = [ book.closeError, closeErr ].filter(Boolean);
  if (leaked.length) {
    const [ , tag, nid ] = leaked[0];
    problems.push(`broker delivered ${leaked.length} non-matching messages, e.g. tags=${tag} nid=${nid}`);
  }
  return summarize(ctx, 'tags', expected, book, {
    broker_delivered: book.brokerDelivered.filter(([ t ]) => t === topic).length, broker_leaked: leaked.length,
    problems,
  });
}

async function scenarioRetry(ctx) {
  const name = `retry_${ctx.suffix}`;
  const topic = `NodeInterop_${name}`;
  const producer = newProducer(ctx, name);
  const specs = [];
  for (let nid = 0; nid < 24; nid++) {
    // a 6000 B body is deflated by ali-ons: the retry copy must keep the compressed flag
    const body = nid === 3 ? makeBody(6000, true, nid) : makeBody(10 + nid * 3, false, nid);
    specs.push({ nid, body, tags: 'TagR', keys: [ `rkey-${nid}` ], props: { r: String(nid % 3 === 0) } });
  }
  await ensureTopic(ctx, producer, topic, ctx.queues);
  const sent = await produceAll(ctx, producer, topic, specs);
  const expected = new Set(sent.keys());
  const mustRetry = new Set(specs.filter(s => s.nid % 3 === 0).map(s => s.nid));
  const shouldFail = (nid, msg) => mustRetry.has(nid) && msg.reconsumeTimes === 0;
  const book = await consumeAll(ctx, name, topic, '*', sent, expected, shouldFail);
  const closeErr = await closeQuietly(producer, 'producer');
  const problems = [ book.closeError, closeErr ].filter(Boolean);
  const notRetried = [ ...mustRetry ].filter(nid => !book.retriedOk.has(nid));
  if (notRetried.length) problems.push(`not redelivered with reconsumeTimes>0: ${notRetried.join(',')}`);
  const spurious = [ ...book.retriedOk ].filter(nid => !mustRetry.has(nid));
  if (spurious.length) problems.push(`redelivered although consumed fine: ${spurious.join(',')}`);
  const failedTwice = [ ...book.failedOnPurpose ].filter(([ , n ]) => n > 1).map(([ nid ]) => nid);
  if (failedTwice.length) problems.push(`first delivery seen more than once: ${failedTwice.join(',')}`);
  return summarize(ctx, 'retry', expected, book, {
    failed_on_purpose: book.failedOnPurpose.size, retried: book.retriedOk.size, problems,
  });
}

// ---------------------------------------------------------------------------------------------------------
// failover: keep producing while a master is killed; nothing acknowledged may be lost, altered or duplicated

/*
 * scenarioFailover, how it works:
 *  1. The topic is created on the master of EVERY broker group (GET_BROKER_CLUSTER_INFO, brokerId 0) and we
 *     wait (bounded) until the route lists queues and a master for every group.
 *  2. --concurrency loops share one producer and send until told to stop. Every send is one new message
 *     (`seq` user property); bodies are < 4 KiB on purpose: ali-ons compresses msg.body IN PLACE before the
 *     first attempt, so an internal retry of a >= 4 KiB body may send it deflated twice. Each send()
 *     outcome is recorded: SEND_OK = acknowledged (msgId, queue, offset, broker group, time), anything else
 *     (exception or another status) = not acknowledged. ali-ons itself retries a failed attempt on another
 *     broker group (--send-retries, its retryTimesWhenSendFailed) for connection errors, timeouts, codes 1 and
 *     14; a send that still fails is not retried by us (the next loop turn sends the next seq).
 *  3. Once every group has acknowledged --warmup-acks sends, ONE line {"event":"producing",...} goes to
 *     stdout: the signal for an external actor to kill a master. With --await-mark, a stdin line containing
 *     "killed" or "mark" records the mark time (say it once the new master is registered).
 *  4. Production stops when --duration-ms have passed since "producing" AND (without --await-mark, or once
 *     the mark came and every group acknowledged >= --after-mark-min sends after it); at the latest
 *     min(30 s, timeout/2) before the deadline (then the missing mark / after-mark sends are problems).
 *  5. A fresh push consumer group (CONSUME_FROM_FIRST_OFFSET) reads the topic until every acknowledged msgId
 *     was delivered, then lingers. Delivery checks: an acknowledged msgId exactly once, same body bytes, tags,
 *     keys, properties, queue id and offset, a store host that is a member of the group that acknowledged
 *     it. A delivery of an UNacknowledged send (failed, or stored by an attempt ali-ons then retried) is
 *     allowed but must be intact too. Anything else is unexpected.
 *  6. The JSON line adds: acked, send_failures (+ failure_kinds), unacked_delivered, per_group {acked,
 *     acked_after_mark, received, first_ack_after_mark_ms, max_ack_gap_ms, store_hosts_after_mark}, and
 *     max_ack_gap_ms (longest time without any acknowledgement: what the producer saw of the failover).
 */

/** GET_BROKER_CLUSTER_INFO as { brokerName: { brokerId: addr } } (ids as strings). */
async function brokerGroups(mqClient) {
  const request = RemotingCommand.createRequestCommand(GET_BROKER_CLUSTER_INFO, {});
  const response = await mqClient.invokeForNameSrvAtLeastOnce(request, 3000);
  if (response.code !== 0 || !response.body) {
    throw new Error(`cluster info failed: code ${response.code} ${response.remark}`);
  }
  const info = JSON2.parse(response.body.toString());
  const out = {};
  for (const [ name, data ] of Object.entries(info.brokerAddrTable || {})) out[name] = data.brokerAddrs || {};
  return out;
}

/** Create `topic` on the master of every group; wait until the route has queues and a master for each. */
async function ensureTopicOnEveryGroup(ctx, producer, topic, queues) {
  await withTimeout(producer.ready(), 15000, 'producer start');
  const mqClient = producer._mqClient;
  const groups = await brokerGroups(mqClient);
  const masters = Object.entries(groups).filter(([ , ids ]) => ids['0']);
  if (!masters.length) throw new Error('no master broker registered in the name server');
  ctx.groupMembers = {};
  for (const [ name, ids ] of Object.entries(groups)) ctx.groupMembers[name] = new Set(Object.values(ids));
  const config = {
    topicName: topic, readQueueNums: queues, writeQueueNums: queues, perm: PERM_READ_WRITE,
    topicFilterType: 'SINGLE_TAG', topicSysFlag: 0, order: false,
  };
  for (const [ , ids ] of masters) await mqClient.createTopic(ids['0'], 'TBW102', config, 5000);
  const wanted = masters.map(([ name ]) => name).sort();
  const deadline = Date.now() + 15000;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const route = await mqClient.getTopicRouteInfoFromNameServer(topic, 3000);
      const queued = new Set((route && route.queueDatas || []).map(q => q.brokerName));
      const mastered = new Set((route && route.brokerDatas || []).filter(b => b.brokerAddrs && b.brokerAddrs['0'])
        .map(b => b.brokerName));
      if (wanted.every(g => queued.has(g) && mastered.has(g))) return wanted;
      last = `queues on ${[ ...queued ]}, masters of ${[ ...mastered ]}`;
    } catch (err) {
      last = err.message;
    }
    await sleep(100);
  }
  throw new Error(`route of ${topic} never covered ${wanted.join(',')}: ${last}`);
}

/** host:port encoded in an offset msgId (first 8 hex = IPv4, next 8 = port). */
function storeAddrOfMsgId(msgId) {
  const b = Buffer.from(String(msgId).slice(0, 16), 'hex');
  return b.length === 8 ? `${b[0]}.${b[1]}.${b[2]}.${b[3]}:${b.readInt32BE(4)}` : '?';
}

function failoverSpec(seq) {
  const size = seq % 50 === 0 ? 0 : 1 + (seq * 131) % 3000;
  return {
    seq, body: makeBody(size, seq % 3 === 0, seq), tags: `TagF${seq % 4}`, keys: [ `fkey-${seq}` ],
    props: { seq: String(seq), kind: seq % 3 === 0 ? 'pattern' : 'random', uni: `f\u00e9-\u4e16-${seq}` },
  };
}

/** One producing loop: send new messages until st.stop; record every outcome in st. */
async function failoverWorker(ctx, st, producer, topic) {
  while (!st.stop) {
    const spec = failoverSpec(st.nextSeq++);
    st.attempts.set(spec.seq, spec);
    const msg = new Message(topic, spec.tags, Buffer.from(spec.body));
    msg.keys = spec.keys;
    for (const [ k, v ] of Object.entries(spec.props)) msg.properties[k] = v;
    let failure = null;
    try {
      const r = await producer.send(msg);
      if (r.sendStatus === 'SEND_OK' && /^[0-9A-F]{32}$/.test(String(r.msgId))) {
        const at = Date.now();
        const group = r.messageQueue.brokerName;
        st.acked.set(r.msgId, Object.assign({}, spec, {
          msgId: r.msgId, queueId: String(r.messageQueue.queueId), queueOffset: r.queueOffset, group, at,
          afterMark: st.markAt !== null && at > st.markAt,
        }));
        if (!st.ackTimes[group]) st.ackTimes[group] = [];
        st.ackTimes[group].push(at);
      } else {
        st.notOk++;
        failure = `status ${r.sendStatus} msgId ${r.msgId}`;
      }
    } catch (err) {
      failure = `${err.name}: ${err.message}`;
    }
    if (failure !== null) {
      st.failures++;
      // group messages by kind: drop numbers (times, ports, counts) so identical causes add up
      const kind = failure.replace(/\d+/g, 'N').slice(0, 160);
      st.failureKinds.set(kind, (st.failureKinds.get(kind) || 0) + 1);
      if (st.failures <= 5) console.error(`[interop failover] send seq=${spec.seq} failed: ${failure}`);
      await sleep(20); // client-side backoff, so a dead route cannot spin this loop
    }
  }
}

/** Acknowledgements of `group` after the mark. */
function ackedAfterMark(st, group) {
  const times = st.ackTimes[group] || [];
  return st.markAt === null ? 0 : times.filter(t => t > st.markAt).length;
}

/** Longest interval without an acknowledgement in `times` (sorted), within [from, to]. */
function maxGap(times, from, to) {
  let prev = from;
  let gap = 0;
  for (const t of times) {
    gap = Math.max(gap, t - prev);
    prev = t;
  }
  return Math.max(gap, to - prev);
}

function listenForMark(st) {
  const readline = require('readline');
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', line => {
    if (st.markAt === null && /killed|mark/i.test(line)) st.markAt = Date.now();
  });
  rl.on('error', () => {});
  return rl;
}

/** Checks one delivery of an acknowledged (rec.msgId) or unacknowledged (rec = attempt spec) message. */
function diffFailoverDelivery(ctx, topic, rec, msg, acked) {
  const diffs = [];
  const body = msg.body || Buffer.alloc(0);
  if (!body.equals(rec.body)) diffs.push(`body (${body.length} B vs ${rec.body.length} B)`);
  if (msg.topic !== topic) diffs.push(`topic ${msg.topic}`);
  if (msg.properties.TAGS !== rec.tags) diffs.push(`tags ${msg.properties.TAGS} vs ${rec.tags}`);
  if (msg.properties.KEYS !== rec.keys.join(' ')) diffs.push(`keys ${msg.properties.KEYS}`);
  for (const [ k, v ] of Object.entries(rec.props)) {
    if (msg.properties[k] !== v) diffs.push(`property ${k}=${msg.properties[k]} vs ${v}`);
  }
  if (msg.reconsumeTimes !== 0) diffs.push(`reconsumeTimes ${msg.reconsumeTimes}`);
  if (acked) {
    if (String(msg.queueId) !== rec.queueId) diffs.push(`queueId ${msg.queueId} vs ${rec.queueId}`);
    if (msg.queueOffset !== rec.queueOffset) diffs.push(`queueOffset ${msg.queueOffset} vs ${rec.queueOffset}`);
    const members = ctx.groupMembers[rec.group];
    if (!members || !members.has(msg.storeHost)) diffs.push(`storeHost ${msg.storeHost} not in ${rec.group}`);
  }
  return diffs;
}

async function failoverConsume(ctx, name, topic, st) {
  const book = { accepted: new Map(), altered: new Map(), unexpected: [], unacked: 0, perGroup: {} };
  const consumer = new Consumer(clientOptions(ctx, {
    nameSrv: ctx.namesrv.split(';'),
    consumerGroup: `GID_node_${name}`,
    instanceName: `node-${name}-c`,
    consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
    pollNameServerInteval: ctx.opts.routePollMs,
  }));
  consumer.on('error', err => ctx.note('consumer error', err));
  consumer.subscribe(topic, '*', async msg => {
    const rec = st.acked.get(msg.msgId);
    if (rec) {
      const diffs = diffFailoverDelivery(ctx, topic, rec, msg, true);
      if (diffs.length && !book.altered.has(msg.msgId)) book.altered.set(msg.msgId, diffs);
      book.accepted.set(msg.msgId, (book.accepted.get(msg.msgId) || 0) + 1);
      book.perGroup[rec.group] = (book.perGroup[rec.group] || 0) + 1;
      return;
    }
    const spec = st.attempts.get(Number(msg.properties.seq));
    if (!spec) {
      book.unexpected.push(`msgId ${msg.msgId} seq=${msg.properties.seq}`);
      return;
    }
    book.unacked++;
    const diffs = diffFailoverDelivery(ctx, topic, spec, msg, false);
    if (diffs.length && !book.altered.has(msg.msgId)) book.altered.set(msg.msgId, [ 'unacknowledged send', ...diffs ]);
  });
  await waitUntil(() => [ ...st.acked.keys() ].every(id => book.accepted.has(id)), ctx.deadline);
  await sleep(Math.max(0, Math.min(ctx.lingerMs, ctx.deadline - Date.now())));
  book.closeError = await closeQuietly(consumer, 'consumer');
  return book;
}

async function scenarioFailover(ctx) {
  const opts = ctx.opts;
  const name = `failover_${ctx.suffix}`;
  const topic = `NodeInterop_${name}`;
  const producer = new Producer(clientOptions(ctx, {
    nameSrv: ctx.namesrv.split(';'), // every nameserver of `a;b` (ali-ons takes an array)
    producerGroup: `PID_node_${name}`,
    instanceName: `node-${name}-p`,
    sendMsgTimeout: 3000,
    retryTimesWhenSendFailed: opts.sendRetries,
    pollNameServerInteval: opts.routePollMs,
  }));
  producer.on('error', err => ctx.note('producer error', err));
  const groups = await ensureTopicOnEveryGroup(ctx, producer, topic, ctx.queues);
  const st = {
    stop: false, nextSeq: 0, attempts: new Map(), acked: new Map(), ackTimes: {}, failures: 0, notOk: 0,
    failureKinds: new Map(), markAt: null,
  };
  const rl = opts.awaitMark ? listenForMark(st) : null;
  const problems = [];
  const hardEnd = ctx.deadline - Math.min(30000, opts.timeoutMs / 2);
  const t0 = Date.now();
  const workers = [];
  for (let i = 0; i < Math.max(1, opts.concurrency); i++) workers.push(failoverWorker(ctx, st, producer, topic));
  // 3. every group took writes: tell the outside world
  const everyGroup = () => groups.every(g => (st.ackTimes[g] || []).length >= Math.max(1, opts.warmupAcks));
  if (!await waitUntil(everyGroup, hardEnd)) problems.push(`not every group acknowledged ${opts.warmupAcks} sends`);
  const producingAt = Date.now();
  process.stdout.write(JSON.stringify({ event: 'producing', topic, groups, acked: st.acked.size }) + '\n');
  // 4. stop condition
  const done = () => Date.now() - producingAt >= opts.durationMs &&
    (!opts.awaitMark || (st.markAt !== null && groups.every(g => ackedAfterMark(st, g) >= opts.afterMarkMin)));
  await waitUntil(done, hardEnd);
  st.stop = true;
  await Promise.all(workers);
  const producedAt = Date.now();
  if (rl) rl.close();
  if (opts.awaitMark && st.markAt === null) problems.push('no mark line on stdin before the deadline');
  for (const g of groups) {
    if (opts.awaitMark && st.markAt !== null && ackedAfterMark(st, g) < opts.afterMarkMin) {
      problems.push(`${g}: only ${ackedAfterMark(st, g)} acknowledged sends after the mark`);
    }
  }
  ctx.sentCount = st.attempts.size;
  // 5. read everything back with a fresh group
  const book = await failoverConsume(ctx, name, topic, st);
  const closeErr = await closeQuietly(producer, 'producer');
  problems.push(...[ book.closeError, closeErr ].filter(Boolean));
  const perGroup = {};
  for (const g of Object.keys(st.ackTimes).concat(groups).filter((x, i, a) => a.indexOf(x) === i).sort()) {
    const times = st.ackTimes[g] || [];
    const after = st.markAt === null ? [] : times.filter(t => t > st.markAt);
    const hostsAfter = new Set([ ...st.acked.values() ].filter(r => r.group === g && r.afterMark)
      .map(r => storeAddrOfMsgId(r.msgId)));
    perGroup[g] = {
      acked: times.length, acked_after_mark: after.length, received: book.perGroup[g] || 0,
      first_ack_after_mark_ms: after.length ? after[0] - st.markAt : null,
      max_ack_gap_ms: maxGap(times, producingAt, producedAt), store_hosts_after_mark: [ ...hostsAfter ].sort(),
    };
  }
  const allTimes = Object.values(st.ackTimes).flat().sort((a, b) => a - b);
  const expected = new Set(st.acked.keys());
  const result = summarize(ctx, 'failover', expected, book, {
    topic, groups, acked: st.acked.size, send_failures: st.failures, not_ok_status: st.notOk,
    failure_kinds: Object.fromEntries([ ...st.failureKinds ].sort((a, b) => b[1] - a[1]).slice(0, 6)),
    unacked_delivered: book.unacked, per_group: perGroup,
    mark_after_producing_ms: st.markAt === null ? null : st.markAt - producingAt,
    max_ack_gap_ms: maxGap(allTimes, producingAt, producedAt), produce_ms: producedAt - t0,
    acked_per_s: Math.round(st.acked.size * 1000 / Math.max(1, producedAt - t0)), problems,
  });
  result.duplicated_acked = result.duplicated;
  return result;
}

// ---------------------------------------------------------------------------------------------------------
// delay and acl: broker features; run by tests/features/test_node_features.py against rmqlite and the real
// RocketMQ 4.9.4 with the same broker.conf and plain_acl.yml. They are not part of `all`.

/*
 * scenarioDelay / scenarioAcl, how they work:
 *  1. delay (the broker's messageDelayLevel must be given as --delay-levels). A push consumer starts first. It is
 *     live on every queue once one undelayed warm-up message per queue has arrived. Then one message per
 *     DELAY_PLAN entry is sent with ali-ons' msg.delayTimeLevel = level (property DELAY); t0 and t1 bracket each
 *     send. The expected delay is table[min(level, table length) - 1], since the broker clamps levels above its
 *     highest, and 0 for level 0.
 *     Each message must arrive exactly once and intact (body, tags, keys, user properties, the queue id the send
 *     chose). The client must not receive it before t0 + delay, nor more than --arrival-slack-ms after
 *     t1 + delay. The broker's store time of the delivered record (msg.storeTimestamp) must lie within
 *     [t0 + delay, t1 + delay + --delay-slack-ms]. `observed` reports what a delivered message carries
 *     (DELAY, REAL_TOPIC, REAL_QID, WAIT, a new msgId).
 *  2. acl (broker: aclEnable=true and a plain_acl.yml with the --acl-admin and --acl-user accounts, the topic
 *     --acl-denied-topic DENY for the user). Given accessKey/secretKey, ali-ons signs every request itself
 *     (lib/channel.js): HmacSHA1 over the values of the header fields plus AccessKey and OnsChannel=ALIYUN, in
 *     key order, then the body, base64. It adds the ext fields AccessKey, Signature and OnsChannel.
 *     The admin account creates the topics, since UPDATE_AND_CREATE_TOPIC needs admin. Then:
 *       (a) the user produces and consumes on a permitted topic, exactly once;
 *       (b) a wrong secret, (c) the DENY topic, (d) no credentials, (e) an unknown access key: one send each;
 *       (f) the user sends UPDATE_AND_CREATE_TOPIC.
 *     `observed` holds, per case, the broker's answer {request, code, remark}. ali-ons' producer swallows code 1
 *     and then reports only "Send [1] times, still failed", so the answer is read at sendKernelImpl.
 *     `refusals` lists every distinct refused request seen on the wire, per account label.
 */

const DELAY_PLAN = [ 1, 2, 3, 1, 2, 4, 18, 20, 0 ];
const UPDATE_AND_CREATE_TOPIC = 17;
const SEND_MESSAGE_V2 = 310;

/** messageDelayLevel text ("1s 5s 10s 30s 1m ...") -> delays in ms, level 1 first (units s, m, h, d as Java). */
function parseDelayTable(spec) {
  const unit = { s: 1000, m: 60000, h: 3600000, d: 86400000 };
  return String(spec).trim().split(/\s+/).map(tok => {
    const m = /^(\d+)([smhd])$/.exec(tok);
    if (!m) throw new Error(`bad --delay-levels entry ${tok}`);
    return Number(m[1]) * unit[m[2]];
  });
}

/** "accessKey:secretKey" -> ali-ons credential options. */
function parseAccount(text) {
  const i = String(text).indexOf(':');
  if (i <= 0) throw new Error(`account must be ACCESS_KEY:SECRET_KEY, got ${text}`);
  return { accessKey: text.slice(0, i), secretKey: text.slice(i + 1) };
}

/** A push consumer (group GID_node_<name>, '*') that hands every delivery to onMessage(msg, arrivalMs). */
function newCollector(ctx, name, topic, creds, onMessage) {
  const consumer = new Consumer(clientOptions(ctx, Object.assign({
    consumerGroup: `GID_node_${name}`,
    instanceName: `node-${name}-c`,
    consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
  }, creds)));
  consumer.on('error', err => ctx.note('consumer error', err));
  consumer.subscribe(topic, '*', async msg => onMessage(msg, Date.now()));
  return consumer;
}

/** Send undelayed warm-up messages until every queue got one; wait until all arrived. Returns a problem or null. */
async function warmUp(ctx, producer, topic, arrivals) {
  const nids = [];
  const queues = new Set();
  for (let i = 0; queues.size < ctx.queues && i < 3 * ctx.queues; i++) {
    const msg = new Message(topic, 'TagW', Buffer.from(`warm-up ${i}`));
    msg.properties.nid = `w${i}`;
    const r = await producer.send(msg);
    nids.push(`w${i}`);
    queues.add(r.messageQueue.queueId);
  }
  const deadline = Math.min(ctx.deadline, Date.now() + 30000);
  if (await waitUntil(() => nids.every(n => arrivals.has(n)), deadline)) return null;
  return `consumer not live: warm-up ${nids.filter(n => !arrivals.has(n)).join(',')} never arrived`;
}

async function sendDelayed(ctx, producer, topic, table) {
  const sent = new Map();
  for (let i = 0; i < DELAY_PLAN.length; i++) {
    const level = DELAY_PLAN[i];
    const spec = { nid: String(i), body: makeBody(20 + i * 7, i % 2 === 0, i), tags: 'TagD', keys: [ `dkey-${i}` ],
      props: { level: String(level), uni: `d\u00e9-\u4e16-${i}` } };
    const msg = new Message(topic, spec.tags, Buffer.from(spec.body));
    msg.keys = spec.keys;
    for (const [ k, v ] of Object.entries(spec.props)) msg.properties[k] = v;
    msg.properties.nid = spec.nid;
    msg.delayTimeLevel = level;
    const t0 = Date.now();
    const r = await producer.send(msg);
    const t1 = Date.now();
    if (r.sendStatus !== 'SEND_OK') throw new Error(`send level ${level}: status ${r.sendStatus}`);
    const delay = level > 0 ? table[Math.min(level, table.length) - 1] : 0;
    sent.set(spec.nid, Object.assign(spec, { level, delay, t0, t1, msgId: r.msgId,
      queueId: String(r.messageQueue.queueId), queueOffset: r.queueOffset }));
  }
  return sent;
}

/** Checks of one delayed delivery: [diffs, timing problems, observation]. */
function checkDelayed(ctx, topic, rec, at, msg) {
  const diffs = [];
  if (!(msg.body || Buffer.alloc(0)).equals(rec.body)) diffs.push('body');
  if (msg.topic !== topic) diffs.push(`topic ${msg.topic}`);
  if (msg.properties.TAGS !== rec.tags) diffs.push(`tags ${msg.properties.TAGS}`);
  if (msg.properties.KEYS !== rec.keys.join(' ')) diffs.push(`keys ${msg.properties.KEYS}`);
  for (const [ k, v ] of Object.entries(rec.props)) if (msg.properties[k] !== v) diffs.push(`property ${k}`);
  if (String(msg.queueId) !== rec.queueId) diffs.push(`queueId ${msg.queueId} vs ${rec.queueId}`);
  if (msg.reconsumeTimes !== 0) diffs.push(`reconsumeTimes ${msg.reconsumeTimes}`);
  const due0 = rec.t0 + rec.delay;
  const due1 = rec.t1 + rec.delay;
  const o = ctx.opts;
  const timing = [];
  if (at < due0) timing.push(`level ${rec.level} arrived ${due0 - at} ms early`);
  if (msg.storeTimestamp < due0) timing.push(`level ${rec.level} stored ${due0 - msg.storeTimestamp} ms early`);
  const storeLate = msg.storeTimestamp - due1;
  if (storeLate > o.delaySlackMs) timing.push(`level ${rec.level} stored ${storeLate} ms late`);
  if (at - due1 > o.arrivalSlackMs) timing.push(`level ${rec.level} arrived ${at - due1} ms late`);
  const p = msg.properties;
  const observation = {
    level: rec.level, delay_ms: rec.delay, DELAY: p.DELAY === undefined ? null : p.DELAY,
    REAL_TOPIC: p.REAL_TOPIC === undefined ? null : p.REAL_TOPIC === topic ? '<topic>' : p.REAL_TOPIC,
    REAL_QID: p.REAL_QID === undefined ? null : p.REAL_QID === rec.queueId ? '<queueId>' : p.REAL_QID,
    WAIT: p.WAIT === undefined ? null : p.WAIT, new_msg_id: msg.msgId !== rec.msgId,
    property_keys: Object.keys(p).sort().join(','),
    store_late_ms: msg.storeTimestamp - due1, arrival_late_ms: at - due1,
  };
  return [ diffs, timing, observation ];
}

async function scenarioDelay(ctx) {
  const table = parseDelayTable(ctx.opts.delayLevels);
  const name = `delay_${ctx.suffix}`;
  const topic = `NodeInterop_${name}`;
  const producer = newProducer(ctx, name);
  await ensureTopic(ctx, producer, topic, ctx.queues);
  const arrivals = new Map(); // nid -> [[arrivalMs, msg], ...]
  const book = { accepted: new Map(), altered: new Map(), unexpected: [] };
  const consumer = newCollector(ctx, name, topic, {}, (msg, at) => {
    const nid = msg.properties.nid;
    if (nid === undefined) book.unexpected.push(`msgId ${msg.msgId} without nid`);
    else arrivals.set(nid, (arrivals.get(nid) || []).concat([ [ at, msg ] ]));
  });
  const problems = [];
  let sent = new Map();
  const warm = await warmUp(ctx, producer, topic, arrivals);
  if (warm) problems.push(warm);
  else sent = await sendDelayed(ctx, producer, topic, table);
  ctx.sentCount = sent.size;
  await waitUntil(() => [ ...sent.keys() ].every(n => arrivals.has(n)), ctx.deadline);
  await sleep(Math.max(0, Math.min(ctx.lingerMs, ctx.deadline - Date.now())));
  const closeErrs = [ await closeQuietly(consumer, 'consumer'), await closeQuietly(producer, 'producer') ];
  problems.push(...closeErrs.filter(Boolean));
  const observed = [];
  for (const [ nid, got ] of arrivals) {
    const rec = sent.get(nid);
    if (!rec) {
      if (!nid.startsWith('w') || got.length > 1) book.unexpected.push(`nid ${nid} x${got.length}`);
      continue;
    }
    book.accepted.set(nid, got.length);
    const [ diffs, timing, observation ] = checkDelayed(ctx, topic, rec, got[0][0], got[0][1]);
    if (diffs.length) book.altered.set(nid, diffs);
    problems.push(...timing);
    observed.push(observation);
  }
  observed.sort((a, b) => Number(a.level > 0) - Number(b.level > 0) || a.level - b.level);
  const late = key => observed.filter(x => x.level > 0).reduce((m, x) => Math.max(m, x[key]), -Infinity);
  return summarize(ctx, 'delay', new Set(sent.keys()), book, {
    max_store_late_ms: late('store_late_ms'), max_arrival_late_ms: late('arrival_late_ms'),
    delay_slack_ms: ctx.opts.delaySlackMs, arrival_slack_ms: ctx.opts.arrivalSlackMs, observed, problems,
  });
}

/** Wrap Channel#invoke: every refused answer (code != 0 and an AclException remark, or code 16) is recorded. */
function recordRefusals() {
  const Channel = require('ali-ons/lib/channel');
  const seen = new Map();
  const orig = Channel.prototype.invoke;
  Channel.prototype.invoke = async function(command, timeout) {
    const res = await orig.call(this, command, timeout);
    if (res && res.code !== 0 && (res.code === 16 || /AclException/.test(String(res.remark)))) {
      const entry = { who: this.options.aclLabel || '?', request: command.code, code: res.code, remark: res.remark };
      seen.set(JSON.stringify(entry), entry);
    }
    return res;
  };
  return () => {
    Channel.prototype.invoke = orig;
    return [ ...seen.values() ].sort((a, b) => (a.who + a.request).localeCompare(b.who + b.request));
  };
}

function aclProducer(ctx, name, label, creds) {
  const producer = new Producer(clientOptions(ctx, Object.assign({
    producerGroup: `PID_node_${name}`, instanceName: `node-${name}-p`, sendMsgTimeout: 10000,
    retryTimesWhenSendFailed: 0, aclLabel: label,
  }, creds)));
  producer.on('error', err => ctx.note(`${label} producer error`, err));
  return producer;
}

/** One send as `label`; returns the broker's answer to SEND_MESSAGE_V2 and what producer.send() reported. */
async function aclSend(ctx, label, topic, creds) {
  const producer = aclProducer(ctx, `acl_${label}_${ctx.suffix}`, label, creds);
  let answer = null;
  const kernel = producer.sendKernelImpl.bind(producer);
  producer.sendKernelImpl = async (...args) => {
    try {
      const r = await kernel(...args);
      answer = answer || { code: 0, remark: null };
      return r;
    } catch (err) {
      answer = answer || { code: err.code === undefined ? null : err.code, remark: err.message };
      throw err;
    }
  };
  let outcome;
  try {
    const msg = new Message(topic, 'TagX', Buffer.from(`acl ${label}`));
    msg.properties.nid = `acl-${label}`;
    outcome = { sent: (await producer.send(msg)).sendStatus };
  } catch (err) {
    outcome = { sent: null, error: `${err.name}: ${err.message}` };
  }
  await closeQuietly(producer, `${label} producer`);
  return Object.assign({ request: SEND_MESSAGE_V2 }, answer, outcome);
}

/** The user's own UPDATE_AND_CREATE_TOPIC on every master: the broker's answer. */
async function aclCreateTopic(ctx, creds) {
  const producer = aclProducer(ctx, `acl_create_${ctx.suffix}`, 'userCreate', creds);
  await withTimeout(producer.ready(), 15000, 'producer start');
  const config = { topicName: `NodeInterop_acl_user_${ctx.suffix}`, readQueueNums: 1, writeQueueNums: 1,
    perm: PERM_READ_WRITE, topicFilterType: 'SINGLE_TAG', topicSysFlag: 0, order: false };
  let answer = { request: UPDATE_AND_CREATE_TOPIC, code: 0, remark: null };
  try {
    await producer._mqClient.createTopic(ctx.brokers[0], 'TBW102', config, 5000);
  } catch (err) {
    answer = { request: UPDATE_AND_CREATE_TOPIC, code: err.code === undefined ? null : err.code, remark: err.message };
  }
  await closeQuietly(producer, 'userCreate producer');
  return answer;
}

async function scenarioAcl(ctx) {
  const o = ctx.opts;
  const admin = parseAccount(o.aclAdmin);
  const user = parseAccount(o.aclUser);
  const stopRecording = recordRefusals();
  const name = `acl_${ctx.suffix}`;
  const topic = `NodeInterop_${name}`;
  const adminProducer = aclProducer(ctx, `${name}_admin`, 'admin', admin);
  await ensureTopic(ctx, adminProducer, topic, ctx.queues);
  await ensureTopic(ctx, adminProducer, o.aclDeniedTopic, 1);
  const problems = [ await closeQuietly(adminProducer, 'admin producer') ].filter(Boolean);
  // (a) permitted: the user produces and consumes
  const specs = [];
  for (let nid = 0; nid < 8; nid++) {
    specs.push({ nid, body: makeBody(nid === 5 ? 5000 : 10 + nid, nid === 5, nid), tags: `TagL${nid % 2}`,
      keys: [ `akey-${nid}` ], props: { who: 'user' } });
  }
  const userProducer = aclProducer(ctx, `${name}_user`, 'user', user);
  const sent = await produceAll(ctx, userProducer, topic, specs);
  problems.push(...[ await closeQuietly(userProducer, 'user producer') ].filter(Boolean));
  const book = { accepted: new Map(), altered: new Map(), unexpected: [] };
  const consumer = newCollector(ctx, name, topic, Object.assign({ aclLabel: 'user' }, user), msg => {
    const rec = sent.get(Number(msg.properties.nid));
    if (!rec) return book.unexpected.push(`nid ${msg.properties.nid}`);
    const diffs = diffDelivery(ctx, topic, rec, msg, false);
    if (diffs.length && !book.altered.has(rec.nid)) book.altered.set(rec.nid, diffs);
    book.accepted.set(rec.nid, (book.accepted.get(rec.nid) || 0) + 1);
  });
  await waitUntil(() => [ ...sent.keys() ].every(n => book.accepted.has(n)), ctx.deadline);
  await sleep(Math.max(0, Math.min(ctx.lingerMs, ctx.deadline - Date.now())));
  problems.push(...[ await closeQuietly(consumer, 'user consumer') ].filter(Boolean));
  // (b) .. (f): refusals
  const wrong = { accessKey: user.accessKey, secretKey: `${user.secretKey}-wrong` };
  const observed = {
    wrongSecret: await aclSend(ctx, 'wrongSecret', topic, wrong),
    deniedTopic: await aclSend(ctx, 'deniedTopic', o.aclDeniedTopic, user),
    unsigned: await aclSend(ctx, 'unsigned', topic, {}),
    unknownKey: await aclSend(ctx, 'unknownKey', topic, { accessKey: 'nobody_here', secretKey: 'nobody-secret' }),
    userCreateTopic: await aclCreateTopic(ctx, user),
  };
  ctx.sentCount = sent.size;
  return summarize(ctx, 'acl', new Set(sent.keys()), book, { observed, refusals: stopRecording(), problems });
}

const RUNNERS = { produce: scenarioProduce, tags: scenarioTags, retry: scenarioRetry, failover: scenarioFailover };
RUNNERS.delay = scenarioDelay;
RUNNERS.acl = scenarioAcl;

async function runScenario(opts, scenario) {
  const ctx = {
    namesrv: opts.namesrv, queues: opts.queues, lingerMs: opts.lingerMs, logger: makeLogger(opts.verbose), opts,
    suffix: uniqueSuffix(), deadline: Date.now() + opts.timeoutMs, notes: [],
    note(what, err) {
      const text = `${what}: ${err && err.name}: ${err && err.message}`;
      if (this.notes.length < 50) this.notes.push(text);
      console.error(`[interop ${scenario}] ${text}`);
    },
  };
  const started = Date.now();
  let result;
  try {
    result = await withTimeout(RUNNERS[scenario](ctx), opts.timeoutMs + 30000, `scenario ${scenario}`);
  } catch (err) {
    result = { scenario, sent: ctx.sentCount || 0, received: 0, lost: null, duplicated: null, altered: null,
      ok: false, error: `${err.name}: ${err.message}` };
  }
  result.elapsed_ms = Date.now() - started;
  return result;
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    const names = SCENARIOS.concat(EXTRA_SCENARIOS).join('|');
    console.error(`usage: node interop.js --namesrv HOST:PORT --scenario ${names}|all ` +
      `[--timeout-ms N] [--linger-ms N] [--queues N] [--verbose] [--trace FILE]\n` +
      '  failover only: [--duration-ms N] [--await-mark] [--after-mark-min N] [--concurrency N] ' +
      `[--route-poll-ms N] [--send-retries N] [--warmup-acks N]\n${err.message}`);
    console.error('  delay only: [--delay-levels "1s 5s ..." (the broker\'s messageDelayLevel)] [--delay-slack-ms N] ' +
      '[--arrival-slack-ms N]\n  acl only: [--acl-admin AK:SK] [--acl-user AK:SK] [--acl-denied-topic T]');
    return 2;
  }
  if (opts.trace) installFrameTrace(opts.trace);
  const scenarios = opts.scenario === 'all' ? SCENARIOS : [ opts.scenario ];
  let allOk = true;
  for (const scenario of scenarios) {
    const result = await runScenario(opts, scenario);
    process.stdout.write(JSON.stringify(result) + '\n');
    allOk = allOk && result.ok;
  }
  return allOk ? 0 : 1;
}

process.on('unhandledRejection', err => console.error('[interop] unhandled rejection:', err));
main().then(code => {
  // ali-ons keeps scheduled tasks (route polling, heartbeats) alive; flush stdout and leave explicitly.
  process.stdout.write('', () => process.exit(code));
}, err => {
  console.error('[interop] fatal:', err);
  process.exit(1);
});
