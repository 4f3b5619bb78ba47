/**
 * V8 settings for an agent-memory process, imported first by its entry points (layers/main.ts,
 * layers/cli.ts), before the modules they load allocate.
 *
 * No allocation-site pretenuring: V8 learns that objects made at a site tend to outlive a
 * young-generation collection and then allocates them straight in the old generation. A server
 * answering thousands of requests a second has every request's objects (Node's IncomingMessage,
 * ServerResponse, header strings) alive across some collection, so V8 pretenured them: old space
 * filled with objects dead a millisecond later, each scavenge scanned their pointers into the young
 * generation (10–17 ms a scavenge, each holding every request in flight) and a full collection
 * followed every two seconds. Without it, cache hits over HTTP on one core: scavenges 1.2–1.4 ms,
 * p99 9.3–9.7 → 2.6–3.1 ms (bench/PERFORMANCE.md, "Pretenuring").
 */
import { setFlagsFromString } from "node:v8"

setFlagsFromString("--no-allocation-site-pretenuring")
