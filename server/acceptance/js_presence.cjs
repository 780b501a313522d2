// Acceptance check: PubNub's official JavaScript SDK (v12, event engine on,
// Node.js) watches presence on the local presence server and must see alice
// join, change state and leave, and bob time out.
//
// Run through server/acceptance/run.sh, which installs the SDK from npm and
// starts the server. Usage: node js_presence.cjs ORIGIN (e.g. 127.0.0.1:8090).
"use strict";
const PubNub = require("pubnub");

const ORIGIN = process.argv[2];
const CHANNEL = "acceptance-js-lobby";
const DEADLINE_MS = 60000; // per expected event (bob's timeout takes 20 s)

function client(userId, presenceTimeout) {
  const config = { subscribeKey: "acceptance", publishKey: "acceptance", userId, origin: ORIGIN, ssl: false };
  if (PubNub.LogLevel) config.logLevel = PubNub.LogLevel.None;
  if (presenceTimeout) config.presenceTimeout = presenceTimeout;
  return new PubNub(config);
}

const queue = [];
let wake = null;

async function expect(action, uuid) {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    while (queue.length) {
      const event = queue.shift();
      console.log(`  got ${event.action} ${event.uuid} on ${event.channel} (occupancy ${event.occupancy}, state ${JSON.stringify(event.state)}, timetoken ${event.timetoken})`);
      if (event.action === action && event.uuid === uuid) {
        if (event.channel !== CHANNEL) throw new Error(`channel ${event.channel}`);
        return event;
      }
    }
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`no ${action} of ${uuid} within ${DEADLINE_MS} ms`);
    await new Promise((resolve) => { wake = resolve; setTimeout(resolve, Math.min(left, 500)); });
  }
}

async function main() {
  const watcher = client("watcher");
  watcher.addListener({ presence: (event) => { queue.push(event); if (wake) wake(); } });
  watcher.subscribe({ channels: [CHANNEL], withPresence: true });
  // The watcher's own join proves its subscription holds a cursor; alice's
  // join must come after it, or it is (rightly) before what the watcher sees.
  await expect("join", "watcher");

  const alice = client("alice", 60);
  alice.subscribe({ channels: [CHANNEL] });
  await expect("join", "alice");
  console.log("ok: join");

  await alice.setState({ channels: [CHANNEL], state: { mood: "busy" } });
  const change = await expect("state-change", "alice");
  if (JSON.stringify(change.state) !== JSON.stringify({ mood: "busy" })) throw new Error(`state ${JSON.stringify(change.state)}`);
  console.log("ok: state-change");

  alice.unsubscribe({ channels: [CHANNEL] });
  await expect("leave", "alice");
  console.log("ok: leave");

  // bob announces a 20 s timeout, then goes away without a leave.
  const bob = client("bob", 20);
  bob.subscribe({ channels: [CHANNEL] });
  await expect("join", "bob");
  bob.destroy(true);
  await expect("timeout", "bob");
  console.log("ok: timeout");

  alice.destroy(true);
  watcher.destroy(true);
  console.log("js SDK acceptance: 4 passed, 0 failed");
  process.exit(0);
}

main().catch((error) => { console.error("js SDK acceptance failed:", error); process.exit(1); });
