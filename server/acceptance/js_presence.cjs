// Acceptance check: PubNub's official JavaScript SDK (v12, event engine on,
// Node.js) watches presence on the local presence server and must see alice
// join, change state and leave, bob time out, and dave (presence timeout 8 s,
// heartbeating) time out within 8 + 2 s of his last heartbeat after he stops
// abruptly, without unsubscribing.
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

// Waits for `action` of `uuid`, skipping others; an event of `uuid` whose
// action is in `forbidden` fails at once.
async function expect(action, uuid, forbidden = []) {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    while (queue.length) {
      const event = queue.shift();
      console.log(`  got ${event.action} ${event.uuid} on ${event.channel} (occupancy ${event.occupancy}, state ${JSON.stringify(event.state)}, timetoken ${event.timetoken})`);
      if (event.uuid === uuid && forbidden.includes(event.action)) throw new Error(`${event.action} of ${uuid}`);
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

  // dave heartbeats every 3 s (timeout 8 / 2 - 1), then stops abruptly: no
  // unsubscribe, no leave. The server must time him out 8 s after his last
  // request, so within 8 + 2 s of the stop and never as a leave.
  const dave = client("dave", 8);
  dave.subscribe({ channels: [CHANNEL] });
  await expect("join", "dave");
  await new Promise((resolve) => setTimeout(resolve, 7000)); // two heartbeat rounds, past the first timeout
  const stopped = Date.now() / 1000;
  dave.destroy(true);
  const timeout = await expect("timeout", "dave", ["leave"]);
  const afterStop = Date.now() / 1000 - stopped;
  // The event is stamped at the deadline: last request + 8 s, server time.
  const lastRequest = timeout.timestamp - 8;
  console.log(`  dave: timeout ${afterStop.toFixed(1)} s after the stop; the server's last request from him ${(stopped - lastRequest).toFixed(1)} s before the stop`);
  if (afterStop > 8 + 2) throw new Error(`timeout ${afterStop.toFixed(1)} s after the stop`);
  if (stopped - lastRequest > 3 + 1) throw new Error("dave was heartbeating every 3 s until the stop");
  console.log("ok: abrupt stop times out");

  alice.destroy(true);
  watcher.destroy(true);
  console.log("js SDK acceptance: 5 passed, 0 failed");
  process.exit(0);
}

main().catch((error) => { console.error("js SDK acceptance failed:", error); process.exit(1); });
