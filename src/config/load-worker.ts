/**
 * Worker thread of the loader (load.ts, "parsing on several threads"): reads and parses the
 * chunks of files it is sent, and answers each with the results as plain data.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadChunk, type WireChunk, type WorkerLoadOptions } from './load.js';

const opts = (workerData as { opts: WorkerLoadOptions }).opts;
parentPort!.on('message', (chunk: WireChunk) => {
  parentPort!.postMessage(loadChunk(chunk, opts));
});
